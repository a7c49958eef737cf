package io.cellstate.cli.train;

import io.cellstate.Backend;
import io.cellstate.Backends;
import io.cellstate.ForwardMode;
import io.cellstate.PlanOptions;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.Tensor;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * {@code cellstate train adding}: an LSTM and a linear read-out of its last hidden state learn the
 * {@link AddingProblem}, on fresh batches drawn at every step (the model never sees a sequence
 * twice), with Adam and gradient clipping, for a time budget or a number of iterations. It reports
 * the running loss as it goes, the mean squared error on held-out sequences against the 1/6 of
 * always predicting 1, and writes the loss curve as an SVG chart and a CSV file.
 */
public final class AddingTask {
    /** Held-out sequences the final mean squared error is measured on. */
    public static final int TEST_SEQUENCES = 2000;
    /** Sequences of the validation set the curve shows. */
    static final int VALIDATION_SEQUENCES = 500;
    /** Sequences per inference call when evaluating. */
    private static final int EVAL_BATCH = 500;
    /** Iterations averaged into one point of the training curve. */
    static final int CURVE_BLOCK = 20;
    /** The factor by which the test error must beat the baseline for the run to count as learnt. */
    public static final double TARGET_FACTOR = 10;

    /**
     * What to train and for how long.
     *
     * @param steps      T, the sequence length
     * @param hidden     the LSTM's hidden size
     * @param batch      sequences per step
     * @param lr         Adam's learning rate
     * @param clip       the largest global gradient norm, 0 for none
     * @param forgetBias the LSTM's initial forget-gate bias ({@link RecurrentEncoder#withForgetBias}), or NaN
     *                   to keep PyTorch's initialisation of every bias
     * @param seconds    the time budget of the training loop, 0 for none
     * @param iterations the most training steps, 0 for no limit
     * @param evalEvery  iterations between two validations (points of the validation curve)
     * @param seed       the seed of the weights and of every sequence
     * @param backend    a backend's name or {@code auto}
     * @param threads    CPU threads per call, 0 for all
     * @param out        the directory of the chart and the CSV, or null to write neither
     */
    public record Config(int steps, int hidden, int batch, double lr, double clip, double forgetBias, double seconds,
                         long iterations,
                         int evalEvery, long seed, String backend, int threads, Path out) {

        /**
         * Checks every setting.
         *
         * @throws IllegalArgumentException naming the first setting out of range
         */
        public Config {
            Checks.atLeast("steps", steps, 2);
            Checks.atLeast("hidden", hidden, 1);
            Checks.atLeast("batch", batch, 1);
            Checks.atLeast("evalEvery", evalEvery, 1);
            Checks.atLeast("threads", threads, 0);
            Checks.training(lr, clip, forgetBias, seconds);
            if (iterations < 0) {
                throw new IllegalArgumentException("iterations: expected >= 0 (0: no limit), got " + iterations);
            }
            if (seconds == 0 && iterations == 0) {
                throw new IllegalArgumentException("seconds, iterations: expected a time or an iteration budget, got neither");
            }
            Objects.requireNonNull(backend, "backend");
        }
    }

    /**
     * What a run achieved.
     *
     * @param backend     the backend it trained on
     * @param iterations  training steps made
     * @param seconds     the training loop's wall-clock time
     * @param firstLoss   the mean training loss of the first {@value #CURVE_BLOCK} steps
     * @param lastLoss    the mean training loss of the last {@value #CURVE_BLOCK} steps (fewer if the run was shorter)
     * @param testMse     the mean squared error on {@value #TEST_SEQUENCES} held-out sequences
     * @param baselineMse the error of always predicting 1 on those sequences
     * @param chart       the SVG written, or null
     */
    public record Result(String backend, long iterations, double seconds, double firstLoss, double lastLoss,
                         double testMse, double baselineMse, Path chart) {

        /**
         * Whether the test error beat the baseline {@value #TARGET_FACTOR} times.
         *
         * @return testMse below baselineMse / 10
         */
        public boolean learnt() {
            return testMse < AddingProblem.BASELINE_MSE / TARGET_FACTOR;
        }
    }

    private AddingTask() {
    }

