package io.cellstate.cli;

import static io.cellstate.cli.Cli.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.cellstate.Activation;
import io.cellstate.Backend;
import io.cellstate.Backends;
import io.cellstate.Cell;
import io.cellstate.Direction;
import io.cellstate.Layout;
import io.cellstate.PlanOptions;
import io.cellstate.RnnPlan;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.Tolerance;
import io.cellstate.bindings.Models;
import io.cellstate.bindings.Npy;
import io.cellstate.bindings.NpyArray;
import io.cellstate.bindings.Npz;
import io.cellstate.bindings.Onnx;
import io.cellstate.bindings.RnnModel;
import io.cellstate.bindings.StateDicts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;

/**
 * {@code cellstate run} in-process: on models this test writes (the command's outputs equal the library's
 * own run on the same backend, bit for bit), on every model of ../shared/conformance (within the tolerance
 * of PyTorch's and ONNX Runtime's outputs, on every CPU backend), and on user mistakes (one line, no stack
 * trace, a non-zero exit).
 */
class RunCommandTest {
    private static final int STEPS = 6;
    private static final int BATCH = 3;

    @TempDir
    Path dir;

    // ---- models written here ----

    static Stream<Arguments> selfWritten() {
        List<Arguments> all = new ArrayList<>();
        for (String cell : List.of("lstm", "gru", "rnn-relu")) {
            for (String format : List.of("onnx", "safetensors")) {
                for (boolean batchFirst : new boolean[] {false, true}) {
                    for (boolean states : new boolean[] {false, true}) {
                        for (boolean lengths : new boolean[] {false, true}) {
                            all.add(Arguments.of(cell, format, batchFirst, states, lengths));
                        }
                    }
                }
            }
        }
        return all.stream();
    }

    /**
     * A 2-layer bidirectional network written as {@code .onnx} (PyTorch's export, with state and length inputs
     * when asked) or as a state_dict: the command's {@code .npz} holds what the library gives on the same backend
     * and thread count, bit for bit, under the model's output names. The input is float64 for the GRU (converted
     * on the way in), float32 otherwise.
     */
    @ParameterizedTest(name = "{0} .{1} batchFirst={2} states={3} lengths={4}")
    @MethodSource("selfWritten")
    void selfWrittenModelGivesTheLibrarysOutputs(String cellName, String format, boolean batchFirst, boolean states,
            boolean lengths) throws IOException {
        RnnSpec spec = RnnSpec.builder().cell(Cell.named(cellName)).inputSize(5).hiddenSize(7).layers(2)
                .direction(Direction.BIDIRECTIONAL).build();
        RnnWeights weights = RnnWeights.random(spec, 11);
        Layout layout = batchFirst ? Layout.BATCH_MAJOR : Layout.SEQUENCE_MAJOR;
        boolean onnx = format.equals("onnx");
        Path model = dir.resolve("model." + format);
        if (onnx) {
            Onnx.write(model, weights, new Onnx.ExportOptions(layout, states, lengths));
        } else {
            StateDicts.write(model, weights);
        }

        SplittableRandom rng = new SplittableRandom(5);
        int[] xShape = batchFirst ? new int[] {BATCH, STEPS, 5} : new int[] {STEPS, BATCH, 5};
        NpyArray x = cellName.equals("gru") ? NpyArray.ofDoubles(rng.doubles(STEPS * BATCH * 5, -1, 1).toArray(), xShape)
                : NpyArray.ofFloats(floats(rng, STEPS * BATCH * 5), xShape);
        int rows = spec.stateCount();
        NpyArray h0 = NpyArray.ofFloats(floats(rng, rows * BATCH * 7), rows, BATCH, 7);
        NpyArray c0 = NpyArray.ofFloats(floats(rng, rows * BATCH * 7), rows, BATCH, 7);
        NpyArray len = onnx ? NpyArray.ofInts(new int[] {STEPS, 2, 4}, BATCH) : NpyArray.ofLongs(new long[] {STEPS, 2, 4}, BATCH);

        List<String> args = new ArrayList<>(List.of("run", model.toString(), "--input", write("x", x)));
        Map<RnnModel.Role, NpyArray> feeds = new LinkedHashMap<>();
        feeds.put(RnnModel.Role.X, x);
        if (states) {
            args.addAll(List.of("--h0", write("h0", h0)));
            feeds.put(RnnModel.Role.H0, h0);
            if (spec.cell().hasCellState()) {
                args.addAll(List.of("--c0", write("c0", c0)));
                feeds.put(RnnModel.Role.C0, c0);
            }
        }
        if (lengths) {
            args.addAll(List.of("--lengths", write("lengths", len)));
            feeds.put(RnnModel.Role.LENGTHS, len);
        }
        if (batchFirst && !onnx) {
            args.add("--batch-first");
        }
        Path out = dir.resolve("out.npz");
        args.addAll(List.of("--output", out.toString(), "--backend", "vector", "--threads", "1", "--repeat", "2"));
        Cli.Run r = run(args.toArray(String[]::new));
        assertEquals(0, r.exitCode(), r.all());
        assertTrue(r.out().contains("Backend: vector (--backend)"), r.out());
        assertTrue(r.out().contains("the median of 2 calls"), r.out());

        RnnModel m = Models.read(model, new StateDicts.Options(null, null, layout));
        Map<String, NpyArray> in = new LinkedHashMap<>();
        for (RnnModel.Input i : m.inputs()) {
            if (feeds.containsKey(i.role())) {
                in.put(i.name(), feeds.get(i.role()));
            }
        }
        assertEquals(feeds.size(), in.size(), "every array has its input: " + m.inputs());
        Map<String, NpyArray> expected;
        try (RnnPlan plan = Backends.get("vector", spec).plan(spec, weights, PlanOptions.defaults().withThreads(1))) {
            expected = m.run(plan, in);
        }
        Map<String, NpyArray> got = Npz.read(out);
        List<String> names = spec.cell().hasCellState() ? List.of("y", "hn", "cn") : List.of("y", "hn");
        assertEquals(names, List.copyOf(got.keySet()), "the model's output names, in its order");
        for (String n : names) {
            assertEquals(expected.get(n), got.get(n), n + ": the library's output, bit for bit");
            assertTrue(r.out().contains(Arrays.toString(got.get(n).shape())), n + "'s shape printed:\n" + r.out());
        }
    }

