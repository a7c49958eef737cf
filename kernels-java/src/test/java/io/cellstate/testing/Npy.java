package io.cellstate.testing;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A reader of NumPy {@code .npy} files, format 1.0/2.0, C order, little-endian {@code <f4}, {@code <f8}
 * (rounded to float32, the kernels' precision), {@code <i4} or {@code <i8}: just what the conformance
 * data uses. Test-only.
 */
public record Npy(String dtype, int[] shape, float[] floats, long[] ints) {
    private static final Pattern DESCR = Pattern.compile("'descr':\\s*'([^']+)'");
    private static final Pattern ORDER = Pattern.compile("'fortran_order':\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape':\\s*\\(([^)]*)\\)");

    public static Npy read(Path file) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        byte[] magic = new byte[6];
        buf.get(magic);
        if (magic[0] != (byte) 0x93 || !"NUMPY".equals(new String(magic, 1, 5, StandardCharsets.US_ASCII))) {
            throw new IOException(file + ": not a .npy file");
        }
        int major = buf.get();
        buf.get();
        int headerLen = major == 1 ? Short.toUnsignedInt(buf.getShort()) : buf.getInt();
        byte[] header = new byte[headerLen];
        buf.get(header);
        String h = new String(header, StandardCharsets.US_ASCII);
        String dtype = group(DESCR, h, file);
        if (!"False".equals(group(ORDER, h, file))) {
            throw new IOException(file + ": Fortran order is not supported");
        }
        int[] shape = Arrays.stream(group(SHAPE, h, file).split(","))
                .map(String::trim).filter(s -> !s.isEmpty()).mapToInt(Integer::parseInt).toArray();
        int n = Arrays.stream(shape).reduce(1, Math::multiplyExact);
        return switch (dtype) {
            case "<f4" -> {
                float[] f = new float[n];
                buf.asFloatBuffer().get(f);
                yield new Npy(dtype, shape, f, null);
            }
            case "<f8" -> {
                float[] f = new float[n];
                for (int i = 0; i < n; i++) {
                    f[i] = (float) buf.getDouble();
                }
                yield new Npy(dtype, shape, f, null);
            }
            case "<i4" -> {
                long[] v = new long[n];
                for (int i = 0; i < n; i++) {
                    v[i] = buf.getInt();
                }
                yield new Npy(dtype, shape, null, v);
            }
            case "<i8" -> {
                long[] v = new long[n];
                buf.asLongBuffer().get(v);
                yield new Npy(dtype, shape, null, v);
            }
            default -> throw new IOException(file + ": dtype " + dtype + " is not supported");
        };
    }

    private static String group(Pattern p, String header, Path file) throws IOException {
        Matcher m = p.matcher(header);
        if (!m.find()) {
            throw new IOException(file + ": header without " + p.pattern() + ": " + header);
        }
        return m.group(1);
    }
}
