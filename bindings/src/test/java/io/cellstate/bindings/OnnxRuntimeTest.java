package io.cellstate.bindings;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.cellstate.Backend;
import io.cellstate.Cell;
import io.cellstate.Direction;
import io.cellstate.Layout;
import io.cellstate.RnnPlan;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import java.io.IOException;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * An independent runner: ONNX Runtime (its Java API, in test scope only) runs
 *
 * <ul>
 *   <li>every graph PyTorch's exporter wrote (onnx-export), against PyTorch's float64 outputs, and
 *       Cellstate's {@link RnnModel#run} on every CPU backend against ONNX Runtime's outputs;</li>
 *   <li>every single-node model of ONNX's node tests (onnx) and of the ONNX Runtime cases (onnx-runtime),
 *       fed every node input from its .npy (weights included), against the expected outputs: a check of
 *       the fixtures themselves; and Cellstate's read of the model (peepholes, clip, input_forget and
 *       activations included) against ONNX Runtime's outputs;</li>
 *   <li>the files {@link Onnx#write} writes for a spread of random networks (every cell, 1 to 3 layers,
 *       every direction, with and without bias, both layouts, with and without initial states and
 *       lengths; and the cells' options: peepholes, clip, input_forget, other activations with their
 *       parameters, per direction too): ONNX Runtime must load each with strict shape and type inference
 *       (a valid model whose declared shapes agree with what the nodes compute) and agree with Cellstate's
 *       run of the same file read back by {@link Onnx#read}.</li>
 * </ul>
 *
 * <p>Every comparison is within {@link io.cellstate.Tolerance#forward} of the network and its steps, the
 * rule two correct float32 kernels meet; each case prints its worst error as a fraction of it, and the
 * class prints each group's worst at the end. Where ONNX Runtime cannot load here (no native library for
 * the platform), every case is skipped, saying why.
 */
class OnnxRuntimeTest {
    /** Seed of the written networks, their inputs and weights; in every message of those cases. */
    private static final long SEED = 20261203L;
    /** Worst error/tolerance per group and comparison, printed after the class. */
    private static final Map<String, Double> WORST = new ConcurrentHashMap<>();

    @TempDir
    Path tmp;

    /** ONNX Runtime's environment, loaded once, or why it cannot load here. */
    private static final class Ort {
        static final OrtEnvironment ENV;
        static final String UNAVAILABLE;

        static {
            OrtEnvironment env = null;
            String why = null;
            try {
                env = OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING, "cellstate-test");
            } catch (RuntimeException | LinkageError e) {
                why = "ONNX Runtime does not load on " + System.getProperty("os.name") + "/" + System.getProperty("os.arch")
                        + " (" + e + "); com.microsoft.onnxruntime:onnxruntime ships natives for linux-x64, linux-aarch64,"
                        + " osx-x64, osx-aarch64 and win-x64";
            }
            ENV = env;
            UNAVAILABLE = why;
        }

        private Ort() {
        }
    }

    private static OrtEnvironment env(String name) {
        if (Ort.UNAVAILABLE != null) {
            System.out.println("OnnxRuntimeTest: " + name + ": skipped, " + Ort.UNAVAILABLE);
            assumeTrue(false, Ort.UNAVAILABLE);
        }
        return Ort.ENV;
    }

    @AfterAll
    static void printWorst() {
        new TreeMap<>(WORST).forEach((k, v) -> System.out.printf(Locale.ROOT, "OnnxRuntimeTest: worst %s: %.3f of the tolerance%n", k, v));
    }

    private static void record(String group, String comparison, double ratio) {
        WORST.merge(group + ", " + comparison, ratio, Math::max);
    }

    // ---- (a) the graphs PyTorch's exporter wrote ----

    static Stream<Arguments> exported() throws IOException {
        List<Path> cases = SharedCases.cases("onnx-export", "model.onnx");
        if (cases.isEmpty()) {
            return Stream.of(Arguments.of("(no onnx-export cases)", null));
        }
        return cases.stream().map(d -> Arguments.of(d.getFileName().toString(), d));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("exported")
    void exportedGraphAgreesWithPyTorchAndCellstate(String name, Path dir) throws Exception {
        present(dir, name);
        OrtEnvironment env = env(name);
        Path file = dir.resolve("model.onnx");
        RnnModel model = Onnx.read(file);
        try (OrtSession session = env.createSession(file.toString(), options())) {
            Map<String, NpyArray> in = SharedCases.arrays(dir, List.copyOf(session.getInputNames()));
            assertEquals(List.copyOf(session.getInputNames()), List.copyOf(in.keySet()), name + ": every graph input has its .npy");
            int steps = steps(model, in);
            Map<String, NpyArray> ort = run(env, session, in);
            Map<String, NpyArray> expected = SharedCases.arrays(dir, List.copyOf(session.getOutputNames()));
            assertEquals(List.copyOf(session.getOutputNames()), List.copyOf(expected.keySet()), name + ": every output has its .npy");
            StringBuilder report = new StringBuilder();
            double worst = 0;
            for (Map.Entry<String, NpyArray> e : expected.entrySet()) {
                double r = SharedCases.check(name + ": ONNX Runtime vs PyTorch, output " + e.getKey(), model.spec(), steps,
                        e.getValue(), ort.get(e.getKey()));
                worst = Math.max(worst, r);
                report.append(String.format(Locale.ROOT, " %s %.3f", e.getKey(), r));
            }
            record("onnx-export", "ONNX Runtime vs PyTorch", worst);
            double mine = cellstateAgainst(name, model, in, ort, steps, "onnx-export");
            System.out.printf(Locale.ROOT, "OnnxRuntimeTest: %s (%s): error/tolerance ONNX Runtime vs PyTorch %.3f (%s),"
                    + " Cellstate vs ONNX Runtime %.3f%n", name, model.spec(), worst, report.toString().trim(), mine);
        }
    }

    // ---- (b) the single-node models of ONNX's node tests and of the ONNX Runtime cases ----

    static Stream<Arguments> singleNode() throws IOException {
        List<Path> all = new ArrayList<>(SharedCases.cases("onnx", "case.json"));
        all.addAll(SharedCases.cases("onnx-runtime", "case.json"));
        if (all.isEmpty()) {
            return Stream.of(Arguments.of("(no onnx or onnx-runtime cases)", null));
        }
        return all.stream().map(d -> Arguments.of(d.getParent().getFileName() + "/" + d.getFileName(), d));
    }

    @SuppressWarnings("unchecked")
    @ParameterizedTest(name = "{0}")
    @MethodSource("singleNode")
    void singleNodeModelGivesItsExpectedOutputs(String name, Path dir) throws Exception {
        present(dir, name);
        OrtEnvironment env = env(name);
        Map<String, Object> json = (Map<String, Object>) Json.parse(Files.readString(dir.resolve("case.json")), 0,
                (off, p) -> new ModelFormatException("case.json", "offset " + off, p));
        List<String> nodeIn = (List<String>) json.get("inputs");
        Map<String, Object> attrs = (Map<String, Object>) json.get("attributes");
        Map<String, NpyArray> feed = new LinkedHashMap<>();
        Map<String, NpyArray> bound = new LinkedHashMap<>();
        Map<String, NpyArray> rest = new LinkedHashMap<>();
        for (int i = 0; i < nodeIn.size(); i++) {
            String n = nodeIn.get(i);
            if (!n.isEmpty()) {
                NpyArray a = Npy.read(dir.resolve(n + ".npy"));
                feed.put(n, a);
                (i == 1 || i == 2 || i == 3 || i == 7 ? bound : rest).put(n, a);
            }
        }
        long layout = attrs.get("layout") instanceof Json.Number l ? Long.parseLong(l.text()) : 0;
        NpyArray x = feed.get(nodeIn.get(0));
        int steps = x.shape()[layout == 1 ? 1 : 0];
        RnnSpec sizes = sizes(json, x.shape()[2]);
        List<String> outs = ((List<String>) json.get("outputs")).stream().filter(s -> !s.isEmpty()).toList();
        Map<String, NpyArray> ort;
        try (OrtSession session = env.createSession(dir.resolve("model.onnx").toString(), options())) {
            ort = run(env, session, feed);
        } catch (OrtException e) {
            // ONNX Runtime's CPU kernels of LSTM, GRU and RNN refuse batch-major recurrent ops (layout = 1); the
            // case's source says its outputs came from another runner. Anything else ONNX Runtime refuses fails.
            assertTrue(layout == 1 && e.getMessage().contains("layout"), name + ": ONNX Runtime refused it: " + e.getMessage());
            System.out.println("OnnxRuntimeTest: " + name + ": skipped, ONNX Runtime refuses layout = 1: " + e.getMessage());
            assumeTrue(false, "ONNX Runtime refuses layout = 1: " + e.getMessage());
            return;
        }
        Map<String, NpyArray> expected = SharedCases.arrays(dir, outs);
        assertEquals(outs, List.copyOf(expected.keySet()), name + ": every output has its .npy");
        String group = dir.getParent().getFileName().toString();
        StringBuilder report = new StringBuilder();
        double worst = 0;
        for (Map.Entry<String, NpyArray> e : expected.entrySet()) {
            double r = SharedCases.check(name + ": ONNX Runtime vs expected, output " + e.getKey(), sizes, steps, e.getValue(),
                    ort.get(e.getKey()));
            worst = Math.max(worst, r);
            report.append(String.format(Locale.ROOT, " %s %.3f", e.getKey(), r));
        }
        record(group, "ONNX Runtime vs expected", worst);
        RnnModel model = Onnx.read(dir.resolve("model.onnx"), bound);
        double mine = cellstateAgainst(name, model, rest, ort, steps, group);
        System.out.printf(Locale.ROOT, "OnnxRuntimeTest: %s: error/tolerance ONNX Runtime vs expected %.3f (%s),"
                + " Cellstate vs ONNX Runtime %.3f%n", name, worst, report.toString().trim(), mine);
    }

    /**
     * A spec of a single-node case's sizes (cell kind, input, hidden, directions), for the tolerance only:
     * the tolerance depends on the accumulation length, the steps and the layers, not on the cell's options.
     */
    @SuppressWarnings("unchecked")
    private static RnnSpec sizes(Map<String, Object> json, int inputSize) {
        Map<String, Object> attrs = (Map<String, Object>) json.get("attributes");
        int hidden = Integer.parseInt(((Json.Number) attrs.get("hidden_size")).text());
        Object dir = attrs.get("direction");
        Direction direction = dir == null ? Direction.FORWARD : Direction.valueOf(((String) dir).toUpperCase(Locale.ROOT));
        Cell cell = switch ((String) json.get("op")) {
            case "LSTM" -> Cell.lstm();
            case "GRU" -> Cell.gru();
            default -> Cell.rnnTanh();
        };
        return RnnSpec.builder().cell(cell).inputSize(inputSize).hiddenSize(hidden).direction(direction).build();
    }

    // ---- (c) the files Onnx.write writes ----

    /**
     * One written network and its inputs.
     *
     * @param spec    the network
     * @param layout  the layout of x and y
     * @param states  whether h0 (and c0) are inputs
     * @param lengths whether lengths are an input
     * @param steps   T
     * @param batch   B
     * @param seed    the seed of its weights and inputs
     */
    record Written(RnnSpec spec, Layout layout, boolean states, boolean lengths, int steps, int batch, long seed) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%s, %d layer%s, %s, %s, %s, %s, %s, I=%d H=%d T=%d B=%d, seed %d",
                    spec.cell().name(), spec.layers(), spec.layers() == 1 ? "" : "s",
                    spec.direction().toString().toLowerCase(Locale.ROOT), spec.bias() ? "bias" : "no bias",
                    layout == Layout.BATCH_MAJOR ? "batch-first" : "sequence-major",
                    states ? "initial states" : "zero states", lengths ? "lengths" : "full length",
                    spec.inputSize(), spec.hiddenSize(), steps, batch, seed);
        }
    }

    /**
     * Every cell with each of the 16 combinations of bias, layout, initial states and lengths, each
     * combination with its own number of layers (1 to 3) and direction, so that every (layers, direction)
     * pair appears for every cell; sizes drawn from awkward values. Then each cell with options
     * ({@link SharedCases#optionCells()}, {@link SharedCases#perDirectionCells()}, bidirectional) with 6 of
     * those combinations, in turn.
     */
    static Stream<Arguments> written() {
        SplittableRandom r = new SplittableRandom(SEED);
        int[] inputs = {1, 3, 7, 8, 16, 17};
        int[] hiddens = {1, 3, 5, 8, 16, 17};
        int[] stepsOf = {1, 2, 5, 9};
        int[] batches = {1, 2, 3, 5};
        Direction[] directions = Direction.values();
        List<Arguments> out = new ArrayList<>();
        List<Cell> cells = Cell.all();
        for (int c = 0; c < cells.size(); c++) {
            for (int k = 0; k < 16; k++) {
                RnnSpec spec = RnnSpec.builder().cell(cells.get(c)).inputSize(inputs[r.nextInt(inputs.length)])
                        .hiddenSize(hiddens[r.nextInt(hiddens.length)]).layers(1 + k % 3)
                        .direction(directions[(k / 3 + c) % 3]).bias((k & 1) == 0).build();
                boolean lengths = (k & 8) != 0;
                int steps = stepsOf[r.nextInt(lengths ? 1 : 0, stepsOf.length)]; // lengths shorter than T need T > 1
                Written w = new Written(spec, (k & 2) != 0 ? Layout.BATCH_MAJOR : Layout.SEQUENCE_MAJOR, (k & 4) != 0,
                        lengths, steps, batches[r.nextInt(batches.length)], r.nextLong());
                out.add(Arguments.of(w.toString(), w));
            }
        }
        List<Cell> options = new ArrayList<>(SharedCases.optionCells());
        int perDirection = options.size();
        options.addAll(SharedCases.perDirectionCells());
        for (int c = 0; c < options.size(); c++) {
            for (int j = 0; j < 6; j++) {
                int k = (c * 6 + j) % 16;
                Direction d = c >= perDirection ? Direction.BIDIRECTIONAL : directions[(k / 3 + c) % 3];
                RnnSpec spec = RnnSpec.builder().cell(options.get(c)).inputSize(inputs[r.nextInt(inputs.length)])
                        .hiddenSize(hiddens[r.nextInt(hiddens.length)]).layers(1 + k % 3).direction(d).bias((k & 1) == 0)
                        .build();
                boolean lengths = (k & 8) != 0;
                int steps = stepsOf[r.nextInt(lengths ? 1 : 0, stepsOf.length)];
                Written w = new Written(spec, (k & 2) != 0 ? Layout.BATCH_MAJOR : Layout.SEQUENCE_MAJOR, (k & 4) != 0,
                        lengths, steps, batches[r.nextInt(batches.length)], r.nextLong());
                out.add(Arguments.of(w.toString(), w));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("written")
    void writtenModelRunsInOnnxRuntimeAsInCellstate(String name, Written w) throws Exception {
        OrtEnvironment env = env(name);
        RnnSpec spec = w.spec();
        RnnWeights weights = RnnWeights.random(spec, w.seed());
        Path file = tmp.resolve("model.onnx");
        Onnx.write(file, weights, new Onnx.ExportOptions(w.layout(), w.states(), w.lengths()));
        Map<String, NpyArray> in = inputs(w);
        RnnModel model = Onnx.read(file);
        assertEquals(spec, model.spec(), name);
        Map<String, NpyArray> ort;
        try (OrtSession session = env.createSession(file.toString(), options())) {
            assertEquals(List.copyOf(in.keySet()), List.copyOf(session.getInputNames()), name + ": the graph's inputs");
            List<String> outs = spec.cell().hasCellState() ? List.of("y", "hn", "cn") : List.of("y", "hn");
            assertEquals(outs, List.copyOf(session.getOutputNames()), name + ": the graph's outputs");
            ort = run(env, session, in);
        }
        assertEquals(model.outputNames(), List.copyOf(ort.keySet()), name);
        int[] y = ort.get("y").shape();
        int features = spec.outputSize();
        int[] want = w.layout() == Layout.BATCH_MAJOR ? new int[] {w.batch(), w.steps(), features}
                : new int[] {w.steps(), w.batch(), features};
        assertTrue(Arrays.equals(want, y), name + ": y's shape " + Arrays.toString(y) + ", expected " + Arrays.toString(want));
        double mine = cellstateAgainst(name, model, in, ort, w.steps(), "written");
        System.out.printf(Locale.ROOT, "OnnxRuntimeTest: %s: error/tolerance Cellstate vs ONNX Runtime %.3f%n", name, mine);
    }

    /** Random x, h0, c0 in [-1, 1) and lengths from 1 to T (some shorter than T), by the file's input names. */
    private static Map<String, NpyArray> inputs(Written w) {
        SplittableRandom r = new SplittableRandom(w.seed() ^ 0x5DEECE66DL);
        RnnSpec spec = w.spec();
        Map<String, NpyArray> in = new LinkedHashMap<>();
        int[] xShape = w.layout() == Layout.BATCH_MAJOR ? new int[] {w.batch(), w.steps(), spec.inputSize()}
                : new int[] {w.steps(), w.batch(), spec.inputSize()};
        in.put("x", NpyArray.ofFloats(uniform(r, w.steps() * w.batch() * spec.inputSize()), xShape));
        int rows = spec.layers() * spec.directions();
        if (w.states()) {
            in.put("h0", NpyArray.ofFloats(uniform(r, rows * w.batch() * spec.hiddenSize()), rows, w.batch(), spec.hiddenSize()));
            if (spec.cell().hasCellState()) {
                in.put("c0", NpyArray.ofFloats(uniform(r, rows * w.batch() * spec.hiddenSize()), rows, w.batch(), spec.hiddenSize()));
            }
        }
        if (w.lengths()) {
            int[] l = new int[w.batch()];
            for (int b = 0; b < l.length; b++) {
                l[b] = 1 + r.nextInt(w.steps());
            }
            l[r.nextInt(l.length)] = 1 + r.nextInt(w.steps() - 1); // at least one shorter than T
            in.put("lengths", NpyArray.ofInts(l, l.length));
        }
        return in;
    }

    private static float[] uniform(SplittableRandom r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextDouble(-1, 1);
        }
        return a;
    }

    // ---- shared ----

    private static void present(Path dir, String name) {
        if (dir == null) {
            String why = name + ": no shared conformance data at " + System.getProperty("cellstate.conformance")
                    + " (system property cellstate.conformance): skipped";
            System.out.println("OnnxRuntimeTest: " + why);
            assumeTrue(false, why);
        }
    }

    /**
     * One intra-op and one inter-op thread (the build shares its cores), and strict shape and type inference:
     * a declared shape or type that disagrees with what a node computes fails the load instead of a warning.
     */
    private static OrtSession.SessionOptions options() throws OrtException {
        OrtSession.SessionOptions o = new OrtSession.SessionOptions();
        o.setIntraOpNumThreads(1);
        o.setInterOpNumThreads(1);
        o.addConfigEntry("session.strict_shape_type_inference", "1");
        return o;
    }

    private static int steps(RnnModel model, Map<String, NpyArray> in) {
        return in.get(model.sequenceInput()).shape()[model.layout() == Layout.BATCH_MAJOR ? 1 : 0];
    }

    /** Runs a session on arrays, each converted to the element type the graph declares for it. */
    private static Map<String, NpyArray> run(OrtEnvironment env, OrtSession session, Map<String, NpyArray> arrays)
            throws OrtException {
        Map<String, OnnxTensor> feed = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, NpyArray> e : arrays.entrySet()) {
                TensorInfo info = (TensorInfo) session.getInputInfo().get(e.getKey()).getInfo();
                feed.put(e.getKey(), tensor(env, e.getKey(), e.getValue(), info.type));
            }
            Map<String, NpyArray> out = new LinkedHashMap<>();
            try (OrtSession.Result result = session.run(feed)) {
                for (Map.Entry<String, OnnxValue> e : result) {
                    OnnxTensor t = (OnnxTensor) e.getValue();
                    long[] shape = t.getInfo().getShape();
                    FloatBuffer b = t.getFloatBuffer();
                    float[] v = new float[b.remaining()];
                    b.get(v);
                    out.put(e.getKey(), NpyArray.ofFloats(v, Arrays.stream(shape).mapToInt(Math::toIntExact).toArray()));
                }
            }
            return out;
        } finally {
            feed.values().forEach(OnnxTensor::close);
        }
    }

    private static OnnxTensor tensor(OrtEnvironment env, String name, NpyArray a, OnnxJavaType type) throws OrtException {
        long[] shape = Arrays.stream(a.shape()).asLongStream().toArray();
        return switch (type) {
            case FLOAT -> OnnxTensor.createTensor(env, FloatBuffer.wrap(a.toFloats()), shape);
            case DOUBLE -> OnnxTensor.createTensor(env, DoubleBuffer.wrap(a.toDoubles()), shape);
            case INT32 -> OnnxTensor.createTensor(env, IntBuffer.wrap(a.toInts()), shape);
            case INT64 -> OnnxTensor.createTensor(env, LongBuffer.wrap(a.toLongs()), shape);
            default -> throw new IllegalArgumentException(name + ": the graph takes " + type + ", not fed by this test");
        };
    }

    /**
     * Runs the model on every CPU backend and checks each output against ONNX Runtime's.
     *
     * @return the worst error as a fraction of the tolerance
     */
    private static double cellstateAgainst(String name, RnnModel model, Map<String, NpyArray> in, Map<String, NpyArray> ort,
            int steps, String group) {
        List<Backend> backends = SharedCases.backends(model.spec(), "OnnxRuntimeTest " + name);
        double worst = 0;
        for (Backend b : backends) {
            try (RnnPlan plan = b.plan(model.spec(), model.weights())) {
                Map<String, NpyArray> mine = model.run(plan, in);
                assertEquals(List.copyOf(ort.keySet()), List.copyOf(mine.keySet()), name + " on " + b.name() + ": outputs");
                for (Map.Entry<String, NpyArray> e : ort.entrySet()) {
                    worst = Math.max(worst, SharedCases.check(name + ": Cellstate on " + b.name() + " vs ONNX Runtime, output "
                            + e.getKey(), model.spec(), steps, e.getValue(), mine.get(e.getKey())));
                }
            }
        }
        record(group, "Cellstate vs ONNX Runtime", worst);
        return worst;
    }
}