    /**
     * Cells with options (every LSTM option with parameterised activations, a projection with peepholes, a GRU's and an
     * RNN's activations per direction), each as .onnx and as .safetensors (a projected LSTM as a state_dict only: ONNX
     * cannot hold it), with states and lengths.
     */
    static Stream<Arguments> optionModels() {
        Activation hardSigmoid = new Activation(Activation.Function.HARD_SIGMOID, 0.3f, 0.45f);
        Activation softsign = Activation.of(Activation.Function.SOFTSIGN);
        List<Cell> cells = List.of(
                Cell.lstm().withPeepholes(true).withClip(0.8f).withInputForget(true).withActivations(hardSigmoid, softsign,
                        new Activation(Activation.Function.ELU, 0.7f, 0)),
                Cell.lstm().withProjection(3).withPeepholes(true),
                Cell.gruOriginal().withActivations(hardSigmoid, Activation.tanh(), Activation.sigmoid(), softsign),
                new Cell.Rnn(List.of(new Activation(Activation.Function.LEAKY_RELU, 0.1f, 0), Activation.tanh())));
        List<Arguments> all = new ArrayList<>();
        for (Cell cell : cells) {
            for (String format : List.of("onnx", "safetensors")) {
                if (!(cell instanceof Cell.Lstm l && l.projectionSize() > 0 && format.equals("onnx"))) {
                    all.add(Arguments.of(cell, format));
                }
            }
        }
        return all.stream();
    }

