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
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * {@code cellstate train classify}: the workflow of Keras's
 * <pre>
 *   model = Sequential([LSTM(h), Dense(4, activation="softmax")])
 *   model.compile(optimizer=Adam(), loss="categorical_crossentropy", metrics=["accuracy"])
 *   model.fit(x, y, batch_size=32, epochs=10, validation_split=0.2, shuffle=True)
 * </pre>
 * on {@link Waveforms}: the validation set is the last fraction of the data, as Keras takes it; every
 * epoch shuffles the training set into mini-batches (the last one smaller when the size does not
 * divide); each epoch reports the mean training loss and accuracy over its batches (as Keras's
 * running figures, measured while the weights change) and the validation loss and accuracy after it.
 */
public final class ClassifyTask {

    /**
     * What to train and for how long.
     *
     * @param samples         sequences generated
     * @param steps           T
     * @param noise           the standard deviation of the noise on every step
     * @param validationSplit the fraction of the samples, taken from the end, kept for validation
     * @param hidden          the LSTM's hidden size
     * @param batch           sequences per mini-batch
     * @param epochs          passes over the training set
     * @param lr              Adam's learning rate
     * @param clip            the largest global gradient norm, 0 for none
     * @param forgetBias      the LSTM's initial forget-gate bias ({@link RecurrentEncoder#withForgetBias}, Keras's
     *                        {@code unit_forget_bias}), or NaN to keep PyTorch's initialisation of every bias
     * @param seconds         a time budget: no epoch starts after it has run out; 0 for none
     * @param seed            the seed of the data, the weights and the shuffling
     * @param backend         a backend's name or {@code auto}
     * @param threads         CPU threads per call, 0 for all
     * @param out             the directory of the charts, or null to write none
     */
    public record Config(int samples, int steps, double noise, double validationSplit, int hidden, int batch, int epochs,
                         double lr, double clip, double forgetBias, double seconds, long seed, String backend, int threads, Path out) {

        /**
         * Checks every setting.
         *
         * @throws IllegalArgumentException naming the first setting out of range
         */
        public Config {
            Checks.atLeast("steps", steps, 2);
            Checks.atLeast("hidden", hidden, 1);
            Checks.atLeast("batch", batch, 1);
            Checks.atLeast("epochs", epochs, 1);
            Checks.atLeast("threads", threads, 0);
            if (!(validationSplit > 0 && validationSplit < 1)) {
                throw new IllegalArgumentException("validationSplit: expected 0 < split < 1, got " + validationSplit);
            }
            int train = trainSize(samples, validationSplit);
            if (train < 1 || samples - train < 1) {
                throw new IllegalArgumentException("samples: expected enough for at least one training and one validation"
                        + " sequence at split " + validationSplit + ", got " + samples);
            }
            if (!(noise >= 0) || Double.isInfinite(noise)) {
                throw new IllegalArgumentException("noise: expected a finite value >= 0, got " + noise);
            }
            Checks.training(lr, clip, forgetBias, seconds);
            Objects.requireNonNull(backend, "backend");
        }
    }

    /**
     * One epoch's figures.
     *
     * @param epoch       from 1
     * @param seconds     its wall-clock time, validation included
     * @param loss        the mean training loss over its batches
     * @param accuracy    the fraction of training sequences classified correctly as its batches went by
     * @param valLoss     the validation loss after it
     * @param valAccuracy the validation accuracy after it
     */
    public record Epoch(int epoch, double seconds, double loss, double accuracy, double valLoss, double valAccuracy) {
    }

    /**
     * What a run achieved.
     *
     * @param backend the backend it trained on
     * @param epochs  each epoch's figures, in order
     * @param chart   the loss chart written, or null
     */
    public record Result(String backend, List<Epoch> epochs, Path chart) {
    }

    private ClassifyTask() {
    }

    /** Keras's split: the first {@code int(n * (1 - split))} samples train. */
    static int trainSize(int samples, double validationSplit) {
        return (int) (samples * (1 - validationSplit));
    }

