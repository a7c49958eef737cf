package io.cellstate.bench.gpu;

import static org.bytedeco.cuda.global.cudart.cudaEventCreate;
import static org.bytedeco.cuda.global.cudart.cudaEventDestroy;
import static org.bytedeco.cuda.global.cudart.cudaEventElapsedTime;
import static org.bytedeco.cuda.global.cudart.cudaEventRecord;
import static org.bytedeco.cuda.global.cudart.cudaEventSynchronize;
import static org.bytedeco.cuda.global.cudart.cudaGetDeviceProperties;
import static org.bytedeco.cuda.global.cudart.cudaStreamSynchronize;

import io.cellstate.Backends;
import io.cellstate.Layout;
import io.cellstate.PlanOptions;
import io.cellstate.RnnInput;
import io.cellstate.RnnOutput;
import io.cellstate.RnnPlan;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.Tensor;
import io.cellstate.Tolerance;
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
import org.bytedeco.cuda.cudart.CUevent_st;
import org.bytedeco.cuda.cudart.cudaDeviceProp;

/**
 * The GPU benchmark of the {@code cudnn} backend: an event-timed harness, not JMH. What runs on the
 * GPU is queued asynchronously, so the time that matters is the GPU's, between two CUDA events on
 * the stream (the method PyTorch's and cuDNN's own timings use, and that of
 * {@code bench/gpu/pytorch_lstm.py}, the peer); JMH's host clock would need a synchronisation per
 * call, and its fork per parameter set would spend most of the GPU time we are lent on JVM starts.
 *
 * <p>For each shape of the CPU benchmarks' grid (T = 100, one layer, unidirectional, I = H; B, H as
 * given), device-resident x, y, hN and cN, zero initial state:
 * <ul>
 *   <li>{@code raw/ALGO}: {@link RawCudnnLstm}, hand-written cuDNN calls for that algorithm, the
 *       baseline of the plan's overhead;</li>
 *   <li>{@code plan/ALGO}: our {@link CudnnPlan} with that algorithm fixed and CUDA graphs off, device
 *       path: one {@code cudnnRNNForward} per call, like the raw baseline;</li>
 *   <li>{@code plan-graph/ALGO}: the same with CUDA graphs (the default), each call a graph replay;</li>
 *   <li>{@code plan/AUTO}: our plan with the defaults, choosing (its first call measures, as a user's would);</li>
 *   <li>{@code plan-host/AUTO}: the host path (heap tensors in and out, staged through pinned
 *       buffers, copies counted), timed by the host clock since each call waits for its result.</li>
 * </ul>
 * Every variant's output is checked against the scalar oracle (on batch entries 0 and B-1, the whole
 * sequence) before it is timed; a variant outside the conformance suite's tolerance fails the run.
 * An algorithm cuDNN answers NOT_SUPPORTED for is recorded as such. Timing: after a warm-up, each of
 * {@code --repeats} rounds times every variant once, in a rotating order, as {@code iters} calls
 * between two events (iters chosen so one timing lasts about {@code --target-ms}); the figure is the
 * median over rounds of time / iters. Beside it, the host time per call spent queueing (median over
 * rounds): where the GPU is busier than the host, that is where the plan's own cost would show.
 * Every measured PERSIST_DYNAMIC network is built while an untimed one of the same shape exists
 * (see {@code dynamicSentinel}), since cuDNN runs the one built while no other exists faster.
 *
 * <pre>
 *   bash .gpu/run.sh java io.cellstate.bench.gpu.CudnnBench --out $OUT/cudnn.json
 * </pre>
 * ({@code bench/gpu/device-run.sh} runs it and the PyTorch peer on the GPU machine.)
 */
public final class CudnnBench {
    static final List<int[]> GRID = List.of(new int[] {1, 256}, new int[] {1, 512}, new int[] {1, 1024},
            new int[] {16, 512}, new int[] {64, 512}, new int[] {256, 1024});
    static final List<Algorithm> SINGLE = List.of(Algorithm.STANDARD, Algorithm.PERSIST_STATIC,
            Algorithm.PERSIST_STATIC_SMALL_H, Algorithm.PERSIST_DYNAMIC);

    /** One measured (or refused) variant on one shape; times in milliseconds per forward. */
    record Row(String variant, String algorithm, int batch, int hidden, int steps, String timing, Double ms,
               Double msMin, Double msMax, Double hostUs, int rounds, int iters, String ran, String unsupported,
               Double maxError, Double tolerance) {
    }

    private CudnnBench() {
    }

