package io.cellstate.bench;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A block of generated text between two marker lines of a hand-edited file (the README's benchmark
 * table, the GPU section of docs/benchmarks.md). A marker counts only alone on its line (trailing
 * blanks or a CR allowed), so prose may name the markers.
 */
public final class MarkerBlock {
    private MarkerBlock() {
    }

    /**
     * Replaces what lies between the lines {@code startMarker} and {@code endMarker} of {@code text}
     * with {@code block}, keeping the markers and everything outside them; {@code where} names the
     * text in messages.
     *
     * @throws IllegalArgumentException if a marker is missing, repeated, or out of order
     */
    public static String replace(String text, String startMarker, String endMarker, String where, String block) {
        int[] at = find(text, startMarker, endMarker, where);
        if (at == null) {
            throw new IllegalArgumentException("expected a line " + startMarker + " and, after it, a line " + endMarker
                    + " in " + where);
        }
        return text.substring(0, at[0]) + "\n" + block + text.substring(at[1]);
    }

    /**
     * The block between the lines {@code startMarker} and {@code endMarker} of {@code text}, markers
     * included, or "" if neither marker line is there.
     *
     * @throws IllegalArgumentException if one marker is there without the other, or repeated, or out of order
     */
    public static String blockOf(String text, String startMarker, String endMarker, String where) {
        int[] at = find(text, startMarker, endMarker, where);
        return at == null ? "" : text.substring(at[0] - startMarker.length(), at[1] + endMarker.length());
    }

    /** {end of the start marker, start of the end marker}, or null if neither marker line is there. */
    private static int[] find(String text, String startMarker, String endMarker, String where) {
        Matcher start = markerLine(startMarker).matcher(text);
        Matcher end = markerLine(endMarker).matcher(text);
        boolean hasStart = start.find();
        boolean hasEnd = end.find();
        if (!hasStart && !hasEnd) {
            return null;
        }
        if (!hasStart || !hasEnd || end.start() < start.end()) {
            throw new IllegalArgumentException("expected a line " + startMarker + " and, after it, a line " + endMarker
                    + " in " + where);
        }
        int[] at = {start.end(), end.start()};
        if (start.find() || end.find()) {
            throw new IllegalArgumentException("expected one " + startMarker + " line and one " + endMarker
                    + " line in " + where + ", found more");
        }
        return at;
    }

    /** A line holding only {@code marker}, perhaps with trailing blanks (or a CR). */
    private static Pattern markerLine(String marker) {
        return Pattern.compile("(?m)^" + Pattern.quote(marker) + "(?=[ \\t\\r]*$)");
    }
}