    /**
     * Trains as {@code c} says, printing one line per epoch on {@code out}.
     *
     * @param c        the configuration
     * @param out      where the progress and the epochs go
     * @param terminal whether {@code out} is a terminal (a bar within each epoch; elsewhere only the epochs' lines)
     * @return the figures of the run
     * @throws UnsupportedOperationException if no backend (or not the one named) can train here
     * @throws IllegalStateException         if training diverged
     * @throws UncheckedIOException          if a chart cannot be written
     */
    public static Result run(Config c, PrintWriter out, boolean terminal) {
        int classes = Waveforms.CLASSES;
        RnnSpec spec = RnnSpec.lstm(1, c.hidden());
        PlanOptions options = PlanOptions.defaults().withMode(ForwardMode.TRAINING).withThreads(c.threads())
                .withCapacity(c.batch(), c.steps());
        Backend backend = Backends.get(c.backend(), spec, options);
        SplittableRandom root = new SplittableRandom(c.seed());
        Waveforms.Dataset data = Waveforms.generate(c.samples(), c.steps(), c.noise(), root.split());
        RnnWeights initial = RnnWeights.random(spec, root.nextLong());
        if (!Double.isNaN(c.forgetBias())) {
            initial = RecurrentEncoder.withForgetBias(initial, (float) c.forgetBias());
        }
        Dense head = new Dense(c.hidden(), classes, root.split(), "dense");
        SplittableRandom shuffleRng = root.split();
        int trainSize = trainSize(c.samples(), c.validationSplit());
        int[] trainOrder = new int[trainSize];
        Arrays.setAll(trainOrder, i -> i);
        int[] valOrder = new int[c.samples() - trainSize];
        Arrays.setAll(valOrder, i -> trainSize + i);
        int batches = (trainSize + c.batch() - 1) / c.batch();

        out.printf(Locale.ROOT, "Cellstate train classify: LSTM(%d, %s) then Dense(%d, softmax), categorical"
                        + " cross-entropy, Adam lr %s, %s; batch %d, seed %d%n", c.hidden(),
                AddingTask.initialisation(c.forgetBias()), classes, num(c.lr()),
                c.clip() > 0 ? "gradient clipping at norm " + num(c.clip()) : "no clipping", c.batch(), c.seed());
        out.printf(Locale.ROOT, "Data: %d sequences of T = %d steps, %s in turn, noise %s; %d to train, the last %d"
                        + " (%s) to validate%n", c.samples(), c.steps(),
                String.join(", ", Arrays.stream(Waveforms.Shape.values()).map(Waveforms.Shape::label).toList()),
                num(c.noise()), trainSize, valOrder.length, num(c.validationSplit()));
        out.printf(Locale.ROOT, "Backend: %s, %s%n", backend.name(),
                c.threads() == 0 ? options.resolvedThreads() + " threads (all available processors)" : c.threads() + " threads");
        out.flush();

        List<Epoch> epochs = new ArrayList<>();
        Progress progress = new Progress(out, terminal);
        String name;
        try (SequenceModel model = new SequenceModel(
                new RecurrentEncoder(spec, initial, backend, options), head, c.lr(), c.clip())) {
            name = model.backend();
            long start = System.nanoTime();
            for (int e = 1; e <= c.epochs(); e++) {
                long epochStart = System.nanoTime();
                shuffle(trainOrder, shuffleRng);
                double lossSum = 0;
                int correct = 0;
                for (int b = 0; b < batches; b++) {
                    int from = b * c.batch();
                    int to = Math.min(trainSize, from + c.batch());
                    Tensor x = data.inputs(trainOrder, from, to);
                    int[] labels = data.labels(trainOrder, from, to);
                    int[] right = new int[1];
                    double loss = model.trainStep(x, (logits, grad) -> {
                        right[0] = Losses.correct(logits, labels, classes);
                        return Losses.softmaxCrossEntropy(logits, labels, classes, grad);
                    });
                    lossSum += loss * (to - from);
                    correct += right[0];
                    if (terminal) {
                        progress.update((b + 1.0) / batches, String.format(Locale.ROOT,
                            "epoch %d/%d  batch %d/%d  loss %.4f  accuracy %.4f", e, c.epochs(), b + 1, batches,
                                lossSum / to, (double) correct / to));
                    }
                }
                double[] val = evaluate(model, data, valOrder, c.batch() * 8, classes);
                Epoch ep = new Epoch(e, (System.nanoTime() - epochStart) / 1e9, lossSum / trainSize,
                        (double) correct / trainSize, val[0], val[1]);
                epochs.add(ep);
                progress.clear();
                out.printf(Locale.ROOT, "Epoch %d/%d  %d batches  %.1f s  loss %.4f  accuracy %.4f  val_loss %.4f"
                                + "  val_accuracy %.4f%n", e, c.epochs(), batches, ep.seconds(), ep.loss(), ep.accuracy(),
                        ep.valLoss(), ep.valAccuracy());
                out.flush();
                if (c.seconds() > 0 && (System.nanoTime() - start) / 1e9 >= c.seconds() && e < c.epochs()) {
                    out.printf(Locale.ROOT, "Stopped after epoch %d of %d: the time budget of %s s ran out%n", e,
                            c.epochs(), num(c.seconds()));
                    break;
                }
            }
        }
        Path chart = null;
        if (c.out() != null) {
            chart = c.out().resolve("classify-loss.svg");
            Path accuracy = c.out().resolve("classify-accuracy.svg");
            try {
                chart(epochs, name, c, true).write(chart);
                chart(epochs, name, c, false).write(accuracy);
            } catch (IOException ex) {
                throw new UncheckedIOException("cannot write the charts to " + c.out(), ex);
            }
            out.println("Curves: " + chart + ", " + accuracy);
        }
        Epoch last = epochs.getLast();
        out.printf(Locale.ROOT, "Validation accuracy %.4f after %d epochs on %s (chance: %.2f)%n", last.valAccuracy(),
                epochs.size(), name, 1.0 / classes);
        out.flush();
        return new Result(name, List.copyOf(epochs), chart);
    }

