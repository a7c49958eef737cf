package io.cellstate.bindings;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The seed corpora of the fuzz tests, by file name: small valid files of every kind each reader
 * accepts (every dtype and byte order, every header version, scalars and empty arrays, stored and
 * deflated archives, metadata, non-ASCII names) and malformed ones, named {@code bad-*}, each refused
 * for a reason of its own. Every file is well under libFuzzer's default input limit of 4096 bytes.
 *
 * <p>{@link FuzzSeedsTest} checks that the committed corpora are these files, and rewrites them when
 * asked (FUZZING.md). Beside them the corpora hold files PyTorch and NumPy wrote ({@code torch-*}) and
 * the inputs of fixed findings, which this class does not make.
 */
final class FuzzSeeds {
    private FuzzSeeds() {
    }

    /** The seeds of {@link NpyFuzzTest}. */
    static Map<String, byte[]> npy() {
        Map<String, byte[]> s = new LinkedHashMap<>();
        s.put("f4-le-2x3.npy", Npy.toBytes(NpyArray.ofFloats(new float[] {1.5f, -2f, Float.NaN, Float.MIN_VALUE, 0f, -0f}, 2, 3)));
        s.put("f8-le-3.npy", Npy.toBytes(NpyArray.ofDoubles(new double[] {Math.PI, -1e300, Double.NEGATIVE_INFINITY}, 3)));
        s.put("i4-le-1x2x2x1.npy", Npy.toBytes(NpyArray.ofInts(new int[] {Integer.MIN_VALUE, 0, Integer.MAX_VALUE, 4}, 1, 2, 2, 1)));
        s.put("i8-le-2x1.npy", Npy.toBytes(NpyArray.ofLongs(new long[] {Long.MIN_VALUE, Long.MAX_VALUE}, 2, 1)));
        s.put("f4-le-scalar.npy", Npy.toBytes(NpyArray.ofFloats(new float[] {42f})));
        s.put("f4-le-empty-3x0x5.npy", Npy.toBytes(NpyArray.ofFloats(new float[0], 3, 0, 5)));
        s.put("f4-be-v2.npy", NpyTest.npy(2, NpyTest.header(">f4", "(2,)"), NpyTest.floats(ByteOrder.BIG_ENDIAN, 1f, -2.5f)));
        s.put("f8-be-v3.npy", NpyTest.npy(3, NpyTest.header(">f8", "(1, 2)"), doubles(ByteOrder.BIG_ENDIAN, 0.1, -0.0)));
        s.put("i4-be.npy", NpyTest.npy(1, NpyTest.header(">i4", "(3,)"), ints(ByteOrder.BIG_ENDIAN, 1, -2, 3)));
        s.put("i8-be.npy", NpyTest.npy(1, NpyTest.header(">i8", "(2,)"), longs(ByteOrder.BIG_ENDIAN, 5, -6)));
        s.put("f4-native-order.npy", NpyTest.npy(1, NpyTest.header("=f4", "()"), NpyTest.floats(ByteOrder.nativeOrder(), 9f)));
        s.put("i8-numpy-style-v3-utf8.npy", NpyTest.npy(3,
                "{\"shape\": (2,), \"fortran_order\": False, \"descr\": \"<i8\"}          \n", longs(ByteOrder.LITTLE_ENDIAN, 7, 8)));
        byte[] data = NpyTest.floats(ByteOrder.LITTLE_ENDIAN, 1f, 2f);
        byte[] good = NpyTest.npy(1, NpyTest.header("<f4", "(2,)"), data);
        byte[] magic = good.clone();
        magic[1] = 'X';
        s.put("bad-magic.npy", magic);
        byte[] version = good.clone();
        version[6] = 4;
        s.put("bad-version.npy", version);
        byte[] past = good.clone();
        past[9] = 0x7f;
        s.put("bad-header-past-end.npy", past);
        s.put("bad-fortran-order.npy", NpyTest.npy(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2,)}\n", data));
        s.put("bad-object-dtype.npy", NpyTest.npy(1, NpyTest.header("|O", "(1,)"), new byte[8]));
        s.put("bad-negative-dim.npy", NpyTest.npy(1, NpyTest.header("<f4", "(-1,)"), new byte[0]));
        s.put("bad-overflowing-shape.npy", NpyTest.npy(1, NpyTest.header("<f4", "(4294967296, 4294967296)"), new byte[0]));
        s.put("bad-huge-shape-short-data.npy", NpyTest.npy(1, NpyTest.header("<f4", "(100000, 100000)"), data));
        s.put("bad-trailing-bytes.npy", NpyTest.npy(1, NpyTest.header("<f4", "(1,)"), data));
        s.put("bad-duplicate-key.npy", NpyTest.npy(1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}\n", data));
        s.put("bad-python-expression.npy", NpyTest.npy(1, "__import__('os').system('true')\n", data));
        byte[] utf8 = NpyTest.npy(3, NpyTest.header("<f4", "(2,)"), data);
        utf8[12 + 2] = (byte) 0xff;
        s.put("bad-utf8-v3.npy", utf8);
        return s;
    }

    /** The seeds of {@link NpzFuzzTest}, their entries dated 1980-01-01 so that they are the same on every run. */
    static Map<String, byte[]> npz() throws IOException {
        Map<String, byte[]> s = undated();
        s.replaceAll((name, zip) -> dated1980(zip));
        return s;
    }

    private static Map<String, byte[]> undated() throws IOException {
        Map<String, byte[]> s = new LinkedHashMap<>();
        Map<String, NpyArray> arrays = new LinkedHashMap<>();
        arrays.put("x", NpyArray.ofFloats(new float[] {1f, 2f, 3f, 4f, 5f, 6f}, 3, 1, 2));
        arrays.put("h0", NpyArray.ofDoubles(new double[] {0.25, -0.5}, 1, 1, 2));
        arrays.put("lengths", NpyArray.ofLongs(new long[] {3, 1}, 2));
        arrays.put("ids", NpyArray.ofInts(new int[] {7}, 1));
        s.put("stored.npz", written(arrays, false));
        s.put("deflated.npz", written(arrays, true));
        s.put("one-scalar-deflated.npz", written(Map.of("w", NpyArray.ofFloats(new float[] {1f})), true));
        s.put("empty-archive.npz", written(Map.of(), false));
        byte[] npy = Npy.toBytes(NpyArray.ofFloats(new float[] {1f, 2f}, 2));
        s.put("big-endian-entry.npz", NpzTest.zip(true, Map.of("b.npy", FuzzSeeds.npy().get("f4-be-v2.npy"))));
        s.put("bad-not-a-zip.npz", npy);
        byte[] bomb = NpzTest.zip(true, Map.of("x.npy", npy));
        NpzTest.declareSize(bomb, 1_500_000_000L);
        s.put("bad-declared-size-over-deflate-ratio.npz", bomb);
        byte[] stored = NpzTest.zip(false, Map.of("x.npy", npy));
        NpzTest.declareSize(stored, npy.length * 2L);
        s.put("bad-stored-size-lies.npz", stored);
        byte[] past = NpzTest.zip(false, Map.of("x.npy", npy));
        NpzTest.declareSize(past, 1_500_000_000L);
        NpzTest.declareCompressedSize(past, 1_500_000_000L);
        s.put("bad-stored-sizes-past-the-archive.npz", past);
        byte[] crc = NpzTest.zip(false, Map.of("x.npy", npy));
        crc[30 + "x.npy".length() + npy.length - 1] ^= 1;
        s.put("bad-checksum.npz", crc);
        Map<String, byte[]> two = new LinkedHashMap<>();
        two.put("a.npy", npy);
        two.put("b.npy", npy);
        String renamed = new String(NpzTest.zip(false, two), StandardCharsets.ISO_8859_1).replace("b.npy", "a.npy");
        s.put("bad-duplicate-entry.npz", renamed.getBytes(StandardCharsets.ISO_8859_1));
        s.put("bad-not-npy-entry.npz", NpzTest.zip(true, Map.of("readme.txt", new byte[] {1})));
        s.put("bad-directory-entry.npz", NpzTest.zip(false, Map.of("d/", new byte[0])));
        s.put("bad-malformed-array.npz", NpzTest.zip(true, Map.of("w.npy", Arrays.copyOf(npy, npy.length - 1))));
        byte[] whole = written(arrays, true);
        s.put("bad-truncated.npz", Arrays.copyOf(whole, whole.length / 2));
        return s;
    }

    /** The seeds of {@link SafetensorsFuzzTest}. */
    static Map<String, byte[]> safetensors() {
        Map<String, byte[]> s = new LinkedHashMap<>();
        Map<String, Safetensors.Tensor> t = new LinkedHashMap<>();
        t.put("weight_ih_l0", new Safetensors.Tensor(new int[] {4, 2}, new float[] {1, 2, 3, 4, 5, 6, 7, 8}));
        t.put("bias_ih_l0", new Safetensors.Tensor(new int[] {4}, new float[] {-1, Float.NaN, Float.MIN_VALUE, -0f}));
        t.put("scalar", new Safetensors.Tensor(new int[] {}, new float[] {42f}));
        t.put("empty", new Safetensors.Tensor(new int[] {0, 3}, new float[0]));
        t.put("\u00fcn\u00efcode \"quoted\"", new Safetensors.Tensor(new int[] {1}, new float[] {0.5f}));
        s.put("f32-with-metadata.safetensors", Safetensors.toBytes(t, Map.of("format", "pt", "note", "line\nbreak")));
        s.put("f32-no-metadata.safetensors", Safetensors.toBytes(Map.of("w", t.get("weight_ih_l0")), Map.of()));
        s.put("no-tensors.safetensors", SafetensorsTest.file("{}", new byte[0]));
        s.put("empty-tensor-past-2e31-before-its-0.safetensors",
                SafetensorsTest.file("{" + tensor("e", "F32", "[100000,100000,0]", 0, 0) + "}", new byte[0]));
        ByteBuffer d = ByteBuffer.allocate(2 * 2 + 2 * 2 + 2 * 8).order(ByteOrder.LITTLE_ENDIAN);
        d.putShort(Float.floatToFloat16(1.5f)).putShort(Float.floatToFloat16(-65504f));
        d.putShort((short) (Float.floatToIntBits(3.0f) >>> 16)).putShort((short) (Float.floatToIntBits(-0.5f) >>> 16));
        d.putDouble(0.1).putDouble(1e300);
        s.put("f16-bf16-f64-listed-out-of-order.safetensors", SafetensorsTest.file("{\"__metadata__\":{\"k\":\"v\"},"
                + tensor("c", "F64", "[2,1]", 8, 24) + "," + tensor("a", "F16", "[2]", 0, 4) + ","
                + tensor("b", "BF16", "[2]", 4, 8) + "}    ", d.array()));
        String w = tensor("w", "F32", "[1]", 0, 4);
        s.put("bad-header-past-end.safetensors", header(SafetensorsTest.file("{" + w + "}", new byte[4]), 4096));
        s.put("bad-header-over-limit.safetensors", header(SafetensorsTest.file("{}", new byte[0]), 100_000_001L));
        byte[] utf8 = SafetensorsTest.file("{\"\u00e9\":1}", new byte[0]);
        utf8[11] = 'x'; // the lead byte of '\u00e9' followed by no continuation byte
        s.put("bad-utf8.safetensors", utf8);
        s.put("bad-not-an-object.safetensors", SafetensorsTest.file("[1]", new byte[0]));
        s.put("bad-trailing-comma.safetensors", SafetensorsTest.file("{" + w + ",}", new byte[4]));
        s.put("bad-deep-nesting.safetensors", SafetensorsTest.file("{\"a\":" + "[".repeat(70) + "]".repeat(70) + "}", new byte[0]));
        s.put("bad-duplicate-key.safetensors", SafetensorsTest.file("{" + w + "," + tensor("w", "F32", "[1]", 4, 8) + "}", new byte[8]));
        s.put("bad-metadata-value.safetensors", SafetensorsTest.file("{\"__metadata__\":{\"k\":1}," + w + "}", new byte[4]));
        s.put("bad-unknown-field.safetensors", SafetensorsTest.file(
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", new byte[4]));
        s.put("bad-unknown-dtype.safetensors", SafetensorsTest.file("{" + tensor("w", "F128", "[1]", 0, 16) + "}", new byte[16]));
        s.put("bad-unread-dtype.safetensors", SafetensorsTest.file("{" + tensor("w", "I64", "[1]", 0, 8) + "}", new byte[8]));
        s.put("bad-partial-byte.safetensors", SafetensorsTest.file("{" + tensor("w", "F4", "[3]", 0, 1) + "}", new byte[1]));
        s.put("bad-negative-dim.safetensors", SafetensorsTest.file("{" + tensor("w", "F32", "[-1]", 0, 4) + "}", new byte[4]));
        s.put("bad-offsets-hole.safetensors", SafetensorsTest.file("{" + w + "," + tensor("b", "F32", "[1]", 8, 12) + "}", new byte[12]));
        s.put("bad-size-not-shape.safetensors", SafetensorsTest.file("{" + tensor("w", "F32", "[3]", 0, 8) + "}", new byte[8]));
        s.put("bad-overflowing-shape.safetensors", SafetensorsTest.file(
                "{" + tensor("w", "F32", "[4294967296,4294967296]", 0, 8) + "}", new byte[8]));
        s.put("bad-huge-tensor-cut-short.safetensors", SafetensorsTest.file(
                "{" + tensor("w", "F32", "[100000,100000]", 0, 40_000_000_000L) + "}", new byte[4]));
        s.put("bad-trailing-bytes.safetensors", SafetensorsTest.file("{" + w + "}", new byte[12]));
        return s;
    }

    /**
     * The seeds of {@link OnnxFuzzTest}: small models {@link Onnx#write} makes (every cell, one and two
     * layers, both directions and layouts, with and without state and length inputs), and graphs changed
     * so the reader refuses them, each for a reason of its own.
     */
    static Map<String, byte[]> onnx() throws IOException {
        Map<String, byte[]> s = new LinkedHashMap<>();
        int i = 0;
        for (io.cellstate.Cell cell : io.cellstate.Cell.all()) {
            io.cellstate.RnnSpec spec = io.cellstate.RnnSpec.builder().cell(cell).inputSize(2).hiddenSize(2).layers(1 + i % 2)
                    .direction(i % 3 == 0 ? io.cellstate.Direction.BIDIRECTIONAL : io.cellstate.Direction.FORWARD)
                    .bias(i != 3).build();
            Onnx.ExportOptions o = new Onnx.ExportOptions(i % 2 == 0 ? io.cellstate.Layout.SEQUENCE_MAJOR
                    : io.cellstate.Layout.BATCH_MAJOR, i % 2 == 1, i == 2);
            s.put(cell.name() + "-" + spec.layers() + "x" + spec.direction().toString().toLowerCase(java.util.Locale.ROOT)
                    + ".onnx", Onnx.toBytes(io.cellstate.RnnWeights.random(spec, i), o));
            i++;
        }
        // the cells' options: an LSTM's P, clip, input_forget and parameterised activations; other activations of the
        // GRU and RNN, per direction
        io.cellstate.Activation softsign = io.cellstate.Activation.of(io.cellstate.Activation.Function.SOFTSIGN);
        List<io.cellstate.Cell> options = List.of(
                io.cellstate.Cell.lstm().withPeepholes(true).withClip(0.5f).withInputForget(true).withActivations(
                        new io.cellstate.Activation(io.cellstate.Activation.Function.HARD_SIGMOID, 0.25f, 0.5f), softsign,
                        io.cellstate.Activation.tanh()),
                io.cellstate.Cell.gruOriginal().withActivations(io.cellstate.Activation.sigmoid(), softsign),
                new io.cellstate.Cell.Rnn(List.of(new io.cellstate.Activation(io.cellstate.Activation.Function.LEAKY_RELU, 0.1f, 0),
                        new io.cellstate.Activation(io.cellstate.Activation.Function.THRESHOLDED_RELU, 0.2f, 0))));
        for (int j = 0; j < options.size(); j++) {
            io.cellstate.Cell cell = options.get(j);
            io.cellstate.RnnSpec spec = io.cellstate.RnnSpec.builder().cell(cell).inputSize(2).hiddenSize(2)
                    .direction(j % 2 == 0 ? io.cellstate.Direction.BIDIRECTIONAL : io.cellstate.Direction.FORWARD).build();
            String kind = cell.name().substring(0, cell.name().indexOf('['));
            s.put(kind + "-options-1x" + spec.direction().toString().toLowerCase(java.util.Locale.ROOT) + ".onnx",
                    Onnx.toBytes(io.cellstate.RnnWeights.random(spec, i), Onnx.ExportOptions.DEFAULT));
            i++;
        }
        s.put("bad-unknown-activation.onnx", edited(s.get("gru-original-options-1xforward.onnx"), "Softsign", "Softsigx"));
        byte[] lstm = s.get("lstm-1xbidirectional.onnx");
        s.put("bad-truncated.onnx", Arrays.copyOf(lstm, lstm.length / 2));
        s.put("bad-not-a-model.onnx", "not a protobuf message at all".getBytes(StandardCharsets.UTF_8));
        s.put("bad-unknown-op.onnx", edited(lstm, "Reshape", "Softmax"));
        s.put("bad-unknown-attribute.onnx", edited(lstm, "hidden_size", "hidden_sizf"));
        s.put("bad-other-direction.onnx", edited(lstm, "bidirectional", "bidirectionax"));
        return s;
    }

    /** A model with one name replaced by another of the same length (so every length in it stays right). */
    private static byte[] edited(byte[] model, String from, String to) {
        byte[] f = from.getBytes(StandardCharsets.UTF_8);
        byte[] t = to.getBytes(StandardCharsets.UTF_8);
        byte[] out = model.clone();
        for (int k = 0; k + f.length <= out.length; k++) {
            if (Arrays.equals(out, k, k + f.length, f, 0, f.length)) {
                System.arraycopy(t, 0, out, k, t.length);
                return out;
            }
        }
        throw new IllegalStateException(from + " not in the model");
    }

    /** The test classes' inputs directories, under a test resources root, by the seeds they hold. */
    static Map<Path, Map<String, byte[]>> corpora(Path resources) throws IOException {
        Path pkg = resources.resolve(FuzzSeeds.class.getPackageName().replace('.', '/'));
        Map<Path, Map<String, byte[]>> c = new LinkedHashMap<>();
        c.put(pkg.resolve("NpyFuzzTestInputs/read"), npy());
        c.put(pkg.resolve("NpzFuzzTestInputs/read"), npz());
        c.put(pkg.resolve("SafetensorsFuzzTestInputs/read"), safetensors());
        c.put(pkg.resolve("OnnxFuzzTestInputs/read"), onnx());
        return c;
    }

    private static String tensor(String name, String dtype, String shape, long begin, long end) {
        return SafetensorsTest.tensor(name, dtype, shape, begin, end);
    }

    /**
     * The archive with the modification time and date of every local and central header set to
     * 1980-01-01 00:00, the first DOS date (ZipOutputStream writes the current time).
     */
    private static byte[] dated1980(byte[] zip) {
        ByteBuffer b = ByteBuffer.wrap(zip.clone()).order(ByteOrder.LITTLE_ENDIAN);
        for (int k = 0; k + 4 <= zip.length; k++) {
            int at = switch (b.getInt(k)) {
                case 0x04034b50 -> k + 10; // local file header: time, date
                case 0x02014b50 -> k + 12; // central directory header: time, date
                default -> -1;
            };
            if (at >= 0 && at + 4 <= zip.length) {
                b.putShort(at, (short) 0).putShort(at + 2, (short) ((1 << 5) | 1));
            }
        }
        return b.array();
    }

    /** A safetensors file with its header length replaced. */
    private static byte[] header(byte[] file, long length) {
        ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).putLong(0, length);
        return file;
    }

    private static byte[] written(Map<String, NpyArray> arrays, boolean compress) throws IOException {
        Path f = Files.createTempFile("seed", ".npz");
        try {
            Npz.write(f, arrays, compress);
            return Files.readAllBytes(f);
        } finally {
            Files.delete(f);
        }
    }

    private static byte[] doubles(ByteOrder order, double... v) {
        ByteBuffer b = ByteBuffer.allocate(8 * v.length).order(order);
        for (double x : v) {
            b.putDouble(x);
        }
        return b.array();
    }

    private static byte[] ints(ByteOrder order, int... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(order);
        for (int x : v) {
            b.putInt(x);
        }
        return b.array();
    }

    private static byte[] longs(ByteOrder order, long... v) {
        ByteBuffer b = ByteBuffer.allocate(8 * v.length).order(order);
        for (long x : v) {
            b.putLong(x);
        }
        return b.array();
    }
}