    /**
     * Trains as {@code c} says, printing the progress and the result on {@code out}.
     *
     * @param c        the configuration
     * @param out      where the progress and the summary go
     * @param terminal whether {@code out} is a terminal (see {@link Progress})
     * @return the figures of the run
     * @throws UnsupportedOperationException if no backend (or not the one named) can train here
     * @throws IllegalStateException         if training diverged
     * @throws UncheckedIOException          if the chart or the CSV cannot be written
     */
    public static Result run(Config c, PrintWriter out, boolean terminal) {
        RnnSpec spec = RnnSpec.lstm(AddingProblem.CHANNELS, c.hidden());
        PlanOptions options = PlanOptions.defaults().withMode(ForwardMode.TRAINING).withThreads(c.threads())
                .withCapacity(c.batch(), c.steps());
        Backend backend = Backends.get(c.backend(), spec, options);
        SplittableRandom root = new SplittableRandom(c.seed());
        RnnWeights initial = RnnWeights.random(spec, root.nextLong());
        if (!Double.isNaN(c.forgetBias())) {
            initial = RecurrentEncoder.withForgetBias(initial, (float) c.forgetBias());
        }
        Dense head = new Dense(c.hidden(), 1, root.split(), "head");
        SplittableRandom trainRng = root.split();
        AddingProblem problem = new AddingProblem(c.steps());
        AddingProblem.Batch validation = problem.draw(root.split(), VALIDATION_SEQUENCES);
        List<AddingProblem.Batch> test = new ArrayList<>();
        SplittableRandom testRng = root.split();
        for (int n = 0; n < TEST_SEQUENCES; n += EVAL_BATCH) {
            test.add(problem.draw(testRng, Math.min(EVAL_BATCH, TEST_SEQUENCES - n)));
        }

        out.printf(Locale.ROOT, "Cellstate train adding: LSTM, input 2, hidden %d (%s), T = %d steps, B = %d sequences"
                        + " per step, a linear read-out of the last h; Adam lr %s, %s; seed %d%n",
                c.hidden(), initialisation(c.forgetBias()), c.steps(), c.batch(), num(c.lr()),
                c.clip() > 0 ? "gradient clipping at norm " + num(c.clip()) : "no clipping", c.seed());
        out.printf(Locale.ROOT, "Backend: %s, %s; budget: %s%n", backend.name(),
                c.threads() == 0 ? options.resolvedThreads() + " threads (all available processors)" : c.threads() + " threads",
                budget(c));
        out.printf(Locale.ROOT, "Baseline: always predicting 1 scores MSE %.4f; the goal is below %.4f (%.0fx better)%n",
                AddingProblem.BASELINE_MSE, AddingProblem.BASELINE_MSE / TARGET_FACTOR, TARGET_FACTOR);
        out.flush();

        Curve curve = new Curve();
        Tensor x = Tensor.zeros(c.steps(), c.batch(), AddingProblem.CHANNELS);
        double[] target = new double[c.batch()];
        Progress progress = new Progress(out, terminal);
        double ema = 0;
        long it = 0;
        double elapsed = 0;
        double testMse;
        double baseline;
        String name;
        try (SequenceModel model = new SequenceModel(
                new RecurrentEncoder(spec, initial, backend, options), head, c.lr(), c.clip())) {
            name = model.backend();
            long start = System.nanoTime();
            curve.validation(0, 0, mse(model, List.of(validation)));
            while (true) {
                problem.draw(trainRng, x, target);
                double loss = model.trainStep(x, (pred, grad) -> Losses.meanSquaredError(pred, target, grad));
                it++;
                curve.train(loss);
                // the running loss: an exponential average over about 50 steps, bias-corrected as Adam's moments
                ema = 0.98 * ema + 0.02 * loss;
                double running = ema / (1 - Math.pow(0.98, it));
                elapsed = (System.nanoTime() - start) / 1e9;
                boolean done = (c.iterations() > 0 && it >= c.iterations()) || (c.seconds() > 0 && elapsed >= c.seconds());
                if (it % c.evalEvery() == 0 || done) {
                    curve.validation(it, elapsed, mse(model, List.of(validation)));
                }
                double fraction = Math.max(c.iterations() > 0 ? (double) it / c.iterations() : 0,
                        c.seconds() > 0 ? elapsed / c.seconds() : 0);
                String status = String.format(Locale.ROOT, "step %d  loss %.4f  val %.4f  %.0f s", it, running,
                        curve.lastValidation(), elapsed);
                if (done) {
                    progress.finish(fraction, status);
                    break;
                }
                progress.update(fraction, status);
            }
            testMse = mse(model, test);
            baseline = baselineMse(test);
        }
        double firstLoss = curve.firstMean();
        double lastLoss = curve.lastMean();
        Path chart = null;
        if (c.out() != null) {
            chart = c.out().resolve("adding-loss.svg");
            try {
                curve.chart(name, c).write(chart);
                curve.writeCsv(c.out().resolve("adding-loss.csv"));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write the loss curve to " + c.out(), e);
            }
        }
        Result r = new Result(name, it, elapsed, firstLoss, lastLoss, testMse, baseline, chart);
        out.printf(Locale.ROOT, "Trained %d steps (%d sequences) in %.1f s on %s: %.1f ms per step%n",
                it, it * c.batch(), elapsed, name, elapsed * 1e3 / Math.max(1, it));
        out.printf(Locale.ROOT, "Training loss: %.4f over the first %d steps, %.4f over the last %d%n",
                firstLoss, Math.min(it, CURVE_BLOCK), lastLoss, Math.min(it, CURVE_BLOCK));
        out.printf(Locale.ROOT, "Test MSE on %d held-out sequences: %.5f; always predicting 1 scores %.4f on them:"
                        + " %.1fx better, goal (< %.4f) %s%n",
                TEST_SEQUENCES, testMse, baseline, baseline / testMse, AddingProblem.BASELINE_MSE / TARGET_FACTOR,
                r.learnt() ? "reached" : "NOT reached");
        if (chart != null) {
            out.println("Loss curve: " + chart + " (its data: " + c.out().resolve("adding-loss.csv") + ")");
        }
        out.flush();
        return r;
    }