    public static void main(String[] args) throws IOException {
        Path out = null;
        int steps = 100;
        int repeats = 21;
        double targetMs = 25;
        List<int[]> shapes = GRID;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--out" -> out = Path.of(args[++i]);
                case "--steps" -> steps = Integer.parseInt(args[++i]);
                case "--repeats" -> repeats = Integer.parseInt(args[++i]);
                case "--target-ms" -> targetMs = Double.parseDouble(args[++i]);
                case "--shapes" -> shapes = CudnnBenchIo.shapes(args[++i]);
                default -> {
                    System.err.println("usage: CudnnBench [--out FILE.json] [--steps T] [--repeats R] [--target-ms MS]"
                            + " [--shapes BxH,...]");
                    System.exit(2);
                }
            }
        }
        CudnnBackend cudnn = CudnnBenchIo.cudnnOrExit("CudnnBench");
        List<Row> rows = new ArrayList<>();
        for (int[] s : shapes) {
            rows.addAll(shape(cudnn, s[0], s[1], steps, repeats, targetMs));
        }
        Map<String, Object> meta = CudnnBenchIo.meta("CudnnBench", args, cudnn, gpuName(),
                "CUDA events around iters queued calls (host clock for plan-host); median over rounds");
        meta.put("dynamicSentinel", true);
        CudnnBenchIo.write("CudnnBench", out, meta, rows);
    }

    private static String gpuName() {
        try (cudaDeviceProp p = new cudaDeviceProp()) {
            cudaGetDeviceProperties(p, 0);
            return p.name().getString();
        }
    }

    /** A thing to time: one call of it queues (or runs) one forward. */
    private interface Variant extends AutoCloseable {
        String name();

        String algorithm();

        void call();

        /** The output sequence [T, B, H] on the host, after waiting for the queued work. */
        Tensor y();

        /** Whether one call waits for its result (timed by the host clock, not by events). */
        default boolean synchronous() {
            return false;
        }

        default String ran() {
            return algorithm();
        }

        @Override
        void close();
    }

    private static List<Row> shape(CudnnBackend cudnn, int batch, int hidden, int steps, int repeats, double targetMs) {
        RnnSpec spec = RnnSpec.lstm(hidden, hidden);
        RnnWeights w = RnnWeights.random(spec, 1000 + hidden);
        Tensor x = CudnnBenchIo.random(new SplittableRandom(batch * 31L + hidden), steps, batch, hidden);
        int[] checked = batch == 1 ? new int[] {0} : new int[] {0, batch - 1};
        Tensor reference = oracle(spec, w, x, checked);
        double tol = Tolerance.forward(spec, steps);
        List<Row> rows = new ArrayList<>();
        List<Variant> variants = new ArrayList<>();
        Variant sentinel = dynamicSentinel(spec, w, x);
        try (DeviceTensor dx = DeviceTensor.of(x);
             DeviceTensor dy = DeviceTensor.allocate(steps, batch, hidden);
             DeviceTensor dhN = DeviceTensor.allocate(1, batch, hidden);
             DeviceTensor dcN = DeviceTensor.allocate(1, batch, hidden)) {
            for (Algorithm a : SINGLE) {
                try {
                    variants.add(raw(spec, w, a, x));
                } catch (IllegalStateException e) {
                    rows.add(refused("raw", a, batch, hidden, steps, e.getMessage()));
                }
            }
            List<CudnnOptions> planned = new ArrayList<>();
            for (Algorithm a : SINGLE) {
                planned.add(CudnnOptions.defaults().withAlgorithm(a).withGraphs(false));
                planned.add(CudnnOptions.defaults().withAlgorithm(a));
            }
            planned.add(CudnnOptions.defaults());
            for (CudnnOptions o : planned) {
                Algorithm a = o.algorithm();
                String kind = a == Algorithm.AUTO || !o.graphs() ? "plan" : "plan-graph";
                CudnnPlan plan = cudnn.plan(spec, w, PlanOptions.defaults(), o);
                Variant v = device(plan, kind, a, dx, dy, dhN, dcN, batch, steps);
                try {
                    v.call(); // AUTO measures here
                    plan.synchronize();
                    variants.add(v);
                } catch (UnsupportedOperationException e) {
                    v.close();
                    rows.add(refused(kind, a, batch, hidden, steps, e.getMessage()));
                }
            }
            variants.add(host(cudnn, spec, w, x));

            double[] errors = new double[variants.size()];
            for (int i = 0; i < variants.size(); i++) {
                Variant v = variants.get(i);
                v.call();
                errors[i] = maxError(reference, v.y(), checked);
                System.err.printf("%s B=%d H=%d: max |error| %.3g (tolerance %.3g), ran %s%n", v.name(), batch, hidden,
                        errors[i], tol, v.ran());
                if (!(errors[i] <= tol)) {
                    throw new IllegalStateException(v.name() + " disagrees with the scalar oracle at B=" + batch + " H="
                            + hidden + ": max |error| " + errors[i] + " > tolerance " + tol);
                }
            }
            int[] iters = new int[variants.size()];
            double[][] ms = new double[variants.size()][repeats];
            double[][] host = new double[variants.size()][repeats];
            try (Timer timer = new Timer()) {
                for (int i = 0; i < variants.size(); i++) {
                    double once = timer.time(variants.get(i), 3) ;
                    iters[i] = (int) Math.max(3, Math.min(5000, Math.ceil(targetMs / Math.max(once, 1e-3))));
                    timer.time(variants.get(i), iters[i]); // warm-up
                }
                for (int round = 0; round < repeats; round++) {
                    for (int k = 0; k < variants.size(); k++) {
                        int i = (k + round) % variants.size();
                        ms[i][round] = timer.time(variants.get(i), iters[i]);
                        host[i][round] = timer.lastHostUs;
                    }
                }
            }
            for (int i = 0; i < variants.size(); i++) {
                Variant v = variants.get(i);
                double[] sorted = ms[i].clone();
                Arrays.sort(sorted);
                double median = CudnnBenchIo.median(ms[i]);
                double hostUs = CudnnBenchIo.median(host[i]);
                rows.add(new Row(v.name().substring(0, v.name().indexOf('/')), v.algorithm(), batch, hidden, steps,
                        v.synchronous() ? "host clock" : "CUDA events", median, sorted[0], sorted[repeats - 1],
                        v.synchronous() ? null : hostUs, repeats, iters[i], v.ran(), null, errors[i], tol));
                System.err.printf("%-26s B=%4d H=%5d: %9.4f ms (min %.4f, max %.4f; %d x %d calls), host %.1f us/call%n",
                        v.name(), batch, hidden, median, sorted[0], sorted[repeats - 1], repeats, iters[i], hostUs);
            }
        } finally {
            for (Variant v : variants) {
                v.close();
            }
            if (sentinel != null) {
                sentinel.close();
            }
        }
        return rows;
    }

    /**
     * A PERSIST_DYNAMIC network of the shape, built before the measured variants and kept until they
     * are closed, never timed; null where cuDNN refuses PERSIST_DYNAMIC for the shape.
     *
     * <p>Why: with cuDNN 9.19 on an H100, a PERSIST_DYNAMIC network built while no other one exists
     * runs faster than one built while another does (1×256: 0.093 against 0.105 to 0.107 ms per
     * forward, raw calls and plans alike). The variants are built one after another, so whichever came
     * first got the fast one: the raw baseline, which made our plans look 10 to 17% slower than raw
     * calls at 1×256. Built after the plans, the raw calls were the slower ones; built after a
     * sentinel that stays open, raw calls and plan were within 0.1%. With the sentinel every measured
     * PERSIST_DYNAMIC network is built in the same position.
     */
    private static Variant dynamicSentinel(RnnSpec spec, RnnWeights w, Tensor x) {
        try {
            return raw(spec, w, Algorithm.PERSIST_DYNAMIC, x);
        } catch (IllegalStateException e) {
            System.err.println("no PERSIST_DYNAMIC sentinel at B=" + x.dim(1) + " H=" + spec.hiddenSize() + ": " + e.getMessage());
            return null;
        }
    }

    private static Row refused(String variant, Algorithm a, int batch, int hidden, int steps, String why) {
        System.err.printf("%s/%s B=%d H=%d: not supported: %s%n", variant, a, batch, hidden, why);
        return new Row(variant, a.name(), batch, hidden, steps, null, null, null, null, null, 0, 0, null, why, null, null);
    }

    private static Variant raw(RnnSpec spec, RnnWeights w, Algorithm a, Tensor x) {
        RawCudnnLstm raw = new RawCudnnLstm(spec, w, rawValue(a), x);
        try {
            raw.forward();
            raw.y(); // NOT_SUPPORTED may only come from the first forward
        } catch (IllegalStateException e) {
            raw.close();
            throw e;
        }
        return new Variant() {
            public String name() {
                return "raw/" + a;
            }

            public String algorithm() {
                return a.name();
            }

            public void call() {
                raw.forward();
            }

            public Tensor y() {
                return raw.y();
            }

            public void close() {
                raw.close();
            }
        };
    }

    /** The {@code cudnnRNNAlgo_t} value of a fixed algorithm (the order of cuDNN's enum). */
    private static int rawValue(Algorithm a) {
        return switch (a) {
            case STANDARD -> 0;
            case PERSIST_STATIC -> 1;
            case PERSIST_DYNAMIC -> 2;
            case PERSIST_STATIC_SMALL_H -> 3;
            case AUTO -> throw new IllegalArgumentException("algorithm: expected a fixed one, got AUTO");
        };
    }

    private static Variant device(CudnnPlan plan, String kind, Algorithm a, DeviceTensor dx, DeviceTensor dy,
                                  DeviceTensor dhN, DeviceTensor dcN, int batch, int steps) {
        return new Variant() {
            public String name() {
                return kind + "/" + a;
            }

            public String algorithm() {
                return a.name();
            }

            public void call() {
                plan.forward(dx, Layout.SEQUENCE_MAJOR, null, null, null, dy, dhN, dcN);
            }

            public Tensor y() {
                return dy.toHost();
            }

            public String ran() {
                Algorithm chosen = plan.algorithmFor(batch, steps);
                String refused = plan.graphFailure();
                return (chosen == null ? "?" : chosen.name()) + (refused == null ? "" : " [graphs refused: " + refused + "]");
            }

            public void close() {
                plan.close();
            }
        };
    }

    private static Variant host(CudnnBackend cudnn, RnnSpec spec, RnnWeights w, Tensor x) {
        CudnnPlan plan = cudnn.plan(spec, w, PlanOptions.defaults(), CudnnOptions.defaults().withAlgorithm(Algorithm.AUTO));
        RnnInput in = RnnInput.of(x);
        RnnOutput out = RnnOutput.allocate(spec, Layout.SEQUENCE_MAJOR, x.dim(0), x.dim(1));
        return new Variant() {
            public String name() {
                return "plan-host/AUTO";
            }

            public String algorithm() {
                return "AUTO";
            }

            public void call() {
                plan.forward(in, out);
            }

            public Tensor y() {
                return out.y();
            }

            public boolean synchronous() {
                return true;
            }

            public String ran() {
                Algorithm chosen = plan.algorithmFor(x.dim(1), x.dim(0));
                return chosen == null ? null : chosen.name();
            }

            public void close() {
                plan.close();
            }
        };
    }

    /** The scalar oracle's y for the given batch entries alone, [T, k, H]. */
    private static Tensor oracle(RnnSpec spec, RnnWeights w, Tensor x, int[] entries) {
        int steps = x.dim(0);
        int feat = x.dim(2);
        Tensor sub = Tensor.zeros(steps, entries.length, feat);
        for (int t = 0; t < steps; t++) {
            for (int k = 0; k < entries.length; k++) {
                for (int f = 0; f < feat; f++) {
                    sub.set(x.get(t, entries[k], f), t, k, f);
                }
            }
        }
        try (RnnPlan scalar = Backends.byName("scalar").plan(spec, w)) {
            return scalar.forward(RnnInput.of(sub)).y();
        }
    }

    private static double maxError(Tensor reference, Tensor y, int[] entries) {
        double worst = 0;
        for (int t = 0; t < y.dim(0); t++) {
            for (int k = 0; k < entries.length; k++) {
                for (int f = 0; f < y.dim(2); f++) {
                    double d = Math.abs(reference.get(t, k, f) - y.get(t, entries[k], f));
                    worst = Double.isNaN(d) ? Double.NaN : Math.max(worst, d);
                    if (Double.isNaN(worst)) {
                        return worst;
                    }
                }
            }
        }
        return worst;
    }

    /** Times {@code iters} calls: between two CUDA events, or by the host clock for synchronous calls. */
    private static final class Timer implements AutoCloseable {
        private final CUevent_st start = new CUevent_st();
        private final CUevent_st stop = new CUevent_st();
        private final float[] elapsed = new float[1];
        /**
         * Host time per call of the last timing, in microseconds: for queued calls, what it took the
         * host to queue them (the plan's own cost shows here, where the GPU hides it while it is busy).
         */
        double lastHostUs;

        Timer() {
            check(cudaEventCreate(start), "cudaEventCreate");
            check(cudaEventCreate(stop), "cudaEventCreate");
        }

        /** Milliseconds per call. */
        double time(Variant v, int iters) {
            check(cudaStreamSynchronize(null), "cudaStreamSynchronize");
            if (v.synchronous()) {
                long t0 = System.nanoTime();
                for (int i = 0; i < iters; i++) {
                    v.call();
                }
                lastHostUs = (System.nanoTime() - t0) / 1e3 / iters;
                return lastHostUs / 1e3;
            }
            check(cudaEventRecord(start, null), "cudaEventRecord");
            long t0 = System.nanoTime();
            for (int i = 0; i < iters; i++) {
                v.call();
            }
            lastHostUs = (System.nanoTime() - t0) / 1e3 / iters;
            check(cudaEventRecord(stop, null), "cudaEventRecord");
            check(cudaEventSynchronize(stop), "cudaEventSynchronize");
            check(cudaEventElapsedTime(elapsed, start, stop), "cudaEventElapsedTime");
            return elapsed[0] / iters;
        }

        private static void check(int status, String call) {
            if (status != 0) {
                throw new IllegalStateException(call + ": CUDA error " + status);
            }
        }

        @Override
        public void close() {
            cudaEventDestroy(start);
            cudaEventDestroy(stop);
        }
    }
}
