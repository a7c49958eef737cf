package io.cellstate.cli;

import io.cellstate.Backend;
import io.cellstate.Backends;
import io.cellstate.Cell;
import io.cellstate.Layout;
import io.cellstate.PlanOptions;
import io.cellstate.RnnInput;
import io.cellstate.RnnSpec;
import io.cellstate.bindings.ModelFormatException;
import io.cellstate.bindings.Npy;
import io.cellstate.bindings.NpyArray;
import io.cellstate.bindings.Npz;
import io.cellstate.bindings.Onnx;
import io.cellstate.bindings.RnnModel;
import io.cellstate.bindings.StateDicts;
import io.cellstate.cli.TextTable.Align;
import io.cellstate.cli.train.Progress;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code cellstate run MODEL --input x.npy --output out.npz}: a model file ({@code .onnx} or a PyTorch
 * state_dict in {@code .safetensors}) run on NumPy arrays, its outputs written under the model's own names;
 * with {@code --check}, every available backend run on the same input against the scalar oracle, as
 * {@code demo} does.
 */
@Command(name = "run",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = {
            "Run a .onnx model or a PyTorch state_dict (.safetensors) on .npy arrays and write its outputs to a .npz,"
                    + " under the model's output names (y, hn, cn for PyTorch's; Y, Y_h, Y_c for a bare ONNX node).",
            "Prints the network, the backend, the shapes and the time per call; --check also runs every available"
                    + " backend against the scalar oracle and exits with 1 if one is outside the tolerance."
        })
final class RunCommand implements Callable<Integer> {