    /**
     * A 2-layer bidirectional network with options run by the command with --check: it prints the cell with its
     * options, auto picks a backend that runs it (the others are listed as not run, with their reason), and the
     * {@code .npz} holds what the library gives on that backend, bit for bit ([.., P] for a projected LSTM's h, [.., H]
     * for its c).
     */
    @ParameterizedTest(name = "{0} .{1}")
    @MethodSource("optionModels")
    void optionModelRunsAndChecks(Cell cell, String format) throws IOException {
        RnnSpec spec = RnnSpec.builder().cell(cell).inputSize(4).hiddenSize(6).layers(2).direction(Direction.BIDIRECTIONAL)
                .build();
        RnnWeights weights = RnnWeights.random(spec, 13);
        boolean onnx = format.equals("onnx");
        Path model = dir.resolve("model." + format);
        if (onnx) {
            Onnx.write(model, weights, new Onnx.ExportOptions(Layout.SEQUENCE_MAJOR, true, true));
        } else {
            StateDicts.write(model, weights);
        }
        SplittableRandom rng = new SplittableRandom(8);
        int rows = spec.stateCount();
        int h = spec.outputHiddenSize();
        NpyArray x = NpyArray.ofFloats(floats(rng, STEPS * BATCH * 4), STEPS, BATCH, 4);
        NpyArray h0 = NpyArray.ofFloats(floats(rng, rows * BATCH * h), rows, BATCH, h);
        NpyArray len = NpyArray.ofInts(new int[] {STEPS, 1, 4}, BATCH);
        Path out = dir.resolve("out.npz");
        List<String> args = new ArrayList<>(List.of("run", model.toString(), "--input", write("x", x), "--h0", write("h0", h0),
                "--lengths", write("lengths", len), "--output", out.toString(), "--threads", "1", "--check"));
        Map<RnnModel.Role, NpyArray> feeds = new LinkedHashMap<>();
        feeds.put(RnnModel.Role.X, x);
        feeds.put(RnnModel.Role.H0, h0);
        feeds.put(RnnModel.Role.LENGTHS, len);
        if (spec.cell().hasCellState()) {
            NpyArray c0 = NpyArray.ofFloats(floats(rng, rows * BATCH * 6), rows, BATCH, 6);
            args.addAll(List.of("--c0", write("c0", c0)));
            feeds.put(RnnModel.Role.C0, c0);
        }
        Cli.Run r = run(args.toArray(String[]::new));
        assertEquals(0, r.exitCode(), r.all());
        assertTrue(r.out().contains("Network: " + cell.name() + ", 2 layers, bidirectional, input 4, hidden 6"
                + (spec.projectionSize() > 0 ? ", projected to 3" : "") + ", T = "), r.out());
        Backend auto = Backends.auto(spec);
        assertTrue(r.out().contains("Backend: " + auto.name() + " (auto"), r.out());
        assertTrue(r.row("scalar").contains("oracle"), r.out());
        assertFalse(r.out().contains("FAIL"), r.out());
        for (Backend b : Backends.all()) {
            String lacks = b.availability().available() ? b.unsupported(spec) : "";
            if (!lacks.isEmpty()) {
                assertTrue(r.out().contains(b.name() + ": does not support this network: " + lacks), r.out());
                System.out.println("RunCommandTest: " + cell + " ." + format + ": " + b.name() + " not run: " + lacks);
            }
        }

        RnnModel m = Models.read(model, StateDicts.Options.DEFAULT);
        assertEquals(spec, m.spec(), "the file's network");
        Map<String, NpyArray> in = new LinkedHashMap<>();
        for (RnnModel.Input i : m.inputs()) {
            if (feeds.containsKey(i.role())) {
                in.put(i.name(), feeds.get(i.role()));
            }
        }
        Map<String, NpyArray> expected;
        try (RnnPlan plan = auto.plan(spec, weights, PlanOptions.defaults().withThreads(1))) {
            expected = m.run(plan, in);
        }
        Map<String, NpyArray> got = Npz.read(out);
        assertEquals(List.copyOf(expected.keySet()), List.copyOf(got.keySet()));
        for (String n : expected.keySet()) {
            assertEquals(expected.get(n), got.get(n), n + ": the library's output, bit for bit");
        }
        if (spec.cell().hasCellState()) {
            assertArrayEquals(new int[] {rows, BATCH, h}, got.get("hn").shape(), "hn is [L*D, B, H_out]");
            assertArrayEquals(new int[] {rows, BATCH, 6}, got.get("cn").shape(), "cn is [L*D, B, H]");
        }
    }

