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
import io.cellstate.testing.Npy;
import io.cellstate.testing.ReferenceCase;
import io.cellstate.testing.Safetensors;
import io.cellstate.testing.TorchCase;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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
 * The cudnn backend's backward pass ({@code cudnnRNNBackwardData_v8}, {@code cudnnRNNBackwardWeights_v8})
 * against the scalar oracle's float64 backpropagation through time and against PyTorch's own gradients
 * ({@code shared/conformance/torch/grad_*}), on host and device tensors: every cell cuDNN has, layers,
 * every direction, both layouts, variable lengths, initial states or zeros; accumulation, several
 * workspaces, new weights. A stand-in until the shared {@code GradientConformanceSuite} lands in
 * kernels-java's test-jar; then a subclass of it takes over the grid and this keeps what is cuDNN's own.
 * Without a GPU every test skips with the backend's reason; with {@code -Dcellstate.requireGpu=true}
 * that fails instead.
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

    /** A training forward and backward through the generic API, into NaN-filled input gradients. */
    static Result run(RnnPlan plan, Problem p) {
        RnnSpec spec = p.spec();
        RnnInput in = p.input();
        RnnOutput out = RnnOutput.allocate(spec, in.layout(), in.steps(), in.batch());
        int[] state = {spec.stateCount(), in.batch(), spec.hiddenSize()};
        RnnInputGrad grads = new RnnInputGrad(filled(Float.NaN, in.x().shape()), filled(Float.NaN, state),
                spec.cell().hasCellState() ? filled(Float.NaN, state) : null);
        RnnWeightGrads w = RnnWeightGrads.zeros(spec);
        try (RnnWorkspace ws = plan.newWorkspace()) {
            plan.forward(in, out, ws);
            plan.backward(ws, p.gradOut(), grads, w, WeightGradMode.OVERWRITE);
        }
        return new Result(out, grads, w);
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
        RnnSpec spec = p.spec();
        int steps = p.input().steps();
        int batch = p.input().batch();
        double fwd = Tolerance.forward(spec, steps);
        double data = dataTolerance(spec, steps);
        double weights = weightTolerance(spec, steps, batch);
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

    @ParameterizedTest(name = "{0}")
    @MethodSource("grid")
    void hostPathMatchesTheOracle(String name, Config c) {
        Gpu.assume("hostPathMatchesTheOracle " + name);
        Problem p = Problem.of(c, 17);
        Result expected = oracle(p);
        for (Algorithm a : List.of(Algorithm.AUTO, Algorithm.STANDARD)) {
            try (RnnPlan plan = CUDNN.withOptions(CudnnOptions.defaults().withAlgorithm(a)).plan(p.spec(), p.weights(), TRAINING)) {
                Result got = run(plan, p);
                double worst = compare(name + " " + a, p, expected, got);
                zeroPastEnds(name + " " + a, p, got.in().dx());
                System.out.printf("%s %s: worst error / tolerance %.3f%n", name, a, worst);
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

    /**
     * ACCUMULATE adds to what is there: two backward passes into zeros give the sum of what each
     * writes alone; OVERWRITE replaces garbage. Null output gradients are zeros, and input gradients
     * not asked for are not needed for the others.
     */
    @Test
    void accumulateAddsOverwriteReplacesNullIsZero() {
        Gpu.assume("accumulateAddsOverwriteReplacesNullIsZero");
        Config c = new Config(RnnSpec.builder().inputSize(5).hiddenSize(7).layers(2).direction(Direction.BIDIRECTIONAL).build(),
                Layout.SEQUENCE_MAJOR, new int[] {4, STEPS, 2}, true);
        Problem p = Problem.of(c, 31);
        RnnSpec spec = p.spec();
        double tol = weightTolerance(spec, STEPS, BATCH);
        try (RnnPlan plan = CUDNN.plan(spec, p.weights(), TRAINING); RnnWorkspace ws = plan.newWorkspace()) {
            RnnOutput out = RnnOutput.allocate(spec, p.input().layout(), STEPS, BATCH);
            plan.forward(p.input(), out, ws);
            RnnWeightGrads once = RnnWeightGrads.zeros(spec);
            plan.backward(ws, p.gradOut(), RnnInputGrad.none(), once, WeightGradMode.OVERWRITE);
            RnnWeightGrads garbage = RnnWeightGrads.zeros(spec);
            garbage.toStateDict().values().forEach(t -> fill(t, 1e6f));
            plan.backward(ws, p.gradOut(), RnnInputGrad.none(), garbage, WeightGradMode.OVERWRITE);
            RnnWeightGrads twice = RnnWeightGrads.zeros(spec);
            plan.backward(ws, p.gradOut(), RnnInputGrad.none(), twice, WeightGradMode.ACCUMULATE);
            plan.backward(ws, p.gradOut(), RnnInputGrad.none(), twice, WeightGradMode.ACCUMULATE);
            for (Map.Entry<String, Tensor> e : once.toStateDict().entrySet()) {
                Tensor doubled = Tensor.zeros(e.getValue().shape());
                for (long i = 0; i < doubled.size(); i++) {
                    doubled.setFlat(i, 2 * e.getValue().getFlat(i));
                }
                close("overwrite " + e.getKey(), e.getValue(), garbage.get(e.getKey()), tol);
                close("accumulate " + e.getKey(), doubled, twice.get(e.getKey()), tol);
            }
            // dy alone, against dy with zero dhN and dcN given explicitly
            int[] state = {spec.stateCount(), BATCH, spec.hiddenSize()};
            RnnInputGrad a = RnnInputGrad.allocate(spec, p.input().layout(), STEPS, BATCH);
            RnnInputGrad b = RnnInputGrad.allocate(spec, p.input().layout(), STEPS, BATCH);
            plan.backward(ws, RnnOutputGrad.of(p.gradOut().dy()), a, null, WeightGradMode.OVERWRITE);
            plan.backward(ws, new RnnOutputGrad(p.gradOut().dy(), Tensor.zeros(state), Tensor.zeros(state)), b, null,
                    WeightGradMode.OVERWRITE);
            assertEquals(0, Tolerance.maxAbsDifference(a.dx(), b.dx()), "null dhN, dcN are zeros (dx)");
            assertEquals(0, Tolerance.maxAbsDifference(a.dh0(), b.dh0()), "null dhN, dcN are zeros (dh0)");
        }
    }

    private static void fill(Tensor t, float v) {
        for (long i = 0; i < t.size(); i++) {
            t.setFlat(i, v);
        }
    }

    /**
     * Two workspaces hold two forward passes at once (different inputs and sizes); each backward
     * answers its own, as if run alone.
     */
    @Test
    void workspacesHoldTheirOwnForward() {
        Gpu.assume("workspacesHoldTheirOwnForward");
        RnnSpec spec = RnnSpec.builder().cell(Cell.gru()).inputSize(5).hiddenSize(7).build();
        Problem a = Problem.of(new Config(spec, Layout.SEQUENCE_MAJOR, null, true), 41);
        Problem b = Problem.of(new Config(spec, Layout.BATCH_MAJOR, new int[] {3, 1, STEPS}, false), 43);
        b = new Problem(spec, a.weights(), b.input(), b.gradOut());
        try (RnnPlan plan = CUDNN.plan(spec, a.weights(), TRAINING)) {
            Result aloneA = run(plan, a);
            Result aloneB = run(plan, b);
            try (RnnWorkspace wa = plan.newWorkspace(); RnnWorkspace wb = plan.newWorkspace()) {
                plan.forward(a.input(), RnnOutput.allocate(spec, Layout.SEQUENCE_MAJOR, STEPS, BATCH), wa);
                plan.forward(b.input(), RnnOutput.allocate(spec, Layout.BATCH_MAJOR, STEPS, BATCH), wb);
                assertTrue(wa.bytes() > 0 && wb.bytes() > 0, "workspaces hold device memory");
                RnnInputGrad ga = RnnInputGrad.allocate(spec, Layout.SEQUENCE_MAJOR, STEPS, BATCH);
                RnnWeightGrads wga = RnnWeightGrads.zeros(spec);
                plan.backward(wa, a.gradOut(), ga, wga, WeightGradMode.OVERWRITE);
                RnnInputGrad gb = RnnInputGrad.allocate(spec, Layout.BATCH_MAJOR, STEPS, BATCH);
                RnnWeightGrads wgb = RnnWeightGrads.zeros(spec);
                plan.backward(wb, b.gradOut(), gb, wgb, WeightGradMode.OVERWRITE);
                double data = dataTolerance(spec, STEPS);
                close("interleaved dx of A", aloneA.in().dx(), ga.dx(), data);
                close("interleaved dx of B", aloneB.in().dx(), gb.dx(), data);
                close("interleaved dW_hh of A", aloneA.weights().get("weight_hh_l0"), wga.get("weight_hh_l0"),
                        weightTolerance(spec, STEPS, BATCH));
                close("interleaved dW_hh of B", aloneB.weights().get("weight_hh_l0"), wgb.get("weight_hh_l0"),
                        weightTolerance(spec, STEPS, BATCH));
            }
        }
    }

    /** setWeights re-uploads the weight space: the plan then computes what a plan made with the new weights does. */
    @Test
    void setWeightsReuploads() {
        Gpu.assume("setWeightsReuploads");
        RnnSpec spec = RnnSpec.builder().inputSize(5).hiddenSize(7).layers(2).build();
        Problem p = Problem.of(new Config(spec, Layout.SEQUENCE_MAJOR, null, true), 51);
        RnnWeights next = RnnWeights.random(spec, 99);
        Problem q = new Problem(spec, next, p.input(), p.gradOut());
        try (RnnPlan plan = CUDNN.plan(spec, p.weights(), TRAINING); RnnPlan fresh = CUDNN.plan(spec, next, TRAINING)) {
            Result before = run(plan, p);
            plan.forward(p.input()); // an inference engine (AUTO) exists too and must see the new weights
            plan.setWeights(next);
            Result after = run(plan, q);
            Result expected = run(fresh, q);
            compare("after setWeights", q, expected, after);
            close("inference after setWeights", expected.out().y(), plan.forward(p.input()).y(),
                    Tolerance.forward(spec, STEPS));
            assertTrue(Tolerance.maxAbsDifference(before.out().y(), after.out().y()) > 1e-3, "the weights changed y");
        }
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

    // ------------------------------------------------------------------ PyTorch's gradients

    static Stream<Arguments> torchGradCases() throws IOException {
        Path root = ReferenceCase.conformanceRoot();
        if (root == null) {
            return Stream.of(Arguments.of("no conformance data", null));
        }
        return TorchCase.all(root).stream().filter(c -> c.dir.getFileName().toString().startsWith("grad_"))
                .map(c -> Arguments.of(c.name, c));
    }

    private static Tensor npy(Path dir, String stem) throws IOException {
        Path f = dir.resolve(stem + ".npy");
        if (!Files.exists(f)) {
            return null;
        }
        Npy n = Npy.read(f);
        return Tensor.of(n.floats(), n.shape());
    }

    /**
     * Every {@code grad_*} case of PyTorch's: dx, dh0, dc0 and every parameter's gradient from
     * {@code grads.safetensors}, for the loss sum(y dy) + sum(hN dhN) + sum(cN dcN) with the stored
     * output gradients.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("torchGradCases")
    void pytorchGradients(String name, TorchCase c) throws IOException {
        Gpu.assume("pytorchGradients " + name);
        if (c == null) {
            String why = "no conformance data: run with -Dcellstate.conformance=PATH (../shared/conformance)";
            System.out.println("SKIPPED pytorchGradients: " + why);
            Assumptions.abort(why);
        }
        if (!c.missingFeature().isEmpty()) {
            System.out.println("SKIPPED " + name + ": needs " + c.missingFeature());
            Assumptions.abort(name + " needs " + c.missingFeature());
        }
        RnnSpec spec = c.spec();
        RnnInput in = c.input();
        RnnOutputGrad gradOut = new RnnOutputGrad(npy(c.dir, "dy"), npy(c.dir, "dhn"),
                spec.cell().hasCellState() ? npy(c.dir, "dcn") : null);
        Problem p = new Problem(spec, c.weights(), in, gradOut);
        Tensor dx = npy(c.dir, "dx");
        Tensor dh0 = npy(c.dir, "dh0");
        Tensor dc0 = npy(c.dir, "dc0");
        RnnWeightGrads expectedW = RnnWeightGrads.zeros(spec);
        Map<String, float[]> grads = Safetensors.read(c.dir.resolve("grads.safetensors"));
        assertEquals(expectedW.toStateDict().keySet(), grads.keySet(), name + ": the parameters PyTorch has gradients of");
        for (Map.Entry<String, float[]> e : grads.entrySet()) {
            Tensor t = expectedW.get(e.getKey());
            assertEquals(t.size(), e.getValue().length, e.getKey());
            for (int i = 0; i < e.getValue().length; i++) {
                t.setFlat(i, e.getValue()[i]);
            }
        }
        assertTrue(dx != null && dh0 != null, name + ": dx.npy and dh0.npy are part of every grad_ case");
        Result expected = new Result(new RnnOutput(c.expectedY(), c.expectedHN(), c.expectedCN()),
                new RnnInputGrad(dx, dh0, dc0), expectedW);
        try (RnnPlan plan = CUDNN.plan(spec, c.weights(), TRAINING)) {
            Result got = run(plan, p);
            double worst = compare(name, p, expected, got);
            System.out.printf("%s: worst error / tolerance %.3f%n", name, worst);
        }
    }
}
