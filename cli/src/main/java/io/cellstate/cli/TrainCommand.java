package io.cellstate.cli;

import io.cellstate.cli.train.AddingTask;
import io.cellstate.cli.train.ClassifyTask;
import io.cellstate.cli.train.Progress;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code cellstate train [adding|classify]}: a model that learns, end to end, on the kernels'
 * backward pass. The models, losses and optimiser are the example's own ({@code io.cellstate.cli.train}),
 * not the library's API.
 */
@Command(name = "train",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = {
            "Train an LSTM with Adam on a synthetic task, on the kernels' backward pass.",
            "adding (the default): the adding problem (T = 100); reports the test MSE against the 0.167 of always"
                    + " predicting 1, writes the loss curve to --out; exits with 1 if the test MSE is not 10 times below it.",
            "classify: a Keras-style sequence classifier (LSTM, Dense, softmax) of noisy sine, square, sawtooth and chirp"
                    + " waves, fit for some epochs; reports loss and accuracy per epoch."
        })
final class TrainCommand implements Callable<Integer> {

    /** The tasks. */
    enum Task { adding, classify }

    /** Each setting's name in the tasks' configurations, and the option that sets it. */
    private static final Map<String, String> OPTIONS = Map.ofEntries(
            Map.entry("steps", "--steps"), Map.entry("hidden", "--hidden"), Map.entry("batch", "--batch"),
            Map.entry("lr", "--lr"), Map.entry("clip", "--clip"), Map.entry("forgetBias", "--forget-bias"), Map.entry("seconds", "--time"),
            Map.entry("iterations", "--iterations"), Map.entry("evalEvery", "--eval-every"),
            Map.entry("threads", "--threads"), Map.entry("epochs", "--epochs"), Map.entry("samples", "--samples"),
            Map.entry("noise", "--noise"), Map.entry("validationSplit", "--validation-split"));

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", arity = "0..1", paramLabel = "TASK", defaultValue = "adding",
            description = "adding or classify (default: ${DEFAULT-VALUE}).")
    private Task task;

    @Option(names = "--backend", paramLabel = "NAME", defaultValue = "auto",
            description = "The backend to train on: auto (the best that trains here), scalar, vector, blas or cudnn"
                    + " (default: ${DEFAULT-VALUE}).")
    private String backend;

    @Option(names = "--hidden", paramLabel = "N",
            description = "The LSTM's hidden size (default: " + Defaults.HIDDEN + ").")
    private Integer hidden;

    @Option(names = "--steps", paramLabel = "T",
            description = "Time steps per sequence (default: adding " + Defaults.ADDING_STEPS + ", classify "
                    + Defaults.CLASSIFY_STEPS + ").")
    private Integer steps;

    @Option(names = "--batch", paramLabel = "B",
            description = "Sequences per training step (default: " + Defaults.BATCH + ", Keras's).")
    private Integer batch;

    @Option(names = "--lr", paramLabel = "RATE",
            description = "Adam's learning rate; betas 0.9, 0.999 and eps 1e-8, PyTorch's defaults (default: adding "
                    + Defaults.ADDING_LR + ", as PyTorch's 0.001 stays too long on the plateau for the time budget;"
                    + " classify " + Defaults.CLASSIFY_LR + ", Keras's).")
    private Double lr;

    @Option(names = "--clip", paramLabel = "NORM",
            description = "Clip the gradients to this global norm, as torch.nn.utils.clip_grad_norm_; 0 for none"
                    + " (default: adding " + Defaults.ADDING_CLIP + ", classify 0, as Keras).")
    private Double clip;

    @Option(names = "--forget-bias", paramLabel = "BIAS", defaultValue = "1",
            description = "The LSTM's initial forget-gate bias, as Keras's unit_forget_bias (Gers et al. 2000); NaN keeps"
                    + " PyTorch's initialisation of every bias (default: ${DEFAULT-VALUE}).")
    private double forgetBias;

    @Option(names = "--time", paramLabel = "SECONDS",
            description = "Time budget of the training loop; 0 for none. adding stops when it runs out, classify starts"
                    + " no epoch after it (default: adding " + Defaults.ADDING_SECONDS + ", classify 0).")
    private Double seconds;

    @Option(names = "--iterations", paramLabel = "N",
            description = "adding: stop after N training steps, or when --time runs out if sooner; 0 for no limit"
                    + " (default: 0).")
    private Long iterations;

    @Option(names = "--eval-every", paramLabel = "N",
            description = "adding: validate every N steps, a point of the chart's validation curve (default: "
                    + Defaults.ADDING_EVAL_EVERY + ").")
    private Integer evalEvery;

    @Option(names = "--epochs", paramLabel = "N",
            description = "classify: passes over the training set (default: " + Defaults.CLASSIFY_EPOCHS + ").")
    private Integer epochs;

    @Option(names = "--samples", paramLabel = "N",
            description = "classify: sequences generated, training and validation together (default: "
                    + Defaults.CLASSIFY_SAMPLES + ").")
    private Integer samples;

    @Option(names = "--validation-split", paramLabel = "FRACTION",
            description = "classify: the fraction of the samples, taken from the end as Keras does, kept for validation"
                    + " (default: " + Defaults.CLASSIFY_SPLIT + ").")
    private Double validationSplit;

    @Option(names = "--noise", paramLabel = "SD",
            description = "classify: standard deviation of the noise added to every step (default: "
                    + Defaults.CLASSIFY_NOISE + ").")
    private Double noise;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "42",
            description = "Seed of the weights, the data and the shuffling (default: ${DEFAULT-VALUE}).")
    private long seed;

    @Option(names = "--threads", paramLabel = "N", defaultValue = "1",
            description = "CPU threads per call; 0 uses every available processor (default: ${DEFAULT-VALUE}: a step of"
                    + " the default sizes is too small to share, and ran faster on one thread than on two).")
    private int threads;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "train-out",
            description = "Directory for the loss curve (SVG) and its data (default: ${DEFAULT-VALUE}).")
    private Path out;

    /** The defaults that differ between the tasks. */
    static final class Defaults {
        static final int HIDDEN = 64;
        static final int BATCH = 32;
        static final int ADDING_STEPS = 100;
        /**
         * Three times PyTorch's default: after a plateau at the error of predicting the mean (1/6), the LSTM
         * passed the goal after about 3700 steps at 1e-3 (seed 42), after 1600 to 2000 at 3e-3 (seeds 1, 7, 42),
         * which a 2-core machine runs well within the time budget; clipping at norm 1 keeps it stable.
         */
        static final double ADDING_LR = 3e-3;
        static final int ADDING_CLIP = 1;
        /** Seconds of training: with the start, the validations and the test, within three minutes. */
        static final int ADDING_SECONDS = 150;
        static final int ADDING_EVAL_EVERY = 100;
        static final double CLASSIFY_LR = 1e-3;
        static final int CLASSIFY_STEPS = 50;
        static final int CLASSIFY_EPOCHS = 10;
        static final int CLASSIFY_SAMPLES = 8000;
        static final double CLASSIFY_SPLIT = 0.2;
        static final double CLASSIFY_NOISE = 0.3;

        private Defaults() {
        }
    }

    @Override
    public Integer call() {
        PrintWriter pw = spec.commandLine().getOut();
        boolean terminal = Progress.stdoutIsTerminal();
        if (task == Task.adding) {
            rejectOthers("adding", "--epochs", epochs, "--samples", samples, "--validation-split", validationSplit,
                    "--noise", noise);
            AddingTask.Config c = config(() -> new AddingTask.Config(
                    or(steps, Defaults.ADDING_STEPS), or(hidden, Defaults.HIDDEN), or(batch, Defaults.BATCH),
                    or(lr, Defaults.ADDING_LR), or(clip, (double) Defaults.ADDING_CLIP), forgetBias,
                    or(seconds, (double) Defaults.ADDING_SECONDS), or(iterations, 0L), or(evalEvery, Defaults.ADDING_EVAL_EVERY),
                    seed, backend, threads, out));
            AddingTask.Result r = AddingTask.run(c, pw, terminal);
            return r.learnt() ? 0 : Main.EXIT_FAILED;
        }
        rejectOthers("classify", "--iterations", iterations, "--eval-every", evalEvery);
        ClassifyTask.Config c = config(() -> new ClassifyTask.Config(
                or(samples, Defaults.CLASSIFY_SAMPLES), or(steps, Defaults.CLASSIFY_STEPS),
                or(noise, Defaults.CLASSIFY_NOISE), or(validationSplit, Defaults.CLASSIFY_SPLIT),
                or(hidden, Defaults.HIDDEN), or(batch, Defaults.BATCH),
                or(epochs, Defaults.CLASSIFY_EPOCHS), or(lr, Defaults.CLASSIFY_LR), or(clip, 0.0), forgetBias,
                or(seconds, 0.0), seed, backend, threads, out));
        ClassifyTask.run(c, pw, terminal);
        return 0;
    }

    private static <T> T or(T value, T otherwise) {
        return value != null ? value : otherwise;
    }

    /** A usage error for options given that {@code task} does not take (pairs of name and value). */
    private void rejectOthers(String taskName, Object... namesAndValues) {
        List<String> given = new ArrayList<>();
        for (int i = 0; i < namesAndValues.length; i += 2) {
            if (namesAndValues[i + 1] != null) {
                given.add((String) namesAndValues[i]);
            }
        }
        if (!given.isEmpty()) {
            throw new CommandLine.ParameterException(spec.commandLine(), "Option" + (given.size() > 1 ? "s " : " ")
                    + String.join(", ", given) + " do" + (given.size() > 1 ? "" : "es") + " not apply to " + taskName);
        }
    }

    /** Builds a configuration, turning a setting out of range into a usage error naming its option. */
    private <C> C config(java.util.function.Supplier<C> build) {
        try {
            return build.get();
        } catch (IllegalArgumentException e) {
            String m = e.getMessage();
            int colon = m.indexOf(": ");
            List<String> opts = new ArrayList<>();
            if (colon > 0) {
                for (String name : m.substring(0, colon).split(", ")) {
                    opts.add(OPTIONS.getOrDefault(name, name));
                }
            }
            String what = opts.isEmpty() ? m : m.substring(colon + 2);
            throw new CommandLine.ParameterException(spec.commandLine(), "Invalid value for option"
                    + (opts.size() > 1 ? "s '" : " '") + String.join("', '", opts) + "': " + what, e);
        }
    }
}
