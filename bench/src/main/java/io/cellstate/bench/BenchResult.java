package io.cellstate.bench;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;

/**
 * One JMH result of an LSTM benchmark, with the work it did.
 *
 * <p>The work of one forward call is {@code 2 T B G H (I + H)} floating-point operations (the two
 * GEMMs of each step; the pointwise pass is left out, as oneDNN's and cuDNN's figures do), with I = H
 * and G the cell's gates; an LSTM with a projection to P has h of P columns and a third GEMM,
 * {@code 2 T B (G H (I + P) + P H)} ({@link io.cellstate.RnnSpec#forwardFlops} of the trial's spec,
 * {@link BenchCase#spec}). A forward benchmark does T = {@code steps} steps per call; a streaming-step
 * benchmark (one whose name contains "step") does one; a training benchmark (one whose name contains
 * "training") does a forward and a backward pass over T steps, three times a forward's work (the
 * backward's four GEMMs per step: the data gradients through both weights, and both weight gradients).
 *
 * @param source    the JSON file the result came from, as given on the command line
 * @param benchmark the benchmark's full name, e.g. {@code io.cellstate.bench.ForwardBenchmark.forward}
 * @param backend   the {@code backend} param
 * @param batch     B, from the {@code shape} param "BxH"
 * @param hidden    H (= I), from the {@code shape} param
 * @param steps     the {@code steps} param, or 0 where the benchmark has none
 * @param threads   the {@code threads} param (0: all processors), or -1 where the benchmark has none
 * @param score     JMH's primary score, in {@code unit}
 * @param error     the half-width of JMH's 99.9% confidence interval, in {@code unit}; NaN when
 *                  JMH had too few iterations to give one
 * @param unit      JMH's score unit: a time per operation ("ms/op", "us/op") or a rate ("ops/s")
 */
