package io.cellstate.cli;

import io.cellstate.Availability;
import io.cellstate.Backend;
import io.cellstate.Backends;
import io.cellstate.PlanOptions;
import io.cellstate.RnnInput;
import io.cellstate.RnnOutput;
import io.cellstate.RnnPlan;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.Tolerance;
import io.cellstate.cli.TextTable.Align;
import io.cellstate.cli.train.Progress;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Backends timed on one input and checked against the scalar oracle: the table {@code demo} prints, and
 * {@code run --check}. Every backend runs the same weights and input; each one's largest deviation from
 * the oracle is held against {@link Tolerance#forward}.
 */
final class OracleCheck {

    static final String ORACLE = "scalar";
    /** Runs that have taken longer than this show their progress. */
    static final long PROGRESS_AFTER_NANOS = 2_000_000_000L;

    private OracleCheck() {
    }

    /**
     * How a backend's calls are timed, and where a long run shows its progress.
     *
     * @param warmup   untimed calls first
     * @param repeat   timed calls (at least 1)
     * @param out      where progress goes
     * @param terminal whether {@code out} is a terminal (see {@link Progress})
     */
    record Calls(int warmup, int repeat, PrintWriter out, boolean terminal) {
        Calls {
            if (warmup < 0 || repeat < 1) {
                throw new IllegalArgumentException("calls: expected warmup >= 0 and repeat >= 1, got " + warmup + " and " + repeat);
            }
        }
    }

    /** What one backend produced: its output and each timed call's nanoseconds, or the failure that stopped it. */
    record Result(Backend backend, RnnOutput out, long[] nanos, RuntimeException failure) {
        double medianMs() {
            return median(nanos) / 1e6;
        }
    }

    /**
     * Runs {@code call} {@code calls.warmup()} times, then {@code calls.repeat()} times timed. A run that
     * takes longer than {@link #PROGRESS_AFTER_NANOS} shows its progress from then on (erased from a
     * terminal when done; plain lines elsewhere).
     *
     * @return the timed calls' nanoseconds
     */
    static long[] time(String label, Calls calls, Runnable call) {
        int total = calls.warmup() + calls.repeat();
        long[] nanos = new long[calls.repeat()];
        long start = System.nanoTime();
        Progress progress = null;
        for (int i = 0; i < total; i++) {
            long t0 = System.nanoTime();
            call.run();
            long t1 = System.nanoTime();
            if (i >= calls.warmup()) {
                nanos[i - calls.warmup()] = t1 - t0;
            }
            if (i + 1 < total && (progress != null || t1 - start > PROGRESS_AFTER_NANOS)) {
                if (progress == null) {
                    progress = new Progress(calls.out(), calls.terminal());
                }
                progress.update((i + 1.0) / total, String.format(Locale.ROOT, "%s: call %d of %d%s, %.0f s",
                        label, i + 1, total, i < calls.warmup() ? " (warm-up)" : "", (t1 - start) / 1e9));
            }
        }
        if (progress != null) {
            progress.clear();
        }
        return nanos;
    }

    /** Plans {@code b}, runs it on {@code in} as {@link #time} does; a failure is returned, not thrown. */
    static Result run(Backend b, RnnSpec rnn, RnnWeights weights, RnnInput in, PlanOptions options, Calls calls) {
        RnnOutput out = RnnOutput.allocate(rnn, in.layout(), in.steps(), in.batch());
        try (RnnPlan plan = b.plan(rnn, weights, options)) {
            long[] nanos = time(b.name(), calls, () -> plan.forward(in, out));
            return new Result(b, out, nanos, null);
        } catch (RuntimeException e) {
            return new Result(b, null, null, e);
        }
    }

    /**
     * Runs the oracle and every other backend available for {@code rnn} on {@code in}, and prints a row per
     * backend (deviation, tolerance, PASS or FAIL, time, GFLOP/s, speed-up), the notes on how they were
     * computed, the backends that failed and those not run.
     *
     * @return whether every backend ran within the tolerance
     * @throws RuntimeException what stopped the oracle
     */
    static boolean compareAll(PrintWriter out, RnnSpec rnn, RnnWeights weights, RnnInput in, PlanOptions options,
            Calls calls) {
        List<Backend> others = new ArrayList<>();
        List<String> notRun = new ArrayList<>();
        Backend oracle = Backends.byName(ORACLE);
        for (Backend b : Backends.all()) {
            Availability a = b.availability();
            String unsupported = a.available() ? b.unsupported(rnn) : "";
            if (!a.available()) {
                notRun.add(b.name() + ": unavailable: " + a.reason());
            } else if (!unsupported.isEmpty()) {
                notRun.add(b.name() + ": does not support this network: " + unsupported);
            } else if (b != oracle) {
                others.add(b);
            }
        }

        Result reference = run(oracle, rnn, weights, in, options, calls);
        if (reference.failure() != null) {
            throw reference.failure();
        }
        int steps = in.steps();
        double tol = tolerance(rnn, steps);
        double flops = rnn.forwardFlops(steps, in.batch());
        TextTable table = new TextTable(
                new String[] {"backend", "max |dev|", "tolerance", "check", "median ms", "GFLOP/s", "speed-up"},
                Align.LEFT, Align.RIGHT, Align.RIGHT, Align.LEFT, Align.RIGHT, Align.RIGHT, Align.RIGHT);
        table.row(ORACLE, "-", "-", "oracle", ms(reference.medianMs()), gflops(flops, reference.medianMs()), "1.00x");
        boolean allPass = true;
        List<String> failures = new ArrayList<>();
        for (Backend b : others) {
            Result r = run(b, rnn, weights, in, options, calls);
            if (r.failure() != null) {
                allPass = false;
                failures.add(b.name() + ": " + r.failure());
                table.row(b.name(), "error", sci(tol), "FAIL", "-", "-", "-");
                continue;
            }
            double dev = maxDeviation(reference.out(), r.out());
            boolean pass = dev <= tol; // false for NaN
            allPass &= pass;
            table.row(b.name(), sci(dev), sci(tol), pass ? "PASS" : "FAIL", ms(r.medianMs()),
                    gflops(flops, r.medianMs()),
                    String.format(Locale.ROOT, "%.2fx", reference.medianMs() / r.medianMs()));
        }
        table.print(out);

        out.println();
        out.println("max |dev|: largest |backend - scalar| over y, hN (and cN); scalar, the oracle, accumulates in float64.");
        out.printf(Locale.ROOT, "tolerance = %.0f * u * sqrt(n * T * layers), u = 2^-24, n = max over layers of"
                + " (layer input + hidden) + 2 = %d terms per gate: %s (the conformance suite's rule)%n",
                Tolerance.C, Tolerance.accumulationLength(rnn), sci(tol));
        out.printf(Locale.ROOT, "time: median of %d timed run%s after %d warm-up run%s, one forward pass over the"
                        + " batch; speed-up = scalar time / backend time.%n",
                calls.repeat(), calls.repeat() == 1 ? "" : "s", calls.warmup(), calls.warmup() == 1 ? "" : "s");
        out.printf(Locale.ROOT, "GFLOP/s: the GEMMs' %.3g floating-point operations per pass / time.%n", flops);
        for (String f : failures) {
            out.println("error: " + f);
        }
        if (!notRun.isEmpty()) {
            out.println();
            out.println("Not run:");
            for (String s : notRun) {
                out.println("  " + s);
            }
        }
        out.flush();
        return allPass;
    }

    /** The conformance suite's tolerance (see {@link Tolerance}). */
    static double tolerance(RnnSpec rnn, int steps) {
        return Tolerance.forward(rnn, steps);
    }

    static double median(long[] values) {
        long[] v = values.clone();
        Arrays.sort(v);
        int m = v.length / 2;
        return v.length % 2 == 1 ? v[m] : (v[m - 1] + (double) v[m]) / 2;
    }

    /** The largest absolute difference over y, hN and cN; NaN if any element differs by NaN. */
    static double maxDeviation(RnnOutput expected, RnnOutput actual) {
        double max = Tolerance.maxAbsDifference(expected.y(), actual.y());
        max = Math.max(max, Tolerance.maxAbsDifference(expected.hN(), actual.hN()));
        return expected.cN() == null ? max : Math.max(max, Tolerance.maxAbsDifference(expected.cN(), actual.cN()));
    }

    static String sci(double v) {
        return String.format(Locale.ROOT, "%.2e", v);
    }

    static String ms(double v) {
        return String.format(Locale.ROOT, "%.3f", v);
    }

    private static String gflops(double flops, double ms) {
        double g = flops / (ms * 1e6);
        return String.format(Locale.ROOT, g < 1 ? "%.3f" : "%.2f", g);
    }
}
