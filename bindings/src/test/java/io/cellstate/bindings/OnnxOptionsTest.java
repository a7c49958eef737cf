package io.cellstate.bindings;

import static io.cellstate.bindings.OnnxRefusalTest.activations;
import static io.cellstate.bindings.OnnxRefusalTest.attribute;
import static io.cellstate.bindings.OnnxRefusalTest.floats;
import static io.cellstate.bindings.OnnxRefusalTest.withNode;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.cellstate.Activation;
import io.cellstate.Activation.Function;
import io.cellstate.Cell;
import io.cellstate.Direction;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * How the ONNX reader and writer map the cells' options: activation parameters consumed in order as ONNX Runtime
 * consumes them, ONNX's defaults where a list is spent, names in any case, per-direction lists; the peepholes'
 * order; what the writer puts on the node.
 */
class OnnxOptionsTest {
    private static final RnnSpec LSTM = RnnSpec.builder().inputSize(3).hiddenSize(4).build();
    private static final RnnSpec BIDIRECTIONAL_LSTM = RnnSpec.builder().inputSize(3).hiddenSize(4)
            .direction(Direction.BIDIRECTIONAL).build();

    private static Cell read(byte[] model) throws ModelFormatException {
        return Onnx.read(model, "m.onnx", Map.of()).spec().cell();
    }

    @Test
    void eachFunctionTakesTheNextAlphaAndBetaItHas() throws Exception {
        byte[] m = withNode(LSTM, n -> attribute(attribute(attribute(n, activations("HardSigmoid", "ScaledTanh", "LeakyRelu")),
                floats("activation_alpha", 0.1f, 0.2f, 0.3f)), floats("activation_beta", 0.4f, 0.5f)));
        assertEquals(List.of(new Activation(Function.HARD_SIGMOID, 0.1f, 0.4f), new Activation(Function.SCALED_TANH, 0.2f, 0.5f),
                new Activation(Function.LEAKY_RELU, 0.3f, 0)), read(m).activations());
    }

    @Test
    void aSpentListGivesOnnxsDefaults() throws Exception {
        byte[] m = withNode(LSTM, n -> attribute(n, activations("LeakyRelu", "Elu", "HardSigmoid")));
        assertEquals(List.of(new Activation(Function.LEAKY_RELU, 0.01f, 0), new Activation(Function.ELU, 1, 0),
                new Activation(Function.HARD_SIGMOID, 0.2f, 0.5f)), read(m).activations());
        // the first takes the one alpha; the others their defaults
        m = withNode(LSTM, n -> attribute(attribute(n, activations("LeakyRelu", "Elu", "HardSigmoid")),
                floats("activation_alpha", 0.3f)));
        assertEquals(List.of(new Activation(Function.LEAKY_RELU, 0.3f, 0), new Activation(Function.ELU, 1, 0),
                new Activation(Function.HARD_SIGMOID, 0.2f, 0.5f)), read(m).activations());
    }

    @Test
    void namesAreReadInAnyCase() throws Exception {
        byte[] m = withNode(LSTM, n -> attribute(n, activations("sigmoid", "TANH", "softSign")));
        assertEquals(List.of(Activation.sigmoid(), Activation.tanh(), Activation.of(Function.SOFTSIGN)), read(m).activations());
    }

    @Test
    void aBidirectionalNodeHasOneListPerDirectionOrOneForBoth() throws Exception {
        byte[] m = withNode(BIDIRECTIONAL_LSTM, n -> attribute(attribute(n, activations("Sigmoid", "Tanh", "Tanh",
                "HardSigmoid", "Tanh", "LeakyRelu")), floats("activation_alpha", 0.25f, 0.125f)));
        Cell c = read(m);
        assertEquals(new Activation(Function.HARD_SIGMOID, 0.25f, 0.5f), c.activation(0, 1));
        assertEquals(new Activation(Function.LEAKY_RELU, 0.125f, 0), c.activation(2, 1));
        assertEquals(Activation.sigmoid(), c.activation(0, 0));
        // two equal halves are one list, as the cell keeps them
        m = withNode(BIDIRECTIONAL_LSTM, n -> attribute(n, activations("Sigmoid", "Softsign", "Tanh", "Sigmoid", "Softsign",
                "Tanh")));
        assertEquals(List.of(Activation.sigmoid(), Activation.of(Function.SOFTSIGN), Activation.tanh()), read(m).activations());
        m = withNode(BIDIRECTIONAL_LSTM, n -> attribute(n, activations("Sigmoid", "Softsign", "Tanh")));
        assertEquals(List.of(Activation.sigmoid(), Activation.of(Function.SOFTSIGN), Activation.tanh()), read(m).activations());
    }