public record BenchResult(String source, String benchmark, String backend, int batch, int hidden, int steps,
                          int threads, double score, double error, String unit, String cell) {

    /** The backend the others are compared with. */
    public static final String PEER = "onednn";
    /**
     * The second peer, forward only: ONNX Runtime's Java API running the model {@code Onnx.write} writes,
     * what a Java user runs today.
     */
    public static final String ORT = "onnxruntime";
    /** The peers, in the order the report shows them, after our backends. */
    public static final List<String> PEERS = List.of(PEER, ORT);

    /** A result without a {@code cell} param: an LSTM benchmark. */
    public BenchResult(String source, String benchmark, String backend, int batch, int hidden, int steps, int threads,
                       double score, double error, String unit) {
        this(source, benchmark, backend, batch, hidden, steps, threads, score, error, unit, null);
    }

    public BenchResult {
        if (batch <= 0 || hidden <= 0) {
            throw new IllegalArgumentException("shape: expected B, H > 0, got " + batch + "x" + hidden);
        }
        if (cell != null) {
            BenchCase.cell(cell, hidden); // a name the benchmarks know, or an exception saying which they know
        }
        millisPerUnit(unit);
    }

    /** Whether {@code backend} is a peer rather than one of ours. */
    public static boolean isPeer(String backend) {
        return PEERS.contains(backend);
    }

    /** Backends in their order, the peers moved last (in {@link #PEERS}' order). */
    static List<String> peersLast(Collection<String> backends) {
        List<String> out = new ArrayList<>(backends);
        out.removeAll(PEERS);
        PEERS.stream().filter(backends::contains).forEach(out::add);
        return List.copyOf(out);
    }

    /**
     * The benchmark's short name: class and method, and the cell where the benchmark has a cell param,
     * e.g. {@code ForwardBenchmark.forward (gru)}.
     */
    public String shortName() {
        int method = benchmark.lastIndexOf('.');
        int cls = method > 0 ? benchmark.lastIndexOf('.', method - 1) : -1;
        return benchmark.substring(cls + 1) + (cell == null ? "" : " (" + cell + ")");
    }

    /** The gates of the benchmark's cell: 4 for the LSTM (and a benchmark without a cell param). */
    public int gates() {
        return spec().gates();
    }

    /** The network of the benchmark's trial ({@link BenchCase#spec}): its cell at H, I = H; the LSTM without a cell param. */
    io.cellstate.RnnSpec spec() {
        return BenchCase.spec(cell == null ? "lstm" : cell, hidden);
    }

    /** Whether one call is one time step (a streaming benchmark) rather than a whole sequence. */
    public boolean isStep() {
        return benchmark.toLowerCase(Locale.ROOT).contains("step");
    }

    /**
     * Whether several threads call at once, each its own plan (the score is one thread's time per
     * call): {@code ConcurrentPlansBenchmark}.
     */
    public boolean isConcurrent() {
        return benchmark.toLowerCase(Locale.ROOT).contains("concurrent");
    }

    /** Whether one call is a training step, forward and backward: {@code TrainingBenchmark}. */
    public boolean isTraining() {
        return benchmark.toLowerCase(Locale.ROOT).contains("training");
    }

    /** Time steps per call: 1 for a step benchmark, else {@code steps} (1 when absent). */
    public int stepsPerCall() {
        return isStep() || steps <= 0 ? 1 : steps;
    }

    /** "BxH" as given, with a multiplication sign. */
    public String shape() {
        return batch + "\u00d7" + hidden;
    }

    /**
     * Floating-point operations per call: 2 T B G H (I + H), I = H, G the cell's gates (with a projection
     * to P, 2 T B (G H (I + P) + P H)); three times that for a training step.
     */
    public double flop() {
        return (isTraining() ? 3 : 1) * spec().forwardFlops(stepsPerCall(), batch);
    }

    /** Milliseconds per call. */
    public double millis() {
        return toMillis(score);
    }

    /**
     * The error bar of {@link #millis()}: JMH's half-width converted to ms. For a rate the
     * conversion is to first order ({@code time * error / score}).
     */
    public double errorMillis() {
        if (Double.isNaN(error)) {
            return Double.NaN;
        }
        return isRate(unit) ? millis() * error / score : error * millisPerUnit(unit);
    }

    /** GFLOP/s at the mean time. */
    public double gflops() {
        return flop() / millis() / 1e6;
    }

    /** GFLOP/s at the slow end of the error bar (time + error). */
    public double gflopsLow() {
        return Double.isNaN(errorMillis()) ? gflops() : flop() / (millis() + errorMillis()) / 1e6;
    }

    /** GFLOP/s at the fast end of the error bar (time - error); infinite when the bar reaches 0 ms. */
    public double gflopsHigh() {
        if (Double.isNaN(errorMillis())) {
            return gflops();
        }
        double t = millis() - errorMillis();
        return t > 0 ? flop() / t / 1e6 : Double.POSITIVE_INFINITY;
    }

    private double toMillis(double value) {
        return isRate(unit) ? millisPerUnit(unit) / value : value * millisPerUnit(unit);
    }

    /** Whether {@code unit} is a rate ("ops/ms") rather than a time per operation ("ms/op"). */
    static boolean isRate(String unit) {
        return unit.startsWith("ops/");
    }

    /**
     * Milliseconds in the time part of a JMH unit: "us/op" gives 0.001, "ops/s" gives 1000.
     *
     * @throws IllegalArgumentException for a unit that is neither a time per op nor ops per time
     */
    static double millisPerUnit(String unit) {
        String time;
        if (unit.startsWith("ops/")) {
            time = unit.substring(4);
        } else if (unit.endsWith("/op")) {
            time = unit.substring(0, unit.length() - 3);
        } else {
            throw new IllegalArgumentException("unit: expected <time>/op or ops/<time>, got \"" + unit + "\"");
        }
        return switch (time) {
            case "ns" -> 1e-6;
            case "us", "\u00b5s" -> 1e-3;
            case "ms" -> 1.0;
            case "s" -> 1e3;
            case "min" -> 60e3;
            case "hr" -> 3600e3;
            case "day" -> 86400e3;
            default -> throw new IllegalArgumentException(
                    "unit: unknown time unit \"" + time + "\" in \"" + unit + "\"");
        };
    }
}
