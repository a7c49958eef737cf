package io.cellstate.bindings;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.cellstate.Backends;
import io.cellstate.Cell;
import io.cellstate.Direction;
import io.cellstate.Layout;
import io.cellstate.RnnPlan;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * What the ONNX reader refuses, and how: a graph that is not a recurrent network names the node and op
 * it cannot map; a damaged file names the offset; wrong inputs at run time name the input; options the
 * cells do not have (a GRU's or RNN's clip), or that the node states badly (activations without their
 * parameters, parameters left over, a P of the wrong shape), name the node and what was expected. The
 * writer refuses a projected LSTM, which ONNX's LSTM cannot express.
 */
class OnnxRefusalTest {
    private static final RnnSpec SPEC = RnnSpec.builder().cell(io.cellstate.Cell.lstm()).inputSize(3).hiddenSize(4).layers(2)
            .direction(Direction.BIDIRECTIONAL).build();

    private static byte[] model() {
        return Onnx.toBytes(RnnWeights.random(SPEC, 1), new Onnx.ExportOptions(Layout.BATCH_MAJOR, true, false));
    }

    /** The written model with its graph changed. */
    private static byte[] edited(UnaryOperator<OnnxProto.Graph> edit) throws ModelFormatException {
        OnnxProto.Model m = OnnxProto.readModel(model(), "m");
        OnnxProto.Graph g = edit.apply(m.graph());
        return OnnxProto.writeModel(new OnnxProto.Model(m.irVersion(), m.opsets(), m.producer(), g));
    }

    private static OnnxProto.Graph withNodes(OnnxProto.Graph g, List<OnnxProto.Node> nodes, List<OnnxProto.ValueInfo> outputs) {
        return new OnnxProto.Graph(g.name(), nodes, g.initializers(), g.inputs(), outputs);
    }

    private static ModelFormatException refused(byte[] bytes) {
        return assertThrows(ModelFormatException.class, () -> Onnx.read(bytes, "edited.onnx", Map.of()));
    }

    /** A model of {@code spec} written and its first recurrent node changed by {@code edit}. */
    static byte[] withNode(RnnSpec spec, UnaryOperator<OnnxProto.Node> edit) throws ModelFormatException {
        return withGraph(spec, g -> {
            List<OnnxProto.Node> nodes = new ArrayList<>(g.nodes());
            for (int i = 0; i < nodes.size(); i++) {
                if (List.of("LSTM", "GRU", "RNN").contains(nodes.get(i).opType())) {
                    nodes.set(i, edit.apply(nodes.get(i)));
                    break;
                }
            }
            return withNodes(g, nodes, g.outputs());
        });
    }

    /** A model of {@code spec} written (sequence-major, no state or length inputs) and its graph changed. */
    static byte[] withGraph(RnnSpec spec, UnaryOperator<OnnxProto.Graph> edit) throws ModelFormatException {
        OnnxProto.Model m = OnnxProto.readModel(Onnx.toBytes(RnnWeights.random(spec, 2), Onnx.ExportOptions.DEFAULT), "m");
        return OnnxProto.writeModel(new OnnxProto.Model(m.irVersion(), m.opsets(), m.producer(), edit.apply(m.graph())));
    }

    /** The node with an attribute set (replaced where it has it). */
    static OnnxProto.Node attribute(OnnxProto.Node n, OnnxProto.Attribute a) {
        Map<String, OnnxProto.Attribute> attrs = new LinkedHashMap<>(n.attributes());
        attrs.put(a.name(), a);
        return new OnnxProto.Node(n.name(), n.opType(), n.domain(), n.inputs(), n.outputs(), attrs, -1);
    }

    /** The node with input {@code i} set to {@code name}, empty inputs added before it where needed. */
    static OnnxProto.Node input(OnnxProto.Node n, int i, String name) {
        List<String> in = new ArrayList<>(n.inputs());
        while (in.size() <= i) {
            in.add("");
        }
        in.set(i, name);
        return new OnnxProto.Node(n.name(), n.opType(), n.domain(), in, n.outputs(), n.attributes(), -1);
    }

    static OnnxProto.Attribute activations(String... names) {
        return OnnxProto.Attribute.ofStrings("activations", List.of(names));
    }

    static OnnxProto.Attribute floats(String name, Float... v) {
        return OnnxProto.Attribute.ofFloats(name, List.of(v));
    }

