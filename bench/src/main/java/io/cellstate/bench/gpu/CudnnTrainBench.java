package io.cellstate.bench.gpu;

import io.cellstate.Backends;
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
import io.cellstate.WeightGradMode;
import io.cellstate.cuda.CudnnBackend;
import io.cellstate.cuda.CudnnOptions;
import io.cellstate.cuda.CudnnOptions.Algorithm;
import io.cellstate.cuda.CudnnPlan;
import io.cellstate.cuda.DeviceTensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The GPU benchmark of one training step of the {@code cudnn} backend: a training forward
 * ({@code CUDNN_FWD_MODE_TRAINING} into a workspace), then the backward pass, data and weights
 * ({@code cudnnRNNBackwardData_v8}, {@code cudnnRNNBackwardWeights_v8}, the weight gradients mapped
 * into PyTorch's layout on the host), for an LSTM, one layer, unidirectional, I = H, float32
 * ({@code CUDNN_FMA_MATH}), h0 and c0 given and their gradients wanted, loss gradients dy, dhN, dcN
 * given. Shapes: the forward grid of {@link CudnnBench} (T = 100) and benchdnn's training shape
 * {@code l1t50mb64sic500} (T = 50, B = 64, I = H = 500); PyTorch's RNN benchmark default (T = 100,
 * B = 64, I = H = 512) is in the grid. The peer is {@code bench/gpu/pytorch_lstm.py --train}.
 *
 * <p>Variants: {@code train-device/ALGO}, device-resident x, y, states and all their gradients, the
 * weight gradients to the host (the call waits for them: part of every step here, where PyTorch
 * keeps {@code .grad} on the GPU, so PyTorch's script times that copy as a variant of its own);
 * {@code train-device-data/ALGO}, the same without weight gradients (backward data alone, queued
 * without a wait); {@code train-host/STANDARD}, host tensors in and out. Timing: the host clock
 * around {@code iters} steps and a final synchronisation (the weight-gradient copy makes each step
 * synchronous anyway), median over rounds in rotating order, as {@link CudnnBench} does. Before it
 * is timed, each plan's step on a small problem of the shape's I and H (T = 8, B = 2) is checked
 * against the scalar oracle's backward pass: relative L2 error of dx and of the weight gradients
 * below {@value #CHECK}, a check that catches a wrong kernel, not rounding (the tests own the
 * tolerances).
 *
 * <pre>
 *   bash .gpu/run.sh java io.cellstate.bench.gpu.CudnnTrainBench --out $OUT/cudnn-train.json
 * </pre>
 */
public final class CudnnTrainBench {
    private static final double CHECK = 1e-4;
    private static final PlanOptions TRAINING = PlanOptions.defaults().withMode(ForwardMode.TRAINING);
    static final List<Algorithm> ALGORITHMS = List.of(Algorithm.STANDARD, Algorithm.PERSIST_STATIC,
            Algorithm.PERSIST_DYNAMIC, Algorithm.PERSIST_STATIC_SMALL_H);

    /** One measured (or refused) variant on one shape; times in milliseconds per training step. */
    record Row(String variant, String algorithm, int batch, int hidden, int steps, Double ms, Double msMin, Double msMax,
               int rounds, int iters, String unsupported, Double checkError) {
    }

    private CudnnTrainBench() {
    }

    /** The shapes (T, B, H): the forward grid at T = 100, then benchdnn's l1t50mb64sic500. */
    static List<int[]> shapes() {
        List<int[]> out = new ArrayList<>();
        for (int[] s : CudnnBench.GRID) {
            out.add(new int[] {100, s[0], s[1]});
        }
        out.add(new int[] {50, 64, 500});
        return out;
    }

    public static void main(String[] args) throws IOException {
        Path out = null;
        int repeats = 9;
        double targetMs = 150;
        List<int[]> shapes = shapes();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--out" -> out = Path.of(args[++i]);
                case "--repeats" -> repeats = Integer.parseInt(args[++i]);
                case "--target-ms" -> targetMs = Double.parseDouble(args[++i]);
                case "--shapes" -> shapes = CudnnBenchIo.shapes(args[++i]);
                default -> {
                    System.err.println("usage: CudnnTrainBench [--out FILE.json] [--repeats R] [--target-ms MS]"
                            + " [--shapes TxBxH,...]");
                    System.exit(2);
                }
            }
        }
        CudnnBackend cudnn = CudnnBenchIo.cudnnOrExit("CudnnTrainBench");
        List<Row> rows = new ArrayList<>();
        for (int[] s : shapes) {
            rows.addAll(shape(cudnn, s[0], s[1], s[2], repeats, targetMs));
        }
        Map<String, Object> meta = CudnnBenchIo.meta("CudnnTrainBench", args, cudnn, null,
                "host clock around iters training steps and a final synchronisation; median over rounds");
        CudnnBenchIo.write("CudnnTrainBench", out, meta, rows);
    }

    /** One training step; {@link #close()} frees what it holds. */
    private interface Variant extends AutoCloseable {
        String name();

        String algorithm();

        void step();

        void synchronize();

        @Override
        void close();
    }

    private static List<Row> shape(CudnnBackend cudnn, int steps, int batch, int hidden, int repeats, double targetMs) {
        RnnSpec spec = RnnSpec.lstm(hidden, hidden);
        RnnWeights w = RnnWeights.random(spec, 2000 + hidden);
        SplittableRandom r = new SplittableRandom(steps * 131L + batch * 31L + hidden);
        int[] state = {1, batch, hidden};
        Tensor x = CudnnBenchIo.random(r, steps, batch, hidden);
        Tensor h0 = CudnnBenchIo.random(r, state);
        Tensor c0 = CudnnBenchIo.random(r, state);
        Tensor dy = CudnnBenchIo.random(r, steps, batch, hidden);
        Tensor dhN = CudnnBenchIo.random(r, state);
        Tensor dcN = CudnnBenchIo.random(r, state);
        List<Row> rows = new ArrayList<>();
        List<Variant> variants = new ArrayList<>();
        List<Double> checks = new ArrayList<>();
        List<DeviceTensor> tensors = new ArrayList<>();
        try {
            DeviceTensor[] d = new DeviceTensor[12];
            Tensor[] host = {x, h0, c0, dy, dhN, dcN};
            for (int i = 0; i < host.length; i++) {
                d[i] = DeviceTensor.of(host[i]);
                tensors.add(d[i]);
            }
            int[][] outShapes = {{steps, batch, hidden}, state, state, {steps, batch, hidden}, state, state};
            for (int i = 0; i < outShapes.length; i++) {
                d[6 + i] = DeviceTensor.allocate(outShapes[i]);
                tensors.add(d[6 + i]);
            }
            for (Algorithm a : ALGORITHMS) {
                for (boolean weights : new boolean[] {true, false}) {
                    String kind = weights ? "train-device" : "train-device-data";
                    CudnnPlan plan = cudnn.plan(spec, w, TRAINING, CudnnOptions.defaults().withAlgorithm(a));
                    Variant v = device(plan, kind, a, d, weights);
                    try {
                        double err = weights ? check(plan, spec, w) : Double.NaN;
                        v.step();
                        v.synchronize();
                        variants.add(v);
                        checks.add(err);
                    } catch (UnsupportedOperationException e) {
                        v.close();
                        System.err.printf("%s/%s T=%d B=%d H=%d: not supported: %s%n", kind, a, steps, batch, hidden,
                                e.getMessage());
                        rows.add(new Row(kind, a.name(), batch, hidden, steps, null, null, null, 0, 0, e.getMessage(), null));
                    } catch (RuntimeException e) {
                        v.close();
                        throw e;
                    }
                }
            }
            CudnnPlan hostPlan = cudnn.plan(spec, w, TRAINING, CudnnOptions.defaults().withAlgorithm(Algorithm.STANDARD));
            variants.add(host(hostPlan, spec, x, h0, c0, dy, dhN, dcN));
            checks.add(Double.NaN); // the same plan kind as train-device/STANDARD, checked there
            int[] iters = new int[variants.size()];
            double[][] ms = new double[variants.size()][repeats];
            for (int i = 0; i < variants.size(); i++) {
                double once = time(variants.get(i), 2);
                iters[i] = (int) Math.max(2, Math.min(2000, Math.ceil(targetMs / Math.max(once, 1e-3))));
                time(variants.get(i), iters[i]); // warm-up
            }
            for (int round = 0; round < repeats; round++) {
                for (int k = 0; k < variants.size(); k++) {
                    int i = (k + round) % variants.size();
                    ms[i][round] = time(variants.get(i), iters[i]);
                }
            }
            for (int i = 0; i < variants.size(); i++) {
                Variant v = variants.get(i);
                double[] sorted = ms[i].clone();
                Arrays.sort(sorted);
                double median = CudnnBenchIo.median(ms[i]);
                Double err = Double.isNaN(checks.get(i)) ? null : checks.get(i);
                rows.add(new Row(v.name(), v.algorithm(), batch, hidden, steps, median, sorted[0], sorted[repeats - 1],
                        repeats, iters[i], null, err));
                System.err.printf("%-28s T=%3d B=%4d H=%5d: %9.3f ms/step (min %.3f, max %.3f; %d x %d steps)%s%n",
                        v.name() + "/" + v.algorithm(), steps, batch, hidden, median, sorted[0], sorted[repeats - 1], repeats,
                        iters[i], err == null ? "" : String.format(", check %.2g", err));
            }
        } finally {
            variants.forEach(Variant::close);
            tensors.forEach(DeviceTensor::close);
        }
        return rows;
    }

    /** Milliseconds per step: {@code iters} steps and one synchronisation, by the host clock. */
    private static double time(Variant v, int iters) {
        v.synchronize();
        long t0 = System.nanoTime();
        for (int i = 0; i < iters; i++) {
            v.step();
        }
        v.synchronize();
        return (System.nanoTime() - t0) / 1e6 / iters;
    }

    /** d = {x, h0, c0, dy, dhN, dcN, y, hN, cN, dx, dh0, dc0} on the device. */
    private static Variant device(CudnnPlan plan, String kind, Algorithm a, DeviceTensor[] d, boolean weights) {
        RnnWorkspace ws = plan.newWorkspace();
        RnnWeightGrads grads = weights ? RnnWeightGrads.zeros(plan.spec()) : null;
        return new Variant() {
            public String name() {
                return kind;
            }

            public String algorithm() {
                return a.name();
            }

            public void step() {
                plan.forward(d[0], Layout.SEQUENCE_MAJOR, null, d[1], d[2], d[6], d[7], d[8], ws);
                plan.backward(ws, d[3], d[4], d[5], d[9], d[10], d[11], grads, WeightGradMode.OVERWRITE);
            }

            public void synchronize() {
                plan.synchronize();
            }

            public void close() {
                plan.close(); // closes the workspace too
            }
        };
    }

    private static Variant host(CudnnPlan plan, RnnSpec spec, Tensor x, Tensor h0, Tensor c0, Tensor dy, Tensor dhN,
                                Tensor dcN) {
        RnnWorkspace ws = plan.newWorkspace();
        RnnInput in = new RnnInput(x, Layout.SEQUENCE_MAJOR, null, h0, c0);
        RnnOutput out = RnnOutput.allocate(spec, Layout.SEQUENCE_MAJOR, x.dim(0), x.dim(1));
        RnnOutputGrad gradOut = new RnnOutputGrad(dy, dhN, dcN);
        RnnInputGrad gradIn = RnnInputGrad.allocate(spec, Layout.SEQUENCE_MAJOR, x.dim(0), x.dim(1));
        RnnWeightGrads grads = RnnWeightGrads.zeros(spec);
        return new Variant() {
            public String name() {
                return "train-host";
            }

            public String algorithm() {
                return Algorithm.STANDARD.name();
            }

            public void step() {
                plan.forward(in, out, ws);
                plan.backward(ws, gradOut, gradIn, grads, WeightGradMode.OVERWRITE);
            }

            public void synchronize() {
                plan.synchronize();
            }

            public void close() {
                plan.close();
            }
        };
    }

    /**
     * One training step of {@code plan} (host path) on a small problem, T = 8, B = 2, against the
     * scalar oracle's: the larger relative L2 error of dx and of all weight gradients together.
     */
    private static double check(CudnnPlan plan, RnnSpec spec, RnnWeights w) {
        int steps = 8;
        int batch = 2;
        SplittableRandom r = new SplittableRandom(5);
        int[] state = {1, batch, spec.hiddenSize()};
        RnnInput in = new RnnInput(CudnnBenchIo.random(r, steps, batch, spec.inputSize()), Layout.SEQUENCE_MAJOR, null, CudnnBenchIo.random(r, state),
                CudnnBenchIo.random(r, state));
        RnnOutputGrad g = new RnnOutputGrad(CudnnBenchIo.random(r, steps, batch, spec.hiddenSize()), CudnnBenchIo.random(r, state), CudnnBenchIo.random(r, state));
        RnnInputGrad[] dIn = new RnnInputGrad[2];
        RnnWeightGrads[] dW = new RnnWeightGrads[2];
        try (RnnPlan scalar = Backends.byName("scalar").plan(spec, w, TRAINING)) {
            RnnPlan[] plans = {scalar, plan};
            for (int i = 0; i < 2; i++) {
                dIn[i] = RnnInputGrad.allocate(spec, Layout.SEQUENCE_MAJOR, steps, batch);
                dW[i] = RnnWeightGrads.zeros(spec);
                try (RnnWorkspace ws = plans[i].newWorkspace()) {
                    plans[i].forward(in, RnnOutput.allocate(spec, Layout.SEQUENCE_MAJOR, steps, batch), ws);
                    plans[i].backward(ws, g, dIn[i], dW[i], WeightGradMode.OVERWRITE);
                }
            }
        }
        double dx = relative(List.of(dIn[0].dx()), List.of(dIn[1].dx()));
        double weights = relative(new ArrayList<>(dW[0].toStateDict().values()), new ArrayList<>(dW[1].toStateDict().values()));
        double err = Math.max(dx, weights);
        if (!(err <= CHECK)) {
            throw new IllegalStateException(plan + " disagrees with the scalar oracle's training step: relative error of dx "
                    + dx + ", of the weight gradients " + weights + " (limit " + CHECK + ")");
        }
        return err;
    }

    /** ||a - b|| / ||a|| over the tensors together (NaN where b has one). */
    private static double relative(List<Tensor> expected, List<Tensor> actual) {
        double diff = 0;
        double norm = 0;
        for (int k = 0; k < expected.size(); k++) {
            Tensor a = expected.get(k);
            Tensor b = actual.get(k);
            for (long i = 0; i < a.size(); i++) {
                double e = a.getFlat(i);
                double d = e - b.getFlat(i);
                diff += d * d;
                norm += e * e;
            }
        }
        return Math.sqrt(diff / Math.max(norm, Double.MIN_NORMAL));
    }
}