    /** A state_dict without metadata takes a cell with options from --cell; one the parser refuses is a usage error. */
    @Test
    void cellWithOptionsFromTheCommandLine() throws IOException {
        RnnSpec spec = RnnSpec.builder().cell(Cell.lstm().withClip(0.5f).withInputForget(true)).inputSize(3).hiddenSize(4)
                .build();
        RnnWeights w = RnnWeights.random(spec, 2);
        Map<String, io.cellstate.bindings.Safetensors.Tensor> t = new LinkedHashMap<>();
        for (RnnWeights.Param p : RnnWeights.Param.values()) {
            if (p.in(spec)) {
                t.put(p.name(0, 0), new io.cellstate.bindings.Safetensors.Tensor(p.shape(spec, 0), w.array(p, 0, 0)));
            }
        }
        Path model = dir.resolve("pytorch.safetensors");
        io.cellstate.bindings.Safetensors.write(model, t, Map.of("format", "pt"));
        String x = write("x", NpyArray.ofFloats(floats(new SplittableRandom(3), 5 * 2 * 3), 5, 2, 3));
        Cli.Run r = run("run", model.toString(), "--input", x, "--output", dir.resolve("o.npz").toString(), "--cell",
                "lstm[clip=0.5, input_forget]", "--check");
        assertEquals(0, r.exitCode(), r.all());
        assertTrue(r.out().contains("Network: lstm[clip=0.5, input_forget], 1 layer, unidirectional, input 3, hidden 4"),
                r.out());
        Cli.Run bad = run("run", model.toString(), "--input", x, "--output", dir.resolve("o.npz").toString(), "--cell",
                "lstm[clip=0.5, wings]");
        assertEquals(CommandLine.ExitCode.USAGE, bad.exitCode(), bad.all());
        assertTrue(bad.err().lines().findFirst().orElseThrow().startsWith("Invalid value for option '--cell': expected lstm,"
                + " gru, gru-original, rnn-tanh or rnn-relu, or one with options as in 'lstm[peepholes, clip=0.5]', got"
                + " 'lstm[clip=0.5, wings]' (cell 'lstm[clip=0.5, wings]': expected projection, peepholes, clip,"
                + " input_forget or activations at offset 15, got 'wings')"), bad.err());
        noStackTrace(bad);
    }

    /** --check runs every available backend against the oracle on the file's model, printing demo's table. */
    @Test
    void checkComparesEveryBackendWithTheOracle() throws IOException {
        RnnSpec spec = RnnSpec.builder().inputSize(4).hiddenSize(9).layers(2).direction(Direction.BIDIRECTIONAL).build();
        Path model = dir.resolve("m.safetensors");
        StateDicts.write(model, RnnWeights.random(spec, 3));
        String x = write("x", NpyArray.ofFloats(floats(new SplittableRandom(1), 5 * 2 * 4), 5, 2, 4));
        Cli.Run r = run("run", model.toString(), "--input", x, "--output", dir.resolve("o.npz").toString(), "--check");
        assertEquals(0, r.exitCode(), r.all());
        assertTrue(r.row("scalar").contains("oracle"), r.out());
        for (Backend b : cpuBackends(spec)) {
            if (!b.name().equals("scalar")) {
                assertTrue(r.row(b.name()).contains("PASS"), r.out());
            }
        }
        assertTrue(r.out().contains("tolerance = 8 * u * sqrt(n * T * layers)"), r.out());
        assertTrue(r.out().contains(String.format(java.util.Locale.ROOT, "%.2e", Tolerance.forward(spec, 5))), r.out());
    }

    // ---- the shared conformance cases ----

    static Stream<Arguments> onnxExport() throws IOException {
        return cases("onnx-export", "model.onnx");
    }

    static Stream<Arguments> torch() throws IOException {
        return cases("torch", "model.safetensors");
    }

