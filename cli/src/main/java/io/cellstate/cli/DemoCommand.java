package io.cellstate.cli;

import io.cellstate.Cell;
import io.cellstate.Direction;
import io.cellstate.Layout;
import io.cellstate.PlanOptions;
import io.cellstate.RnnInput;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.Tensor;
import io.cellstate.cli.train.Progress;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code cellstate demo}: every available backend runs the same random bidirectional network (an
 * LSTM unless {@code --cell} names another cell) on the same batch; each is checked against the
 * scalar oracle and timed.
 */
@Command(name = "demo",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = {
            "Run a random bidirectional network (an LSTM unless --cell says otherwise) on every available backend,"
                    + " check each against the scalar oracle and time it.",
            "Exits with 1 if a backend's deviation from the oracle exceeds the tolerance."
        })
final class DemoCommand implements Callable<Integer> {

    static final int WARMUP_RUNS = 2;
    /** The largest heap tensor, in floats (a Java array's limit). */
    private static final long MAX_TENSOR = Integer.MAX_VALUE - 8;

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    private Cell cell;
    private int layers;
    private int input;
    private int hidden;
    private int steps;
    private int batch;
    private long seed;
    private int threads;
    private int repeat;

    @Option(names = "--cell", paramLabel = "CELL", defaultValue = "lstm",
            description = "The cell: lstm, gru (PyTorch's, linear before reset), gru-original, rnn-tanh or rnn-relu"
                    + " (default: ${DEFAULT-VALUE}).")
    void cell(String v) {
        try {
            cell = Cell.named(v);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "Invalid value for option '--cell': expected lstm, gru, gru-original, rnn-tanh or rnn-relu, got '" + v + "'");
        }
    }

    @Option(names = "--layers", paramLabel = "N", defaultValue = "2",
            description = "Stacked layers (default: ${DEFAULT-VALUE}).")
    void layers(int v) {
        layers = atLeast("--layers", v, 1);
    }

    @Option(names = "--input", paramLabel = "N", defaultValue = "64",
            description = "Input features per time step (default: ${DEFAULT-VALUE}).")
    void input(int v) {
        input = atLeast("--input", v, 1);
    }

    @Option(names = "--hidden", paramLabel = "N", defaultValue = "128",
            description = "Hidden units per layer and direction (default: ${DEFAULT-VALUE}).")
    void hidden(int v) {
        hidden = atLeast("--hidden", v, 1);
    }

    @Option(names = "--steps", paramLabel = "T", defaultValue = "50",
            description = "Time steps per sequence (default: ${DEFAULT-VALUE}).")
    void steps(int v) {
        steps = atLeast("--steps", v, 1);
    }

    @Option(names = "--batch", paramLabel = "B", defaultValue = "16",
            description = "Sequences per batch (default: ${DEFAULT-VALUE}).")
    void batch(int v) {
        batch = atLeast("--batch", v, 1);
    }

    @Option(names = "--seed", paramLabel = "S", defaultValue = "42",
            description = "Seed of the random weights, input and initial states (default: ${DEFAULT-VALUE}).")
    void seed(long v) {
        seed = v;
    }

    @Option(names = "--threads", paramLabel = "N", defaultValue = "0",
            description = "CPU threads per plan; 0 uses every available processor (default: ${DEFAULT-VALUE}).")
    void threads(int v) {
        threads = atLeast("--threads", v, 0);
    }

    @Option(names = "--repeat", paramLabel = "N", defaultValue = "5",
            description = "Timed runs per backend, after " + WARMUP_RUNS + " warm-up runs; the table shows"
                    + " their median (default: ${DEFAULT-VALUE}).")
    void repeat(int v) {
        repeat = atLeast("--repeat", v, 1);
    }

    private int atLeast(String option, int value, int min) {
        return Main.atLeast(spec.commandLine(), option, value, min);
    }

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        RnnSpec rnn = network();
        RnnWeights weights = RnnWeights.random(rnn, seed);
        RnnInput in = randomInput(rnn);
        PlanOptions options = PlanOptions.defaults().withThreads(threads).withCapacity(batch, steps);

        out.printf(Locale.ROOT, "Cellstate demo: %s, %d layer%s, bidirectional, input %d, hidden %d,"
                        + " T = %d steps, B = %d sequences, seed %d%n",
                cell, layers, layers == 1 ? "" : "s", input, hidden, steps, batch, seed);
        out.printf(Locale.ROOT, "Threads: %s; Vector API: %s%n",
                threads == 0 ? options.resolvedThreads() + " (all available processors)" : Integer.toString(threads),
                InfoCommand.vectorApi());
        out.println();
        out.flush();

        boolean allPass = OracleCheck.compareAll(out, rnn, weights, in, options,
                new OracleCheck.Calls(WARMUP_RUNS, repeat, out, Progress.stdoutIsTerminal()));
        return allPass ? 0 : Main.EXIT_FAILED;
    }

    private RnnSpec network() {
        long floats = (long) steps * batch * Math.max(input, 2L * hidden);
        if (floats > MAX_TENSOR) {
            throw new CommandLine.ParameterException(spec.commandLine(), "Invalid sizes: the input and output"
                    + " sequences need --steps * --batch * max(--input, 2 * --hidden) = " + floats
                    + " floats each, at most " + MAX_TENSOR + " fit in a Java array");
        }
        try {
            return RnnSpec.builder().cell(cell).inputSize(input).hiddenSize(hidden).layers(layers)
                    .direction(Direction.BIDIRECTIONAL).build();
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "Invalid network size: " + e.getMessage(), e);
        }
    }

    /** Input in U(-1, 1) and initial states in U(-0.5, 0.5), from a stream apart from the weights'. */
    private RnnInput randomInput(RnnSpec rnn) {
        SplittableRandom rng = new SplittableRandom(seed).split();
        Tensor x = random(rng, 1.0, Layout.SEQUENCE_MAJOR.shape(steps, batch, rnn.inputSize()));
        Tensor h0 = random(rng, 0.5, rnn.stateCount(), batch, rnn.hiddenSize());
        Tensor c0 = rnn.cell().hasCellState() ? random(rng, 0.5, rnn.stateCount(), batch, rnn.hiddenSize()) : null;
        return RnnInput.of(x).withInitialState(h0, c0);
    }

    private static Tensor random(SplittableRandom rng, double k, int... shape) {
        Tensor t = Tensor.zeros(shape);
        for (long i = 0; i < t.size(); i++) {
            t.setFlat(i, (float) rng.nextDouble(-k, k));
        }
        return t;
    }
}
