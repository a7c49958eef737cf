package io.cellstate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** The API's own contracts: specs, weights, tensors and the registry, independent of any kernel. */
class ApiTest {

    private static void rejects(String prefix, Executable e) {
        IllegalArgumentException x = assertThrows(IllegalArgumentException.class, e);
        assertTrue(x.getMessage().startsWith(prefix + ": expected"), x.getMessage());
        assertTrue(x.getMessage().contains("got"), x.getMessage());
    }

    @Test
    void specValidatesEverySize() {
        rejects("inputSize", () -> RnnSpec.lstm(0, 4));
        rejects("hiddenSize", () -> RnnSpec.lstm(3, -1));
        rejects("layers", () -> RnnSpec.builder().inputSize(3).hiddenSize(4).layers(0).build());
        assertThrows(NullPointerException.class, () -> RnnSpec.builder().inputSize(3).hiddenSize(4).direction(null).build());
        RnnSpec s = RnnSpec.builder().inputSize(3).hiddenSize(4).layers(2).direction(Direction.BIDIRECTIONAL).build();
        assertEquals(3, s.layerInputSize(0));
        assertEquals(8, s.layerInputSize(1));
        assertEquals(8, s.outputSize());
        assertEquals(4, s.stateCount());
    }

    @Test
    void cellsAreValuesWithTheirOptions() {
        assertEquals(Cell.gru(), new Cell.Gru(true));
        assertTrue(!Cell.gru().equals(Cell.gruOriginal()));
        for (String name : new String[] {"lstm", "gru", "gru-original", "rnn-tanh", "rnn-relu"}) {
            Cell c = Cell.named(name);
            assertEquals(name, c.name());
            assertEquals(name, c.toString());
            assertEquals(c, Cell.named(name.toUpperCase(java.util.Locale.ROOT)));
        }
        assertEquals(4, Cell.lstm().gates());
        assertEquals(3, Cell.gruOriginal().gates());
        assertEquals(1, Cell.rnnRelu().gates());
        assertTrue(Cell.lstm().hasCellState() && !Cell.gru().hasCellState() && !Cell.rnnTanh().hasCellState());
        rejects("cell", () -> Cell.named("lstmp"));
        assertEquals("cell: expected lstm, gru, gru-original, rnn-tanh or rnn-relu, got 'lstmp'",
                assertThrows(IllegalArgumentException.class, () -> Cell.named("lstmp")).getMessage());
        rejects("nonlinearity", () -> new Cell.Rnn((Cell.Nonlinearity) null));
        RnnSpec g = RnnSpec.builder().cell(Cell.gruOriginal()).inputSize(3).hiddenSize(4).build();
        assertEquals(3, g.gates());
        assertEquals(Cell.gru(), RnnSpec.gru(3, 4).cell());
        assertEquals(Cell.rnnTanh(), RnnSpec.rnn(3, 4).cell());
    }

    /** Each backend says for every cell whether it runs it, and names the cell where it does not; the CPU backends run them all. */
    @Test
    void backendsSayWhichCellsTheyRun() {
        assertEquals(List.of(Cell.lstm(), Cell.gru(), Cell.gruOriginal(), Cell.rnnTanh(), Cell.rnnRelu()), Cell.all());
        for (Cell k : Cell.all()) {
            RnnSpec s = RnnSpec.builder().cell(k).inputSize(3).hiddenSize(4).build();
            for (Backend b : Backends.all()) {
                String why = b.unsupported(s);
                assertTrue(why.isEmpty() || why.contains("cell " + k.name()), b.name() + ": " + why);
                if (!b.name().equals("cudnn")) {
                    assertEquals("", why, b.name() + " runs " + k);
                }
            }
        }
    }

    @Test
    void trainingModeIsAPlansChoice() {
        RnnSpec s = RnnSpec.lstm(3, 4);
        RnnWeights w = RnnWeights.random(s, 1);
        try (RnnPlan inference = Backends.byName("scalar").plan(s, w, PlanOptions.defaults())) {
            IllegalStateException e = assertThrows(IllegalStateException.class, inference::newWorkspace);
            assertTrue(e.getMessage().contains("INFERENCE") && e.getMessage().contains("TRAINING"), e.getMessage());
        }
        try (RnnPlan training = Backends.byName("scalar").plan(s, w, PlanOptions.defaults().withMode(ForwardMode.TRAINING))) {
            assertFalse(training.newWorkspace().holdsForward());
        }
    }

