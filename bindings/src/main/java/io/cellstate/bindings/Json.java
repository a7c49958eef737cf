package io.cellstate.bindings;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A strict JSON parser (RFC 8259) for headers: objects become insertion-ordered maps, arrays lists,
 * strings strings, numbers {@link Number} (their text, unconverted), {@code true}/{@code false}
 * Booleans and {@code null} a {@link #NULL} marker. Nesting is bounded, duplicate keys are refused,
 * and nothing but blanks may follow the value. Errors name the offset in the file.
 */
final class Json {
    static final int MAX_DEPTH = 64;
    static final Object NULL = new Object();

    /** A number as written; the caller decides what it may be. */
    record Number(String text) {
    }

    private final String s;
    private final int base;
    private final Npy.Failure fail;
    private int pos;

    private Json(String s, int base, Npy.Failure fail) {
        this.s = s;
        this.base = base;
        this.fail = fail;
    }

    /** Parses {@code text}, which starts at file offset {@code base}. */
    static Object parse(String text, int base, Npy.Failure fail) throws ModelFormatException {
        Json j = new Json(text, base, fail);
        Object v = j.value(0);
        j.blanks();
        if (j.pos < text.length()) {
            throw j.error("text after the JSON value");
        }
        return v;
    }

    private ModelFormatException error(String problem) {
        // the offset in the file's bytes, not in the decoded characters (they differ past non-ASCII text)
        long bytes = s.substring(0, pos).getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        return fail.at(base + bytes, "header JSON: " + problem);
    }

    private void blanks() {
        while (pos < s.length()) {
            char c = s.charAt(pos);
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
                return;
            }
            pos++;
        }
    }

    private Object value(int depth) throws ModelFormatException {
        blanks();
        if (pos >= s.length()) {
            throw error("unexpected end");
        }
        char c = s.charAt(pos);
        return switch (c) {
            case '{' -> object(depth + 1);
            case '[' -> array(depth + 1);
            case '"' -> string();
            case 't' -> literal("true", Boolean.TRUE);
            case 'f' -> literal("false", Boolean.FALSE);
            case 'n' -> literal("null", NULL);
            default -> {
                if (c == '-' || (c >= '0' && c <= '9')) {
                    yield number();
                }
                throw error("unexpected character '" + c + "'");
            }
        };
    }

    private Object literal(String word, Object v) throws ModelFormatException {
        if (!s.startsWith(word, pos)) {
            throw error("expected " + word);
        }
        pos += word.length();
        return v;
    }

    private Map<String, Object> object(int depth) throws ModelFormatException {
        if (depth > MAX_DEPTH) {
            throw error("nested deeper than " + MAX_DEPTH);
        }
        pos++;
        Map<String, Object> m = new LinkedHashMap<>();
        blanks();
        if (pos < s.length() && s.charAt(pos) == '}') {
            pos++;
            return m;
        }
        while (true) {
            blanks();
            if (pos >= s.length() || s.charAt(pos) != '"') {
                throw error("expected a string key");
            }
            int keyAt = pos;
            String key = string();
            blanks();
            expect(':');
            Object v = value(depth);
            if (m.putIfAbsent(key, v) != null) {
                pos = keyAt;
                throw error("duplicate key \"" + key + "\"");
            }
            blanks();
            if (pos < s.length() && s.charAt(pos) == ',') {
                pos++;
                continue;
            }
            expect('}');
            return m;
        }
    }

    private List<Object> array(int depth) throws ModelFormatException {
        if (depth > MAX_DEPTH) {
            throw error("nested deeper than " + MAX_DEPTH);
        }
        pos++;
        List<Object> a = new ArrayList<>();
        blanks();
        if (pos < s.length() && s.charAt(pos) == ']') {
            pos++;
            return a;
        }
        while (true) {
            a.add(value(depth));
            blanks();
            if (pos < s.length() && s.charAt(pos) == ',') {
                pos++;
                continue;
            }
            expect(']');
            return a;
        }
    }

    private void expect(char c) throws ModelFormatException {
        if (pos >= s.length() || s.charAt(pos) != c) {
            throw error("expected '" + c + "'" + (pos < s.length() ? ", found '" + s.charAt(pos) + "'" : ", found the end"));
        }
        pos++;
    }

    private String string() throws ModelFormatException {
        pos++;
        StringBuilder b = new StringBuilder();
        while (true) {
            if (pos >= s.length()) {
                throw error("unterminated string");
            }
            char c = s.charAt(pos++);
            if (c == '"') {
                return b.toString();
            }
            if (c < 0x20) {
                throw error("control character in a string");
            }
            if (c != '\\') {
                b.append(c);
                continue;
            }
            if (pos >= s.length()) {
                throw error("unterminated string");
            }
            char e = s.charAt(pos++);
            switch (e) {
                case '"', '\\', '/' -> b.append(e);
                case 'b' -> b.append('\b');
                case 'f' -> b.append('\f');
                case 'n' -> b.append('\n');
                case 'r' -> b.append('\r');
                case 't' -> b.append('\t');
                case 'u' -> {
                    int escape = pos - 2;
                    char v = hex4();
                    if (Character.isHighSurrogate(v) && s.startsWith("\\u", pos)) {
                        pos += 2;
                        char low = hex4();
                        if (Character.isLowSurrogate(low)) {
                            b.append(v).append(low);
                            continue;
                        }
                    }
                    if (Character.isSurrogate(v)) {
                        // half of a pair is no character, and no UTF-8 file can hold it (the reference refuses it too)
                        pos = escape;
                        throw error("lone surrogate in a \\u escape");
                    }
                    b.append(v);
                }
                default -> throw error("bad escape '\\" + e + "'");
            }
        }
    }

    /** The character of the four hex digits at {@code pos} (after a backslash-u), consumed. */
    private char hex4() throws ModelFormatException {
        if (pos + 4 > s.length()) {
            throw error("short \\u escape");
        }
        int v = 0;
        for (int k = 0; k < 4; k++) {
            char c = s.charAt(pos + k);
            int d = c < 0x80 ? Character.digit(c, 16) : -1; // Character.digit takes other scripts' digits too
            if (d < 0) {
                throw error("bad \\u escape");
            }
            v = v * 16 + d;
        }
        pos += 4;
        return (char) v;
    }

    private Number number() throws ModelFormatException {
        int start = pos;
        if (s.charAt(pos) == '-') {
            pos++;
        }
        if (pos < s.length() && s.charAt(pos) == '0') {
            pos++;
        } else if (!digits()) {
            throw error("bad number");
        }
        if (pos < s.length() && s.charAt(pos) == '.') {
            pos++;
            if (!digits()) {
                throw error("bad number");
            }
        }
        if (pos < s.length() && (s.charAt(pos) == 'e' || s.charAt(pos) == 'E')) {
            pos++;
            if (pos < s.length() && (s.charAt(pos) == '+' || s.charAt(pos) == '-')) {
                pos++;
            }
            if (!digits()) {
                throw error("bad number");
            }
        }
        return new Number(s.substring(start, pos));
    }

    private boolean digits() {
        int start = pos;
        while (pos < s.length() && s.charAt(pos) >= '0' && s.charAt(pos) <= '9') {
            pos++;
        }
        return pos > start;
    }

    /** Writes {@code v} as a JSON string literal. */
    static void quote(StringBuilder b, String v) {
        b.append('"');
        for (int k = 0; k < v.length(); k++) {
            char c = v.charAt(k);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        b.append('"');
    }
}