    static Stream<Arguments> bareNodes() throws IOException {
        List<Path> all = new ArrayList<>(folders("onnx", "case.json"));
        all.addAll(folders("onnx-runtime", "case.json"));
        return all.isEmpty() ? absent("onnx, onnx-runtime")
                : all.stream().map(d -> Arguments.of(d.getParent().getFileName() + "/" + d.getFileName(), d));
    }

    /** PyTorch's ONNX export of each case, run on every CPU backend with --check, against PyTorch's float64 outputs. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("onnxExport")
    void onnxExportMatchesPyTorch(String name, Path dir) throws IOException {
        present(name, dir);
        JsonObject meta = meta(dir);
        Path model = dir.resolve("model.onnx");
        List<String> args = new ArrayList<>(List.of("run", model.toString(), "--input", dir.resolve("x.npy").toString()));
        if (meta.get("initial_state_inputs").getAsBoolean()) {
            args.addAll(List.of("--h0", dir.resolve("h0.npy").toString()));
            if (Files.exists(dir.resolve("c0.npy"))) {
                args.addAll(List.of("--c0", dir.resolve("c0.npy").toString()));
            }
        }
        RnnSpec spec = Onnx.read(model).spec();
        int steps = meta.get("seq_len").getAsInt();
        everyCpuBackend(name, spec, steps, args, dir);
    }

    /**
     * Each PyTorch state_dict, read with its meta.json's batch_first and nonlinearity, fed its initial states and
     * lengths, run on every CPU backend with --check, against PyTorch's float64 outputs; a projected LSTM's proj_size
     * comes from its weight_hr.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("torch")
    void stateDictMatchesPyTorch(String name, Path dir) throws IOException {
        present(name, dir);
        JsonObject meta = meta(dir);
        Path model = dir.resolve("model.safetensors");
        List<String> args = new ArrayList<>(List.of("run", model.toString(), "--input", dir.resolve("x.npy").toString()));
        boolean batchFirst = meta.get("batch_first").getAsBoolean();
        if (batchFirst) {
            args.add("--batch-first");
        }
        JsonElement nonlinearity = meta.get("nonlinearity");
        Cell cell = null;
        if (nonlinearity != null && !nonlinearity.isJsonNull()) {
            cell = Cell.named("rnn-" + nonlinearity.getAsString());
            args.addAll(List.of("--cell", cell.name()));
        }
        if (meta.get("has_initial_state").getAsBoolean()) {
            args.addAll(List.of("--h0", dir.resolve("h0.npy").toString()));
            if (Files.exists(dir.resolve("c0.npy"))) {
                args.addAll(List.of("--c0", dir.resolve("c0.npy").toString()));
            }
        }
        JsonElement lengths = meta.get("lengths");
        if (lengths != null && !lengths.isJsonNull()) {
            assertTrue(Files.exists(dir.resolve("lengths.npy")), name + ": meta.json has lengths, the folder no lengths.npy");
            args.addAll(List.of("--lengths", dir.resolve("lengths.npy").toString()));
        }
        RnnSpec spec = StateDicts.read(model, new StateDicts.Options(null, cell,
                batchFirst ? Layout.BATCH_MAJOR : Layout.SEQUENCE_MAJOR)).spec();
        assertEquals(meta.get("proj_size").getAsInt(), spec.projectionSize(), name + ": proj_size");
        everyCpuBackend(name, spec, meta.get("seq_len").getAsInt(), args, dir);
    }

    /**
     * The single-node models of ONNX's node tests and ONNX Runtime's cases, whose weights are graph inputs (the
     * peepholes P among them): bound with --feed, the sequence, states and lengths given by role, checked against the
     * files' outputs; the network line names the cell's options (clip, input_forget, activations, peepholes).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("bareNodes")
    void bareNodeWithItsWeightsFed(String name, Path dir) throws IOException {
        present(name, dir);
        JsonObject json = JsonParser.parseString(Files.readString(dir.resolve("case.json"))).getAsJsonObject();
        List<String> nodeIn = json.getAsJsonArray("inputs").asList().stream().map(JsonElement::getAsString).toList();
        String[] options = {"--input", "--feed", "--feed", "--feed", "--lengths", "--h0", "--c0", "--feed"};
        Path out = this.dir.resolve("out.npz");
        List<String> args = new ArrayList<>(List.of("run", dir.resolve("model.onnx").toString(), "--output", out.toString(),
                "--check"));
        Map<String, NpyArray> weights = new LinkedHashMap<>();
        for (int i = 0; i < nodeIn.size(); i++) {
            String n = nodeIn.get(i);
            if (n.isEmpty()) {
                continue;
            }
            Path f = dir.resolve(n + ".npy");
            args.addAll(options[i].equals("--feed") ? List.of("--feed", n + "=" + f) : List.of(options[i], f.toString()));
            if (options[i].equals("--feed")) {
                weights.put(n, Npy.read(f));
            }
        }
        Cli.Run r = run(args.toArray(String[]::new));
        assertEquals(0, r.exitCode(), r.all());
        RnnModel model = Onnx.read(dir.resolve("model.onnx"), weights);
        assertTrue(r.out().contains("Network: " + model.spec().cell().name() + ", "), r.out());
        NpyArray x = Npy.read(dir.resolve(nodeIn.get(0) + ".npy"));
        int steps = x.shape()[model.layout() == Layout.BATCH_MAJOR ? 1 : 0];
        Map<String, NpyArray> got = Npz.read(out);
        assertEquals(model.outputNames(), List.copyOf(got.keySet()), name);
        double tol = Tolerance.forward(model.spec(), Math.max(1, steps));
        for (String n : got.keySet()) {
            within(name + ", output " + n, Npy.read(dir.resolve(n + ".npy")), got.get(n), tol);
        }
    }

    /** Runs {@code args} with --check on each CPU backend, and checks its outputs against the case's .npy files. */
    private void everyCpuBackend(String name, RnnSpec spec, int steps, List<String> args, Path caseDir) throws IOException {
        double tol = Tolerance.forward(spec, steps);
        StringBuilder report = new StringBuilder();
        for (Backend b : cpuBackends(spec)) {
            Path out = dir.resolve("out-" + b.name() + ".npz");
            List<String> all = new ArrayList<>(args);
            all.addAll(List.of("--output", out.toString(), "--backend", b.name(), "--check"));
            Cli.Run r = run(all.toArray(String[]::new));
            assertEquals(0, r.exitCode(), name + " on " + b.name() + ":\n" + r.all());
            assertFalse(r.out().contains("FAIL"), r.out());
            Map<String, NpyArray> got = Npz.read(out);
            List<String> expected = Stream.of("y", "hn", "cn").filter(n -> Files.exists(caseDir.resolve(n + ".npy"))).toList();
            assertEquals(expected, List.copyOf(got.keySet()), name + ": the outputs");
            for (String n : expected) {
                double err = within(name + " on " + b.name() + ", output " + n, Npy.read(caseDir.resolve(n + ".npy")),
                        got.get(n), tol);
                report.append(String.format(java.util.Locale.ROOT, " %s/%s %.3f", b.name(), n, err / tol));
            }
        }
        System.out.println("RunCommandTest: " + name + ": error/tolerance" + report);
    }