    /**
     * Backends see the whole request, spec and plan options: a backend without a backward pass says
     * so for TRAINING, and auto chooses among those that train.
     */
    @Test
    void capabilitiesSeeTheWholeRequest() {
        RnnSpec s = RnnSpec.lstm(3, 4);
        PlanOptions training = PlanOptions.defaults().withMode(ForwardMode.TRAINING);
        String lacks = io.cellstate.spi.AbstractRnnPlan.supportOf(s, training, c -> true, false);
        assertTrue(lacks.contains("TRAINING"), lacks);
        assertEquals("", io.cellstate.spi.AbstractRnnPlan.supportOf(s, training, c -> true, true));
        assertEquals("", io.cellstate.spi.AbstractRnnPlan.supportOf(s, PlanOptions.defaults(), c -> true, false));
        for (Backend b : Backends.all()) {
            assertEquals("", b.unsupported(s, PlanOptions.defaults()), b.name());
        }
        assertTrue(Backends.available(s, training).stream().anyMatch(b -> b.name().equals("scalar")));
        Backend chosen = Backends.choose(s, training).backend();
        assertEquals("", chosen.unsupported(s, training), chosen.name());
    }

    @Test
    void randomWeightsFollowPyTorchsInitialisation() {
        RnnSpec s = RnnSpec.builder().inputSize(5).hiddenSize(16).layers(2).direction(Direction.BIDIRECTIONAL).build();
        RnnWeights w = RnnWeights.random(s, 7);
        double bound = 1 / Math.sqrt(16);
        double max = 0;
        Map<String, float[]> dict = w.toPyTorch();
        assertEquals(16, dict.size());
        assertEquals(64 * 5, dict.get("weight_ih_l0").length);
        assertEquals(64 * 32, dict.get("weight_ih_l1_reverse").length);
        assertEquals(64 * 16, dict.get("weight_hh_l1").length);
        for (float[] t : dict.values()) {
            for (float v : t) {
                max = Math.max(max, Math.abs(v));
                assertTrue(Math.abs(v) <= bound, "U(-1/sqrt(H), 1/sqrt(H)): " + v);
            }
        }
        assertTrue(max > 0.9 * bound, "the whole range is used");
        assertArrayEquals(w.array(RnnWeights.Param.WEIGHT_HH, 1, 1), RnnWeights.random(s, 7).array(RnnWeights.Param.WEIGHT_HH, 1, 1), "seeded");
        RnnWeights again = RnnWeights.builder(s).putAll(dict).build();
        assertArrayEquals(w.array(RnnWeights.Param.BIAS_HH, 1, 0), again.array(RnnWeights.Param.BIAS_HH, 1, 0), "round trip through PyTorch names");
    }

    @Test
    void weightsCheckEveryShape() {
        RnnSpec s = RnnSpec.builder().inputSize(3).hiddenSize(2).layers(2).direction(Direction.BIDIRECTIONAL).build();
        RnnWeights.Builder b = RnnWeights.builder(s);
        rejects("weight_ih_l0", () -> b.weightIh(0, 0, new float[8 * 4]));
        rejects("weight_ih_l1_reverse", () -> b.weightIh(1, 1, new float[8 * 3]));   // layer 1 reads 2*H = 4
        rejects("weight_hh_l0", () -> b.weightHh(0, 0, (float[]) null));
        rejects("bias_ih_l0", () -> b.biasIh(0, 0, new float[7]));
        rejects("layer", () -> b.weightHh(2, 0, new float[16]));
        rejects("weight_hh direction", () -> b.weightHh(0, 2, new float[16]));
        rejects("name", () -> b.put("weight_xx_l0", new float[1]));
        b.weightIh(0, 0, new float[24]);
        rejects("weight_hh_l0", b::build);                                           // missing
        RnnSpec noBias = RnnSpec.builder().inputSize(3).hiddenSize(2).bias(false).build();
        rejects("bias_hh_l0", () -> RnnWeights.builder(noBias).biasHh(0, 0, new float[8]));
        RnnWeights w = RnnWeights.builder(noBias).weightIh(0, 0, new float[24]).weightHh(0, 0, new float[16]).build();
        assertArrayEquals(new float[8], w.array(RnnWeights.Param.BIAS_IH, 0, 0), "no bias reads as zeros");
    }