    private static final String ONNX = ".onnx";
    private static final String SAFETENSORS = ".safetensors";

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MODEL",
            description = "A .onnx model (PyTorch's export of nn.LSTM, nn.GRU or nn.RNN, or a bare LSTM, GRU or RNN node)"
                    + " or a .safetensors state_dict of one of those modules.")
    private Path model;

    @Option(names = "--input", required = true, paramLabel = "FILE.npy",
            description = "The input sequence, float32 or float64 (rounded to float32): [T, B, F], or as the model"
                    + " says ([B, T, F] for a batch_first model).")
    private Path input;

    @Option(names = "--h0", paramLabel = "FILE.npy",
            description = "Initial hidden states, [layers * directions, B, H] for PyTorch's models (H the projection's"
                    + " size P for a projected LSTM; its --c0 keeps H), as the graph says for a bare ONNX node (zeros"
                    + " without).")
    private Path h0;

    @Option(names = "--c0", paramLabel = "FILE.npy",
            description = "Initial cell states of an LSTM, as --h0 (zeros without).")
    private Path c0;

    @Option(names = "--lengths", paramLabel = "FILE.npy",
            description = "Sequence lengths, int32 or int64 [B], each at most T (every sequence T steps without);"
                    + " outputs past a sequence's length are 0.")
    private Path lengths;

    @Option(names = "--feed", paramLabel = "NAME=FILE.npy",
            description = "Any other named input (repeatable): each of several state inputs, or the weights of a bare"
                    + " ONNX node that are graph inputs (W, R, B).")
    private Map<String, Path> feeds = new LinkedHashMap<>();

    @Option(names = "--batch-first",
            description = ".safetensors only: the module was batch_first=True (x and y are [B, T, F]).")
    private boolean batchFirst;

    @Option(names = "--prefix", paramLabel = "PREFIX",
            description = ".safetensors only: the recurrent module's prefix in a larger state_dict, e.g. 'encoder.lstm.'"
                    + " (default: found when there is one).")
    private String prefix;

    @Option(names = "--cell", paramLabel = "CELL",
            description = ".safetensors only: the cell, where neither the tensors nor the file's cellstate.cell metadata"
                    + " tell it: rnn-relu for nn.RNN(nonlinearity='relu'), or a cell with options as the network line"
                    + " prints it, e.g. 'lstm[clip=0.5, input_forget]' (default: the metadata's, else from the shapes, an"
                    + " RNN being tanh; an LSTM's projection and peepholes always come from its tensors).")
    private String cellName;

    @Option(names = "--output", required = true, paramLabel = "FILE.npz",
            description = "Where the outputs go, a .npz (numpy.load reads it), replaced if it exists.")
    private Path output;

    @Option(names = "--backend", paramLabel = "NAME", defaultValue = Backends.AUTO,
            description = "auto (the best available that runs the network), scalar, vector, blas or cudnn"
                    + " (default: ${DEFAULT-VALUE}).")
    private String backendName;

    private int threads;
    private int repeat;

    @Option(names = "--threads", paramLabel = "N", defaultValue = "0",
            description = "CPU threads per call; 0 uses every available processor (default: ${DEFAULT-VALUE}).")
    void threads(int v) {
        threads = Main.atLeast(spec.commandLine(), "--threads", v, 0);
    }

    @Option(names = "--repeat", paramLabel = "N", defaultValue = "1",
            description = "Calls to time, on the same input and output; the time shown is their median, the first"
                    + " call included (default: ${DEFAULT-VALUE}).")
    void repeat(int v) {
        repeat = Main.atLeast(spec.commandLine(), "--repeat", v, 1);
    }

    @Option(names = "--check",
            description = "Also run every available backend on the same input and print each one's largest deviation"
                    + " from the scalar oracle and the tolerance, as demo does; exit with 1 if one is outside it.")
    private boolean check;

    /** An array given on the command line, and by which option. */
    private record Given(String option, Path file, NpyArray array) {
        String from() {
            return "(" + option + " " + file + ")";
        }
    }

    /**
     * The model and what it runs on.
     *
     * @param model  the model read
     * @param inputs the arrays fed at run time, by input name
     * @param bound  the arrays bound as weights when reading (a bare ONNX node's), by name
     * @param input  the plan's input made of {@code inputs}
     */
    private record Prepared(RnnModel model, Map<String, Given> inputs, Map<String, Given> bound, RnnInput input) {
    }

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        Prepared p = prepare();
        RnnModel m = p.model();
        RnnInput in = p.input();
        RnnSpec rnn = m.spec();
        PlanOptions options = PlanOptions.defaults().withThreads(threads).withCapacity(in.batch(), in.steps());
        List<String> why = new ArrayList<>();
        Backend backend = backend(rnn, options, why);

        out.printf(Locale.ROOT, "Model: %s (%s)%n", m.source(), m.format().equals("onnx") ? "ONNX graph"
                : "PyTorch state_dict, " + (m.layout() == Layout.BATCH_MAJOR ? "batch_first" : "sequence-major"));
        out.println("Network: " + describe(rnn) + ", T = " + in.steps() + " steps, B = " + in.batch() + " sequences");
        why.forEach(out::println);
        out.printf(Locale.ROOT, "Threads: %s%n", threads == 0 ? options.resolvedThreads() + " (all available processors)"
                : Integer.toString(threads));
        out.flush();

        OracleCheck.Calls calls = new OracleCheck.Calls(0, repeat, out, Progress.stdoutIsTerminal());
        OracleCheck.Result r = OracleCheck.run(backend, rnn, m.weights(), in, options, calls);
        if (r.failure() != null) {
            throw r.failure();
        }
        Map<String, NpyArray> outputs = m.outputs(in, r.out());
        Npz.write(output, outputs, false);

        out.println();
        printShapes(out, p, outputs);
        out.println();
        out.println(timing(r.nanos()));
        out.println("Wrote " + output + ": " + String.join(", ", outputs.keySet()));
        out.flush();
        if (!check) {
            return 0;
        }
        out.println();
        out.println("Check: every available backend on the same input, against the scalar oracle");
        out.println();
        boolean allPass = OracleCheck.compareAll(out, rnn, m.weights(), in, options, calls);
        return allPass ? 0 : Main.EXIT_FAILED;
    }

    /** Checks the arguments, reads the arrays and the model, and feeds each array to its input. */
    private Prepared prepare() throws IOException {
        boolean onnx = checkUsage();
        if (!backendName.equals(Backends.AUTO)) {
            Backends.byName(backendName); // an unknown name, before any file is read
        }
        requireFile("MODEL", model);
        Given x = read("--input", input);
        Given h = h0 == null ? null : read("--h0", h0);
        Given c = c0 == null ? null : read("--c0", c0);
        Given l = lengths == null ? null : read("--lengths", lengths);
        Map<String, Given> fed = new LinkedHashMap<>();
        for (Map.Entry<String, Path> f : feeds.entrySet()) {
            fed.put(f.getKey(), read("--feed " + f.getKey(), f.getValue()));
        }
        Path dir = output.toAbsolutePath().getParent();
        if (dir != null && !Files.isDirectory(dir)) {
            throw new IllegalArgumentException("--output: no such directory: " + dir);
        }

        Map<String, Given> bound = new LinkedHashMap<>();
        RnnModel m = onnx ? readOnnx(fed, bound) : StateDicts.read(model, new StateDicts.Options(prefix, cell(),
                batchFirst ? Layout.BATCH_MAJOR : Layout.SEQUENCE_MAJOR));
        Map<String, Given> given = new LinkedHashMap<>();
        feed(m, given, m.sequenceInput(), x);
        feed(m, given, h, RnnModel.Role.H0);
        feed(m, given, c, RnnModel.Role.C0);
        feed(m, given, l, RnnModel.Role.LENGTHS);
        for (Map.Entry<String, Given> f : fed.entrySet()) {
            if (!bound.containsKey(f.getKey())) {
                feed(m, given, f.getKey(), f.getValue());
            }
        }
        requireAll(m, given);
        return new Prepared(m, given, bound, input(m, given));
    }

    /** One row per input, bound weight and output: name, shape, dtype, file. */
    private void printShapes(PrintWriter out, Prepared p, Map<String, NpyArray> outputs) {
        TextTable shapes = new TextTable(new String[] {"", "name", "shape", "dtype", "file"},
                Align.LEFT, Align.LEFT, Align.LEFT, Align.LEFT, Align.LEFT);
        p.inputs().forEach((name, g) -> shapes.row("input", name, shape(g.array()), dtype(g.array()), g.file().toString()));
        p.bound().forEach((name, g) -> shapes.row("weight", name, shape(g.array()), dtype(g.array()), g.file().toString()));
        outputs.forEach((name, a) -> shapes.row("output", name, shape(a), dtype(a), output.toString()));
        shapes.print(out, false);
    }

    /** The usage errors the arguments show by themselves; whether the model is an ONNX file. */
    private boolean checkUsage() {
        String name = model.getFileName() == null ? "" : model.getFileName().toString().toLowerCase(Locale.ROOT);
        boolean onnx = name.endsWith(ONNX);
        if (!onnx && !name.endsWith(SAFETENSORS)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "Invalid value for positional parameter"
                    + " 'MODEL': expected a " + ONNX + " or " + SAFETENSORS + " file, got '" + model + "'");
        }
        if (onnx) {
            List<String> given = new ArrayList<>();
            if (batchFirst) {
                given.add("--batch-first");
            }
            if (prefix != null) {
                given.add("--prefix");
            }
            if (cellName != null) {
                given.add("--cell");
            }
            if (!given.isEmpty()) {
                throw new CommandLine.ParameterException(spec.commandLine(), String.join(", ", given)
                        + (given.size() == 1 ? " applies" : " apply") + " to .safetensors state_dicts only: " + model
                        + " is an ONNX graph, which defines its own layout, cell and names");
            }
        }
        if (!output.toString().toLowerCase(Locale.ROOT).endsWith(".npz")) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "Invalid value for option '--output': expected a .npz file, got '" + output + "'");
        }
        cell();
        return onnx;
    }

    private Cell cell() {
        if (cellName == null) {
            return null;
        }
        try {
            return Cell.named(cellName);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "Invalid value for option '--cell': expected"
                    + " lstm, gru, gru-original, rnn-tanh or rnn-relu, or one with options as in 'lstm[peepholes, clip=0.5]',"
                    + " got '" + cellName + "' (" + e.getMessage() + ")");
        }
    }

    private static void requireFile(String what, Path file) throws NoSuchFileException {
        if (!Files.exists(file)) {
            throw new NoSuchFileException(file.toString(), null, what);
        }
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(what + ": expected a file, got '" + file + "', which is not one");
        }
    }

    private static Given read(String option, Path file) throws IOException {
        requireFile(option, file);
        return new Given(option, file, Npy.read(file));
    }

    /**
     * An ONNX graph, with the {@code --feed} arrays bound as its weights when they are weights (a bare node's
     * W, R, B are graph inputs); otherwise they are inputs fed at run time, and {@code bound} stays empty.
     */
    private RnnModel readOnnx(Map<String, Given> fed, Map<String, Given> bound) throws IOException {
        if (fed.isEmpty()) {
            return Onnx.read(model);
        }
        Map<String, NpyArray> arrays = new LinkedHashMap<>();
        fed.forEach((name, g) -> arrays.put(name, g.array()));
        try {
            RnnModel m = Onnx.read(model, arrays);
            bound.putAll(fed);
            return m;
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--feed: " + e.getMessage().replaceFirst("^bound: ", ""), e);
        } catch (ModelFormatException asWeights) {
            // A state or lengths input cannot be a constant: the feeds are run-time inputs then.
            try {
                return Onnx.read(model);
            } catch (ModelFormatException e) {
                if (e.getMessage().equals(asWeights.getMessage())) {
                    throw e; // the graph's own problem
                }
                throw new IllegalArgumentException("--feed: with " + String.join(", ", fed.keySet()) + " bound as"
                        + " weights: " + asWeights.getMessage() + "; without: " + e.problem() + " (--feed binds weights,"
                        + " or feeds inputs at run time, not both: give states and lengths with --h0, --c0, --lengths)",
                        asWeights);
            }
        }
    }

    /** Feeds {@code g} (when given) to the model's one input of {@code role}. */
    private static void feed(RnnModel m, Map<String, Given> given, Given g, RnnModel.Role role) {
        if (g == null) {
            return;
        }
        List<RnnModel.Input> of = m.inputs().stream().filter(i -> i.role() == role).toList();
        if (of.isEmpty()) {
            throw new IllegalArgumentException(g.option() + ": " + m.source() + " takes no " + what(role)
                    + "; its inputs: " + names(m));
        }
        if (of.size() > 1) {
            throw new IllegalArgumentException(g.option() + ": " + m.source() + " takes its " + what(role) + " in "
                    + of.size() + " inputs, " + of.stream().map(RnnModel.Input::name).toList()
                    + ": give each with --feed NAME=FILE.npy");
        }
        feed(m, given, of.get(0).name(), g);
    }

    private static void feed(RnnModel m, Map<String, Given> given, String name, Given g) {
        if (m.inputs().stream().noneMatch(i -> i.name().equals(name))) {
            throw new IllegalArgumentException(g.option() + ": '" + name + "' is not an input of " + m.source()
                    + "; its inputs: " + names(m));
        }
        Given before = given.putIfAbsent(name, g);
        if (before != null) {
            throw new IllegalArgumentException(g.option() + ": input '" + name + "' is already given by " + before.option());
        }
    }

    /** Every input the model cannot run without, named with the option that gives it. */
    private static void requireAll(RnnModel m, Map<String, Given> given) {
        for (RnnModel.Input i : m.inputs()) {
            if (i.required() && !given.containsKey(i.name())) {
                boolean alone = m.inputs().stream().filter(o -> o.role() == i.role()).count() == 1;
                String option = !alone ? "--feed " + i.name() + "=FILE.npy" : switch (i.role()) {
                    case X -> "--input";
                    case H0 -> "--h0";
                    case C0 -> "--c0";
                    case LENGTHS -> "--lengths";
                } + " FILE.npy";
                throw new IllegalArgumentException(m.source() + " needs input '" + i.name() + "' (" + what(i.role())
                        + (i.shape() != null ? ", shape " + i.shape() : "") + "): give it with " + option);
            }
        }
    }

    /** The plan's input; a shape or dtype refused is said with the file it came from. */
    private static RnnInput input(RnnModel m, Map<String, Given> given) {
        Map<String, NpyArray> arrays = new LinkedHashMap<>();
        given.forEach((name, g) -> arrays.put(name, g.array()));
        try {
            return m.input(arrays);
        } catch (IllegalArgumentException e) {
            String msg = e.getMessage();
            for (Map.Entry<String, Given> g : given.entrySet()) {
                if (msg.startsWith(g.getKey() + ": ")) {
                    throw new IllegalArgumentException(msg + " " + g.getValue().from(), e);
                }
            }
            throw e;
        }
    }

    /** The backend named, or auto's choice; {@code lines} get which, and for auto why. */
    private Backend backend(RnnSpec rnn, PlanOptions options, List<String> lines) {
        if (!backendName.equals(Backends.AUTO)) {
            Backend b = Backends.get(backendName, rnn, options);
            lines.add("Backend: " + b.name() + " (--backend)");
            return b;
        }
        Backends.Choice choice = Backends.choose(rnn, options);
        List<String> passed = new ArrayList<>();
        for (Backends.Info i : choice.passedOver()) {
            passed.add(i.name() + (i.available() ? " (does not run it: " + i.reason() + ")" : " (unavailable here)"));
        }
        lines.add("Backend: " + choice.backend().name() + " (auto: the best available that runs this network"
                + (passed.isEmpty() ? ")" : "; passed over " + String.join(", ", passed) + ")"));
        for (Backends.Info i : choice.fixable()) {
            lines.add("  " + i.name() + " would run if the JVM were started for it: " + i.reason());
        }
        return choice.backend();
    }

    /** The median, min and max of the timed calls. */
    private static String timing(long[] nanos) {
        if (nanos.length == 1) {
            return String.format(Locale.ROOT, "Time per call: %.3f ms (one call, the first: it includes the JIT's"
                    + " compilation; --repeat N for the median of N)", nanos[0] / 1e6);
        }
        long min = Arrays.stream(nanos).min().orElseThrow();
        long max = Arrays.stream(nanos).max().orElseThrow();
        return String.format(Locale.ROOT, "Time per call: %.3f ms, the median of %d calls (min %.3f ms, max %.3f ms;"
                + " the forward pass only)", OracleCheck.median(nanos) / 1e6, nanos.length, min / 1e6, max / 1e6);
    }

    /** The network in one line: the cell with its options ({@link Cell#name()}), layers, direction and sizes. */
    static String describe(RnnSpec rnn) {
        return String.format(Locale.ROOT, "%s, %d layer%s, %s, input %d, hidden %d%s%s", rnn.cell().name(), rnn.layers(),
                rnn.layers() == 1 ? "" : "s", rnn.directions() == 2 ? "bidirectional" : "unidirectional",
                rnn.inputSize(), rnn.hiddenSize(), rnn.projectionSize() > 0 ? ", projected to " + rnn.projectionSize() : "",
                rnn.bias() ? "" : ", no bias");
    }

    private static String what(RnnModel.Role role) {
        return switch (role) {
            case X -> "input sequence";
            case H0 -> "initial hidden state";
            case C0 -> "initial cell state";
            case LENGTHS -> "sequence lengths";
        };
    }

    private static String names(RnnModel m) {
        return String.join(", ", m.inputs().stream().map(RnnModel.Input::name).toList());
    }

    private static String shape(NpyArray a) {
        return Arrays.toString(a.shape());
    }

    private static String dtype(NpyArray a) {
        return a.dtype().name().toLowerCase(Locale.ROOT);
    }
}