    /** The mean squared error of the model over every sequence of {@code batches}. */
    static double mse(SequenceModel model, List<AddingProblem.Batch> batches) {
        double sum = 0;
        long n = 0;
        for (AddingProblem.Batch b : batches) {
            double[] pred = model.predict(b.x());
            sum += Losses.meanSquaredError(pred, b.target(), null) * pred.length;
            n += pred.length;
        }
        return sum / n;
    }

    /** The mean squared error of always predicting 1 over {@code batches}. */
    static double baselineMse(List<AddingProblem.Batch> batches) {
        double sum = 0;
        long n = 0;
        for (AddingProblem.Batch b : batches) {
            for (double t : b.target()) {
                sum += (t - 1) * (t - 1);
                n++;
            }
        }
        return sum / n;
    }

    /** How the weights start, in words. */
    static String initialisation(double forgetBias) {
        return Double.isNaN(forgetBias) ? "PyTorch's initialisation" : "forget-gate bias " + num(forgetBias);
    }

    private static String budget(Config c) {
        String time = c.seconds() > 0 ? num(c.seconds()) + " s" : "";
        String its = c.iterations() > 0 ? c.iterations() + " steps" : "";
        return time.isEmpty() ? its : its.isEmpty() ? time : time + " or " + its + ", whichever comes first";
    }

    private static String num(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e9 ? Long.toString((long) v) : Double.toString(v);
    }

    /** The training losses and the validation errors of a run. */
    private static final class Curve {
        private double[] losses = new double[1024];
        private int n;
        private final List<double[]> validations = new ArrayList<>();

        void train(double loss) {
            if (n == losses.length) {
                losses = Arrays.copyOf(losses, 2 * n);
            }
            losses[n++] = loss;
        }

        void validation(long it, double seconds, double mse) {
            validations.add(new double[] {it, seconds, mse});
        }

        double lastValidation() {
            return validations.getLast()[2];
        }

        /** The mean loss of the first {@value #CURVE_BLOCK} steps (or all, if fewer). */
        double firstMean() {
            return Arrays.stream(losses, 0, Math.min(n, CURVE_BLOCK)).average().orElse(Double.NaN);
        }

        /** The mean loss of the last {@value #CURVE_BLOCK} steps (or all, if fewer). */
        double lastMean() {
            return Arrays.stream(losses, Math.max(0, n - CURVE_BLOCK), n).average().orElse(Double.NaN);
        }

        /** The mean of each block of {@value #CURVE_BLOCK} steps, at the block's middle step (from 1). */
        double[][] blocks() {
            int m = n / CURVE_BLOCK;
            double[][] xy = new double[2][m];
            for (int b = 0; b < m; b++) {
                xy[0][b] = b * CURVE_BLOCK + (CURVE_BLOCK + 1) / 2.0;
                xy[1][b] = Arrays.stream(losses, b * CURVE_BLOCK, (b + 1) * CURVE_BLOCK).average().orElseThrow();
            }
            return xy;
        }

        LossChart chart(String backend, Config c) {
            double[][] blocks = blocks();
            double[] vx = validations.stream().mapToDouble(v -> v[0]).toArray();
            double[] vy = validations.stream().mapToDouble(v -> v[2]).toArray();
            return new LossChart(String.format(Locale.ROOT, "Adding problem, T = %d: LSTM %d on %s, B = %d, Adam lr %s",
                    c.steps(), c.hidden(), backend, c.batch(), num(c.lr())), "training step", "mean squared error", true)
                    .add(new LossChart.Reference("predicting 1 (1/6)", AddingProblem.BASELINE_MSE, "#d62728"))
                    .add(new LossChart.Reference("goal (1/60)", AddingProblem.BASELINE_MSE / TARGET_FACTOR, "#2ca02c"))
                    .add(new LossChart.Series("training (mean of " + CURVE_BLOCK + " steps)", blocks[0], blocks[1],
                            "#1f77b4", false))
                    .add(new LossChart.Series("validation (" + VALIDATION_SEQUENCES + " sequences)", vx, vy, "#ff7f0e", true));
        }

        void writeCsv(Path file) throws IOException {
            StringBuilder s = new StringBuilder("kind,step,seconds,mse\n");
            double[][] blocks = blocks();
            for (int b = 0; b < blocks[0].length; b++) {
                s.append(String.format(Locale.ROOT, "train,%s,,%.6g%n", num(blocks[0][b]), blocks[1][b]));
            }
            for (double[] v : validations) {
                s.append(String.format(Locale.ROOT, "validation,%d,%.3f,%.6g%n", (long) v[0], v[1], v[2]));
            }
            Files.writeString(file, s, StandardCharsets.UTF_8);
        }
    }
}
