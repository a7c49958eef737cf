package io.cellstate.bindings;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.cellstate.Backends;
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
 * it cannot map; a damaged file names the offset; wrong inputs at run time name the input.
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