    /** Loss and accuracy of the model over {@code order}, in batches of {@code batch}. */
    static double[] evaluate(SequenceModel model, Waveforms.Dataset data, int[] order, int batch, int classes) {
        double loss = 0;
        int correct = 0;
        for (int from = 0; from < order.length; from += batch) {
            int to = Math.min(order.length, from + batch);
            double[] logits = model.predict(data.inputs(order, from, to));
            int[] labels = data.labels(order, from, to);
            loss += Losses.softmaxCrossEntropy(logits, labels, classes, null) * (to - from);
            correct += Losses.correct(logits, labels, classes);
        }
        return new double[] {loss / order.length, (double) correct / order.length};
    }

    /** Fisher-Yates, from the generator given. */
    static void shuffle(int[] a, SplittableRandom rng) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }

    private static LossChart chart(List<Epoch> epochs, String backend, Config c, boolean loss) {
        double[] x = epochs.stream().mapToDouble(Epoch::epoch).toArray();
        double[] train = epochs.stream().mapToDouble(loss ? Epoch::loss : Epoch::accuracy).toArray();
        double[] val = epochs.stream().mapToDouble(loss ? Epoch::valLoss : Epoch::valAccuracy).toArray();
        String title = String.format(Locale.ROOT, "Waveform classifier: LSTM %d on %s, %s", c.hidden(), backend,
                loss ? "loss" : "accuracy");
        LossChart chart = new LossChart(title, "epoch", loss ? "categorical cross-entropy" : "accuracy", loss);
        if (loss) {
            chart.add(new LossChart.Reference("chance (ln 4)", Math.log(Waveforms.CLASSES), "#d62728"));
        } else {
            chart.add(new LossChart.Reference("chance (1/4)", 1.0 / Waveforms.CLASSES, "#d62728"));
        }
        return chart.add(new LossChart.Series("training", x, train, "#1f77b4", true))
                .add(new LossChart.Series("validation", x, val, "#ff7f0e", true));
    }

    private static String num(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e9 ? Long.toString((long) v) : Double.toString(v);
    }
}