    /**
     * A model's state_dict names the LSTM's tensors with the module's path ({@code lstm.weight_ih_l0},
     * {@code encoder.rnn.bias_hh_l0_reverse}); naming the prefix loads them, skipping the model's other
     * tensors, and gives the same weights as the LSTM's own state_dict.
     */
    @Test
    void stateDictsWithAModulePrefixLoadByNamingThePrefix() {
        RnnSpec s = RnnSpec.builder().inputSize(3).hiddenSize(2).layers(2).direction(Direction.BIDIRECTIONAL).build();
        RnnWeights own = RnnWeights.random(s, 9);
        Map<String, float[]> model = new java.util.LinkedHashMap<>();
        model.put("embedding.weight", new float[] {1, 2, 3});
        own.toPyTorch().forEach((k, v) -> model.put("encoder.rnn." + k, v));
        model.put("decoder.weight", new float[] {4});
        RnnWeights loaded = RnnWeights.builder(s).putAll(model, "encoder.rnn.").build();
        assertEquals(own.toPyTorch().keySet(), loaded.toPyTorch().keySet());
        own.toPyTorch().forEach((k, v) -> assertArrayEquals(v, loaded.toPyTorch().get(k), k));

        IllegalArgumentException hint = assertThrows(IllegalArgumentException.class,
                () -> RnnWeights.builder(s).put("lstm.weight_ih_l0", new float[24]));
        assertTrue(hint.getMessage().contains("putAll(stateDict, \"lstm.\")"), hint.getMessage());
        IllegalArgumentException nested = assertThrows(IllegalArgumentException.class,
                () -> RnnWeights.builder(s).putAll(model, "encoder."));
        assertTrue(nested.getMessage().contains("'encoder.rnn.weight_ih_l0'")
                && nested.getMessage().contains("putAll(stateDict, \"encoder.rnn.\")"), nested.getMessage());
        rejects("prefix", () -> RnnWeights.builder(s).putAll(model, "lstm."));
        Map<String, float[]> extraLayer = new java.util.LinkedHashMap<>(own.toPyTorch());
        extraLayer.put("weight_ih_l2", new float[24]);
        rejects("weight_ih_l2", () -> RnnWeights.builder(s).putAll(extraLayer));
        RnnSpec forward = RnnSpec.lstm(3, 2);
        rejects("weight_hh_l0_reverse", () -> RnnWeights.builder(forward).put("weight_hh_l0_reverse", new float[16]));
    }

    /** The same tensor given twice is refused, however it is given: the second was never meant as an update. */
    @Test
    void aTensorGivenTwiceIsRefused() {
        RnnSpec s = RnnSpec.lstm(3, 2);
        rejects("weight_ih_l0", () -> RnnWeights.builder(s).put("weight_ih_l0", new float[24]).put("weight_ih_l0", new float[24]));
        rejects("weight_hh_l0", () -> RnnWeights.builder(s).weightHh(0, 0, new float[16]).put("weight_hh_l0", new float[16]));
        rejects("bias_ih_l0", () -> RnnWeights.builder(s).biasIh(0, 0, new float[8]).biasIh(0, 0, new float[8]));
        Map<String, float[]> model = new java.util.LinkedHashMap<>();
        model.put("a.weight_ih_l0", new float[24]);
        model.put("b.weight_ih_l0", new float[24]);
        rejects("a.weight_ih_l0", () -> RnnWeights.builder(s).putAll(Map.of("weight_ih_l0", new float[24]))
                .putAll(model, "a."));
        IllegalArgumentException twice = assertThrows(IllegalArgumentException.class,
                () -> RnnWeights.builder(s).putAll(model, "a.").putAll(model, "b."));
        assertTrue(twice.getMessage().startsWith("b.weight_ih_l0: expected each tensor once"), twice.getMessage());
    }

    @Test
    void tensorsCheckTheirShape() {
        rejects("data", () -> Tensor.of(new float[5], 2, 3));
        rejects("shape[1]", () -> Tensor.zeros(2, -3));
        rejects("segment", () -> Tensor.wrap(java.lang.foreign.MemorySegment.ofArray(new float[5]), 2, 2));
        Tensor t = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
        assertEquals(6, t.get(1, 2));
        t.set(9, 0, 1);
        assertEquals(9, t.toArray()[1]);
        assertThrows(IndexOutOfBoundsException.class, () -> t.get(2, 0));
    }

    @Test
    void registryFindsBackendsByNameAndExplainsUnknownNames() {
        assertEquals("scalar", Backends.byName("scalar").name());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Backends.get("nope", RnnSpec.lstm(1, 1)));
        assertTrue(e.getMessage().startsWith("backend: expected one of [") && e.getMessage().contains("got 'nope'"),
                e.getMessage());
        assertEquals(Backends.all().get(0).priority(), Backends.all().stream().mapToInt(Backend::priority).max().orElseThrow());
    }
}
