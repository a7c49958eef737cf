package io.cellstate.conformance;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.DynamicTest.dynamicTest;

import io.cellstate.Activation;
import io.cellstate.Backend;
import io.cellstate.Backends;
import io.cellstate.Cell;
import io.cellstate.Direction;
import io.cellstate.ForwardMode;
import io.cellstate.Layout;
import io.cellstate.PlanOptions;
import io.cellstate.RnnInput;
import io.cellstate.RnnInputGrad;
import io.cellstate.RnnOutput;
import io.cellstate.RnnOutputGrad;
import io.cellstate.RnnPlan;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeightGrads;
import io.cellstate.RnnWeights;
import io.cellstate.RnnWorkspace;
import io.cellstate.Tensor;
import io.cellstate.Tolerance;
import io.cellstate.WeightGradMode;
import io.cellstate.testing.Case;
import io.cellstate.testing.Compare;
import io.cellstate.testing.Npy;
import io.cellstate.testing.ReferenceCase;
import io.cellstate.testing.Safetensors;
import io.cellstate.testing.TorchCase;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
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
 * The training suite every backend with a backward pass passes: each module subclasses it with its
 * backend, as {@link RnnConformanceSuite}. It checks the gradients of a training plan
 * ({@link RnnPlan#forward(RnnInput, RnnOutput, RnnWorkspace)} then {@link RnnPlan#backward}) against
 * <ul>
 *   <li>PyTorch: every {@code grad_*} case of {@code shared/conformance/torch} (dx, dh0, dc0 and every
 *       tensor of {@code grads.safetensors});</li>
 *   <li>the {@code scalar} oracle's backward (float64) on the same seeded input, over every cell, layers,
 *       directions, layouts, lengths, initial states, thread counts and awkward sizes;</li>
 *   <li>central differences of the {@code scalar} forward pass along random directions, for every cell:
 *       a check of the algebra that shares no code with the engine;</li>
 * </ul>
 * and the contract: ACCUMULATE over two calls is the sum, OVERWRITE replaces, workspaces are independent,
 * the training forward equals the inference forward, bad input is refused before anything is written, and
 * a steady loop allocates no buffers.
 *
 * <p><b>Tolerance.</b> A gradient element is the end of three chains of float32 sums: the forward's
 * (n_f = in + H + 2 terms per gate, {@link Tolerance#accumulationLength}), the backward's per step
 * ({@code dh_prev = dG W_hh} and {@code dx = dG W_ih} sum n_b = G*H terms), both carried through T steps and
 * the layers, and, for a weight gradient, one more sum over the T*B rows. Rounding errors behaving as a
 * random walk (as in {@link Tolerance}), the error grows like u sqrt(N) times the size of the terms, so
 * <pre>
 *   tol = C * u * sqrt((n_f + n_b) * T * layers + T * B) * max(1, max |expected|)
 * </pre>
 * per tensor, C = {@link Tolerance#C}: the terms' size is taken from the tensor itself (gradients are not
 * bounded by 1 as activations are; a weight gradient grows with the T*B terms it sums). The suite prints
 * the worst error / tolerance it saw, so a backend creeping towards the bound shows before it fails.
 */
public abstract class GradientConformanceSuite extends BackendSuite {
    private static final long SEED = Long.getLong("cellstate.seed", 20261122L);
    private final DoubleAccumulator worstRatio = new DoubleAccumulator(Math::max, 0);
    private final DoubleAccumulator worstTorch = new DoubleAccumulator(Math::max, 0);
    private final DoubleAccumulator worstOptions = new DoubleAccumulator(Math::max, 0);

    /** Plan options for the backend under test (the suite sets the mode to TRAINING, and sometimes the threads). */
    protected PlanOptions options() {
        return PlanOptions.defaults();
    }

    /**
     * Whether the backend's training calls must allocate no buffers once the workspace has grown; the
     * float64 oracle allocates its tape per call, being written for reading, not for speed.
     */
    protected boolean allocationFree() {
        return true;
    }

    /** How much looser than the tolerance above this backend's precision is (1 for exact float32). */
    protected double toleranceFactor() {
        return 1;
    }

    /**
     * Whether the backend's plans run on the thread count of their options (the CPU training engine's).
     * Where not (a GPU's plans accept and ignore it), {@link #threadCounts} and
     * {@link #steadyTrainingAllocatesNoBuffers} run at one count instead of repeating the same run.
     */
    protected boolean usesThreads() {
        return true;
    }

    /**
     * How many objects outside the Java heap (device and pinned buffers, handles, descriptors, events)
     * the backend has created so far in this process, a count that only grows; -1 (the default) where
     * its plans create none. Where counted, {@link #steadyTrainingAllocatesNoBuffers} also checks that
     * steady steps create none: the heap measurement does not see a buffer the backend allocates there.
     */
    protected long nativeObjectsCreated() {
        return -1;
    }

    private int[] threads(int... counts) {
        return usesThreads() ? counts : new int[] {counts[0]};
    }

    private PlanOptions training() {
        return options().withMode(ForwardMode.TRAINING);
    }

    @AfterAll
    void report() {
        if (skipped()) {
            return;
        }
        System.out.printf("%s: worst error / tolerance = %.4f against the scalar oracle (%.4f over the cells with"
                + " options), %.4f against PyTorch (backend %s)%n", getClass().getSimpleName(), worstRatio.get(),
                worstOptions.get(), worstTorch.get(), backend().name());
    }

    /** Skips, printing the backend's reason, a test whose spec the backend cannot train. */
    private void requireSupport(RnnSpec spec, Object what) {
        String lacks = backend().unsupported(spec, training());
        if (!lacks.isEmpty()) {
            skip(what + ": backend '" + backend().name() + "' lacks " + lacks);
        }
    }

    private static void skip(String why) {
        System.out.println("SKIPPED " + why);
        Assumptions.abort(why);
    }

    // ---------------------------------------------------------------- the reference

    /** A training plan of the scalar oracle for {@code spec}; skips, printing why, a spec it cannot train. */
    private static RnnPlan referencePlan(RnnSpec spec, RnnWeights w) {
        Backend scalar = Backends.byName("scalar");
        PlanOptions training = PlanOptions.defaults().withMode(ForwardMode.TRAINING);
        String lacks = scalar.unsupported(spec, training);
        if (!lacks.isEmpty()) {
            skip("no reference for " + spec + ": the scalar oracle lacks " + lacks);
        }
        return scalar.plan(spec, w, training);
    }

    // ---------------------------------------------------------------- running

    /** Everything a training step returns. */
    record Result(RnnOutput out, RnnInputGrad in, RnnWeightGrads weights) {
    }

    /** Forward into a fresh workspace, then backward with fresh gradient tensors. */
    static Result train(RnnPlan plan, RnnInput in, RnnOutputGrad gradOut) {
        RnnSpec spec = plan.spec();
        try (RnnWorkspace ws = plan.newWorkspace()) {
            RnnOutput out = RnnOutput.allocate(spec, in.layout(), in.steps(), in.batch());
            plan.forward(in, out, ws);
            RnnInputGrad gi = RnnInputGrad.allocate(spec, in.layout(), in.steps(), in.batch());
            RnnWeightGrads wg = RnnWeightGrads.zeros(spec).zero();
            plan.backward(ws, gradOut, gi, wg, WeightGradMode.OVERWRITE);
            return new Result(out, gi, wg);
        }
    }

    /** Random d loss / d outputs, uniform in [-1, 1]; the final states' parts null unless {@code finals}. */
    static RnnOutputGrad randomGradOut(RnnSpec spec, RnnInput in, long seed, boolean finals) {
        SplittableRandom r = new SplittableRandom(seed);
        int t = in.steps();
        int b = in.batch();
        Tensor dy = Tensor.of(Case.uniform(r, t * b * spec.outputSize(), 1), in.layout().shape(t, b, spec.outputSize()));
        int n = spec.stateCount() * b * spec.hiddenSize();
        int nh = spec.stateCount() * b * spec.outputHiddenSize();
        Tensor dhN = finals ? Tensor.of(Case.uniform(r, nh, 1), spec.stateCount(), b, spec.outputHiddenSize()) : null;
        Tensor dcN = finals && spec.cell().hasCellState()
                ? Tensor.of(Case.uniform(r, n, 1), spec.stateCount(), b, spec.hiddenSize()) : null;
        return new RnnOutputGrad(dy, dhN, dcN);
    }

    /** The tolerance of the class comment for a gradient tensor {@code expected} of a call of T steps, B sequences. */
    protected double gradientTolerance(RnnSpec spec, int steps, int batch, Tensor expected) {
        double n = Tolerance.accumulationLength(spec) + (double) spec.gates() * spec.hiddenSize();
        double largest = 0;
        for (long i = 0; i < expected.size(); i++) {
            largest = Math.max(largest, Math.abs(expected.getFlat(i)));
        }
        return Tolerance.C * Tolerance.U * Math.sqrt(n * steps * spec.layers() + (double) steps * batch)
                * Math.max(1, largest) * toleranceFactor();
    }

    private double forwardTolerance(RnnSpec spec, int steps) {
        return Tolerance.forward(spec, steps) * toleranceFactor();
    }

    /**
     * Compares every output and gradient; returns the worst error / tolerance. A cell with options has its forward
     * tolerance scaled by the outputs' size where it passes 1 (as {@link RnnConformanceSuite#optionTolerance}: its
     * activations need not keep them within 1); the gradients' tolerance scales so for every cell.
     */
    private double compare(RnnSpec spec, int steps, int batch, Result expected, Result actual, Object ctx) {
        double ftol = forwardTolerance(spec, steps)
                * (spec.cell().isPlain() ? 1 : Math.max(1, RnnConformanceSuite.largest(expected.out())));
        double worst = Compare.assertClose(expected.out(), actual.out(), ftol, ctx) / ftol;
        worst = Math.max(worst, gradient("dx", spec, steps, batch, expected.in().dx(), actual.in().dx(), ctx));
        worst = Math.max(worst, gradient("dh0", spec, steps, batch, expected.in().dh0(), actual.in().dh0(), ctx));
        if (spec.cell().hasCellState()) {
            worst = Math.max(worst, gradient("dc0", spec, steps, batch, expected.in().dc0(), actual.in().dc0(), ctx));
        }
        Map<String, Tensor> e = expected.weights().toStateDict();
        Map<String, Tensor> a = actual.weights().toStateDict();
        assertEquals(e.keySet(), a.keySet(), "weight gradients [" + ctx + "]");
        for (String name : e.keySet()) {
            worst = Math.max(worst, gradient(name, spec, steps, batch, e.get(name), a.get(name), ctx));
        }
        return worst;
    }

    private double gradient(String what, RnnSpec spec, int steps, int batch, Tensor expected, Tensor actual,
                            Object ctx) {
        double tol = gradientTolerance(spec, steps, batch, expected);
        return Compare.assertClose(what, expected, actual, tol, ctx) / tol;
    }

    // ---------------------------------------------------------------- PyTorch

    /**
     * PyTorch's gradient cases: the loss sum(y * dy) + sum(hn * dhn) [+ sum(cn * dcn)] with the stored dy,
     * dhn, dcn; dx, dh0, dc0 and every parameter's gradient (a projection's {@code weight_hr} too) against
     * PyTorch's float64 ones. A case needing a feature not built yet is skipped, naming it.
     */
    @TestFactory
    Stream<DynamicTest> torchGradients() throws IOException {
        Path root = ReferenceCase.conformanceRoot();
        if (root == null) {
            String why = "shared conformance data not found (cellstate.conformance="
                    + System.getProperty("cellstate.conformance") + "): PyTorch gradient cases skipped";
            return Stream.of(dynamicTest("torch gradient cases", () -> skip(why)));
        }
        List<TorchCase> cases = TorchCase.all(root).stream().filter(c -> c.dir.getFileName().toString()
                .startsWith("grad_")).toList();
        assertFalse(cases.isEmpty(), "no grad_* case under " + root.resolve("torch"));
        return cases.stream().map(c -> dynamicTest(c.name, () -> {
            if (!c.missingFeature().isEmpty()) {
                skip(c.name + " needs " + c.missingFeature() + ", which no backend has yet");
            }
            requireSupport(c.spec(), c.name);
            RnnSpec spec = c.spec();
            RnnInput in = c.input();
            RnnOutputGrad gradOut = new RnnOutputGrad(npy(c.dir, "dy"), npy(c.dir, "dhn"),
                    spec.cell().hasCellState() ? npy(c.dir, "dcn") : null);
            try (RnnPlan plan = backend().plan(spec, c.weights(), training())) {
                Result r = train(plan, in, gradOut);
                int t = in.steps();
                int b = in.batch();
                double ftol = forwardTolerance(spec, t);
                double worst = Compare.assertClose("y", c.expectedY(), r.out().y(), ftol, c.name) / ftol;
                worst = Math.max(worst, torchGradient("dx", spec, t, b, npy(c.dir, "dx"), r.in().dx(), c.name));
                worst = Math.max(worst, torchGradient("dh0", spec, t, b, npy(c.dir, "dh0"), r.in().dh0(), c.name));
                if (spec.cell().hasCellState()) {
                    worst = Math.max(worst, torchGradient("dc0", spec, t, b, npy(c.dir, "dc0"), r.in().dc0(), c.name));
                }
                Map<String, float[]> grads = Safetensors.read(c.dir.resolve("grads.safetensors"));
                Map<String, Tensor> mine = r.weights().toStateDict();
                assertEquals(grads.keySet(), mine.keySet(), c.name + ": the parameters with gradients");
                for (Map.Entry<String, float[]> g : grads.entrySet()) {
                    Tensor actual = mine.get(g.getKey());
                    worst = Math.max(worst, torchGradient(g.getKey(), spec, t, b,
                            Tensor.of(g.getValue(), actual.shape()), actual, c.name));
                }
                worstTorch.accumulate(worst);
            }
        }));
    }

    private double torchGradient(String what, RnnSpec spec, int t, int b, Tensor expected, Tensor actual, String ctx) {
        if (expected == null) {
            fail(ctx + ": " + what + ".npy is missing");
        }
        return gradient(what, spec, t, b, expected, actual, ctx);
    }

    private static Tensor npy(Path dir, String stem) throws IOException {
        Path p = dir.resolve(stem + ".npy");
        if (!Files.exists(p)) {
            return null;
        }
        Npy n = Npy.read(p);
        return Tensor.of(n.floats(), n.shape());
    }

    // ---------------------------------------------------------------- against the reference

    /** One seeded gradient case: a forward {@link Case}, the threads the backend uses, and whether dhN, dcN are given. */
    record GradCase(Case c, int threads, boolean finals) {
        @Override
        public String toString() {
            return c + " threads=" + threads + (finals ? " dhN" : " dy only");
        }
    }

    /**
     * Every cell x direction x layout x lengths (none, random) x initial states, with 1 to 3 layers,
     * bias on and off, 1 or 2 threads and the final states' gradients given or not, taken in turn.
     */
    static Stream<GradCase> matrix() {
        List<GradCase> out = new ArrayList<>();
        long s = SEED;
        int turn = 0;
        for (Cell cell : Case.CELLS) {
            for (Direction dir : Direction.values()) {
                for (Layout layout : Layout.values()) {
                    for (Case.Lengths lens : new Case.Lengths[] {Case.Lengths.NONE, Case.Lengths.RANDOM}) {
                        for (int states = 0; states < (cell.hasCellState() ? 4 : 2); states++) {
                            RnnSpec spec = RnnSpec.builder().cell(cell).inputSize(5).hiddenSize(9).layers(1 + turn % 3)
                                    .direction(dir).bias(turn % 5 != 4).build();
                            Case c = new Case(s++, spec, 6, 4, layout, lens, (states & 1) != 0, (states & 2) != 0);
                            out.add(new GradCase(c, 1 + turn % 2, turn % 3 != 1));
                            turn++;
                        }
                    }
                }
            }
        }
        return out.stream();
    }

    /** Cases with every dimension drawn from awkward sizes, within a cost budget, each of a random cell. */
    static Stream<GradCase> awkward() {
        int[] sizes = {1, 2, 3, 7, 8, 15, 16, 17, 33};
        SplittableRandom r = new SplittableRandom(SEED + 99);
        List<GradCase> out = new ArrayList<>();
        while (out.size() < 24) {
            Cell cell = Case.CELLS[r.nextInt(Case.CELLS.length)];
            RnnSpec spec = RnnSpec.builder().cell(cell).inputSize(sizes[r.nextInt(sizes.length)])
                    .hiddenSize(sizes[r.nextInt(sizes.length)]).layers(1 + r.nextInt(2))
                    .direction(Direction.values()[r.nextInt(3)]).bias(r.nextInt(6) != 0).build();
            Case c = new Case(r.nextLong(), spec, sizes[r.nextInt(sizes.length)], sizes[r.nextInt(sizes.length)],
                    Layout.values()[r.nextInt(2)], Case.Lengths.values()[r.nextInt(3)], r.nextBoolean(), r.nextBoolean());
            if (c.cost() <= 1.5e6) {
                out.add(new GradCase(c, 1 + r.nextInt(2), r.nextBoolean()));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("matrix")
    void feature(GradCase g) {
        check(g);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("awkward")
    void awkwardSize(GradCase g) {
        check(g);
    }

    private void check(GradCase g) {
        Case c = g.c();
        RnnSpec spec = c.spec();
        requireSupport(spec, g);
        RnnWeights w = c.weights();
        RnnInput in = c.input();
        RnnOutputGrad gradOut = randomGradOut(spec, in, c.seed() + 5, g.finals());
        Result expected;
        try (RnnPlan ref = referencePlan(spec, w)) {
            expected = train(ref, in, gradOut);
        }
        try (RnnPlan plan = backend().plan(spec, w, training().withThreads(g.threads()))) {
            double worst = compare(spec, c.steps(), c.batch(), expected, train(plan, in, gradOut), g);
            (spec.cell().isPlain() ? worstRatio : worstOptions).accumulate(worst);
        }
    }

    // ---------------------------------------------------------------- cells with options

    /**
     * Random networks of cells with options against the oracle's backward ({@link Case#optionCases}): projections,
     * peepholes, a biting clip, coupled gates, every activation in every role, per direction too; the gradients of
     * W_hr and the peepholes among the rest. Threads and the final states' gradients vary as in {@link #matrix}.
     */
    static Stream<GradCase> optionMatrix() {
        SplittableRandom r = new SplittableRandom(SEED + 7);
        return Case.optionCases(SEED + 8, 40, 4e5).stream().map(c -> new GradCase(c, 1 + r.nextInt(2), r.nextBoolean()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("optionMatrix")
    void options(GradCase g) {
        check(g);
    }

    /** One cell per option and several together, activations per direction too, for the fixture's H = 11. */
    static Stream<Cell> optionCells() {
        return Case.optionCells(11, true, false).stream();
    }

    /** {@link #accumulateAddsAndOverwriteReplaces} for the cells with options (W_hr and the peepholes included). */
    @ParameterizedTest(name = "{0}")
    @MethodSource("optionCells")
    void optionsAccumulateAddsAndOverwriteReplaces(Cell cell) {
        accumulateAddsAndOverwriteReplaces(cell);
    }

    /** {@link #workspacesAreIndependent} for the cells with options. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("optionCells")
    void optionsWorkspacesAreIndependent(Cell cell) {
        workspacesAreIndependent(cell);
    }

    /** {@link #trainingForwardEqualsInference} for the cells with options, whose inference forward is the engine's too. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("optionCells")
    void optionsTrainingForwardEqualsInference(Cell cell) {
        for (Layout layout : Layout.values()) {
            trainingForwardEqualsInference(cell, layout);
        }
    }

    /** Cells with options whose activations have continuous slopes, for central differences (H = 5). */
    static Stream<Cell> smoothOptionCells() {
        return Case.optionCells(5, true, true).stream();
    }

    /** {@link #finiteDifferences} for the cells with options: the algebra of projection, peepholes, coupled gates and activations. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("smoothOptionCells")
    void optionsFiniteDifferences(Cell cell) {
        finiteDifferences(cell);
    }

    /** {@link #threadCounts} for a projected LSTM with peepholes and a biting clip, and a GRU with other activations. */
    static Stream<Cell> threadedOptionCells() {
        return Stream.of(Cell.lstm().withProjection(13).withPeepholes(true).withClip(0.5f),
                Cell.gruOriginal().withActivations(Activation.of(Activation.Function.SOFTSIGN),
                        Activation.of(Activation.Function.ELU)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("threadedOptionCells")
    void optionsThreadCounts(Cell cell) {
        threadCounts(cell);
    }

    /**
     * 1, 2 and 3 threads agree with the reference, and at each count two runs agree bitwise. The shape is
     * large enough for the GEMMs to split among threads. Without {@link #usesThreads()}: one count, the
     * reference and the bitwise repeat.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("io.cellstate.conformance.RnnConformanceSuite#cells")
    void threadCounts(Cell cell) {
        RnnSpec spec = RnnSpec.builder().cell(cell).inputSize(24).hiddenSize(40).layers(2)
                .direction(Direction.BIDIRECTIONAL).build();
        requireSupport(spec, cell);
        Case c = new Case(SEED + 3, spec, 7, 9, Layout.SEQUENCE_MAJOR, Case.Lengths.RANDOM, true, true);
        RnnWeights w = c.weights();
        RnnInput in = c.input();
        RnnOutputGrad gradOut = randomGradOut(spec, in, SEED + 4, true);
        Result expected;
        try (RnnPlan ref = referencePlan(spec, w)) {
            expected = train(ref, in, gradOut);
        }
        for (int threads : threads(1, 2, 3)) {
            try (RnnPlan plan = backend().plan(spec, w, training().withThreads(threads))) {
                Result first = train(plan, in, gradOut);
                (cell.isPlain() ? worstRatio : worstOptions).accumulate(compare(spec, 7, 9, expected, first,
                        c + " threads=" + threads));
                assertBitwiseEqual(first, train(plan, in, gradOut), c + " threads=" + threads + ", run twice");
            }
        }
    }

    private static void assertBitwiseEqual(Result a, Result b, Object ctx) {
        List<Tensor[]> pairs = new ArrayList<>(List.of(new Tensor[] {a.out().y(), b.out().y()},
                new Tensor[] {a.out().hN(), b.out().hN()}, new Tensor[] {a.in().dx(), b.in().dx()},
                new Tensor[] {a.in().dh0(), b.in().dh0()}));
        if (a.in().dc0() != null) {
            pairs.add(new Tensor[] {a.in().dc0(), b.in().dc0()});
        }
        for (Map.Entry<String, Tensor> e : a.weights().toStateDict().entrySet()) {
            pairs.add(new Tensor[] {e.getValue(), b.weights().get(e.getKey())});
        }
        for (Tensor[] p : pairs) {
            assertArrayEquals(p[0].toArray(), p[1].toArray(), "not bitwise repeatable [" + ctx + "]");
        }
    }

    // ---------------------------------------------------------------- finite differences

    /**
     * The gradients along random directions against central differences of the {@code scalar} forward pass
     * (float64 inside, float32 outputs): for a direction v of the inputs, of the initial states and of every
     * weight, {@code L(θ + εv) - L(θ - εv)} against the sum of gradient times that difference of θ, with
     * L = sum(y dy) + sum(hN dhN) + sum(cN dcN) in float64. With ε = 1e-3 the outputs' float32 rounding
     * leaves about 1e-4 of noise relative to the derivative and the truncation 1e-6, so 2e-3 relative
     * separates a right gradient from one with a wrong term (a swapped gate derivative moves it by O(1)).
     * Shares no code with the engine: it checks the algebra, for the cells PyTorch's cases do not cover.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("io.cellstate.conformance.RnnConformanceSuite#cells")
    void finiteDifferences(Cell cell) {
        RnnSpec spec = RnnSpec.builder().cell(cell).inputSize(3).hiddenSize(5).layers(2)
                .direction(Direction.BIDIRECTIONAL).build();
        requireSupport(spec, cell);
        Case c = new Case(SEED + 17, spec, 5, 3, Layout.BATCH_MAJOR, Case.Lengths.RANDOM, true, true);
        RnnWeights w = c.weights();
        RnnInput in = c.input();
        RnnOutputGrad gradOut = randomGradOut(spec, in, SEED + 18, true);
        Result r;
        try (RnnPlan plan = backend().plan(spec, w, training())) {
            r = train(plan, in, gradOut);
        }
        double eps = 1e-3;
        SplittableRandom rnd = new SplittableRandom(SEED + 19);
        for (String part : new String[] {"x", "h0", "c0", "weights"}) {
            if (part.equals("c0") && !cell.hasCellState()) {
                continue;
            }
            double analytic = 0;
            RnnInput plus = in;
            RnnInput minus = in;
            RnnWeights wPlus = w;
            RnnWeights wMinus = w;
            switch (part) {
                case "x", "h0", "c0" -> {
                    Tensor t = part.equals("x") ? in.x() : part.equals("h0") ? in.h0() : in.c0();
                    Tensor g = part.equals("x") ? r.in().dx() : part.equals("h0") ? r.in().dh0() : r.in().dc0();
                    Tensor[] pm = perturb(t, rnd, eps);
                    analytic = dot(g, pm[0], pm[1]);
                    plus = replace(in, part, pm[0]);
                    minus = replace(in, part, pm[1]);
                }
                default -> {
                    RnnWeights.Builder bp = RnnWeights.builder(spec);
                    RnnWeights.Builder bm = RnnWeights.builder(spec);
                    for (Map.Entry<String, float[]> e : w.toPyTorch().entrySet()) {
                        float[] v = e.getValue();
                        float[] p = new float[v.length];
                        float[] m = new float[v.length];
                        float[] g = r.weights().get(e.getKey()).toArray();
                        for (int i = 0; i < v.length; i++) {
                            double dir = rnd.nextDouble(-1, 1);
                            p[i] = (float) (v[i] + eps * dir);
                            m[i] = (float) (v[i] - eps * dir);
                            analytic += (double) g[i] * ((double) p[i] - m[i]);
                        }
                        bp.put(e.getKey(), p);
                        bm.put(e.getKey(), m);
                    }
                    wPlus = bp.build();
                    wMinus = bm.build();
                }
            }
            double numeric = loss(spec, wPlus, plus, gradOut) - loss(spec, wMinus, minus, gradOut);
            double tol = 2e-3 * Math.max(2 * eps, Math.abs(analytic));
            assertTrue(Math.abs(numeric - analytic) <= tol, String.format("%s: d loss along a random direction of %s:"
                    + " central difference %.6g, gradient %.6g (tolerance %.2g) [%s]", cell, part, numeric, analytic, tol, c));
        }
    }

    /** {@code t + eps v} and {@code t - eps v} for a random v, rounded to float32. */
    private static Tensor[] perturb(Tensor t, SplittableRandom r, double eps) {
        float[] v = t.toArray();
        float[] p = new float[v.length];
        float[] m = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            double d = r.nextDouble(-1, 1);
            p[i] = (float) (v[i] + eps * d);
            m[i] = (float) (v[i] - eps * d);
        }
        return new Tensor[] {Tensor.of(p, t.shape()), Tensor.of(m, t.shape())};
    }

    private static double dot(Tensor g, Tensor plus, Tensor minus) {
        double s = 0;
        for (long i = 0; i < g.size(); i++) {
            s += (double) g.getFlat(i) * ((double) plus.getFlat(i) - minus.getFlat(i));
        }
        return s;
    }

    private static RnnInput replace(RnnInput in, String part, Tensor t) {
        return switch (part) {
            case "x" -> new RnnInput(t, in.layout(), in.lengths(), in.h0(), in.c0());
            case "h0" -> new RnnInput(in.x(), in.layout(), in.lengths(), t, in.c0());
            default -> new RnnInput(in.x(), in.layout(), in.lengths(), in.h0(), t);
        };
    }

    /** sum(y dy) + sum(hN dhN) + sum(cN dcN) of the scalar forward pass, in float64. */
    private static double loss(RnnSpec spec, RnnWeights w, RnnInput in, RnnOutputGrad g) {
        try (RnnPlan p = Backends.byName("scalar").plan(spec, w, PlanOptions.defaults())) {
            RnnOutput out = p.forward(in);
            double l = dot(out.y(), g.dy());
            l += dot(out.hN(), g.dhN());
            if (g.dcN() != null) {
                l += dot(out.cN(), g.dcN());
            }
            return l;
        }
    }

    private static double dot(Tensor a, Tensor b) {
        double s = 0;
        for (long i = 0; i < a.size(); i++) {
            s += (double) a.getFlat(i) * b.getFlat(i);
        }
        return s;
    }

    // ---------------------------------------------------------------- the contract

    private record Fixture(RnnSpec spec, RnnWeights weights, RnnInput a, RnnInput b, RnnOutputGrad ga, RnnOutputGrad gb) {
    }

    private Fixture fixture(Cell cell) {
        RnnSpec spec = RnnSpec.builder().cell(cell).inputSize(6).hiddenSize(11).layers(2)
                .direction(Direction.BIDIRECTIONAL).build();
        requireSupport(spec, cell);
        Case a = new Case(SEED + 31, spec, 5, 3, Layout.SEQUENCE_MAJOR, Case.Lengths.RANDOM, true, true);
        Case b = new Case(SEED + 32, spec, 5, 3, Layout.SEQUENCE_MAJOR, Case.Lengths.RANDOM, true, true);
        RnnInput ia = a.input();
        RnnInput ib = b.input();
        return new Fixture(spec, a.weights(), ia, ib, randomGradOut(spec, ia, SEED + 33, true),
                randomGradOut(spec, ib, SEED + 34, true));
    }

    /** ACCUMULATE after a first call gives exactly the float32 sum of what the two calls write alone. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("io.cellstate.conformance.RnnConformanceSuite#cells")
    void accumulateAddsAndOverwriteReplaces(Cell cell) {
        Fixture f = fixture(cell);
        try (RnnPlan plan = backend().plan(f.spec(), f.weights(), training())) {
            Result a = train(plan, f.a(), f.ga());
            Result b = train(plan, f.b(), f.gb());
            RnnWeightGrads sum = RnnWeightGrads.zeros(f.spec());
            for (Map.Entry<String, Tensor> e : sum.toStateDict().entrySet()) {
                e.getValue().fill(1e6f); // OVERWRITE must not read what is there
            }
            try (RnnWorkspace ws = plan.newWorkspace()) {
                plan.forward(f.a(), RnnOutput.allocate(f.spec(), Layout.SEQUENCE_MAJOR, 5, 3), ws);
                plan.backward(ws, f.ga(), RnnInputGrad.none(), sum, WeightGradMode.OVERWRITE);
                for (Map.Entry<String, Tensor> e : a.weights().toStateDict().entrySet()) {
                    assertArrayEquals(e.getValue().toArray(), sum.get(e.getKey()).toArray(),
                            cell + ": OVERWRITE over other values gives what a fresh call gives: " + e.getKey());
                }
                plan.forward(f.b(), RnnOutput.allocate(f.spec(), Layout.SEQUENCE_MAJOR, 5, 3), ws);
                plan.backward(ws, f.gb(), RnnInputGrad.none(), sum, WeightGradMode.ACCUMULATE);
            }
            for (Map.Entry<String, Tensor> e : sum.toStateDict().entrySet()) {
                float[] x = a.weights().get(e.getKey()).toArray();
                float[] y = b.weights().get(e.getKey()).toArray();
                float[] expected = new float[x.length];
                for (int i = 0; i < x.length; i++) {
                    expected[i] = x[i] + y[i];
                }
                assertArrayEquals(expected, e.getValue().toArray(), cell + ": ACCUMULATE gives the sum: " + e.getKey());
            }
        }
    }

    /** forward ws1, forward ws2, backward ws1, backward ws2: each as if alone; a workspace backs up as often as wanted. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("io.cellstate.conformance.RnnConformanceSuite#cells")
    void workspacesAreIndependent(Cell cell) {
        Fixture f = fixture(cell);
        try (RnnPlan plan = backend().plan(f.spec(), f.weights(), training())) {
            Result a = train(plan, f.a(), f.ga());
            Result b = train(plan, f.b(), f.gb());
            try (RnnWorkspace w1 = plan.newWorkspace(); RnnWorkspace w2 = plan.newWorkspace()) {
                RnnOutput o1 = RnnOutput.allocate(f.spec(), Layout.SEQUENCE_MAJOR, 5, 3);
                RnnOutput o2 = RnnOutput.allocate(f.spec(), Layout.SEQUENCE_MAJOR, 5, 3);
                plan.forward(f.a(), o1, w1);
                plan.forward(f.b(), o2, w2);
                assertTrue(w1.holdsForward() && w1.steps() == 5 && w1.batch() == 3 && w1.bytes() > 0, w1.toString());
                for (int twice = 0; twice < 2; twice++) {
                    Result r1 = backward(plan, w1, f.a(), f.ga(), o1);
                    Result r2 = backward(plan, w2, f.b(), f.gb(), o2);
                    assertBitwiseEqual(a, r1, cell + ": workspace 1, backward " + (twice + 1));
                    assertBitwiseEqual(b, r2, cell + ": workspace 2, backward " + (twice + 1));
                }
            }
        }
    }

    private static Result backward(RnnPlan plan, RnnWorkspace ws, RnnInput in, RnnOutputGrad g, RnnOutput out) {
        RnnInputGrad gi = RnnInputGrad.allocate(plan.spec(), in.layout(), in.steps(), in.batch());
        RnnWeightGrads wg = RnnWeightGrads.zeros(plan.spec());
        plan.backward(ws, g, gi, wg, WeightGradMode.OVERWRITE);
        return new Result(out, gi, wg);
    }

    /** The training forward's outputs equal the inference forward's, within the forward tolerance, every cell and layout. */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("io.cellstate.conformance.RnnConformanceSuite#cellsAndLayouts")
    void trainingForwardEqualsInference(Cell cell, Layout layout) {
        RnnSpec spec = RnnSpec.builder().cell(cell).inputSize(7).hiddenSize(13).layers(2)
                .direction(Direction.BIDIRECTIONAL).build();
        requireSupport(spec, cell);
        Case c = new Case(SEED + 41, spec, 8, 5, layout, Case.Lengths.RANDOM, true, true);
        RnnInput in = c.input();
        try (RnnPlan plan = backend().plan(spec, c.weights(), training())) {
            RnnOutput inference = plan.forward(in);
            RnnOutput trained = RnnOutput.allocate(spec, layout, 8, 5);
            try (RnnWorkspace ws = plan.newWorkspace()) {
                plan.forward(in, trained, ws);
            }
            double tol = forwardTolerance(spec, 8)
                    * (cell.isPlain() ? 1 : Math.max(1, RnnConformanceSuite.largest(inference)));
            (cell.isPlain() ? worstRatio : worstOptions).accumulate(Compare.assertClose(inference, trained, tol, c) / tol);
        }
    }

    /** setWeights: the next training pass runs with the new weights. */
    @Test
    void setWeightsReachesTraining() {
        RnnSpec spec = RnnSpec.builder().inputSize(4).hiddenSize(6).build();
        requireSupport(spec, "setWeights");
        Case c = new Case(SEED + 51, spec, 4, 2, Layout.SEQUENCE_MAJOR, Case.Lengths.NONE, true, true);
        RnnWeights other = RnnWeights.random(spec, SEED + 52);
        RnnOutputGrad g = randomGradOut(spec, c.input(), SEED + 53, true);
        Result expected;
        try (RnnPlan fresh = backend().plan(spec, other, training())) {
            expected = train(fresh, c.input(), g);
        }
        try (RnnPlan plan = backend().plan(spec, c.weights(), training())) {
            train(plan, c.input(), g);
            plan.setWeights(other);
            assertBitwiseEqual(expected, train(plan, c.input(), g), "after setWeights");
        }
    }

    // ---------------------------------------------------------------- bad input

    /** Every malformed training call is refused naming the argument, before anything is written. */
    @Test
    void badInputIsRefusedBeforeAnythingIsWritten() {
        RnnSpec spec = RnnSpec.builder().inputSize(4).hiddenSize(5).layers(2).direction(Direction.BIDIRECTIONAL).build();
        requireSupport(spec, "bad input");
        RnnWeights w = RnnWeights.random(spec, 1);
        int t = 3;
        int b = 2;
        RnnInput in = RnnInput.of(Tensor.of(Case.uniform(new SplittableRandom(2), t * b * 4, 1), t, b, 4));
        try (RnnPlan plan = backend().plan(spec, w, training());
             RnnPlan other = backend().plan(spec, w, training())) {
            RnnWorkspace ws = plan.newWorkspace();
            RnnOutput out = RnnOutput.allocate(spec, Layout.SEQUENCE_MAJOR, t, b);
            RnnInputGrad gi = filled(RnnInputGrad.allocate(spec, Layout.SEQUENCE_MAJOR, t, b));
            RnnWeightGrads wg = RnnWeightGrads.zeros(spec);
            wg.toStateDict().values().forEach(x -> x.fill(7f));
            Tensor[] written = {gi.dx(), gi.dh0(), gi.dc0()};
            RnnOutputGrad g = RnnOutputGrad.of(Tensor.zeros(t, b, 10).fill(1f));
            // an empty workspace, then one of another plan
            expectRefused("workspace", () -> plan.backward(ws, g, gi, wg, WeightGradMode.OVERWRITE), wg, written);
            try (RnnWorkspace foreign = other.newWorkspace()) {
                other.forward(in, RnnOutput.allocate(spec, Layout.SEQUENCE_MAJOR, t, b), foreign);
                expectRefused("workspace", () -> plan.backward(foreign, g, gi, wg, WeightGradMode.OVERWRITE), wg, written);
                expectRefused("workspace", () -> plan.forward(in, out, foreign), wg, out.y(), out.hN());
            }
            expectRefused("workspace", () -> plan.forward(in, out, null), wg, out.y(), out.hN());
            plan.forward(in, out, ws);
            expectRefused("workspace", () -> plan.backward(null, g, gi, wg, WeightGradMode.OVERWRITE), wg, written);
            expectRefused("mode", () -> plan.backward(ws, g, gi, wg, null), wg, written);
            expectRefused("gradOut", () -> plan.backward(ws, null, gi, wg, WeightGradMode.OVERWRITE), wg, written);
            expectRefused("gradIn", () -> plan.backward(ws, g, null, wg, WeightGradMode.OVERWRITE), wg, written);
            expectRefused("gradOut.dy", () -> plan.backward(ws, RnnOutputGrad.of(Tensor.zeros(t, b, 5)), gi, wg,
                    WeightGradMode.OVERWRITE), wg, written);
            expectRefused("gradOut.dy", () -> plan.backward(ws, RnnOutputGrad.of(Tensor.zeros(b, t, 10)), gi, wg,
                    WeightGradMode.OVERWRITE), wg, written); // batch-major shape for a sequence-major forward
            expectRefused("gradOut.dhN", () -> plan.backward(ws, new RnnOutputGrad(null, Tensor.zeros(2, b, 5), null), gi,
                    wg, WeightGradMode.OVERWRITE), wg, written);
            expectRefused("gradOut.dcN", () -> plan.backward(ws, new RnnOutputGrad(null, null, Tensor.zeros(4, b + 1, 5)),
                    gi, wg, WeightGradMode.OVERWRITE), wg, written);
            expectRefused("gradIn.dx", () -> plan.backward(ws, g, new RnnInputGrad(Tensor.zeros(t, b, 5), null, null), wg,
                    WeightGradMode.OVERWRITE), wg, written);
            expectRefused("gradIn.dh0", () -> plan.backward(ws, g, new RnnInputGrad(null, Tensor.zeros(4, b, 6), null), wg,
                    WeightGradMode.OVERWRITE), wg, written);
            expectRefused("gradIn.dc0", () -> plan.backward(ws, g, new RnnInputGrad(null, null, Tensor.zeros(4, b + 1, 5)),
                    wg, WeightGradMode.OVERWRITE), wg, written);
            Tensor inDy = Tensor.wrap(g.dy().segment().asSlice(0, (long) t * b * 4 * Float.BYTES), t, b, 4);
            expectRefused("gradIn.dx", () -> plan.backward(ws, g, new RnnInputGrad(inDy, null, null), wg,
                    WeightGradMode.OVERWRITE), wg, written); // dx over dy's memory
            RnnSpec gru = RnnSpec.builder().cell(Cell.gru()).inputSize(4).hiddenSize(5).build();
            expectRefused("weightGrads", () -> plan.backward(ws, g, gi, RnnWeightGrads.zeros(gru),
                    WeightGradMode.OVERWRITE), wg, written);
            ws.close();
            expectRefused("workspace", () -> plan.backward(ws, g, gi, wg, WeightGradMode.OVERWRITE), wg, written);
            expectRefused("workspace", () -> plan.forward(in, out, ws), wg);
            assertFalse(ws.holdsForward(), "a closed workspace holds nothing");
        }
        // a plan made for inference has no training passes
        try (RnnPlan plan = backend().plan(spec, w, options().withMode(ForwardMode.INFERENCE))) {
            IllegalStateException e = assertThrows(IllegalStateException.class, plan::newWorkspace);
            assertTrue(e.getMessage().contains("TRAINING"), e.getMessage());
        }
    }

    private static RnnInputGrad filled(RnnInputGrad g) {
        g.dx().fill(7f);
        g.dh0().fill(7f);
        if (g.dc0() != null) {
            g.dc0().fill(7f);
        }
        return g;
    }

    /** The call throws IllegalArgumentException "arg: expected ..., got ..." and leaves every gradient as it was. */
    private static void expectRefused(String arg, Executable call, RnnWeightGrads grads, Tensor... untouched) {
        List<float[]> before = new ArrayList<>();
        for (Tensor t : untouched) {
            before.add(t == null ? null : t.toArray());
        }
        Map<String, Tensor> g = grads.toStateDict();
        List<float[]> gradsBefore = g.values().stream().map(Tensor::toArray).toList();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call, "expected a refusal of " + arg);
        String m = e.getMessage();
        assertTrue(m.startsWith(arg + ": expected "), "message should start with '" + arg + ": expected ': " + m);
        assertTrue(m.contains(", got "), "message should say what it got: " + m);
        for (int i = 0; i < untouched.length; i++) {
            if (untouched[i] != null) {
                assertTrue(Arrays.equals(before.get(i), untouched[i].toArray()), "written before " + arg + " was refused");
            }
        }
        int i = 0;
        for (Tensor t : g.values()) {
            assertTrue(Arrays.equals(gradsBefore.get(i++), t.toArray()), "weight gradients written before " + arg
                    + " was refused");
        }
    }

    // ---------------------------------------------------------------- allocation

    /**
     * After the workspace has grown, a training step (forward into it, backward) allocates no buffers: what
     * remains per call is the API's small objects (the validated call records, the shape strings of its
     * messages, the parameters' names), about 2.4 KiB measured, under a bound of 8 KiB, while the smallest
     * sequence buffer of this shape ([T*B x H] = 320 x 32 floats) is 40 KiB and the workspace 1.2 MiB.
     * Where the backend counts its {@link #nativeObjectsCreated() objects outside the heap}, the measured
     * steps create none of those either.
     */
    @Test
    void steadyTrainingAllocatesNoBuffers() {
        steadyTrainingAllocatesNoBuffers(Cell.lstm());
    }

    /**
     * {@link #steadyTrainingAllocatesNoBuffers()} for a cell with options (a projected LSTM with peepholes, clip,
     * coupled gates and other activations): its pointwise parts, projection GEMMs and peephole sums allocate
     * nothing either.
     */
    @Test
    void steadyTrainingWithOptionsAllocatesNoBuffers() {
        steadyTrainingAllocatesNoBuffers(Cell.lstm().withProjection(16).withPeepholes(true).withClip(0.5f)
                .withInputForget(true).withActivations(Activation.sigmoid(), Activation.of(Activation.Function.SOFTSIGN),
                        Activation.tanh()));
    }

    private void steadyTrainingAllocatesNoBuffers(Cell cell) {
        RnnSpec spec = RnnSpec.builder().cell(cell).inputSize(24).hiddenSize(32).layers(2)
                .direction(Direction.BIDIRECTIONAL).build();
        requireSupport(spec, "allocation");
        if (!allocationFree()) {
            String why = backend().name() + " allocates per call by design (allocationFree() is false)";
            System.out.println("SKIPPED " + getClass().getSimpleName() + ".steadyTrainingAllocatesNoBuffers: " + why);
            Assumptions.abort(why);
        }
        var mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        Case c = new Case(SEED + 61, spec, 20, 16, Layout.SEQUENCE_MAJOR, Case.Lengths.RANDOM, true, true);
        RnnInput in = c.input();
        RnnOutputGrad g = randomGradOut(spec, in, SEED + 62, true);
        for (int threads : threads(1, 2)) {
            try (RnnPlan plan = backend().plan(spec, c.weights(), training().withThreads(threads));
                 RnnWorkspace ws = plan.newWorkspace()) {
                RnnOutput out = RnnOutput.allocate(spec, Layout.SEQUENCE_MAJOR, 20, 16);
                RnnInputGrad gi = RnnInputGrad.allocate(spec, Layout.SEQUENCE_MAJOR, 20, 16);
                RnnWeightGrads wg = RnnWeightGrads.zeros(spec);
                for (int i = 0; i < 150; i++) { // until the JIT has compiled the vector code (interpreted, it boxes)
                    plan.forward(in, out, ws);
                    plan.backward(ws, g, gi, wg, WeightGradMode.ACCUMULATE);
                }
                long[] ids = Thread.getAllStackTraces().keySet().stream()
                        .filter(t -> t == Thread.currentThread() || t.getName().startsWith("cellstate-"))
                        .mapToLong(Thread::threadId).toArray();
                // the least over windows, until one is under the bound: the JIT may take a while to compile the
                // vector code, which boxes its vectors until then (megabytes per step). How long depends on what
                // else it compiles: a fresh clone, without the shared cases that warm the path up first, once
                // needed more than the 60 windows this waited before. So it waits up to 30 s: code that still
                // allocates then allocates for good.
                long perCall = Long.MAX_VALUE;
                long nativeBefore = nativeObjectsCreated();
                long deadline = System.nanoTime() + 30_000_000_000L;
                int windows = 0;
                for (; perCall >= 8192 && (windows < 60 || System.nanoTime() < deadline); windows++) {
                    long before = Arrays.stream(mx.getThreadAllocatedBytes(ids)).filter(x -> x > 0).sum();
                    for (int i = 0; i < 5; i++) {
                        plan.forward(in, out, ws);
                        plan.backward(ws, g, gi, wg, WeightGradMode.ACCUMULATE);
                    }
                    long after = Arrays.stream(mx.getThreadAllocatedBytes(ids)).filter(x -> x > 0).sum();
                    perCall = Math.min(perCall, (after - before) / 5);
                }
                long nativeCreated = nativeObjectsCreated() - nativeBefore;
                System.out.printf("%s training %s, %d thread(s): %d bytes allocated per step (workspace %d bytes, %d"
                                + " window(s) of 5 steps)%s%n", backend().name(), cell, threads, perCall, ws.bytes(), windows,
                        nativeBefore < 0 ? "" : ", " + nativeCreated + " objects created outside the heap");
                assertTrue(perCall < 8192, "threads=" + threads + ": " + perCall + " bytes per forward + backward");
                if (nativeBefore >= 0) {
                    assertEquals(0, nativeCreated, "threads=" + threads + ": objects created outside the heap by"
                            + " steady training steps");
                }
            }
        }
    }
}