    // ---- mistakes ----

    /** Each mistake: one line on standard error, no stack trace, nothing on standard output, a non-zero exit. */
    @Test
    void userErrorsAreOneLineWithoutAStackTrace() throws IOException {
        RnnSpec spec = RnnSpec.lstm(5, 7);
        Path onnx = dir.resolve("m.onnx");
        Onnx.write(onnx, RnnWeights.random(spec, 1), Onnx.ExportOptions.DEFAULT);
        Path st = dir.resolve("m.safetensors");
        StateDicts.write(st, RnnWeights.random(spec, 1));
        String x = write("x", NpyArray.ofFloats(floats(new SplittableRandom(2), 4 * 2 * 5), 4, 2, 5));
        String x4 = write("x4", NpyArray.ofFloats(floats(new SplittableRandom(2), 4 * 2 * 4), 4, 2, 4));
        String out = dir.resolve("out.npz").toString();
        byte[] bytes = Files.readAllBytes(onnx);
        Path truncated = dir.resolve("truncated.onnx");
        Files.write(truncated, Arrays.copyOf(bytes, bytes.length - 5));
        byte[] stBytes = Files.readAllBytes(st);
        Path truncatedSt = dir.resolve("truncated.safetensors");
        Files.write(truncatedSt, Arrays.copyOf(stBytes, stBytes.length - 3));

        failsWith(Main.EXIT_FAILED, "no such file: " + dir.resolve("none.onnx"),
                "run", dir.resolve("none.onnx").toString(), "--input", x, "--output", out);
        failsWith(Main.EXIT_FAILED, "--input: no such file: " + dir.resolve("none.npy"),
                "run", onnx.toString(), "--input", dir.resolve("none.npy").toString(), "--output", out);
        failsWith(Main.EXIT_FAILED, truncated.toString() + ": ",
                "run", truncated.toString(), "--input", x, "--output", out);
        failsWith(Main.EXIT_FAILED, truncatedSt.toString() + ": ",
                "run", truncatedSt.toString(), "--input", x, "--output", out);
        failsWith(Main.EXIT_FAILED, "x: expected 5 features on axis 2, got shape [4, 2, 4] (--input " + x4 + ")",
                "run", onnx.toString(), "--input", x4, "--output", out);
        failsWith(Main.EXIT_FAILED, "backend: expected one of",
                "run", onnx.toString(), "--input", x, "--output", out, "--backend", "nosuch");
        failsWith(Main.EXIT_FAILED, "--h0: " + onnx + " takes no initial hidden state; its inputs: x",
                "run", onnx.toString(), "--input", x, "--h0", x, "--output", out);
        failsWith(Main.EXIT_FAILED, "--feed w: 'w' is not an input of " + st,
                "run", st.toString(), "--input", x, "--feed", "w=" + x, "--output", out);
        failsWith(Main.EXIT_FAILED, "--output: no such directory: " + dir.resolve("nowhere"),
                "run", st.toString(), "--input", x, "--output", dir.resolve("nowhere/out.npz").toString());

        Path withStates = dir.resolve("states.onnx");
        Onnx.write(withStates, RnnWeights.random(spec, 1), new Onnx.ExportOptions(Layout.SEQUENCE_MAJOR, true, false));
        failsWith(Main.EXIT_FAILED, "needs input 'h0' (initial hidden state", "run", withStates.toString(), "--input", x,
                "--output", out);

        // usage errors: picocli's exit code, the message first, then the usage
        Cli.Run bf = run("run", onnx.toString(), "--input", x, "--output", out, "--batch-first");
        assertEquals(CommandLine.ExitCode.USAGE, bf.exitCode(), bf.all());
        assertTrue(bf.err().lines().findFirst().orElseThrow().startsWith("--batch-first applies to .safetensors state_dicts"
                + " only: " + onnx + " is an ONNX graph"), bf.err());
        noStackTrace(bf);
        Cli.Run npy = run("run", onnx.toString(), "--input", x, "--output", dir.resolve("out.npy").toString());
        assertEquals(CommandLine.ExitCode.USAGE, npy.exitCode(), npy.all());
        assertTrue(npy.err().contains("'--output': expected a .npz file"), npy.err());
        Cli.Run noOutput = run("run", onnx.toString(), "--input", x);
        assertEquals(CommandLine.ExitCode.USAGE, noOutput.exitCode(), noOutput.all());
        assertTrue(noOutput.err().contains("--output"), noOutput.err());
    }