    private static RnnSpec spec(Cell cell) {
        return RnnSpec.builder().cell(cell).inputSize(3).hiddenSize(4).build();
    }

    /** The refusal of a model of {@code cell} whose recurrent node {@code edit} changed; it names that node. */
    private static ModelFormatException refusedNode(Cell cell, UnaryOperator<OnnxProto.Node> edit) throws Exception {
        ModelFormatException e = refused(withNode(spec(cell), edit));
        assertTrue(e.where().matches("node '(LSTM|GRU|RNN)_l0' \\((LSTM|GRU|RNN)\\)"), e.getMessage());
        return e;
    }

    @Test
    void aProjectedLstmIsNotWrittenAsOnnx() {
        RnnSpec spec = RnnSpec.builder().cell(Cell.lstm().withProjection(2)).inputSize(3).hiddenSize(4).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Onnx.toBytes(RnnWeights.random(spec, 1), Onnx.ExportOptions.DEFAULT));
        assertTrue(e.getMessage().startsWith("weights: expected a network ONNX's operators express, got lstm[projection=2]"
                + " (PyTorch's proj_size 2): ONNX's LSTM has no projection"), e.getMessage());
        assertTrue(e.getMessage().contains("the projected h is what the recurrence reads"), e.getMessage());
    }

    @Test
    void aGrusOrRnnsClipIsRefused() throws Exception {
        for (Cell cell : List.of(Cell.gru(), Cell.rnnTanh())) {
            ModelFormatException e = refusedNode(cell, n -> attribute(n, OnnxProto.Attribute.ofFloat("clip", 0.5f)));
            assertTrue(e.problem().endsWith(" with clip is not supported: only the LSTM (Cell.Lstm) clips its gates'"
                    + " pre-activations here"), e.getMessage());
        }
    }

    @Test
    void aClipThatIsNoPositiveBoundIsRefused() throws Exception {
        for (float clip : new float[] {0, -1, Float.NaN}) {
            ModelFormatException e = refusedNode(Cell.lstm(), n -> attribute(n, OnnxProto.Attribute.ofFloat("clip", clip)));
            assertEquals("clip: expected a bound > 0, got " + clip, e.problem());
        }
        ModelFormatException e = refusedNode(Cell.lstm(), n -> attribute(n, OnnxProto.Attribute.ofInt("clip", 1)));
        assertEquals("attribute clip is not a float", e.problem());
    }

    @Test
    void anInputForgetOtherThan0Or1IsRefused() throws Exception {
        ModelFormatException e = refusedNode(Cell.lstm(), n -> attribute(n, OnnxProto.Attribute.ofInt("input_forget", 2)));
        assertEquals("input_forget: expected 0 or 1, got 2", e.problem());
    }

    @Test
    void anActivationWithoutADefaultNeedsItsParameters() throws Exception {
        // ONNX gives Affine, ThresholdedRelu and ScaledTanh no defaults in recurrent operators; ONNX Runtime takes 0
        ModelFormatException e = refusedNode(Cell.rnnTanh(), n -> attribute(n, activations("Affine")));
        assertEquals("activation_alpha: expected a value for Affine (activation 0), got none left; ONNX gives Affine no"
                + " default in recurrent operators", e.problem());
        e = refusedNode(Cell.rnnTanh(), n -> attribute(n, activations("ThresholdedRelu")));
        assertTrue(e.problem().startsWith("activation_alpha: expected a value for ThresholdedRelu"), e.getMessage());
        e = refusedNode(Cell.gru(), n -> attribute(attribute(n, activations("Sigmoid", "ScaledTanh")),
                floats("activation_alpha", 2f)));
        assertEquals("activation_beta: expected a value for ScaledTanh (activation 1), got none left; ONNX gives"
                + " ScaledTanh no default in recurrent operators", e.problem());
    }

    @Test
    void parametersNoActivationReadsAreRefused() throws Exception {
        ModelFormatException e = refusedNode(Cell.lstm(), n -> attribute(n, floats("activation_alpha", 0.5f)));
        assertEquals("activation_alpha and activation_beta: expected 0 and 0 values (those the activations (the defaults)"
                + " take, in order), got 1 and 0", e.problem());
        e = refusedNode(Cell.lstm(), n -> attribute(attribute(attribute(n, activations("HardSigmoid", "Tanh", "Elu")),
                floats("activation_alpha", 0.1f, 0.2f, 0.3f)), floats("activation_beta", 0.4f)));
        assertEquals("activation_alpha and activation_beta: expected 2 and 1 values (those the activations"
                + " [HardSigmoid(0.1, 0.4), Tanh, Elu(0.2)] take, in order), got 3 and 1", e.problem());
    }

    @Test
    void unknownOrMiscountedActivationsAreRefused() throws Exception {
        ModelFormatException e = refusedNode(Cell.lstm(), n -> attribute(n, activations("Sigmoid", "Swish", "Tanh")));
        assertTrue(e.problem().startsWith("activation: expected one of Relu, Tanh, Sigmoid, Affine"), e.getMessage());
        assertTrue(e.problem().endsWith("got 'Swish'"), e.getMessage());
        e = refusedNode(Cell.lstm(), n -> attribute(n, activations("Sigmoid", "Tanh")));
        assertEquals("activations: expected 3 for an LSTM, got 2 [Sigmoid, Tanh]", e.problem());
        e = refusedNode(Cell.gru(), n -> attribute(n, activations("Sigmoid", "Tanh", "Sigmoid", "Tanh")));
        assertEquals("activations: expected 2 for a GRU, got 4 [Sigmoid, Tanh, Sigmoid, Tanh]", e.problem());
        e = refusedNode(Cell.lstm(), n -> attribute(n, OnnxProto.Attribute.ofInt("activations", 1)));
        assertEquals("attribute activations is not a list of strings", e.problem());
        e = refusedNode(Cell.rnnTanh(), n -> attribute(attribute(n, activations("LeakyRelu")),
                floats("activation_alpha", Float.POSITIVE_INFINITY)));
        assertEquals("LeakyRelu alpha: expected a finite number, got Infinity", e.problem());
    }

    @Test
    void peepholesOfTheWrongShapeOrNotConstantAreRefused() throws Exception {
        ModelFormatException e = refused(withGraph(spec(Cell.lstm()), g -> {
            Map<String, OnnxProto.TensorData> inits = new LinkedHashMap<>(g.initializers());
            inits.put("P", new OnnxProto.TensorData("P", OnnxProto.FLOAT, new long[] {1, 8}, new float[8], null));
            List<OnnxProto.Node> nodes = new ArrayList<>(g.nodes());
            nodes.replaceAll(n -> n.opType().equals("LSTM") ? input(n, 7, "P") : n);
            return new OnnxProto.Graph(g.name(), nodes, inits, g.inputs(), g.outputs());
        }));
        assertEquals("node 'LSTM_l0' (LSTM)", e.where(), e.getMessage());
        assertEquals("input P has shape [1, 8], expected [1, 12]", e.problem());
        e = refused(withGraph(spec(Cell.lstm()), g -> {
            List<OnnxProto.ValueInfo> in = new ArrayList<>(g.inputs());
            in.add(new OnnxProto.ValueInfo("P", OnnxProto.FLOAT, List.of(1L, 12L)));
            List<OnnxProto.Node> nodes = new ArrayList<>(g.nodes());
            nodes.replaceAll(n -> n.opType().equals("LSTM") ? input(n, 7, "P") : n);
            return new OnnxProto.Graph(g.name(), nodes, g.initializers(), in, g.outputs());
        }));
        assertTrue(e.problem().startsWith("input P must be a constant (an initializer) or bound when reading; it is data of"
                + " INPUT 'P'"), e.getMessage());
    }

    @Test
    void aStackWhoseLayersDifferInTheirOptionsIsRefused() throws Exception {
        RnnSpec two = RnnSpec.builder().cell(Cell.lstm().withClip(0.5f)).inputSize(3).hiddenSize(4).layers(2).build();
        ModelFormatException e = refused(withGraph(two, g -> {
            List<OnnxProto.Node> nodes = new ArrayList<>(g.nodes());
            nodes.replaceAll(n -> n.name().equals("LSTM_l1") ? attribute(n, OnnxProto.Attribute.ofFloat("clip", 0.25f)) : n);
            return withNodes(g, nodes, g.outputs());
        }));
        assertEquals("node 'LSTM_l1' (LSTM)", e.where(), e.getMessage());
        assertTrue(e.problem().startsWith("layer 1 is LSTM lstm[clip=0.25], hidden 4, forward; layer 0 is LSTM lstm[clip=0.5]"),
                e.getMessage());
    }

    @Test
    void anOpThatIsNotMappedIsRefusedNamingTheNode() throws Exception {
        byte[] b = edited(g -> {
            List<OnnxProto.Node> nodes = new ArrayList<>(g.nodes());
            nodes.add(new OnnxProto.Node("/head/Relu", "Relu", "", List.of("y"), List.of("z"), Map.of(), -1));
            List<OnnxProto.ValueInfo> outs = new ArrayList<>(g.outputs());
            outs.add(new OnnxProto.ValueInfo("z", OnnxProto.FLOAT, null));
            return withNodes(g, nodes, outs);
        });
        ModelFormatException e = refused(b);
        assertEquals("node '/head/Relu' (Relu)", e.where(), e.getMessage());
        assertTrue(e.problem().startsWith("op Relu cannot be mapped"), e.getMessage());
    }

    @Test
    void anotherDomainsOpIsRefused() throws Exception {
        byte[] b = edited(g -> {
            List<OnnxProto.Node> nodes = new ArrayList<>(g.nodes());
            nodes.add(0, new OnnxProto.Node("fused", "FusedGemm", "com.microsoft", List.of("x"), List.of("q"), Map.of(), -1));
            return withNodes(g, nodes, g.outputs());
        });
        assertTrue(refused(b).getMessage().contains("domain 'com.microsoft'"));
    }

    @Test
    void anInnerLayersOutputAsAGraphOutputIsRefused() throws Exception {
        byte[] b = edited(g -> {
            List<OnnxProto.ValueInfo> outs = new ArrayList<>(g.outputs());
            outs.add(new OnnxProto.ValueInfo("Y_l0", OnnxProto.FLOAT, null));
            return withNodes(g, g.nodes(), outs);
        });
        ModelFormatException e = refused(b);
        assertEquals("graph output 'Y_l0'", e.where(), e.getMessage());
        assertTrue(e.problem().contains("layer 0's output"), e.getMessage());
    }

    @Test
    void aReshapeThatMixesTheOutputIsRefused() throws Exception {
        // Transpose to [T, B, D, H] then a reshape whose -1 is not last: refused, not guessed.
        byte[] b = edited(g -> {
            Map<String, OnnxProto.TensorData> inits = new LinkedHashMap<>(g.initializers());
            inits.put("merge_last", new OnnxProto.TensorData("merge_last", OnnxProto.INT64, new long[] {3}, null,
                    new long[] {-1, 0, 8}));
            return new OnnxProto.Graph(g.name(), g.nodes(), inits, g.inputs(), g.outputs());
        });
        ModelFormatException e = refused(b);
        assertTrue(e.where().contains("Reshape"), e.getMessage());
    }

    @Test
    void nonZeroInitialStatesAreRefused() throws Exception {
        byte[] b = edited(g -> {
            List<OnnxProto.Node> nodes = new ArrayList<>();
            nodes.add(new OnnxProto.Node("shape", "Constant", "", List.of(), List.of("s"), Map.of("value",
                    OnnxProto.Attribute.ofTensor("value", new OnnxProto.TensorData("", OnnxProto.INT64, new long[] {3}, null,
                            new long[] {2, 1, 4}))), -1));
            nodes.add(new OnnxProto.Node("ones", "ConstantOfShape", "", List.of("s"), List.of("ones"), Map.of("value",
                    OnnxProto.Attribute.ofTensor("value", new OnnxProto.TensorData("", OnnxProto.FLOAT, new long[] {1},
                            new float[] {1}, null))), -1));
            for (OnnxProto.Node n : g.nodes()) {
                if (n.name().equals("h0_l0")) {
                    continue;
                }
                List<String> in = new ArrayList<>(n.inputs());
                in.replaceAll(s -> s.equals("h0_l0") ? "ones" : s);
                nodes.add(new OnnxProto.Node(n.name(), n.opType(), n.domain(), in, n.outputs(), n.attributes(), -1));
            }
            return withNodes(g, nodes, g.outputs());
        });
        ModelFormatException e = refused(b);
        assertEquals("node 'ones' (ConstantOfShape)", e.where(), e.getMessage());
    }

    @Test
    void aConstantWhoseValueIsNoTensorIsRefused() throws Exception {
        // found by fuzzing: a Constant's value attribute of another type was taken for a tensor
        byte[] b = edited(g -> {
            List<OnnxProto.Node> nodes = new ArrayList<>(g.nodes());
            nodes.add(0, new OnnxProto.Node("c", "Constant", "", List.of(), List.of("k"), Map.of("value",
                    OnnxProto.Attribute.ofInt("value", 3)), -1));
            return withNodes(g, nodes, g.outputs());
        });
        ModelFormatException e = refused(b);
        assertEquals("node 'c' (Constant)", e.where(), e.getMessage());
        assertEquals("attribute value holds no tensor", e.problem());
    }

    @Test
    void anOutputDeclaredTwiceIsRefused() throws Exception {
        // found by fuzzing: the outputs were a map by name, so the second 'cn' vanished
        byte[] b = edited(g -> {
            List<OnnxProto.ValueInfo> outs = new ArrayList<>(g.outputs());
            outs.add(outs.get(2));
            return withNodes(g, g.nodes(), outs);
        });
        ModelFormatException e = refused(b);
        assertEquals("graph output 'cn'", e.where(), e.getMessage());
        assertEquals("declared twice", e.problem());
    }

    @Test
    void everyTruncationIsRefusedAsMalformed() {
        byte[] b = model();
        int refusedCount = 0;
        for (int n = 0; n < b.length; n += Math.max(1, n / 64)) {
            byte[] cut = java.util.Arrays.copyOf(b, n);
            try {
                Onnx.read(cut, "cut", Map.of());
            } catch (ModelFormatException e) {
                refusedCount++;
                assertTrue(e.getMessage().startsWith("cut: "), e.getMessage());
            } catch (RuntimeException e) {
                fail("a model cut to " + n + " bytes threw " + e, e);
            }
        }
        assertTrue(refusedCount > 0);
    }

    @Test
    void randomDamageIsRefusedOrReadNeverThrowsAnythingElse() {
        byte[] b = model();
        Random r = new Random(11);
        for (int trial = 0; trial < 2000; trial++) {
            byte[] d = b.clone();
            for (int k = 0; k <= trial % 4; k++) {
                d[r.nextInt(d.length)] = (byte) r.nextInt(256);
            }
            try {
                RnnModel m = Onnx.read(d, "damaged", Map.of());
                assertTrue(m.spec().hiddenSize() > 0);
            } catch (ModelFormatException e) {
                assertTrue(e.getMessage().startsWith("damaged: "), e.getMessage());
            } catch (RuntimeException e) {
                fail("trial " + trial + " threw " + e, e);
            }
        }
    }

    @Test
    void badInputsAreRefusedNamingTheInput() throws Exception {
        RnnModel m = Onnx.read(model(), "m.onnx", Map.of());
        try (RnnPlan plan = Backends.get("scalar", m.spec()).plan(m.spec(), m.weights())) {
            NpyArray x = NpyArray.ofFloats(new float[2 * 5 * 3], 2, 5, 3);
            NpyArray h = NpyArray.ofFloats(new float[4 * 2 * 4], 4, 2, 4);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.run(plan, Map.of("x", x)));
            assertTrue(e.getMessage().contains("needs input 'h0'"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> m.run(plan, Map.of("x", x, "h0", h, "c0", h, "q", h)));
            assertTrue(e.getMessage().contains("'q' is not an input"), e.getMessage());
            NpyArray wide = NpyArray.ofFloats(new float[2 * 5 * 4], 2, 5, 4);
            e = assertThrows(IllegalArgumentException.class, () -> m.run(plan, Map.of("x", wide, "h0", h, "c0", h)));
            assertTrue(e.getMessage().startsWith("x: expected 3 features"), e.getMessage());
            NpyArray h3 = NpyArray.ofFloats(new float[4 * 3 * 4], 4, 3, 4);
            e = assertThrows(IllegalArgumentException.class, () -> m.run(plan, Map.of("x", x, "h0", h3, "c0", h)));
            assertTrue(e.getMessage().startsWith("h0: expected shape [4, 2, 4]"), e.getMessage());
            NpyArray ints = NpyArray.ofInts(new int[30], 2, 5, 3);
            e = assertThrows(IllegalArgumentException.class, () -> m.run(plan, Map.of("x", ints, "h0", h, "c0", h)));
            assertTrue(e.getMessage().startsWith("x: expected float32 or float64"), e.getMessage());
            assertEquals(List.of("y", "hn", "cn"), List.copyOf(m.run(plan, Map.of("x", x, "h0", h, "c0", h)).keySet()));
        }
    }
}