    @Test
    void peepholesAreWrittenInOnnxsOrderAndReadBackInOurs() throws Exception {
        RnnSpec spec = RnnSpec.builder().cell(Cell.lstm().withPeepholes(true)).inputSize(2).hiddenSize(2)
                .direction(Direction.BIDIRECTIONAL).build();
        RnnWeights.Builder b = RnnWeights.builder(spec);
        RnnWeights random = RnnWeights.random(spec, 3);
        for (int d = 0; d < 2; d++) {
            for (RnnWeights.Param p : RnnWeights.Param.values()) {
                if (p.in(spec) && p != RnnWeights.Param.PEEPHOLE) {
                    b.put(p, 0, d, random.array(p, 0, d));
                }
            }
            // ours: i, f, o
            b.put(RnnWeights.Param.PEEPHOLE, 0, d, new float[] {10 * d + 1, 10 * d + 2, 10 * d + 3, 10 * d + 4, 10 * d + 5,
                10 * d + 6});
        }
        RnnWeights w = b.build();
        byte[] bytes = Onnx.toBytes(w, Onnx.ExportOptions.DEFAULT);
        OnnxProto.Model m = OnnxProto.readModel(bytes, "m");
        OnnxProto.Node lstm = m.graph().nodes().stream().filter(n -> n.opType().equals("LSTM")).findFirst().orElseThrow();
        assertEquals("P_l0", lstm.input(7));
        OnnxProto.TensorData p = m.graph().initializers().get("P_l0");
        assertArrayEquals(new long[] {2, 6}, p.dims());
        // ONNX's: i, o, f
        assertArrayEquals(new float[] {1, 2, 5, 6, 3, 4, 11, 12, 15, 16, 13, 14}, p.floats());
        RnnWeights back = Onnx.read(bytes, "m", Map.of()).weights();
        for (int d = 0; d < 2; d++) {
            assertArrayEquals(w.array(RnnWeights.Param.PEEPHOLE, 0, d), back.array(RnnWeights.Param.PEEPHOLE, 0, d));
        }
    }

    @Test
    void theWriterPutsEveryOptionOnTheNode() throws Exception {
        Cell cell = Cell.lstm().withClip(0.75f).withInputForget(true).withActivations(
                new Activation(Function.HARD_SIGMOID, 0.3f, 0.6f), Activation.tanh(), new Activation(Function.ELU, 0.9f, 0));
        RnnSpec spec = RnnSpec.builder().cell(cell).inputSize(2).hiddenSize(3).direction(Direction.BIDIRECTIONAL).build();
        OnnxProto.Model m = OnnxProto.readModel(Onnx.toBytes(RnnWeights.random(spec, 1), Onnx.ExportOptions.DEFAULT), "m");
        OnnxProto.Node n = m.graph().nodes().stream().filter(x -> x.opType().equals("LSTM")).findFirst().orElseThrow();
        assertEquals(0.75f, n.attributes().get("clip").f());
        assertEquals(1, n.attributes().get("input_forget").i());
        List<String> names = new ArrayList<>();
        n.attributes().get("activations").strings().forEach(s -> names.add(new String(s, java.nio.charset.StandardCharsets.UTF_8)));
        // ONNX Runtime wants one list per direction
        assertEquals(List.of("HardSigmoid", "Tanh", "Elu", "HardSigmoid", "Tanh", "Elu"), names);
        assertArrayEquals(new float[] {0.3f, 0.9f, 0.3f, 0.9f}, n.attributes().get("activation_alpha").floats());
        assertArrayEquals(new float[] {0.6f, 0.6f}, n.attributes().get("activation_beta").floats());
        assertNull(n.attributes().get("linear_before_reset"));
        assertEquals(List.of("x", "W_l0", "R_l0", "B_l0"), n.inputs(), "no peepholes, no states: no P, nothing after B");

        // a plain cell's node has no option attributes, as before
        RnnSpec plain = RnnSpec.builder().inputSize(2).hiddenSize(3).build();
        OnnxProto.Model p = OnnxProto.readModel(Onnx.toBytes(RnnWeights.random(plain, 1), Onnx.ExportOptions.DEFAULT), "p");
        OnnxProto.Node q = p.graph().nodes().stream().filter(x -> x.opType().equals("LSTM")).findFirst().orElseThrow();
        assertEquals(List.of("hidden_size"), List.copyOf(q.attributes().keySet()));
    }
}
