package io.cellstate.bindings;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.cellstate.Backends;
import io.cellstate.Cell;
import io.cellstate.Direction;
import io.cellstate.Layout;
import io.cellstate.RnnInput;
import io.cellstate.RnnOutput;
import io.cellstate.RnnPlan;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Read, write, read: the same network. For ONNX files (PyTorch's exports re-read after writing, every
 * cell and option written and read back, and the protobuf messages themselves) and for state_dicts (the
 * cell's options in its metadata, a projection and peepholes in their tensors).
 */
class OnnxRoundTripTest {
    @TempDir
    Path dir;

    static Stream<Arguments> specs() {
        List<Arguments> out = new ArrayList<>();
        int i = 0;
        for (Cell cell : Cell.all()) {
            for (Direction d : Direction.values()) {
                int layers = 1 + (i % 3);
                if (d == Direction.REVERSE) {
                    layers = 1;
                }
                boolean bias = i % 4 != 3;
                Layout layout = i % 2 == 0 ? Layout.SEQUENCE_MAJOR : Layout.BATCH_MAJOR;
                RnnSpec spec = RnnSpec.builder().cell(cell).inputSize(3 + i % 4).hiddenSize(4 + i % 3).layers(layers)
                        .direction(d).bias(bias).build();
                Onnx.ExportOptions o = new Onnx.ExportOptions(layout, i % 3 != 0, i % 5 < 2);
                out.add(Arguments.of(cell.name() + " " + d + " x" + layers + (bias ? "" : " no-bias") + " " + layout
                        + (o.initialStates() ? " states" : "") + (o.lengths() ? " lengths" : ""), spec, o));
                i++;
            }
        }
        List<Cell> options = new ArrayList<>(SharedCases.optionCells());
        options.addAll(SharedCases.perDirectionCells());
        for (Cell cell : options) {
            boolean perDirection = SharedCases.perDirectionCells().contains(cell);
            Direction d = perDirection ? Direction.BIDIRECTIONAL : Direction.values()[i % 3];
            int layers = d == Direction.REVERSE ? 1 : 1 + i % 3;
            boolean bias = i % 4 != 3;
            Layout layout = i % 2 == 0 ? Layout.SEQUENCE_MAJOR : Layout.BATCH_MAJOR;
            RnnSpec spec = RnnSpec.builder().cell(cell).inputSize(3 + i % 4).hiddenSize(4 + i % 3).layers(layers)
                    .direction(d).bias(bias).build();
            Onnx.ExportOptions o = new Onnx.ExportOptions(layout, i % 3 != 0, i % 5 < 2);
            out.add(Arguments.of(cell.name() + " " + d + " x" + layers + (bias ? "" : " no-bias") + " " + layout
                    + (o.initialStates() ? " states" : "") + (o.lengths() ? " lengths" : ""), spec, o));
            i++;
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("specs")
    void writtenModelReadsBackAndRunsAsThePlan(String name, RnnSpec spec, Onnx.ExportOptions options) throws IOException {
        RnnWeights w = RnnWeights.random(spec, name.hashCode());
        Path f = dir.resolve("m.onnx");
        Onnx.write(f, w, options);
        RnnModel m = Onnx.read(f);
        assertEquals(spec, m.spec(), name);
        assertEquals(w.toPyTorch().keySet(), m.weights().toPyTorch().keySet(), name);
        w.toPyTorch().forEach((k, v) -> assertArrayEquals(v, m.weights().toPyTorch().get(k), name + " " + k));
        assertEquals(options.layout(), m.layout(), name);

        // The model's run equals the plan's own forward on the same tensors, bit for bit.
        Random r = new Random(7);
        int steps = 5;
        int batch = 3;
        int[] xShape = options.layout().shape(steps, batch, spec.inputSize());
        float[] x = random(r, steps * batch * spec.inputSize());
        Map<String, NpyArray> feed = new LinkedHashMap<>();
        feed.put("x", NpyArray.ofFloats(x, xShape));
        int rows = spec.stateCount();
        float[] h0 = random(r, rows * batch * spec.hiddenSize());
        float[] c0 = random(r, rows * batch * spec.hiddenSize());
        int[] lengths = {5, 2, 4};
        if (options.initialStates()) {
            feed.put("h0", NpyArray.ofFloats(h0, rows, batch, spec.hiddenSize()));
            if (spec.cell().hasCellState()) {
                feed.put("c0", NpyArray.ofFloats(c0, rows, batch, spec.hiddenSize()));
            }
        }
        if (options.lengths()) {
            feed.put("lengths", NpyArray.ofInts(lengths, batch));
        }
        for (io.cellstate.Backend b : SharedCases.backends(spec, "OnnxRoundTripTest " + name)) {
            runsAsThePlan(name + " on " + b.name(), b, m, w, feed, options.layout(), x, xShape,
                    options.lengths() ? lengths : null, options.initialStates() ? h0 : null,
                    options.initialStates() && spec.cell().hasCellState() ? c0 : null);
        }
    }

    /** The model's run on {@code feed} equals the plan's own forward on the same tensors, bit for bit. */
    private static void runsAsThePlan(String name, io.cellstate.Backend b, RnnModel m, RnnWeights w,
            Map<String, NpyArray> feed, Layout layout, float[] x, int[] xShape, int[] lengths, float[] h0, float[] c0) {
        RnnSpec spec = m.spec();
        int steps = layout == Layout.BATCH_MAJOR ? xShape[1] : xShape[0];
        int batch = layout == Layout.BATCH_MAJOR ? xShape[0] : xShape[1];
        int rows = spec.stateCount();
        try (RnnPlan plan = b.plan(spec, w)) {
            Map<String, NpyArray> got = m.run(plan, feed);
            RnnInput in = new RnnInput(Tensor.of(x, xShape), layout, lengths,
                    h0 != null ? Tensor.of(h0, rows, batch, spec.outputHiddenSize()) : null,
                    c0 != null ? Tensor.of(c0, rows, batch, spec.hiddenSize()) : null);
            RnnOutput out = RnnOutput.allocate(spec, layout, steps, batch);
            plan.forward(in, out);
            assertArrayEquals(out.y().toArray(), got.get("y").toFloats(), name + ": y");
            assertArrayEquals(out.y().shape(), got.get("y").shape(), name + ": y's shape");
            assertArrayEquals(out.hN().toArray(), got.get("hn").toFloats(), name + ": hn");
            assertArrayEquals(out.hN().shape(), got.get("hn").shape(), name + ": hn's shape");
            if (spec.cell().hasCellState()) {
                assertArrayEquals(out.cN().toArray(), got.get("cn").toFloats(), name + ": cn");
                assertArrayEquals(out.cN().shape(), got.get("cn").shape(), name + ": cn's shape");
            }
        }
    }

    private static float[] random(Random r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = r.nextFloat() * 2 - 1;
        }
        return v;
    }

    static Stream<Arguments> exported() throws IOException {
        List<Path> all = SharedCases.cases("onnx-export", "model.onnx");
        if (all.isEmpty()) {
            return Stream.of(Arguments.of("(no onnx-export cases)", null));
        }
        return all.stream().map(d -> Arguments.of(d.getFileName().toString(), d));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("exported")
    void exportedGraphRewrittenReadsTheSame(String name, Path dir) throws IOException {
        if (dir == null) {
            System.out.println("OnnxRoundTripTest: no shared conformance data: skipped");
            assumeTrue(false, "no shared conformance data at " + System.getProperty("cellstate.conformance"));
        }
        byte[] bytes = Files.readAllBytes(dir.resolve("model.onnx"));
        // The messages: parse, write, parse again: the same nodes, attributes and initializers.
        OnnxProto.Model a = OnnxProto.readModel(bytes, name);
        OnnxProto.Model b = OnnxProto.readModel(OnnxProto.writeModel(a), name + " rewritten");
        assertEquals(a.graph().nodes().size(), b.graph().nodes().size(), name);
        for (int i = 0; i < a.graph().nodes().size(); i++) {
            OnnxProto.Node p = a.graph().nodes().get(i);
            OnnxProto.Node q = b.graph().nodes().get(i);
            assertEquals(List.of(p.name(), p.opType(), p.inputs(), p.outputs(), p.attributes().keySet()),
                    List.of(q.name(), q.opType(), q.inputs(), q.outputs(), q.attributes().keySet()), name + " node " + i);
        }
        assertEquals(a.graph().initializers().keySet(), b.graph().initializers().keySet(), name);
        for (String k : a.graph().initializers().keySet()) {
            OnnxProto.TensorData p = a.graph().initializers().get(k);
            OnnxProto.TensorData q = b.graph().initializers().get(k);
            assertArrayEquals(p.dims(), q.dims(), name + " " + k);
            assertArrayEquals(p.floats(), q.floats(), name + " " + k);
            assertArrayEquals(p.longs(), q.longs(), name + " " + k);
        }
        // The network: read, export, read: the same spec, weights and layout.
        RnnModel m = Onnx.read(dir.resolve("model.onnx"));
        boolean states = m.inputs().stream().anyMatch(i -> i.role() == RnnModel.Role.H0);
        Path f = this.dir.resolve("again.onnx");
        Onnx.write(f, m.weights(), new Onnx.ExportOptions(m.layout(), states, false));
        RnnModel again = Onnx.read(f);
        assertEquals(m.spec(), again.spec(), name);
        assertEquals(m.layout(), again.layout(), name);
        m.weights().toPyTorch().forEach((k, v) -> assertArrayEquals(v, again.weights().toPyTorch().get(k), name + " " + k));
    }

    @Test
    void stateDictWrittenReadsBackWithItsCell() throws IOException {
        for (Cell cell : Cell.all()) {
            RnnSpec spec = RnnSpec.builder().cell(cell).inputSize(5).hiddenSize(6).layers(2).direction(Direction.BIDIRECTIONAL)
                    .build();
            RnnWeights w = RnnWeights.random(spec, 3);
            Path f = dir.resolve(cell.name() + ".safetensors");
            StateDicts.write(f, w);
            RnnModel m = StateDicts.read(f, StateDicts.Options.DEFAULT);
            assertEquals(spec, m.spec(), cell.name());
            w.toPyTorch().forEach((k, v) -> assertArrayEquals(v, m.weights().toPyTorch().get(k), cell + " " + k));
        }
    }

    /**
     * Cells with options as state_dicts: the option cells, per direction where bidirectional, and projected LSTMs
     * (alone, with the other options, P of 1 and of H - 1), over layers, both of PyTorch's directions, bias and
     * layouts.
     */
    static Stream<Arguments> stateDictSpecs() {
        List<Cell> cells = new ArrayList<>(SharedCases.optionCells());
        cells.add(Cell.lstm().withProjection(3));
        cells.add(Cell.lstm().withProjection(1).withPeepholes(true));
        cells.add(Cell.lstm().withProjection(5).withPeepholes(true).withClip(0.9f).withInputForget(true)
                .withActivations(new io.cellstate.Activation(io.cellstate.Activation.Function.AFFINE, 0.7f, -0.1f),
                        io.cellstate.Activation.tanh(), io.cellstate.Activation.of(io.cellstate.Activation.Function.SOFTSIGN)));
        int perDirection = cells.size();
        cells.addAll(SharedCases.perDirectionCells());
        cells.add(Cell.lstm().withProjection(2).withActivations(io.cellstate.Activation.sigmoid(), io.cellstate.Activation.tanh(),
                io.cellstate.Activation.tanh(), io.cellstate.Activation.sigmoid(), io.cellstate.Activation.relu(),
                io.cellstate.Activation.tanh()));
        List<Arguments> out = new ArrayList<>();
        for (int i = 0; i < cells.size(); i++) {
            // PyTorch's modules run forward or both ways: a state_dict has no reverse-only network
            Direction d = i >= perDirection || i % 2 == 1 ? Direction.BIDIRECTIONAL : Direction.FORWARD;
            Layout layout = i % 2 == 0 ? Layout.SEQUENCE_MAJOR : Layout.BATCH_MAJOR;
            RnnSpec spec = RnnSpec.builder().cell(cells.get(i)).inputSize(2 + i % 5).hiddenSize(6).layers(1 + i % 3)
                    .direction(d).bias(i % 4 != 2).build();
            out.add(Arguments.of(spec.cell().name() + " " + d + " x" + spec.layers() + (spec.bias() ? "" : " no-bias") + " "
                    + layout, spec, layout));
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("stateDictSpecs")
    void stateDictWithOptionsReadsBackAndRunsAsThePlan(String name, RnnSpec spec, Layout layout) throws IOException {
        RnnWeights w = RnnWeights.random(spec, name.hashCode());
        Path f = dir.resolve("m.safetensors");
        StateDicts.write(f, w);
        assertEquals(spec.cell().name(), Safetensors.read(f).metadata().get(StateDicts.CELL_KEY), name + ": the metadata");
        RnnModel m = StateDicts.read(f, new StateDicts.Options(null, null, layout));
        assertEquals(spec, m.spec(), name);
        assertEquals(w.toPyTorch().keySet(), m.weights().toPyTorch().keySet(), name);
        w.toPyTorch().forEach((k, v) -> assertArrayEquals(v, m.weights().toPyTorch().get(k), name + " " + k));

        Random r = new Random(9);
        int steps = 4;
        int batch = 3;
        int[] xShape = layout.shape(steps, batch, spec.inputSize());
        float[] x = random(r, steps * batch * spec.inputSize());
        float[] h0 = random(r, spec.stateCount() * batch * spec.outputHiddenSize());
        float[] c0 = random(r, spec.stateCount() * batch * spec.hiddenSize());
        int[] lengths = {4, 1, 3};
        Map<String, NpyArray> feed = new LinkedHashMap<>();
        feed.put("x", NpyArray.ofFloats(x, xShape));
        feed.put("h0", NpyArray.ofFloats(h0, spec.stateCount(), batch, spec.outputHiddenSize()));
        if (spec.cell().hasCellState()) {
            feed.put("c0", NpyArray.ofFloats(c0, spec.stateCount(), batch, spec.hiddenSize()));
        }
        feed.put("lengths", NpyArray.ofInts(lengths, batch));
        for (io.cellstate.Backend b : SharedCases.backends(spec, "OnnxRoundTripTest " + name)) {
            runsAsThePlan(name + " on " + b.name(), b, m, w, feed, layout, x, xShape, lengths, h0,
                    spec.cell().hasCellState() ? c0 : null);
        }
    }

    /** A projected LSTM's state_dict as PyTorch writes it (no metadata): proj_size from weight_hr's shape. */
    @Test
    void pytorchsProjectedStateDictReadsWithoutMetadata() throws IOException {
        RnnSpec spec = RnnSpec.builder().cell(Cell.lstm().withProjection(2)).inputSize(3).hiddenSize(5).layers(2)
                .direction(Direction.BIDIRECTIONAL).build();
        RnnWeights w = RnnWeights.random(spec, 4);
        Map<String, Safetensors.Tensor> tensors = new LinkedHashMap<>();
        for (int k = 0; k < spec.layers(); k++) {
            for (int d = 0; d < spec.directions(); d++) {
                for (RnnWeights.Param p : RnnWeights.Param.values()) {
                    if (p.in(spec)) {
                        tensors.put("lstm." + p.name(k, d), new Safetensors.Tensor(p.shape(spec, k), w.array(p, k, d)));
                    }
                }
            }
        }
        tensors.put("head.weight", new Safetensors.Tensor(new int[] {1, 4}, new float[4]));
        Path f = dir.resolve("pytorch.safetensors");
        Safetensors.write(f, tensors, Map.of("format", "pt"));
        RnnModel m = StateDicts.read(f, StateDicts.Options.DEFAULT);
        assertEquals(spec, m.spec());
        assertEquals(List.of(4L, "batch", 2L), m.inputs().get(1).shape(), "h0 is [L*D, B, P]");
        assertEquals(List.of(4L, "batch", 5L), m.inputs().get(2).shape(), "c0 is [L*D, B, H]");
        w.toPyTorch().forEach((k, v) -> assertArrayEquals(v, m.weights().toPyTorch().get(k), k));
    }
}