    @Test
    void helpListsTheOptions() {
        Cli.Run help = run("run", "--help");
        assertEquals(0, help.exitCode(), help.err());
        for (String o : List.of("--input", "--h0", "--c0", "--lengths", "--feed", "--batch-first", "--output", "--backend",
                "--threads", "--repeat", "--check")) {
            assertTrue(help.out().contains(o), o + " in:\n" + help.out());
        }
        Cli.Run top = run("--help");
        assertTrue(top.out().contains("run"), top.out());
    }

    private static void failsWith(int code, String message, String... args) {
        Cli.Run r = run(args);
        assertEquals(code, r.exitCode(), r.all());
        assertTrue(r.err().startsWith("cellstate: "), r.err());
        assertTrue(r.err().contains(message), "'" + message + "' in: " + r.err());
        oneLine(r);
        assertEquals("", r.out());
    }

    private static void oneLine(Cli.Run r) {
        noStackTrace(r);
        assertEquals(1, r.err().lines().count(), "one line:\n" + r.err());
    }

    private static void noStackTrace(Cli.Run r) {
        assertFalse(r.err().contains("Exception") || r.err().contains("\tat "), "no stack trace:\n" + r.err());
    }

    // ---- helpers ----

    /**
     * Every CPU backend that runs {@code spec} here; those that do not are printed with their reason (vector and blas
     * run a cell's options once their kernels have them).
     */
    private static List<Backend> cpuBackends(RnnSpec spec) {
        List<Backend> cpu = Backends.available(spec).stream().filter(b -> !b.name().equals("cudnn")).toList();
        for (Backend b : Backends.all()) {
            String lacks = b.availability().available() ? b.unsupported(spec) : "";
            if (!b.name().equals("cudnn") && !lacks.isEmpty()) {
                System.out.println("SKIPPED RunCommandTest " + spec.cell() + " on " + b.name() + ": " + lacks);
            }
        }
        if (spec.cell().isPlain()) {
            assertTrue(cpu.stream().anyMatch(b -> b.name().equals("vector")), "the tests run with the Vector API: " + cpu);
        }
        assertTrue(cpu.stream().anyMatch(b -> b.name().equals("scalar")), "the oracle runs every network: " + cpu);
        return cpu;
    }

