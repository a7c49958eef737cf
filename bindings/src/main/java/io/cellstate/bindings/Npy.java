package io.cellstate.bindings;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * NumPy's {@code .npy} format (versions 1.0, 2.0 and 3.0 of its header): float32, float64, int32 and
 * int64 arrays in C order, either byte order, read; written little-endian, version 1.0 (2.0 when the
 * header needs it).
 *
 * <p>The reader is hardened as NumPy's own {@code format.read_array} with {@code allow_pickle=False}
 * and more: the header must be at most {@value #MAX_HEADER_BYTES} bytes and a plain dict literal with
 * exactly the keys {@code descr}, {@code fortran_order} and {@code shape} (never evaluated);
 * Fortran order, object and other dtypes, negative dimensions, an element count that overflows, data
 * shorter or longer than the shape says are all refused with a {@link ModelFormatException}. The
 * arrays it allocates hold exactly the elements the file contains.
 */
public final class Npy {
    /** The longest header read: NumPy writes tens of bytes; its own reader stops at 10000 by default. */
    public static final int MAX_HEADER_BYTES = 64 * 1024;

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final int ALIGN = 64;

    private Npy() {
    }

    /**
     * Reads a {@code .npy} file.
     *
     * @param file the file
     * @return its array
     * @throws ModelFormatException if the file is malformed, naming the offset and the problem
     * @throws IOException if the file cannot be read
     */
    public static NpyArray read(Path file) throws IOException {
        return read(Formats.readAll(file), file.toString());
    }

    /**
     * Reads the bytes of a {@code .npy} file.
     *
     * @param bytes the whole file
     * @param source the name messages give the bytes
     * @return the array
     * @throws ModelFormatException if the bytes are malformed, naming the offset and the problem
     */
    public static NpyArray read(byte[] bytes, String source) throws ModelFormatException {
        return parse(bytes, source, "");
    }

    /** Parses; {@code where} prefixes each place ({@code "entry 'x.npy', "} inside an archive). */
    static NpyArray parse(byte[] b, String file, String where) throws ModelFormatException {
        Failure fail = (offset, problem) -> new ModelFormatException(file, where + "offset " + offset, problem);
        if (b.length < MAGIC.length + 2) {
            throw fail.at(0, "too short for a .npy header (" + b.length + " bytes)");
        }
        for (int k = 0; k < MAGIC.length; k++) {
            if (b[k] != MAGIC[k]) {
                throw fail.at(0, "bad magic: not a .npy file");
            }
        }
        int major = b[6] & 0xff;
        int minor = b[7] & 0xff;
        if (major < 1 || major > 3 || minor != 0) {
            throw fail.at(6, "unsupported version " + major + "." + minor + " (1.0, 2.0 and 3.0 are read)");
        }
        int lengthBytes = major == 1 ? 2 : 4;
        int start = 8 + lengthBytes;
        if (b.length < start) {
            throw fail.at(8, "file ends inside the header length");
        }
        long headerLength = major == 1
                ? (b[8] & 0xff) | (b[9] & 0xff) << 8
                : Integer.toUnsignedLong(ByteBuffer.wrap(b, 8, 4).order(ByteOrder.LITTLE_ENDIAN).getInt());
        if (headerLength > MAX_HEADER_BYTES) {
            throw fail.at(8, "header length " + headerLength + " over the limit of " + MAX_HEADER_BYTES + " bytes");
        }
        if (start + headerLength > b.length) {
            throw fail.at(8, "header length " + headerLength + " runs past the end of the file (" + b.length + " bytes)");
        }
        String text;
        if (major == 3) {
            try {
                text = StandardCharsets.UTF_8.newDecoder()
                        .decode(ByteBuffer.wrap(b, start, (int) headerLength)).toString();
            } catch (java.nio.charset.CharacterCodingException e) {
                throw fail.at(start, "header is not valid UTF-8");
            }
        } else {
            text = new String(b, start, (int) headerLength, StandardCharsets.ISO_8859_1);
        }
        Header h = new HeaderParser(text, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1, start, fail).parse();
        int dataStart = start + (int) headerLength;
        long count = 1;
        for (long d : h.shape) {
            try {
                count = Math.multiplyExact(count, d);
            } catch (ArithmeticException e) {
                throw fail.at(start, "shape " + h.shapeText + " overflows: more elements than 2^63-1");
            }
        }
        long available = b.length - dataStart;
        long needed;
        try {
            needed = Math.multiplyExact(count, h.dtype.size);
        } catch (ArithmeticException e) {
            throw fail.at(start, "shape " + h.shapeText + " overflows: more bytes than 2^63-1");
        }
        if (needed > available) {
            throw fail.at(dataStart, "short data: shape " + h.shapeText + " of " + h.descr + " needs " + needed
                    + " bytes, the file has " + available);
        }
        if (needed < available) {
            throw fail.at(dataStart + needed, (available - needed) + " trailing bytes after the data of shape " + h.shapeText);
        }
        int n = (int) count; // needed <= b.length, so count fits
        int[] shape = new int[h.shape.size()];
        for (int k = 0; k < shape.length; k++) {
            shape[k] = (int) (long) h.shape.get(k); // each dimension <= count, or count is 0
            if (shape[k] != h.shape.get(k)) {
                throw fail.at(start, "dimension " + h.shape.get(k) + " of shape " + h.shapeText + " over 2^31-1");
            }
        }
        ByteBuffer data = ByteBuffer.wrap(b, dataStart, (int) needed).slice().order(h.order);
        Object array = switch (h.dtype) {
            case FLOAT32 -> {
                float[] a = new float[n];
                data.asFloatBuffer().get(a);
                yield a;
            }
            case FLOAT64 -> {
                double[] a = new double[n];
                data.asDoubleBuffer().get(a);
                yield a;
            }
            case INT32 -> {
                int[] a = new int[n];
                data.asIntBuffer().get(a);
                yield a;
            }
            case INT64 -> {
                long[] a = new long[n];
                data.asLongBuffer().get(a);
                yield a;
            }
        };
        return NpyArray.wrap(h.dtype, shape, array, n);
    }

    /**
     * Writes a {@code .npy} file, little-endian.
     *
     * @param file the file, replaced if it exists
     * @param array the array
     * @throws IOException if the file cannot be written
     */
    public static void write(Path file, NpyArray array) throws IOException {
        Files.write(file, toBytes(array));
    }

    /**
     * The bytes of a {@code .npy} file, little-endian, header padded so the data starts at a multiple
     * of 64 bytes, as NumPy writes it.
     *
     * @param array the array
     * @return the whole file
     */
    public static byte[] toBytes(NpyArray array) {
        int[] shape = array.shape();
        StringBuilder s = new StringBuilder("{'descr': '<").append(array.dtype().kind).append(array.dtype().size)
                .append("', 'fortran_order': False, 'shape': (");
        for (int k = 0; k < shape.length; k++) {
            s.append(shape[k]).append(shape.length == 1 ? "," : k + 1 < shape.length ? ", " : "");
        }
        s.append("), }");
        int major = 8 + 2 + s.length() + 1 <= 65535 ? 1 : 2;
        int prefix = 8 + (major == 1 ? 2 : 4);
        int total = prefix + s.length() + 1;
        int pad = (ALIGN - total % ALIGN) % ALIGN;
        s.repeat(' ', pad).append('\n');
        byte[] header = s.toString().getBytes(StandardCharsets.ISO_8859_1);
        long dataBytes = (long) array.size() * array.dtype().size;
        ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(prefix + header.length + dataBytes)).order(ByteOrder.LITTLE_ENDIAN);
        out.put(MAGIC).put((byte) major).put((byte) 0);
        if (major == 1) {
            out.putShort((short) header.length);
        } else {
            out.putInt(header.length);
        }
        out.put(header);
        switch (array.data()) {
            case float[] a -> out.asFloatBuffer().put(a);
            case double[] a -> out.asDoubleBuffer().put(a);
            case int[] a -> out.asIntBuffer().put(a);
            case long[] a -> out.asLongBuffer().put(a);
            default -> throw new AssertionError(array);
        }
        return out.array();
    }

    @FunctionalInterface
    interface Failure {
        ModelFormatException at(long offset, String problem);
    }

    private record Header(String descr, NpyArray.DType dtype, ByteOrder order, List<Long> shape, String shapeText) {
    }

    /**
     * The header: a Python dict literal, parsed (never evaluated) by a grammar of exactly what NumPy
     * writes: string keys; string, True/False and tuple-of-integer values; commas, optional trailing
     * comma, blanks; then padding of blanks up to a newline.
     */
    private static final class HeaderParser {
        private final String s;
        private final java.nio.charset.Charset charset;
        private final int base;
        private final Failure fail;
        private int pos;

        HeaderParser(String s, java.nio.charset.Charset charset, int base, Failure fail) {
            this.s = s;
            this.charset = charset;
            this.base = base;
            this.fail = fail;
        }

        private ModelFormatException error(String problem) {
            // the offset in the file's bytes: version 3 headers are UTF-8, so characters and bytes differ
            return fail.at(base + s.substring(0, pos).getBytes(charset).length, "header " + problem);
        }

        private void blanks() {
            while (pos < s.length() && (s.charAt(pos) == ' ' || s.charAt(pos) == '\t')) {
                pos++;
            }
        }

        private boolean eat(char c) {
            blanks();
            if (pos < s.length() && s.charAt(pos) == c) {
                pos++;
                return true;
            }
            return false;
        }

        private void expect(char c) throws ModelFormatException {
            if (!eat(c)) {
                throw error("is not a plain dict literal: expected '" + c + "'" + found());
            }
        }

        private String found() {
            return pos < s.length() ? ", found '" + s.charAt(pos) + "'" : ", found the end";
        }

        Header parse() throws ModelFormatException {
            expect('{');
            String descr = null;
            Boolean fortran = null;
            List<Long> shape = null;
            String shapeText = null;
            Set<String> seen = new HashSet<>();
            while (!eat('}')) {
                int keyAt = pos;
                String key = string();
                if (!seen.add(key)) {
                    pos = keyAt;
                    throw error("has the key '" + key + "' twice");
                }
                expect(':');
                blanks();
                switch (key) {
                    case "descr" -> descr = string();
                    case "fortran_order" -> fortran = bool();
                    case "shape" -> {
                        int at = pos;
                        shape = tuple();
                        shapeText = s.substring(at, pos);
                    }
                    default -> {
                        pos = keyAt;
                        throw error("has the key '" + key + "': only descr, fortran_order and shape are allowed");
                    }
                }
                if (!eat(',')) {
                    expect('}');
                    break;
                }
            }
            int end = pos;
            while (pos < s.length() && (s.charAt(pos) == ' ' || s.charAt(pos) == '\n')) {
                pos++;
            }
            if (pos < s.length()) {
                throw error("has text after the dict" + found());
            }
            pos = end;
            for (String k : List.of("descr", "fortran_order", "shape")) {
                if (!seen.contains(k)) {
                    throw error("lacks the key '" + k + "'");
                }
            }
            if (fortran) {
                throw error("says fortran_order: True; only C order is read");
            }
            return new Header(descr, dtype(descr), order(descr), shape, shapeText);
        }

        private NpyArray.DType dtype(String descr) throws ModelFormatException {
            if (descr.length() == 3 && "<>|=".indexOf(descr.charAt(0)) >= 0) {
                for (NpyArray.DType t : NpyArray.DType.values()) {
                    if (descr.charAt(1) == t.kind && descr.charAt(2) == '0' + t.size && descr.charAt(0) != '|') {
                        return t;
                    }
                }
            }
            if (descr.contains("O")) {
                throw error("has the object dtype '" + descr + "': refused (it needs pickle)");
            }
            throw error("has the dtype '" + descr + "': only float32, float64, int32 and int64 (<f4 >f4 <f8 >f8 <i4 >i4 <i8 >i8) are read");
        }

        private ByteOrder order(String descr) {
            return switch (descr.charAt(0)) {
                case '>' -> ByteOrder.BIG_ENDIAN;
                case '<' -> ByteOrder.LITTLE_ENDIAN;
                default -> ByteOrder.nativeOrder();
            };
        }

        private String string() throws ModelFormatException {
            blanks();
            if (pos >= s.length() || (s.charAt(pos) != '\'' && s.charAt(pos) != '"')) {
                throw error("is not a plain dict literal: expected a string" + found());
            }
            char quote = s.charAt(pos);
            int end = s.indexOf(quote, pos + 1);
            if (end < 0 || s.substring(pos + 1, end).indexOf('\\') >= 0) {
                throw error("has a string without an end or with escapes");
            }
            String v = s.substring(pos + 1, end);
            pos = end + 1;
            return v;
        }

        private boolean bool() throws ModelFormatException {
            if (s.startsWith("True", pos)) {
                pos += 4;
                return true;
            }
            if (s.startsWith("False", pos)) {
                pos += 5;
                return false;
            }
            throw error("is not a plain dict literal: expected True or False" + found());
        }

        private List<Long> tuple() throws ModelFormatException {
            expect('(');
            List<Long> dims = new ArrayList<>();
            while (!eat(')')) {
                dims.add(integer());
                if (!eat(',')) {
                    expect(')');
                    break;
                }
            }
            return dims;
        }

        private long integer() throws ModelFormatException {
            blanks();
            if (pos < s.length() && s.charAt(pos) == '-') {
                throw error("has a negative dimension");
            }
            int start = pos;
            long v = 0;
            while (pos < s.length() && s.charAt(pos) >= '0' && s.charAt(pos) <= '9') {
                int digit = s.charAt(pos) - '0';
                if (v > (Long.MAX_VALUE - digit) / 10) {
                    throw error("has a dimension over 2^63-1");
                }
                v = v * 10 + digit;
                pos++;
            }
            if (pos == start) {
                throw error("is not a plain dict literal: expected a dimension" + found());
            }
            return v;
        }
    }
}
