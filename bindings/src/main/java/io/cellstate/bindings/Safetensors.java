package io.cellstate.bindings;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The safetensors format of PyTorch state_dicts: an 8-byte little-endian header length, a UTF-8 JSON
 * header naming each tensor's dtype, shape and byte range, then the data. F32, F16, BF16 and F64
 * tensors are read, converted to float32; tensors are written as F32.
 *
 * <p>The reader makes every check of the reference implementation ({@code huggingface/safetensors},
 * {@code read_metadata} and {@code Metadata::validate}): a header of at most {@value #MAX_HEADER_BYTES}
 * bytes that fits in the file, valid UTF-8, a JSON object starting with '{'; {@code __metadata__} a map
 * of strings to strings; data ranges contiguous from 0, in order of their offsets, without overlap or
 * hole; each range the size of its shape's product times its dtype's size (computed with overflow
 * checks); and the data ending exactly where the file ends. It also refuses duplicate keys, fields it
 * does not know, and nesting deeper than 64. A failure is a {@link ModelFormatException} naming the
 * tensor or offset.
 */
public final class Safetensors {
    /** The reference implementation's limit on the header: 100 MB. */
    public static final long MAX_HEADER_BYTES = 100_000_000L;

    private static final String METADATA = "__metadata__";

    /** Element types of the format: the first four are read, the rest refused by name. */
    private static final Map<String, Integer> DTYPE_BITS = Map.ofEntries(
            Map.entry("F32", 32), Map.entry("F16", 16), Map.entry("BF16", 16), Map.entry("F64", 64),
            Map.entry("BOOL", 8), Map.entry("U8", 8), Map.entry("I8", 8), Map.entry("I16", 16),
            Map.entry("U16", 16), Map.entry("I32", 32), Map.entry("U32", 32), Map.entry("I64", 64),
            Map.entry("U64", 64), Map.entry("F8_E5M2", 8), Map.entry("F8_E4M3", 8), Map.entry("F8_E8M0", 8),
            Map.entry("C64", 64), Map.entry("F4", 4), Map.entry("F6_E2M3", 6), Map.entry("F6_E3M2", 6));
    private static final Set<String> READ = Set.of("F32", "F16", "BF16", "F64");

    /**
     * A tensor: its shape and its float32 elements in C order.
     *
     * @param shape the dimensions; empty for a scalar
     * @param data the elements, as many as the shape's product
     */
    public record Tensor(int[] shape, float[] data) {
        /**
         * Checks that the shape holds the data.
         *
         * @param shape the dimensions; empty for a scalar
         * @param data the elements, as many as the shape's product
         * @throws IllegalArgumentException if a dimension is negative or the product is not {@code data.length}
         */
        public Tensor {
            long n = 1;
            for (int d : shape) {
                if (d < 0) {
                    throw new IllegalArgumentException("shape " + Arrays.toString(shape) + ": negative dimension");
                }
                // saturated at 2^31, not refused there: a later dimension of 0 makes the product 0
                n = Math.min(n * d, Integer.MAX_VALUE + 1L);
            }
            if (n > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("shape " + Arrays.toString(shape) + ": over 2^31-1 elements");
            }
            if (n != data.length) {
                throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " holds " + n + " elements, data has " + data.length);
            }
        }
    }

    /**
     * What a file holds.
     *
     * @param tensors the tensors by name, in the order of their data in the file
     * @param metadata the {@code __metadata__} map; empty if absent
     */
    public record Contents(Map<String, Tensor> tensors, Map<String, String> metadata) {
        /**
         * Copies the maps, keeping their order, unmodifiable.
         *
         * @param tensors the tensors by name
         * @param metadata the free-form string map
         */
        public Contents {
            tensors = Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
            metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
        }
    }

    private Safetensors() {
    }

    /**
     * Reads a safetensors file.
     *
     * @param file the file
     * @return its tensors and metadata
     * @throws ModelFormatException if the file is malformed, naming the tensor or offset and the problem
     * @throws IOException if the file cannot be read
     */
    public static Contents read(Path file) throws IOException {
        return read(Formats.readAll(file), file.toString());
    }

    /**
     * Reads the bytes of a safetensors file.
     *
     * @param b the whole file
     * @param source the name messages give the bytes
     * @return the tensors and metadata
     * @throws ModelFormatException if the bytes are malformed, naming the tensor or offset and the problem
     */
    public static Contents read(byte[] b, String source) throws ModelFormatException {
        Npy.Failure fail = (offset, problem) -> new ModelFormatException(source, "offset " + offset, problem);
        if (b.length < 8) {
            throw fail.at(0, "too short for the header length (" + b.length + " bytes)");
        }
        long n = ByteBuffer.wrap(b, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (n < 0 || n > MAX_HEADER_BYTES) {
            throw fail.at(0, "header length " + Long.toUnsignedString(n) + " over the limit of " + MAX_HEADER_BYTES + " bytes");
        }
        if (8 + n > b.length) {
            throw fail.at(0, "header length " + n + " runs past the end of the file (" + b.length + " bytes)");
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(b, 8, (int) n)).toString();
        } catch (CharacterCodingException e) {
            throw fail.at(8, "header is not valid UTF-8");
        }
        if (!text.startsWith("{")) {
            throw fail.at(8, "header does not start with '{'");
        }
        if (!(Json.parse(text, 8, fail) instanceof Map<?, ?> header)) {
            throw fail.at(8, "header is not a JSON object");
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        List<Info> infos = new ArrayList<>();
        for (Map.Entry<?, ?> e : header.entrySet()) {
            String name = (String) e.getKey();
            if (name.equals(METADATA)) {
                if (!(e.getValue() instanceof Map<?, ?> m)) {
                    throw new ModelFormatException(source, METADATA, "not a JSON object");
                }
                for (Map.Entry<?, ?> kv : m.entrySet()) {
                    if (!(kv.getValue() instanceof String v)) {
                        throw new ModelFormatException(source, METADATA, "the value of \"" + kv.getKey() + "\" is not a string");
                    }
                    metadata.put((String) kv.getKey(), v);
                }
                continue;
            }
            infos.add(info(source, name, e.getValue()));
        }
        // the reference sorts by offsets, then requires each range to start where the last ended
        infos.sort(Comparator.comparingLong((Info i) -> i.begin).thenComparingLong(i -> i.end));
        long start = 0;
        for (Info i : infos) {
            String where = "tensor '" + i.name + "'";
            if (i.begin != start || i.end < i.begin) {
                throw new ModelFormatException(source, where, "data_offsets [" + i.begin + ", " + i.end + "] do not follow on from "
                        + start + " (overlap or hole)");
            }
            start = i.end;
            long count = 1;
            long bytes;
            try {
                for (long d : i.shape) {
                    count = Math.multiplyExact(count, d);
                }
                bytes = Math.multiplyExact(count, (long) DTYPE_BITS.get(i.dtype));
            } catch (ArithmeticException x) {
                throw new ModelFormatException(source, where, "shape " + Arrays.toString(i.shape) + " overflows");
            }
            if (bytes % 8 != 0) {
                throw new ModelFormatException(source, where, "shape " + Arrays.toString(i.shape) + " of " + i.dtype
                        + " does not fill whole bytes");
            }
            bytes /= 8;
            if (i.end - i.begin != bytes) {
                throw new ModelFormatException(source, where, "data_offsets [" + i.begin + ", " + i.end + "] hold "
                        + (i.end - i.begin) + " bytes, shape " + Arrays.toString(i.shape) + " of " + i.dtype + " needs " + bytes);
            }
        }
        long dataStart = 8 + n;
        if (dataStart + start != b.length) {
            throw fail.at(dataStart + start, "the data end at byte " + (dataStart + start) + ", the file has " + b.length
                    + " bytes (" + (dataStart + start < b.length ? "trailing bytes" : "file cut short") + ")");
        }
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (Info i : infos) {
            if (!READ.contains(i.dtype)) {
                throw new ModelFormatException(source, "tensor '" + i.name + "'",
                        "dtype " + i.dtype + " not supported (F32, F16, BF16 and F64 are read)");
            }
            int[] shape = new int[i.shape.length];
            for (int k = 0; k < shape.length; k++) {
                if (i.shape[k] > Integer.MAX_VALUE) {
                    throw new ModelFormatException(source, "tensor '" + i.name + "'", "dimension " + i.shape[k] + " over 2^31-1");
                }
                shape[k] = (int) i.shape[k];
            }
            ByteBuffer data = ByteBuffer.wrap(b, (int) (dataStart + i.begin), (int) (i.end - i.begin)).slice()
                    .order(ByteOrder.LITTLE_ENDIAN);
            float[] f = convert(i.dtype, data);
            tensors.put(i.name, new Tensor(shape, f));
        }
        return new Contents(tensors, metadata);
    }

    private static float[] convert(String dtype, ByteBuffer data) {
        switch (dtype) {
            case "F32" -> {
                float[] f = new float[data.remaining() / 4];
                data.asFloatBuffer().get(f);
                return f;
            }
            case "F64" -> {
                float[] f = new float[data.remaining() / 8];
                for (int k = 0; k < f.length; k++) {
                    f[k] = (float) data.getDouble(8 * k);
                }
                return f;
            }
            case "F16" -> {
                float[] f = new float[data.remaining() / 2];
                for (int k = 0; k < f.length; k++) {
                    f[k] = Float.float16ToFloat(data.getShort(2 * k));
                }
                return f;
            }
            case "BF16" -> {
                float[] f = new float[data.remaining() / 2];
                for (int k = 0; k < f.length; k++) {
                    f[k] = Float.intBitsToFloat((data.getShort(2 * k) & 0xffff) << 16);
                }
                return f;
            }
            default -> throw new AssertionError(dtype);
        }
    }

    private record Info(String name, String dtype, long[] shape, long begin, long end) {
    }

    private static Info info(String file, String name, Object value) throws ModelFormatException {
        String where = "tensor '" + name + "'";
        if (!(value instanceof Map<?, ?> m)) {
            throw new ModelFormatException(file, where, "not a JSON object");
        }
        for (Object k : m.keySet()) {
            if (!Set.of("dtype", "shape", "data_offsets").contains(k)) {
                throw new ModelFormatException(file, where, "unknown field \"" + k + "\"");
            }
        }
        if (!(m.get("dtype") instanceof String dtype)) {
            throw new ModelFormatException(file, where, "dtype missing or not a string");
        }
        if (!DTYPE_BITS.containsKey(dtype)) {
            throw new ModelFormatException(file, where, "unknown dtype \"" + dtype + "\"");
        }
        long[] shape = longs(file, where, "shape", m.get("shape"), -1);
        long[] offsets = longs(file, where, "data_offsets", m.get("data_offsets"), 2);
        return new Info(name, dtype, shape, offsets[0], offsets[1]);
    }

    private static long[] longs(String file, String where, String field, Object value, int length) throws ModelFormatException {
        if (!(value instanceof List<?> list) || (length >= 0 && list.size() != length)) {
            throw new ModelFormatException(file, where, field + " missing or not " + (length >= 0 ? "a list of " + length : "a list")
                    + " of integers");
        }
        long[] a = new long[list.size()];
        for (int k = 0; k < a.length; k++) {
            if (!(list.get(k) instanceof Json.Number(String text)) || !text.matches("[0-9]+")) {
                throw new ModelFormatException(file, where, field + " holds " + list.get(k) + ", not a non-negative integer");
            }
            try {
                a[k] = Long.parseLong(text);
            } catch (NumberFormatException e) {
                throw new ModelFormatException(file, where, field + " holds " + text + ", over 2^63-1");
            }
        }
        return a;
    }

    /**
     * Writes a safetensors file of F32 tensors, without metadata.
     *
     * @param file the file, replaced if it exists
     * @param tensors the tensors by name, written in this order
     * @throws IOException if the file cannot be written
     */
    public static void write(Path file, Map<String, Tensor> tensors) throws IOException {
        write(file, tensors, Map.of());
    }

    /**
     * Writes a safetensors file of F32 tensors.
     *
     * @param file the file, replaced if it exists
     * @param tensors the tensors by name, written in this order
     * @param metadata the {@code __metadata__} map; none written if empty
     * @throws IOException if the file cannot be written
     * @throws IllegalArgumentException if a tensor is named {@code __metadata__}
     */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        Files.write(file, toBytes(tensors, metadata));
    }

    /**
     * The bytes of a safetensors file of F32 tensors; the header is padded with blanks to a multiple
     * of 8 bytes, as the reference writes it, so the data stay aligned.
     *
     * @param tensors the tensors by name, written in this order
     * @param metadata the {@code __metadata__} map; none written if empty
     * @return the whole file
     * @throws IllegalArgumentException if a tensor is named {@code __metadata__}
     */
    public static byte[] toBytes(Map<String, Tensor> tensors, Map<String, String> metadata) {
        StringBuilder h = new StringBuilder("{");
        if (!metadata.isEmpty()) {
            Json.quote(h, METADATA);
            h.append(":{");
            String sep = "";
            for (Map.Entry<String, String> e : metadata.entrySet()) {
                h.append(sep);
                Json.quote(h, e.getKey());
                h.append(':');
                Json.quote(h, e.getValue());
                sep = ",";
            }
            h.append('}');
        }
        long offset = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            if (e.getKey().equals(METADATA)) {
                throw new IllegalArgumentException("a tensor cannot be named " + METADATA);
            }
            long bytes = 4L * e.getValue().data().length;
            h.append(h.length() > 1 ? "," : "");
            Json.quote(h, e.getKey());
            h.append(":{\"dtype\":\"F32\",\"shape\":").append(Arrays.toString(e.getValue().shape()).replace(" ", ""))
                    .append(",\"data_offsets\":[").append(offset).append(',').append(offset + bytes).append("]}");
            offset += bytes;
        }
        h.append('}');
        byte[] header = h.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (header.length + 7) / 8 * 8;
        ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(8 + padded + offset)).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(padded).put(header);
        for (int k = header.length; k < padded; k++) {
            out.put((byte) ' ');
        }
        for (Tensor t : tensors.values()) {
            for (float v : t.data()) {
                out.putFloat(v);
            }
        }
        return out.array();
    }
}