    /** {@code got} has {@code expected}'s shape and lies within {@code tol} of it; the largest error. */
    private static double within(String what, NpyArray expected, NpyArray got, double tol) {
        assertArrayEquals(expected.shape(), got.shape(), what + ": shape");
        double[] e = expected.toDoubles();
        double[] g = got.toDoubles();
        double worst = 0;
        for (int i = 0; i < e.length; i++) {
            double d = Math.abs(e[i] - g[i]);
            worst = Double.isNaN(d) ? Double.POSITIVE_INFINITY : Math.max(worst, d);
        }
        assertTrue(worst <= tol, what + ": max |error| " + worst + " > tolerance " + tol);
        return worst;
    }

    private String write(String name, NpyArray a) throws IOException {
        Path f = dir.resolve(name + ".npy");
        Npy.write(f, a);
        return f.toString();
    }

    private static float[] floats(SplittableRandom rng, int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) rng.nextDouble(-1, 1);
        }
        return f;
    }

    private static JsonObject meta(Path dir) throws IOException {
        return JsonParser.parseString(Files.readString(dir.resolve("meta.json"))).getAsJsonObject();
    }

    /** The set's folder of ../shared/conformance (system property cellstate.conformance), or null when absent. */
    private static Path root(String set) {
        String p = System.getProperty("cellstate.conformance");
        Path root = p == null ? null : Path.of(p).normalize().resolve(set);
        return root != null && Files.isDirectory(root) ? root : null;
    }

    private static List<Path> folders(String set, String marker) throws IOException {
        Path root = root(set);
        if (root == null) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(root)) {
            return s.filter(d -> Files.exists(d.resolve(marker))).sorted().toList();
        }
    }

    /** The case folders of a set, named by folder; one case saying the set is absent when it is. */
    private static Stream<Arguments> cases(String set, String marker) throws IOException {
        List<Path> found = folders(set, marker);
        return found.isEmpty() ? absent(set) : found.stream().map(d -> Arguments.of(d.getFileName().toString(), d));
    }

    private static Stream<Arguments> absent(String set) {
        return Stream.of(Arguments.of("(no " + set + " cases)", null));
    }

    private static void present(String name, Path dir) {
        if (dir == null) {
            String why = name + ": no shared conformance data at " + System.getProperty("cellstate.conformance")
                    + " (system property cellstate.conformance)";
            System.out.println("RunCommandTest: " + why + ": skipped");
            assumeTrue(false, why);
        }
    }
}
