package io.cellstate.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import io.cellstate.Activation;
import io.cellstate.Backend;
import io.cellstate.Cell;
import io.cellstate.Direction;
import io.cellstate.Layout;
import io.cellstate.PlanOptions;
import io.cellstate.RnnInput;
import io.cellstate.RnnOutput;
import io.cellstate.RnnPlan;
import io.cellstate.RnnSpec;
import io.cellstate.RnnState;
import io.cellstate.RnnWeights;
import io.cellstate.Tensor;
import io.cellstate.testing.Case;
import io.cellstate.testing.Compare;
import io.cellstate.testing.OnnxCase;
import io.cellstate.testing.Reference;
import io.cellstate.testing.ReferenceCase;
import io.cellstate.testing.TorchCase;
import io.cellstate.Tolerance;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.DoubleAccumulator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The conformance suite every backend passes, for every cell: each module subclasses it with its
 * backend (it ships in {@code cellstate-kernels-java}'s test-jar). Every case runs the reference and
 * the backend on the same seeded input and compares within {@link Tolerance}; the cell, the seed and
 * the whole case are in every display name and failure message. A case whose cell (or other
 * feature) the backend lacks is skipped, printing the backend's reason.
 *
 * <p>Subclasses give {@link #backend()}; they may pin {@link #options()} and, for the oracle
 * itself, swap the {@link #reference()}. A backend unavailable here skips every test with its
 * reason, unless {@link #required()} says the run must have it, in which case the tests fail.
 */
public abstract class RnnConformanceSuite extends BackendSuite {
    private static final long SEED = Long.getLong("cellstate.seed", 20261122L);
    private final DoubleAccumulator worstRatio = new DoubleAccumulator(Math::max, 0);
    private final DoubleAccumulator worstOptions = new DoubleAccumulator(Math::max, 0);
    /** The reference cases' worst error / tolerance and the case that had it: ONNX's rule, then PyTorch's. */
    private final WorstCase worstOnnx = new WorstCase();
    private final WorstCase worstTorch = new WorstCase();

    /** The largest ratio seen and its case's name, from any thread. */
    private static final class WorstCase {
        private double ratio = -1;
        private String name = "";

        synchronized void accumulate(String caseName, double r) {
            if (r > ratio) {
                ratio = r;
                name = caseName;
            }
        }

        @Override
        public synchronized String toString() {
            return ratio < 0 ? "none run" : String.format("%.4f (%s)", ratio, name);
        }
    }

    /** Plan options for the backend under test. */
    protected PlanOptions options() {
        return PlanOptions.defaults();
    }

    /** What the backend is compared with: the scalar oracle, unless overridden. */
    protected Reference reference() {
        return Reference.SCALAR;
    }

    /** How much looser than {@link Tolerance} this backend's precision is (1 for exact float32). */
    protected double toleranceFactor() {
        return 1;
    }

    @AfterAll
    void report() {
        if (skipped()) {
            return;
        }
        System.out.printf("%s: worst error / tolerance over the suite = %.4f, over the cells with options = %.4f"
                        + " (backend %s, reference %s)%n", getClass().getSimpleName(), worstRatio.get(), worstOptions.get(),
                backend().name(), reference() == Reference.NAIVE ? "naive float64" : "scalar");
        System.out.printf("%s: reference data, worst error / tolerance: ONNX %s, PyTorch %s%n", getClass().getSimpleName(),
                worstOnnx, worstTorch);
    }

    /** Skips, printing the backend's reason, a test whose spec the backend cannot run. */
    protected void requireSupport(RnnSpec spec, Object what) {
        String lacks = backend().unsupported(spec, options());
        if (!lacks.isEmpty()) {
            String why = what + ": backend '" + backend().name() + "' lacks " + lacks;
            System.out.println("SKIPPED " + getClass().getSimpleName() + " " + why);
            Assumptions.abort(why);
        }
    }

    /** Skips, printing why, a case that needs features not built yet ({@code missing} names them). */
    private static void requireFeatures(String name, String missing) {
        if (!missing.isEmpty()) {
            skip(name + " needs " + missing);
        }
    }

    /** One test that skips, printing why, in place of the {@code kind} cases when the shared data is absent. */
    private static Stream<DynamicTest> noSharedData(String label, String kind) {
        String why = "shared conformance data not found (cellstate.conformance="
                + System.getProperty("cellstate.conformance") + "): " + kind + " cases skipped";
        return Stream.of(dynamicTest(label, () -> skip(why)));
    }

    private static void skip(String why) {
        System.out.println("SKIPPED " + why);
        Assumptions.abort(why);
    }

    /** Every cell, for the tests that run once per cell. */
    static Stream<Cell> cells() {
        return Arrays.stream(Case.CELLS);
    }

    /** Runs a case on the reference and the backend and compares everything. */
    protected void check(Case c) {
        requireSupport(c.spec(), c);
        RnnWeights w = c.weights();
        RnnInput in = c.input();
        RnnOutput expected = reference().run(c.spec(), w, in);
        RnnOutput actual = RnnOutput.allocate(c.spec(), c.layout(), c.steps(), c.batch());
        try (RnnPlan plan = backend().plan(c.spec(), w, options())) {
            plan.forward(in, actual);
        }
        double tol = tolerance(c.spec(), c.steps());
        double err = Compare.assertClose(expected, actual, tol, c);
        worstRatio.accumulate(err / tol);
    }

    protected double tolerance(RnnSpec spec, int steps) {
        return Tolerance.forward(spec, steps) * toleranceFactor();
    }

    // ---------------------------------------------------------------- the worked example

    /**
     * The cell update by hand, through the whole backend: H = 3, input 0, h0 = 0, so the gates are
     * their biases: i = σ(ln 4) = 0.8, f = σ(0) = 0.5, g = tanh(atanh(g)), o = σ(0) = 0.5, with c0 = [4, 5, 6].
     * Then c' = f c + i g and h' = o tanh(c'). The guide's example pairs f = 0.5 with c' = [4.8, 6.6, 8.4],
     * which is the update for f = 1 (with f = 0.5 it is [2.8, 4.1, 5.4]); g = [1, 2, 3] is outside tanh's range,
     * so here g = [0.25, 0.5, 0.75], giving c' = 0.5 [4, 5, 6] + 0.8 g = [2.2, 2.9, 3.6].
     * A forget bias of 40 makes f = 1 in float32 and reproduces the f = 1 reading: c' = c + 0.8 g = [4.2, 5.4, 6.6].
     */
    @Test
    void workedCellUpdate() {
        double[] g = {0.25, 0.5, 0.75};
        assertWorked(0, g, new double[] {2.2, 2.9, 3.6});
        assertWorked(40, g, new double[] {4.2, 5.4, 6.6});
    }

    private void assertWorked(float forgetBias, double[] g, double[] expectedC) {
        RnnSpec spec = RnnSpec.builder().inputSize(1).hiddenSize(3).build();
        float[] bias = new float[12];
        for (int j = 0; j < 3; j++) {
            bias[j] = (float) Math.log(4);           // i = 0.8
            bias[3 + j] = forgetBias;                 // f = 0.5 or 1
            bias[6 + j] = (float) atanh(g[j]);        // g
            bias[9 + j] = 0;                          // o = 0.5
        }
        float[] whh = Case.uniform(new SplittableRandom(1), 12 * 3, 1); // multiplied by h0 = 0
        RnnWeights w = RnnWeights.builder(spec).weightIh(0, 0, new float[12]).weightHh(0, 0, whh)
                .biasIh(0, 0, bias).biasHh(0, 0, new float[12]).build();
        RnnInput in = RnnInput.of(Tensor.of(new float[] {0.7f}, 1, 1, 1))
                .withInitialState(Tensor.zeros(1, 1, 3), Tensor.of(new float[] {4, 5, 6}, 1, 1, 3));
        try (RnnPlan plan = backend().plan(spec, w, options())) {
            RnnOutput out = plan.forward(in);
            for (int j = 0; j < 3; j++) {
                double c = expectedC[j];
                assertEquals(c, out.cN().get(0, 0, j), 2e-6, "c'[" + j + "] with forget bias " + forgetBias);
                assertEquals(0.5 * Math.tanh(c), out.hN().get(0, 0, j), 2e-6, "h'[" + j + "]");
                assertEquals(0.5 * Math.tanh(c), out.y().get(0, 0, j), 2e-6, "y[0, 0, " + j + "]");
            }
        }
    }

    /**
     * The GRU by hand, both formulas: H = 1, x = 0, h0 = 0.5, r and z from zero pre-activations (0.5
     * each), W_hn = 2, b_hn = 0.4, b_in = 0.1. Linear before reset: n = tanh(0.1 + 0.5 (2 * 0.5 + 0.4))
     * = tanh(0.8); the original: n = tanh(0.1 + 2 (0.5 * 0.5) + 0.4) = tanh(1.0). Then
     * h' = (1 - z) n + z h = 0.5 n + 0.25: the two formulas differ, so a kernel of the wrong one fails.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("grus")
    void workedGru(Cell cell) {
        RnnSpec spec = RnnSpec.builder().cell(cell).inputSize(1).hiddenSize(1).build();
        requireSupport(spec, cell);
        RnnWeights w = RnnWeights.builder(spec).weightIh(0, 0, new float[] {0.3f, -0.2f, 0.7f})
                .weightHh(0, 0, new float[] {0, 0, 2}).biasIh(0, 0, new float[] {0, 0, 0.1f})
                .biasHh(0, 0, new float[] {0, 0, 0.4f}).build();
        RnnInput in = RnnInput.of(Tensor.zeros(1, 1, 1)).withInitialState(Tensor.of(new float[] {0.5f}, 1, 1, 1), null);
        double n = Math.tanh(((Cell.Gru) cell).linearBeforeReset() ? 0.8 : 1.0);
        try (RnnPlan plan = backend().plan(spec, w, options())) {
            RnnOutput out = plan.forward(in);
            assertEquals(0.5 * n + 0.25, out.hN().get(0, 0, 0), 2e-7, cell + ": h'");
            assertEquals(0.5 * n + 0.25, out.y().get(0, 0, 0), 2e-7, cell + ": y");
        }
    }

    static Stream<Cell> grus() {
        return Stream.of(Cell.gru(), Cell.gruOriginal());
    }

    /**
     * The Elman RNN by hand: H = 2, x = [1], W_ih = [0.5, -1], W_hh = [[1, 0], [0, 1]], b = 0, h0 = [0.25, 0.5]:
     * pre-activations [0.75, -0.5]; tanh gives [tanh 0.75, tanh -0.5], ReLU [0.75, 0].
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("rnns")
    void workedRnn(Cell cell) {
        RnnSpec spec = RnnSpec.builder().cell(cell).inputSize(1).hiddenSize(2).bias(false).build();
        requireSupport(spec, cell);
        RnnWeights w = RnnWeights.builder(spec).weightIh(0, 0, new float[] {0.5f, -1})
                .weightHh(0, 0, new float[] {1, 0, 0, 1}).build();
        RnnInput in = RnnInput.of(Tensor.of(new float[] {1}, 1, 1, 1))
                .withInitialState(Tensor.of(new float[] {0.25f, 0.5f}, 1, 1, 2), null);
        boolean relu = ((Cell.Rnn) cell).nonlinearity() == Cell.Nonlinearity.RELU;
        double[] expected = relu ? new double[] {0.75, 0} : new double[] {Math.tanh(0.75), Math.tanh(-0.5)};
        try (RnnPlan plan = backend().plan(spec, w, options())) {
            RnnOutput out = plan.forward(in);
            for (int j = 0; j < 2; j++) {
                assertEquals(expected[j], out.hN().get(0, 0, j), 2e-7, cell + ": h'[" + j + "]");
            }
        }
    }

    static Stream<Cell> rnns() {
        return Stream.of(Cell.rnnTanh(), Cell.rnnRelu());
    }

    private static double atanh(double v) {
        return 0.5 * Math.log((1 + v) / (1 - v));
    }

    // ---------------------------------------------------------------- random cases

    Stream<Case> awkwardSizes() {
        return Case.awkwardSizes(SEED).stream();
    }

    Stream<Case> featureMatrix() {
        return Case.featureMatrix(SEED).stream();
    }

    Stream<Case> randomCases() {
        return Case.randomCases(SEED + 1, 40).stream();
    }

    /** Each of 1, 2, 3, 7, 8, 15, 16, 17, 31, 33, 64, 100, 257 as input, hidden, batch and T. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("awkwardSizes")
    void awkwardSize(Case c) {
        check(c);
    }

    /** Every direction x layout x lengths x initial state x 1..3 layers. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("featureMatrix")
    void feature(Case c) {
        check(c);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("randomCases")
    void random(Case c) {
        check(c);
    }

    // ---------------------------------------------------------------- equivalences

    /** hN, cN of one call fed as h0, c0 of the next equal one long call. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cells")
    void carryOverEqualsOneLongCall(Cell cell) {
        carryOverEqualsOneLongCall(cell, false);
    }

    private void carryOverEqualsOneLongCall(Cell cell, boolean scaled) {
        requireSupport(RnnSpec.builder().cell(cell).inputSize(6).hiddenSize(19).build(), cell);
        for (int layers = 1; layers <= 2; layers++) {
            RnnSpec spec = RnnSpec.builder().cell(cell).inputSize(6).hiddenSize(19).layers(layers).build();
            Case whole = new Case(SEED + layers, spec, 12, 3, Layout.SEQUENCE_MAJOR, Case.Lengths.NONE, true, true);
            RnnWeights w = whole.weights();
            RnnInput in = whole.input();
            try (RnnPlan plan = backend().plan(spec, w, options())) {
                RnnOutput full = plan.forward(in);
                int split = 5;
                RnnOutput a = plan.forward(new RnnInput(slice(in.x(), 0, split), Layout.SEQUENCE_MAJOR, null, in.h0(), in.c0()));
                RnnOutput b = plan.forward(new RnnInput(slice(in.x(), split, 12), Layout.SEQUENCE_MAJOR, null, a.hN(), a.cN()));
                double tol = scaled ? optionTolerance(spec, 12, full) : tolerance(spec, 12);
                Compare.assertClose("y[0, 5)", slice(full.y(), 0, split), a.y(), tol, whole);
                Compare.assertClose("y[5, 12)", slice(full.y(), split, 12), b.y(), tol, whole);
                Compare.assertClose("hN", full.hN(), b.hN(), tol, whole);
                if (cell.hasCellState()) {
                    Compare.assertClose("cN", full.cN(), b.cN(), tol, whole);
                }
            }
        }
    }

    /** A run of {@code step} calls equals {@code forward} over the same sequence. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cells")
    void stepEqualsForward(Cell cell) {
        stepEqualsForward(cell, false);
    }

    private void stepEqualsForward(Cell cell, boolean scaled) {
        RnnSpec spec = RnnSpec.builder().cell(cell).inputSize(7).hiddenSize(17).layers(3).build();
        requireSupport(spec, cell);
        Case c = new Case(SEED + 11, spec, 9, 4, Layout.SEQUENCE_MAJOR, Case.Lengths.NONE, true, true);
        RnnWeights w = c.weights();
        RnnInput in = c.input();
        try (RnnPlan plan = backend().plan(spec, w, options())) {
            RnnOutput full = plan.forward(in);
            RnnState state = new RnnState(copy(in.h0()), copy(in.c0()));
            double tol = scaled ? optionTolerance(spec, c.steps(), full) : tolerance(spec, c.steps());
            for (int t = 0; t < c.steps(); t++) {
                Tensor xt = Tensor.of(Arrays.copyOfRange(in.x().toArray(), t * 4 * 7, (t + 1) * 4 * 7), 4, 7);
                Tensor yt = plan.step(xt, state);
                Compare.assertClose("y at step " + t, reshape(slice(full.y(), t, t + 1), 4, spec.outputHiddenSize()), yt,
                        tol, c);
            }
            Compare.assertClose("h after the steps", full.hN(), state.h(), tol, c);
            if (cell.hasCellState()) {
                Compare.assertClose("c after the steps", full.cN(), state.c(), tol, c);
            }
        }
    }

    @Test
    void stepNeedsForwardDirection() {
        for (Direction d : new Direction[] {Direction.REVERSE, Direction.BIDIRECTIONAL}) {
            RnnSpec spec = RnnSpec.builder().inputSize(3).hiddenSize(4).direction(d).build();
            try (RnnPlan plan = backend().plan(spec, RnnWeights.random(spec, 1), options())) {
                UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                        () -> plan.step(Tensor.zeros(1, 3), RnnState.zeros(spec, 1)));
                assertTrue(e.getMessage().contains("FORWARD"), e.getMessage());
            }
        }
    }

    /** One plan, calls of growing and shrinking size: the workspace adapts and stays right. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cells")
    void planReusedAcrossSizes(Cell cell) {
        reusedAcrossSizes(cell, 23, (spec, steps, expected, actual, c) ->
                Compare.assertClose(expected, actual, tolerance(spec, steps), c));
    }

    /** How a call of {@link #reusedAcrossSizes} is judged against the oracle's output. */
    @FunctionalInterface
    private interface SizeCheck {
        void check(RnnSpec spec, int steps, RnnOutput expected, RnnOutput actual, Case c);
    }

    /** One plan of {@code cell} (2 layers, bidirectional, H = hidden), calls of (T, B) 3x2, 9x5, 2x1, 9x5, 1x7. */
    private void reusedAcrossSizes(Cell cell, int hidden, SizeCheck check) {
        RnnSpec spec = RnnSpec.builder().cell(cell).inputSize(11).hiddenSize(hidden).layers(2)
                .direction(Direction.BIDIRECTIONAL).build();
        requireSupport(spec, cell);
        RnnWeights w = RnnWeights.random(spec, SEED);
        try (RnnPlan plan = backend().plan(spec, w, options())) {
            int[][] sizes = {{3, 2}, {9, 5}, {2, 1}, {9, 5}, {1, 7}};
            for (int[] s : sizes) {
                Case c = new Case(SEED + s[0] * 10L + s[1], spec, s[0], s[1], Layout.BATCH_MAJOR, Case.Lengths.RANDOM, true, true);
                RnnInput in = c.input();
                RnnOutput expected = reference().run(spec, w, in);
                check.check(spec, s[0], expected, plan.forward(in), c);
            }
        }
    }

    /** One thread or several give the same numbers. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cells")
    void threadCountsAgree(Cell cell) {
        RnnSpec spec = RnnSpec.builder().cell(cell).inputSize(40).hiddenSize(72).layers(2)
                .direction(Direction.BIDIRECTIONAL).build();
        requireSupport(spec, cell);
        Case c = new Case(SEED + 3, spec, 7, 9, Layout.SEQUENCE_MAJOR, Case.Lengths.RANDOM, true, true);
        RnnWeights w = c.weights();
        RnnInput in = c.input();
        RnnOutput expected = reference().run(spec, w, in);
        for (int threads : new int[] {1, 2, 3}) {
            try (RnnPlan plan = backend().plan(spec, w, options().withThreads(threads))) {
                Compare.assertClose(expected, plan.forward(in), tolerance(spec, 7), c + " threads=" + threads);
            }
        }
    }

    static Stream<org.junit.jupiter.params.provider.Arguments> cellsAndLayouts() {
        return cells().flatMap(c -> Arrays.stream(Layout.values()).map(l -> org.junit.jupiter.params.provider.Arguments.of(c, l)));
    }

    /** Off-heap tensors (native memory) give what heap tensors give, in both layouts. */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cellsAndLayouts")
    void offHeapTensors(Cell cell, Layout layout) {
        RnnSpec spec = RnnSpec.builder().cell(cell).inputSize(5).hiddenSize(12).layers(2).build();
        requireSupport(spec, cell);
        Case c = new Case(SEED + 5, spec, 4, 3, layout, Case.Lengths.RANDOM, true, true);
        RnnWeights w = c.weights();
        RnnInput heap = c.input();
        try (Arena arena = Arena.ofConfined(); RnnPlan plan = backend().plan(spec, w, options())) {
            RnnInput in = new RnnInput(offHeap(arena, heap.x()), heap.layout(), heap.lengths(),
                    offHeap(arena, heap.h0()), offHeap(arena, heap.c0()));
            RnnOutput out = new RnnOutput(Tensor.allocate(arena, layout.shape(4, 3, 12)), Tensor.allocate(arena, 2, 3, 12),
                    cell.hasCellState() ? Tensor.allocate(arena, 2, 3, 12) : null);
            plan.forward(in, out);
            Compare.assertClose(reference().run(spec, w, heap), out, tolerance(spec, 4), c);
        }
    }

    /** Views into larger heap arrays, at a float offset and at an odd byte offset, read and write where they point. */
    @Test
    void heapViewsAtAnOffset() {
        RnnSpec spec = RnnSpec.builder().inputSize(6).hiddenSize(11).layers(2).build();
        Case c = new Case(SEED + 6, spec, 5, 3, Layout.SEQUENCE_MAJOR, Case.Lengths.NONE, true, true);
        RnnWeights w = c.weights();
        RnnInput heap = c.input();
        RnnOutput expected = reference().run(spec, w, heap);
        for (long byteOffset : new long[] {3 * Float.BYTES, 1}) {
            Tensor x = view(heap.x(), byteOffset);
            Tensor y = view(Tensor.zeros(5, 3, 11), byteOffset);
            try (RnnPlan plan = backend().plan(spec, w, options())) {
                RnnOutput out = new RnnOutput(y, Tensor.zeros(2, 3, 11), Tensor.zeros(2, 3, 11));
                plan.forward(new RnnInput(x, Layout.SEQUENCE_MAJOR, null, heap.h0(), heap.c0()), out);
                Compare.assertClose(expected, out, tolerance(spec, 5), c + " byte offset " + byteOffset);
            }
        }
    }

    /** {@code t}'s data in a larger byte array, {@code byteOffset} bytes in, as a tensor view. */
    private static Tensor view(Tensor t, long byteOffset) {
        java.lang.foreign.MemorySegment big = java.lang.foreign.MemorySegment.ofArray(new byte[(int) (t.size() * 4 + 16)]);
        java.lang.foreign.MemorySegment slice = big.asSlice(byteOffset, t.size() * 4);
        java.lang.foreign.MemorySegment.copy(t.segment(), 0, slice, 0, t.size() * 4);
        if (byteOffset % 4 == 0) {
            float[] floats = new float[(int) t.size() + 8];
            java.lang.foreign.MemorySegment f = java.lang.foreign.MemorySegment.ofArray(floats).asSlice(byteOffset, t.size() * 4);
            java.lang.foreign.MemorySegment.copy(t.segment(), 0, f, 0, t.size() * 4);
            return Tensor.wrap(f, t.shape());
        }
        return Tensor.wrap(slice, t.shape());
    }

    // ---------------------------------------------------------------- cells with options

    /**
     * The forward tolerance of a cell with options: {@link #tolerance} times the outputs' size where it passes 1.
     * {@link Tolerance} takes the terms of each sum to be of order 1, as σ and tanh keep them; ReLU, Softplus,
     * Affine and the others let h and c grow, and the rounding error with them.
     */
    protected double optionTolerance(RnnSpec spec, int steps, RnnOutput expected) {
        return tolerance(spec, steps) * Math.max(1, largest(expected));
    }

    /** The largest finite |value| of y, hN and cN. */
    static double largest(RnnOutput o) {
        double m = 0;
        for (Tensor t : new Tensor[] {o.y(), o.hN(), o.cN()}) {
            for (long i = 0; t != null && i < t.size(); i++) {
                float v = t.getFlat(i);
                if (Float.isFinite(v)) {
                    m = Math.max(m, Math.abs(v));
                }
            }
        }
        return m;
    }

    /**
     * Random networks of cells with options ({@link Case#randomOptionCell}): projections of H/2 and 1, peepholes,
     * a clip of 0.5 or 3, coupled gates, every activation in every role (per direction too), both GRUs and the
     * RNN with other activations; awkward small sizes, 1 to 3 layers, every direction, layout, kind of lengths
     * and initial state.
     */
    Stream<Case> optionCases() {
        return Case.optionCases(SEED + 2, 60, 1e6).stream();
    }

    /** One cell per option and several together (H = 17; the projections P = 8 and 1), one direction. */
    static Stream<Cell> optionCells() {
        return Case.optionCells(17, false, false).stream();
    }

    /** {@link #optionCells()} and cells with activations per direction, for networks of both directions. */
    static Stream<Cell> bidirectionalOptionCells() {
        return Case.optionCells(17, true, false).stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("optionCases")
    void options(Case c) {
        requireSupport(c.spec(), c);
        RnnWeights w = c.weights();
        RnnInput in = c.input();
        RnnOutput expected = reference().run(c.spec(), w, in);
        RnnOutput actual = RnnOutput.allocate(c.spec(), c.layout(), c.steps(), c.batch());
        try (RnnPlan plan = backend().plan(c.spec(), w, options())) {
            plan.forward(in, actual);
        }
        double tol = optionTolerance(c.spec(), c.steps(), expected);
        worstOptions.accumulate(Compare.assertClose(expected, actual, tol, c) / tol);
    }

    /** {@link #stepEqualsForward} for the cells with options (a projected state has P columns). */
    @ParameterizedTest(name = "{0}")
    @MethodSource("optionCells")
    void optionsStepEqualsForward(Cell cell) {
        stepEqualsForward(cell, true);
    }

    /** {@link #carryOverEqualsOneLongCall} for the cells with options. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("optionCells")
    void optionsCarryOverEqualsOneLongCall(Cell cell) {
        carryOverEqualsOneLongCall(cell, true);
    }

    /** {@link #nanPropagatesWithinItsSequence} for the cells with options. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("optionCells")
    void optionsNanPropagateWithinTheirSequence(Cell cell) {
        nanPropagatesWithinItsSequence(cell, true);
    }

    /** One plan of a cell with options, calls of growing and shrinking size: its buffers adapt and stay right. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("bidirectionalOptionCells")
    void optionsPlanReusedAcrossSizes(Cell cell) {
        reusedAcrossSizes(cell, 17, (spec, steps, expected, actual, c) -> {
            double tol = optionTolerance(spec, steps, expected);
            worstOptions.accumulate(Compare.assertClose(expected, actual, tol, c) / tol);
        });
    }

    /** A projected LSTM with peepholes and a biting clip at sizes where the GEMMs split among threads: 1, 2, 3 agree. */
    @Test
    void optionsThreadCountsAgree() {
        Cell cell = Cell.lstm().withProjection(24).withPeepholes(true).withClip(0.5f);
        RnnSpec spec = RnnSpec.builder().cell(cell).inputSize(40).hiddenSize(72).layers(2)
                .direction(Direction.BIDIRECTIONAL).build();
        requireSupport(spec, cell);
        Case c = new Case(SEED + 3, spec, 7, 9, Layout.SEQUENCE_MAJOR, Case.Lengths.RANDOM, true, true);
        RnnWeights w = c.weights();
        RnnInput in = c.input();
        RnnOutput expected = reference().run(spec, w, in);
        double tol = optionTolerance(spec, 7, expected);
        for (int threads : new int[] {1, 2, 3}) {
            try (RnnPlan plan = backend().plan(spec, w, options().withThreads(threads))) {
                worstOptions.accumulate(Compare.assertClose(expected, plan.forward(in), tol, c + " threads=" + threads)
                        / tol);
            }
        }
    }

    /** Plans of a cell with options made with room for a size (maxSteps, maxBatch) run calls of it and smaller. */
    @Test
    void optionsPlanSizedAhead() {
        Cell cell = Cell.gruOriginal().withActivations(Activation.of(Activation.Function.SOFTSIGN), Activation.tanh());
        RnnSpec spec = RnnSpec.builder().cell(cell).inputSize(5).hiddenSize(9).layers(2).build();
        requireSupport(spec, cell);
        RnnWeights w = RnnWeights.random(spec, SEED);
        try (RnnPlan plan = backend().plan(spec, w, options().withCapacity(6, 8))) {
            for (int[] s : new int[][] {{8, 6}, {3, 2}}) {
                Case c = new Case(SEED + s[0], spec, s[0], s[1], Layout.SEQUENCE_MAJOR, Case.Lengths.RANDOM, true, true);
                RnnOutput expected = reference().run(spec, w, c.input());
                Compare.assertClose(expected, plan.forward(c.input()), optionTolerance(spec, s[0], expected), c);
            }
        }
    }

    // ---------------------------------------------------------------- extremes

    /**
     * Inputs in ±[100, 1000] saturate every gate: no NaN, and the reference's values. (ReLU does not
     * saturate: its outputs are large, and compared relative to their size.)
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cells")
    void largeInputsSaturateWithoutNaN(Cell cell) {
        RnnSpec spec = RnnSpec.builder().cell(cell).inputSize(16).hiddenSize(33).layers(2)
                .direction(Direction.BIDIRECTIONAL).build();
        requireSupport(spec, cell);
        boolean relu = cell instanceof Cell.Rnn r && r.nonlinearity() == Cell.Nonlinearity.RELU;
        RnnWeights w = RnnWeights.random(spec, SEED);
        SplittableRandom r = new SplittableRandom(SEED);
        float[] x = new float[10 * 3 * 16];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) ((r.nextBoolean() ? 1 : -1) * r.nextDouble(100, 1000));
        }
        RnnInput in = RnnInput.of(Tensor.of(x, 10, 3, 16));
        try (RnnPlan plan = backend().plan(spec, w, options())) {
            RnnOutput out = plan.forward(in);
            double largest = 0;
            for (float v : out.y().toArray()) {
                assertFalse(Float.isNaN(v), "NaN in the output of saturated gates");
                assertTrue(relu || Math.abs(v) <= 1, "|h| <= 1 always, got " + v);
                largest = Math.max(largest, Math.abs(v));
            }
            Compare.assertClose(reference().run(spec, w, in), out, tolerance(spec, 10) * Math.max(1, largest),
                    cell + " saturated, seed=" + SEED);
        }
    }

    /** A NaN in one sequence's input poisons that sequence from then on, and nothing else. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cells")
    void nanPropagatesWithinItsSequence(Cell cell) {
        nanPropagatesWithinItsSequence(cell, false);
    }

    private void nanPropagatesWithinItsSequence(Cell cell, boolean scaled) {
        RnnSpec spec = RnnSpec.builder().cell(cell).inputSize(8).hiddenSize(16).build();
        requireSupport(spec, cell);
        Case c = new Case(SEED + 9, spec, 6, 3, Layout.SEQUENCE_MAJOR, Case.Lengths.NONE, true, true);
        RnnWeights w = c.weights();
        RnnInput in = c.input();
        in.x().set(Float.NaN, 2, 1, 0); // t = 2, b = 1
        try (RnnPlan plan = backend().plan(spec, w, options())) {
            RnnOutput out = plan.forward(in);
            int width = spec.outputHiddenSize();
            for (int t = 0; t < 6; t++) {
                for (int b = 0; b < 3; b++) {
                    for (int j = 0; j < width; j++) {
                        float v = out.y().get(t, b, j);
                        assertEquals(b == 1 && t >= 2, Float.isNaN(v), "y[" + t + ", " + b + ", " + j + "] = " + v);
                    }
                }
            }
            for (int j = 0; j < 16; j++) {
                assertTrue(j >= width || Float.isNaN(out.hN().get(0, 1, j)), "hN of the poisoned sequence is NaN");
                if (cell.hasCellState()) {
                    assertTrue(Float.isNaN(out.cN().get(0, 1, j)), "cN of the poisoned sequence is NaN");
                }
                assertFalse(j < width && Float.isNaN(out.hN().get(0, 0, j)), "hN of a clean sequence is not NaN");
            }
            RnnOutput expected = reference().run(spec, w, in);
            Compare.assertClose(expected, out, scaled ? optionTolerance(spec, 6, expected) : tolerance(spec, 6),
                    c + " with a NaN");
        }
    }

    // ---------------------------------------------------------------- bad input

    /** Every malformed call is rejected, naming the argument with expected and actual, before anything is written. */
    @Test
    void badInputIsRejectedBeforeAnythingIsWritten() {
        RnnSpec spec = RnnSpec.builder().inputSize(4).hiddenSize(5).layers(2).direction(Direction.BIDIRECTIONAL).build();
        RnnWeights w = RnnWeights.random(spec, 1);
        int t = 3;
        int b = 2;
        Tensor x = Tensor.of(Case.uniform(new SplittableRandom(2), t * b * 4, 1), t, b, 4);
        Tensor h = Tensor.zeros(4, b, 5);
        try (RnnPlan plan = backend().plan(spec, w, options())) {
            rejects(plan, "in", null, null);
            rejects(plan, "in.x", new RnnInput(null, Layout.SEQUENCE_MAJOR, null, null, null), null);
            rejects(plan, "in.layout", new RnnInput(x, null, null, null, null), null);
            rejects(plan, "in.x", RnnInput.of(Tensor.zeros(t, b, 5)), null);        // wrong input size
            rejects(plan, "in.x", RnnInput.of(Tensor.zeros(t * b, 4)), null);       // wrong rank
            rejects(plan, "in.x", RnnInput.of(Tensor.zeros(0, b, 4)), null);        // T = 0
            rejects(plan, "in.x", RnnInput.of(Tensor.zeros(t, 0, 4)), null);        // B = 0
            rejects(plan, "in.lengths", RnnInput.of(x).withLengths(3), null);       // one length for B = 2
            rejects(plan, "in.lengths[1]", RnnInput.of(x).withLengths(3, 4), null); // above T
            rejects(plan, "in.lengths[0]", RnnInput.of(x).withLengths(0, 3), null); // below 1
            rejects(plan, "in.lengths[1]", RnnInput.of(x).withLengths(2, -1), null);
            rejects(plan, "in.h0", RnnInput.of(x).withInitialState(Tensor.zeros(4, b + 1, 5), null), null); // wrong batch
            rejects(plan, "in.h0", RnnInput.of(x).withInitialState(Tensor.zeros(2, b, 5), null), null);     // layers only
            rejects(plan, "in.c0", RnnInput.of(x).withInitialState(h, Tensor.zeros(4, b, 6)), null);        // wrong H
            RnnInput ok = RnnInput.of(x);
            rejects(plan, "out", ok, Mode.NULL_OUT);
            rejects(plan, "out.y", ok, Mode.NULL_Y);
            rejects(plan, "out.y", ok, Mode.WRONG_Y);
            rejects(plan, "out.y", ok, Mode.BATCH_MAJOR_Y);
            rejects(plan, "out.hN", ok, Mode.NULL_HN);
            rejects(plan, "out.hN", ok, Mode.WRONG_HN);
            rejects(plan, "out.cN", ok, Mode.WRONG_CN);
        }
        RnnSpec fwd = RnnSpec.builder().inputSize(4).hiddenSize(5).build();
        try (RnnPlan plan = backend().plan(fwd, RnnWeights.random(fwd, 1), options())) {
            Tensor y = Tensor.zeros(b, 5).fill(7f);
            RnnState state = RnnState.zeros(fwd, b);
            expectRejected("x", () -> plan.step(Tensor.zeros(b, 3), state, y), y, state.h());
            expectRejected("x", () -> plan.step(null, state, y), y, state.h());
            expectRejected("state", () -> plan.step(Tensor.zeros(b, 4), null, y), y);
            expectRejected("state.h", () -> plan.step(Tensor.zeros(b, 4), new RnnState(Tensor.zeros(2, b, 5),
                    Tensor.zeros(1, b, 5)), y), y);
            expectRejected("state.c", () -> plan.step(Tensor.zeros(b, 4), new RnnState(Tensor.zeros(1, b, 5),
                    null), y), y);
            expectRejected("y", () -> plan.step(Tensor.zeros(b, 4), state, Tensor.zeros(b, 6)), state.h());
        }
        // weights of another spec, and plan arguments
        RnnSpec other = RnnSpec.builder().inputSize(4).hiddenSize(6).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> backend().plan(fwd, RnnWeights.random(other, 1), options()));
        assertTrue(e.getMessage().startsWith("weights: expected"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> backend().plan(fwd, null, options()));
        assertTrue(e.getMessage().startsWith("weights: expected"), e.getMessage());
    }

    private enum Mode { NULL_OUT, NULL_Y, WRONG_Y, BATCH_MAJOR_Y, NULL_HN, WRONG_HN, WRONG_CN }

    private void rejects(RnnPlan plan, String arg, RnnInput in, Mode mode) {
        RnnSpec spec = plan.spec();
        int t = 3;
        int b = 2;
        Tensor y = Tensor.zeros(t, b, spec.outputSize()).fill(7f);
        Tensor hN = Tensor.zeros(spec.stateCount(), b, spec.hiddenSize()).fill(7f);
        Tensor cN = Tensor.zeros(spec.stateCount(), b, spec.hiddenSize()).fill(7f);
        RnnOutput out = new RnnOutput(y, hN, cN);
        if (mode != null) {
            out = switch (mode) {
                case NULL_OUT -> null;
                case NULL_Y -> new RnnOutput(null, hN, cN);
                case WRONG_Y -> new RnnOutput(Tensor.zeros(t, b, spec.hiddenSize()), hN, cN);
                case BATCH_MAJOR_Y -> new RnnOutput(Tensor.zeros(b, t, spec.outputSize()), hN, cN);
                case NULL_HN -> new RnnOutput(y, null, cN);
                case WRONG_HN -> new RnnOutput(y, Tensor.zeros(spec.layers(), b, spec.hiddenSize()), cN);
                case WRONG_CN -> new RnnOutput(y, hN, Tensor.zeros(spec.stateCount(), b + 1, spec.hiddenSize()));
            };
        }
        RnnOutput o = out;
        expectRejected(arg, () -> plan.forward(in, o), y, hN, cN);
        if (mode == null) {
            expectRejected(arg, () -> plan.forward(in));
        }
    }

    /** The call throws IllegalArgumentException "arg: expected ..., got ..." and leaves {@code untouched} as they were. */
    private static void expectRejected(String arg, Executable call, Tensor... untouched) {
        List<float[]> before = new ArrayList<>();
        for (Tensor t : untouched) {
            before.add(t.toArray());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call, "expected a rejection of " + arg);
        String m = e.getMessage();
        assertTrue(m.startsWith(arg + ": expected "), "message should start with '" + arg + ": expected ': " + m);
        assertTrue(m.contains(", got "), "message should say what it got: " + m);
        for (int i = 0; i < untouched.length; i++) {
            assertTrue(Arrays.equals(before.get(i), untouched[i].toArray()), "an output was written before " + arg
                    + " was rejected");
        }
    }

    @Test
    void closedPlanRefusesWorkAndClosesTwice() {
        RnnSpec spec = RnnSpec.lstm(3, 4);
        RnnPlan plan = backend().plan(spec, RnnWeights.random(spec, 1), options());
        plan.close();
        plan.close();
        assertThrows(IllegalStateException.class, () -> plan.forward(RnnInput.of(Tensor.zeros(2, 1, 3))));
    }

    // ---------------------------------------------------------------- ONNX reference data

    /**
     * The ONNX project's LSTM node tests and ONNX Runtime's outputs for each LSTM feature, compared
     * with the ONNX backend runner's rule |actual - expected| <= 1e-7 + 1e-3 |expected|, and within
     * 1e-5 absolute. Cases needing features not built yet are skipped, naming the feature.
     */
    @TestFactory
    Stream<DynamicTest> onnxConformance() throws Exception {
        Path root = ReferenceCase.conformanceRoot();
        if (root == null) {
            return noSharedData("onnx cases", "ONNX");
        }
        return OnnxCase.all(root).stream().map(c -> dynamicTest(c.name, () -> {
            requireFeatures(c.name, c.missingFeature());
            requireSupport(c.spec(), c.name);
            try (RnnPlan plan = backend().plan(c.spec(), c.weights(), options())) {
                RnnOutput out = plan.forward(c.input());
                double worst = onnxRule(c, "Y", c.expectedY(), out.y());
                worst = Math.max(worst, onnxRule(c, "Y_h", c.expectedHN(), out.hN()));
                worst = Math.max(worst, onnxRule(c, "Y_c", c.expectedCN(), out.cN()));
                assertTrue(worst >= 0, c.name + " has no output to compare");
                worstOnnx.accumulate(c.name, worst);
            }
        }));
    }

    /**
     * PyTorch's own cases ({@code shared/conformance/torch}): each module's state_dict loaded by its
     * names, run on its inputs, against PyTorch's float64 outputs, within {@link Tolerance}. The
     * {@code grad_*} cases run their forward half; cases needing a feature not built yet, or a cell
     * this backend lacks, are skipped, naming it.
     */
    @TestFactory
    Stream<DynamicTest> torchConformance() throws Exception {
        Path root = ReferenceCase.conformanceRoot();
        if (root == null) {
            return noSharedData("torch cases", "PyTorch");
        }
        return TorchCase.all(root).stream().map(c -> dynamicTest(c.name, () -> {
            requireFeatures(c.name, c.missingFeature());
            requireSupport(c.spec(), c.name);
            try (RnnPlan plan = backend().plan(c.spec(), c.weights(), options())) {
                RnnOutput out = plan.forward(c.input());
                double tol = tolerance(c.spec(), c.input().steps());
                double err = Compare.assertClose("y", c.expectedY(), out.y(), tol, c.name);
                err = Math.max(err, Compare.assertClose("hN", c.expectedHN(), out.hN(), tol, c.name));
                if (c.expectedCN() != null) {
                    err = Math.max(err, Compare.assertClose("cN", c.expectedCN(), out.cN(), tol, c.name));
                }
                worstRatio.accumulate(err / tol);
                worstTorch.accumulate(c.name, err / tol);
            }
        }));
    }

    /**
     * Fails unless every element is within ONNX's rule and 1e-5; returns the worst |actual - expected| over the
     * element's bound, the tighter of the two, or -1 where the case has no such output.
     */
    private double onnxRule(OnnxCase c, String what, Tensor expected, Tensor actual) {
        if (expected == null) {
            return -1;
        }
        assertTrue(Arrays.equals(expected.shape(), actual.shape()), c.name + " " + what + ": expected shape "
                + Arrays.toString(expected.shape()) + ", got " + Arrays.toString(actual.shape()));
        double abs = 1e-5 * toleranceFactor();
        double worst = 0;
        for (long i = 0; i < expected.size(); i++) {
            double e = expected.getFlat(i);
            double a = actual.getFlat(i);
            double bound = Math.min(1e-7 + 1e-3 * Math.abs(e), abs);
            if (!(Math.abs(a - e) <= bound)) {
                fail(c.name + " " + what + "[" + i + "]: expected " + e + ", got " + a);
            }
            worst = Math.max(worst, Math.abs(a - e) / bound);
        }
        return worst;
    }

    // ---------------------------------------------------------------- helpers

    /** Steps [from, to) of a sequence-major tensor. */
    static Tensor slice(Tensor seq, int from, int to) {
        int row = seq.dim(1) * seq.dim(2);
        return Tensor.of(Arrays.copyOfRange(seq.toArray(), from * row, to * row), to - from, seq.dim(1), seq.dim(2));
    }

    static Tensor reshape(Tensor t, int... shape) {
        return Tensor.of(t.toArray(), shape);
    }

    static Tensor copy(Tensor t) {
        return t == null ? null : Tensor.of(t.toArray(), t.shape());
    }

    static Tensor offHeap(Arena arena, Tensor t) {
        return t == null ? null : Tensor.allocate(arena, t.shape()).copyFrom(t.toArray());
    }
}
