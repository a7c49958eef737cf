package io.cellstate.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import io.cellstate.cuda.CudnnOptions.Algorithm;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What is cuDNN's own in the cudnn backend's training, beside the shared gradient suite
 * ({@link CudnnGradientConformanceTest}: PyTorch's {@code grad_*} cases, the host path against the scalar
 * oracle with the default algorithm, accumulation, workspaces, setWeights, bad input): the device path
 * (forward and backward on {@link DeviceTensor}s, REVERSE refused there) against the oracle over every
 * cell cuDNN has, layers, directions, layouts, variable lengths, initial states or zeros; the algorithms
 * fixed in {@link CudnnOptions} on the host path (AUTO training with STANDARD, the persistent ones
 * training or refused); the workspaces' device memory; the device path's argument checks. Without a GPU
 * every test skips with the backend's reason; with {@code -Dcellstate.requireGpu=true} that fails
 * instead.
 *
 * <p>Tolerances, derived as {@link Tolerance#forward} is (C u sqrt(n * depth)): the backward chain is
 * as deep again as the forward one (T * layers steps back), and its sums run over the G*H gate
 * gradients of each direction above as well as the forward's in + H + 2 terms, so dx, dh0 and dc0
 * get {@code C u sqrt(max(n, G*H*D + 2) * 2T * layers)}; a weight gradient sums T*B such terms, each
 * with that error, which add up like a random walk: times sqrt(T*B). Both are absolute for values
 * of order 1 and scale with the largest expected magnitude above 1.
 */
class CudnnGradientTest {
    private static final CudnnBackend CUDNN = (CudnnBackend) Backends.byName("cudnn");
    private static final PlanOptions TRAINING = PlanOptions.defaults().withMode(ForwardMode.TRAINING);
    private static final int STEPS = 6;
    private static final int BATCH = 3;

    static double dataTolerance(RnnSpec spec, int steps) {
        int terms = Math.max(Tolerance.accumulationLength(spec), spec.gates() * spec.hiddenSize() * spec.directions() + 2);
        return Tolerance.C * Tolerance.U * Math.sqrt((double) terms * 2 * steps * spec.layers());
    }

    static double weightTolerance(RnnSpec spec, int steps, int batch) {
        return dataTolerance(spec, steps) * Math.sqrt((double) steps * batch);
    }

    /** One configuration of the grid. */
    record Config(RnnSpec spec, Layout layout, int[] lengths, boolean initialState) {
        @Override
        public String toString() {
            return spec.cell() + " layers=" + spec.layers() + " " + spec.direction() + " " + layout
                    + (lengths == null ? "" : " lengths=" + Arrays.toString(lengths)) + (initialState ? " h0" : " zero-state");
        }
    }

    static Stream<Arguments> grid() {
        List<Arguments> all = new ArrayList<>();
        for (Cell cell : Cell.all()) {
            if (cell instanceof Cell.Gru g && !g.linearBeforeReset()) {
                continue; // refused by the backend (CudnnBackendTest)
            }
            for (Direction dir : Direction.values()) {
                int layers = dir == Direction.BIDIRECTIONAL ? 2 : 1;
                RnnSpec spec = RnnSpec.builder().cell(cell).inputSize(5).hiddenSize(7).layers(layers).direction(dir).build();
                for (Layout layout : Layout.values()) {
                    all.add(config(new Config(spec, layout, null, true)));
                    all.add(config(new Config(spec, layout, new int[] {STEPS, 2, 5}, layout == Layout.SEQUENCE_MAJOR)));
                }
            }
            RnnSpec deep = RnnSpec.builder().cell(cell).inputSize(4).hiddenSize(6).layers(3).bias(false).build();
            all.add(config(new Config(deep, Layout.SEQUENCE_MAJOR, new int[] {1, STEPS, 3}, false)));
        }
        return all.stream();
    }

    private static Arguments config(Config c) {
        return Arguments.of(c.toString(), c);
    }

    private static Tensor random(SplittableRandom r, int... shape) {
        Tensor t = Tensor.zeros(shape);
        for (long i = 0; i < t.size(); i++) {
            t.setFlat(i, (float) r.nextDouble(-1, 1));
        }
        return t;
    }

    private static Tensor filled(float value, int... shape) {
        Tensor t = Tensor.zeros(shape);
        for (long i = 0; i < t.size(); i++) {
            t.setFlat(i, value);
        }
        return t;
    }

    /** A forward and backward problem: input, output gradients (nonzero past the ends too: they must be ignored). */
    record Problem(RnnSpec spec, RnnWeights weights, RnnInput input, RnnOutputGrad gradOut) {
        static Problem of(Config c, long seed) {
            SplittableRandom r = new SplittableRandom(seed);
            RnnSpec spec = c.spec();
            int[] state = {spec.stateCount(), BATCH, spec.hiddenSize()};
            boolean cell = spec.cell().hasCellState();
            Tensor h0 = c.initialState() ? random(r, state) : null;
            Tensor c0 = c.initialState() && cell ? random(r, state) : null;
            RnnInput in = new RnnInput(random(r, c.layout().shape(STEPS, BATCH, spec.inputSize())), c.layout(), c.lengths(),
                    h0, c0);
            RnnOutputGrad g = new RnnOutputGrad(random(r, c.layout().shape(STEPS, BATCH, spec.outputSize())),
                    random(r, state), cell ? random(r, state) : null);
            return new Problem(spec, RnnWeights.random(spec, seed + 1), in, g);
        }
    }

    /** What one training forward and backward returned. */
    record Result(RnnOutput out, RnnInputGrad in, RnnWeightGrads weights) {
    }

    /** NaN-filled outputs, input and weight gradients for {@code p}: a training call must write every element. */
    static Result unwritten(Problem p) {
        RnnSpec spec = p.spec();
        RnnInput in = p.input();
        int[] state = {spec.stateCount(), in.batch(), spec.hiddenSize()};
        boolean cell = spec.cell().hasCellState();
        RnnOutput out = new RnnOutput(filled(Float.NaN, in.layout().shape(in.steps(), in.batch(), spec.outputSize())),
                filled(Float.NaN, state), cell ? filled(Float.NaN, state) : null);
        RnnInputGrad grads = new RnnInputGrad(filled(Float.NaN, in.x().shape()), filled(Float.NaN, state),
                cell ? filled(Float.NaN, state) : null);
        RnnWeightGrads w = RnnWeightGrads.zeros(spec);
        w.toStateDict().values().forEach(t -> t.fill(Float.NaN));
        return new Result(out, grads, w);
    }

    /** A training forward and backward through the generic API (OVERWRITE), into {@code into}. */
    static Result run(RnnPlan plan, Problem p, Result into) {
        try (RnnWorkspace ws = plan.newWorkspace()) {
            plan.forward(p.input(), into.out(), ws);
            plan.backward(ws, p.gradOut(), into.in(), into.weights(), WeightGradMode.OVERWRITE);
        }
        return into;
    }

    static Result run(RnnPlan plan, Problem p) {
        return run(plan, p, unwritten(p));
    }

    static Result oracle(Problem p) {
        String lacks = Backends.byName("scalar").unsupported(p.spec(), TRAINING);
        if (!lacks.isEmpty()) {
            String why = "the scalar oracle cannot train " + p.spec() + ": " + lacks;
            System.out.println("SKIPPED: " + why);
            Assumptions.abort(why);
        }
        try (RnnPlan scalar = Backends.byName("scalar").plan(p.spec(), p.weights(), TRAINING)) {
            return run(scalar, p);
        }
    }

    private static double close(String what, Tensor expected, Tensor actual, double tol) {
        double scale = 1;
        for (long i = 0; i < expected.size(); i++) {
            scale = Math.max(scale, Math.abs(expected.getFlat(i)));
        }
        double err = Tolerance.maxAbsDifference(expected, actual);
        assertTrue(err <= tol * scale, what + ": max |error| " + err + " > tolerance " + tol * scale);
        return err / (tol * scale);
    }

    /** Compares everything but the dx padding, which {@link #zeroPastEnds} checks exactly; returns the worst ratio. */
    static double compare(String name, Problem p, Result expected, Result actual) {
        return compare(name, p, expected, actual, 0);
    }

    /**
     * As {@link #compare(String, Problem, Result, Result)}, each tolerance widened by an absolute
     * {@code allowance} per chain (times sqrt(T*B) for the weight gradients, which sum T*B such terms).
     */
    static double compare(String name, Problem p, Result expected, Result actual, double allowance) {
        RnnSpec spec = p.spec();
        int steps = p.input().steps();
        int batch = p.input().batch();
        double fwd = Tolerance.forward(spec, steps) + allowance;
        double data = dataTolerance(spec, steps) + allowance;
        double weights = weightTolerance(spec, steps, batch) + allowance * Math.sqrt((double) steps * batch);
        double worst = 0;
        worst = Math.max(worst, close(name + " y", expected.out().y(), actual.out().y(), fwd));
        worst = Math.max(worst, close(name + " hN", expected.out().hN(), actual.out().hN(), fwd));
        if (spec.cell().hasCellState()) {
            worst = Math.max(worst, close(name + " cN", expected.out().cN(), actual.out().cN(), fwd));
            worst = Math.max(worst, close(name + " dc0", expected.in().dc0(), actual.in().dc0(), data));
        }
        worst = Math.max(worst, close(name + " dx", expected.in().dx(), actual.in().dx(), data));
        worst = Math.max(worst, close(name + " dh0", expected.in().dh0(), actual.in().dh0(), data));
        for (Map.Entry<String, Tensor> e : expected.weights().toStateDict().entrySet()) {
            worst = Math.max(worst, close(name + " d" + e.getKey(), e.getValue(), actual.weights().get(e.getKey()), weights));
        }
        return worst;
    }

    /** dx is exactly 0 past each sequence's end (it was NaN before the call). */
    static void zeroPastEnds(String name, Problem p, Tensor dx) {
        RnnInput in = p.input();
        if (in.lengths() == null) {
            return;
        }
        for (int b = 0; b < in.batch(); b++) {
            for (int t = in.lengths()[b]; t < in.steps(); t++) {
                for (int f = 0; f < p.spec().inputSize(); f++) {
                    float v = in.layout() == Layout.BATCH_MAJOR ? dx.get(b, t, f) : dx.get(t, b, f);
                    assertEquals(0f, v, name + ": dx past the end of sequence " + b + " at t=" + t);
                }
            }
        }
    }

    /**
     * The algorithms fixed in the options, on the host path (the suite runs the default, AUTO): AUTO's
     * training passes run STANDARD; STANDARD keeps the float32 tolerance; a persistent algorithm either
     * keeps it widened by {@link CudnnOptions#PERSISTENT_ERROR_ALLOWANCE} (measured on the forward pass;
     * applied to each backward chain as well, a first guess a GPU run checks) or is refused with an
     * {@link UnsupportedOperationException} before anything of the caller's is written.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("grid")
    void hostPathMatchesTheOracle(String name, Config c) {
        Gpu.assume("hostPathMatchesTheOracle " + name);
        Problem p = Problem.of(c, 17);
        try (CudnnPlan auto = CUDNN.plan(p.spec(), p.weights(), TRAINING, CudnnOptions.defaults());
             RnnWorkspace ws = auto.newWorkspace()) {
            auto.forward(p.input(), RnnOutput.allocate(p.spec(), c.layout(), STEPS, BATCH), ws);
            assertEquals(Algorithm.STANDARD, ((CudnnPlan.CudnnWorkspace) ws).algorithm, "AUTO's training forward ran");
        }
        Result expected = oracle(p);
        for (Algorithm a : Algorithm.values()) {
            if (a == Algorithm.AUTO) {
                continue;
            }
            try (RnnPlan plan = CUDNN.plan(p.spec(), p.weights(), TRAINING, CudnnOptions.defaults().withAlgorithm(a))) {
                Result into = unwritten(p);
                Result got;
                try {
                    got = run(plan, p, into);
                } catch (UnsupportedOperationException e) {
                    System.out.println(name + " " + a + ": " + e.getMessage());
                    assertTrue(a != Algorithm.STANDARD, "STANDARD always trains: " + e);
                    assertTrue(e.getMessage().contains("CUDNN_STATUS_NOT_SUPPORTED") || e.getMessage().contains("refused"),
                            e.getMessage());
                    assertUnwritten(name + " " + a + " refused", into);
                    continue;
                }
                double allowance = a == Algorithm.STANDARD ? 0 : CudnnOptions.PERSISTENT_ERROR_ALLOWANCE;
                double worst = compare(name + " " + a, p, expected, got, allowance);
                zeroPastEnds(name + " " + a, p, got.in().dx());
                System.out.printf("%s %s: worst error / tolerance %.3f%n", name, a, worst);
            }
        }
    }

    /** Every element of every tensor in {@code r} is still the NaN {@link #unwritten} put there. */
    private static void assertUnwritten(String what, Result r) {
        List<Tensor> all = new ArrayList<>(List.of(r.out().y(), r.out().hN(), r.in().dx(), r.in().dh0()));
        if (r.out().cN() != null) {
            all.add(r.out().cN());
            all.add(r.in().dc0());
        }
        all.addAll(r.weights().toStateDict().values());
        for (Tensor t : all) {
            for (long i = 0; i < t.size(); i++) {
                assertTrue(Float.isNaN(t.getFlat(i)), what + ": the caller's tensors were written");
            }
        }
    }

    /** The device path (forward and backward on DeviceTensors) against the oracle; REVERSE is refused there. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("grid")
    void devicePathMatchesTheOracle(String name, Config c) {
        Gpu.assume("devicePathMatchesTheOracle " + name);
        Problem p = Problem.of(c, 23);
        RnnSpec spec = p.spec();
        RnnInput in = p.input();
        try (CudnnPlan plan = CUDNN.plan(spec, p.weights(), TRAINING, CudnnOptions.defaults());
             RnnWorkspace ws = plan.newWorkspace()) {
            int[] state = {spec.stateCount(), BATCH, spec.hiddenSize()};
            boolean cell = spec.cell().hasCellState();
            if (spec.direction() == Direction.REVERSE) {
                try (DeviceTensor x = DeviceTensor.of(in.x());
                     DeviceTensor y = DeviceTensor.allocate(in.layout().shape(STEPS, BATCH, spec.outputSize()));
                     DeviceTensor hN = DeviceTensor.allocate(state)) {
                    UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                            () -> plan.forward(x, in.layout(), in.lengths(), null, null, y, hN, null, ws));
                    assertTrue(e.getMessage().startsWith("direction REVERSE is not supported on device tensors"), e.getMessage());
                }
                return;
            }
            Result expected = oracle(p);
            List<DeviceTensor> open = new ArrayList<>();
            try {
                DeviceTensor x = track(open, DeviceTensor.of(in.x()));
                DeviceTensor h0 = in.h0() == null ? null : track(open, DeviceTensor.of(in.h0()));
                DeviceTensor c0 = in.c0() == null ? null : track(open, DeviceTensor.of(in.c0()));
                DeviceTensor y = track(open, DeviceTensor.allocate(in.layout().shape(STEPS, BATCH, spec.outputSize())));
                DeviceTensor hN = track(open, DeviceTensor.allocate(state));
                DeviceTensor cN = cell ? track(open, DeviceTensor.allocate(state)) : null;
                DeviceTensor dy = track(open, DeviceTensor.of(p.gradOut().dy()));
                DeviceTensor dhN = track(open, DeviceTensor.of(p.gradOut().dhN()));
                DeviceTensor dcN = cell ? track(open, DeviceTensor.of(p.gradOut().dcN())) : null;
                DeviceTensor dx = track(open, DeviceTensor.of(filled(Float.NaN, in.x().shape())));
                DeviceTensor dh0 = track(open, DeviceTensor.of(filled(Float.NaN, state)));
                DeviceTensor dc0 = cell ? track(open, DeviceTensor.of(filled(Float.NaN, state))) : null;
                plan.forward(x, in.layout(), in.lengths(), h0, c0, y, hN, cN, ws);
                assertTrue(ws.holdsForward(), "the device forward fills the workspace");
                assertEquals(STEPS, ws.steps());
                x.copyFrom(filled(7f, in.x().shape())); // the workspace keeps its own copy of x
                RnnWeightGrads w = RnnWeightGrads.zeros(spec);
                plan.backward(ws, dy, dhN, dcN, dx, dh0, dc0, w, WeightGradMode.OVERWRITE);
                Result got = new Result(new RnnOutput(y.toHost(), hN.toHost(), cN == null ? null : cN.toHost()),
                        new RnnInputGrad(dx.toHost(), dh0.toHost(), dc0 == null ? null : dc0.toHost()), w);
                double worst = compare(name + " device", p, expected, got);
                zeroPastEnds(name + " device", p, got.in().dx());
                System.out.printf("%s device: worst error / tolerance %.3f%n", name, worst);
            } finally {
                open.forEach(DeviceTensor::close);
            }
        }
    }

    private static DeviceTensor track(List<DeviceTensor> open, DeviceTensor t) {
        open.add(t);
        return t;
    }

    /** Workspaces free their device memory on close, and a plan's close frees those still open. */
    @Test
    void workspacesReleaseTheirDeviceMemory() {
        Gpu.assume("workspacesReleaseTheirDeviceMemory");
        RnnSpec spec = RnnSpec.lstm(5, 7);
        Problem p = Problem.of(new Config(spec, Layout.SEQUENCE_MAJOR, null, true), 61);
        long before;
        try (RnnPlan plan = CUDNN.plan(spec, p.weights(), TRAINING)) {
            run(plan, p); // the plan's own buffers grow here
            before = Native.liveObjects();
            RnnWorkspace ws = plan.newWorkspace();
            plan.forward(p.input(), RnnOutput.allocate(spec, Layout.SEQUENCE_MAJOR, STEPS, BATCH), ws);
            assertEquals(before + 5, Native.liveObjects(), "x, y, h0, c0 and the reserve space");
            ws.close();
            assertEquals(before, Native.liveObjects(), "closed workspace");
            RnnWorkspace open = plan.newWorkspace();
            plan.forward(p.input(), RnnOutput.allocate(spec, Layout.SEQUENCE_MAJOR, STEPS, BATCH), open);
            plan.close();
            assertFalse(open.holdsForward(), "the plan's close closes its workspaces");
        }
        assertTrue(Native.liveObjects() < before, "the plan's close freed its workspace and buffers");
    }

    /** What the device path refuses, naming the argument, before anything is queued. */
    @Test
    void devicePathArgumentsAreChecked() {
        Gpu.assume("devicePathArgumentsAreChecked");
        RnnSpec spec = RnnSpec.gru(5, 7);
        RnnWeights w = RnnWeights.random(spec, 3);
        try (CudnnPlan plan = CUDNN.plan(spec, w, TRAINING, CudnnOptions.defaults());
             CudnnPlan other = CUDNN.plan(spec, w, TRAINING, CudnnOptions.defaults());
             CudnnPlan inference = CUDNN.plan(spec, w, PlanOptions.defaults(), CudnnOptions.defaults());
             RnnWorkspace ws = plan.newWorkspace();
             RnnWorkspace foreign = other.newWorkspace();
             DeviceTensor x = DeviceTensor.allocate(STEPS, BATCH, 5);
             DeviceTensor y = DeviceTensor.allocate(STEPS, BATCH, 7);
             DeviceTensor hN = DeviceTensor.allocate(1, BATCH, 7);
             DeviceTensor wrong = DeviceTensor.allocate(STEPS, BATCH, 6)) {
            IllegalStateException s = assertThrows(IllegalStateException.class, inference::newWorkspace);
            assertTrue(s.getMessage().contains("was made for INFERENCE"), s.getMessage());
            s = assertThrows(IllegalStateException.class,
                    () -> inference.forward(x, Layout.SEQUENCE_MAJOR, null, null, null, y, hN, null, ws));
            assertTrue(s.getMessage().contains("was made for INFERENCE"), s.getMessage());
            expectArgument("workspace: expected a workspace of",
                    () -> plan.forward(x, Layout.SEQUENCE_MAJOR, null, null, null, y, hN, null, foreign));
            expectArgument("workspace: expected one holding a training forward pass",
                    () -> plan.backward(ws, null, null, null, null, null, null, null, WeightGradMode.OVERWRITE));
            plan.forward(x, Layout.SEQUENCE_MAJOR, null, null, null, y, hN, null, ws);
            expectArgument("dy: expected shape", () -> plan.backward(ws, wrong, null, null, null, null, null, null,
                    WeightGradMode.OVERWRITE));
            expectArgument("dx: expected shape [6, 3, 5]", () -> plan.backward(ws, null, null, null, wrong, null, null, null,
                    WeightGradMode.OVERWRITE));
            expectArgument("dcN: expected null", () -> plan.backward(ws, null, null, hN, null, null, null, null,
                    WeightGradMode.OVERWRITE));
            expectArgument("dh0: expected a tensor apart from dhN", () -> plan.backward(ws, null, hN, null, null, hN, null,
                    null, WeightGradMode.OVERWRITE));
            expectArgument("mode: expected", () -> plan.backward(ws, null, null, null, null, null, null, null, null));
            expectArgument("weightGrads: expected gradients of", () -> plan.backward(ws, null, null, null, null, null, null,
                    RnnWeightGrads.zeros(RnnSpec.gru(5, 8)), WeightGradMode.OVERWRITE));
            expectArgument("x: expected shape", () -> plan.forward(wrong, Layout.SEQUENCE_MAJOR, null, null, null, y, hN,
                    null, ws));
            assertTrue(ws.holdsForward(), "a forward refused for its arguments leaves the workspace as it was");
        }
    }

    private static void expectArgument(String prefix, org.junit.jupiter.api.function.Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().startsWith(prefix), e.getMessage());
    }
}
