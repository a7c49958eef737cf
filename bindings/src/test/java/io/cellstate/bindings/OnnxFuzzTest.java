package io.cellstate.bindings;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.cellstate.Activation;
import io.cellstate.Backends;
import io.cellstate.RnnPlan;
import io.cellstate.RnnSpec;
import java.io.IOException;
import java.util.Map;

/**
 * Fuzzes {@link Onnx#read(byte[], String, Map)}: every input is read or refused with a
 * {@link ModelFormatException} ({@link ReaderContract}). A model read is written back and read again to
 * the same spec, layout and weights, bit for bit; and, when its only input is the sequence, it runs on
 * the oracle over two steps of two sequences, giving every output in the shape its arrangement says.
 *
 * <p>Plain test runs replay the seeds in {@code OnnxFuzzTestInputs/read}; with {@code JAZZER_FUZZ=1} it is
 * fuzzed, for as long and within the limits the build sets (FUZZING.md).
 */
class OnnxFuzzTest {
    private static final String SOURCE = "fuzz.onnx";

    /**
     * Raw int8 data become longs (8 bytes per byte) and integer constants boxed entries (about 24); float
     * data are copied a few times on their way into the weights (about 4 copies of 4 bytes per 4 bytes).
     */
    private static final long HEAP_PER_BYTE = 128;

    /** Weights above this are read but not run: the run is for the arrangements, not the arithmetic. */
    private static final long MAX_RUN_WEIGHTS = 1 << 16;

    /** Whether an activation's values lie in a bounded range no wider than its moderate parameters make it. */
    private static boolean bounded(Activation a) {
        return switch (a.function()) {
            case SIGMOID, TANH, SOFTSIGN, HARD_SIGMOID -> true;
            case SCALED_TANH -> Math.abs(a.alpha()) <= 1e3f;
            default -> false;
        };
    }

    @FuzzTest
    @DictionaryEntries({"LSTM", "GRU", "RNN", "hidden_size", "direction", "bidirectional", "reverse", "layout",
        "linear_before_reset", "activations", "activation_alpha", "activation_beta", "clip", "input_forget", "Relu", "Tanh",
        "HardSigmoid", "LeakyRelu", "Softsign", "Transpose", "Reshape", "Squeeze", "Unsqueeze", "Concat",
        "Slice", "Gather", "Shape", "ConstantOfShape", "Expand", "Identity", "Cast", "Constant", "perm", "axis", "axes",
        "value", "batch", "steps"})
    void read(byte[] file) throws IOException {
        RnnModel m = ReaderContract.readOrRefuse(SOURCE, HEAP_PER_BYTE, file.length, () -> Onnx.read(file, SOURCE, Map.of()));
        if (m == null) {
            return;
        }
        RnnSpec spec = m.spec();
        boolean states = m.inputs().stream().anyMatch(i -> i.role() == RnnModel.Role.H0 || i.role() == RnnModel.Role.C0);
        boolean lengths = m.inputs().stream().anyMatch(i -> i.role() == RnnModel.Role.LENGTHS);
        RnnModel back = Onnx.read(Onnx.toBytes(m.weights(), new Onnx.ExportOptions(m.layout(), states, lengths)), "rewritten",
                Map.of());
        assertEquals(spec, back.spec());
        assertEquals(m.layout(), back.layout());
        m.weights().toPyTorch().forEach((k, v) -> assertArrayEquals(v, back.weights().toPyTorch().get(k), k));
        long weights = m.weights().toPyTorch().values().stream().mapToLong(v -> v.length).sum();
        if (m.inputs().size() != 1 || weights > MAX_RUN_WEIGHTS) {
            return;
        }
        int[] axes = m.sequenceAxes();
        int[] shape = new int[3];
        shape[axes[0]] = 2;
        shape[axes[1]] = 2;
        shape[axes[2]] = spec.inputSize();
        NpyArray x = NpyArray.ofFloats(new float[4 * spec.inputSize()], shape);
        try (RnnPlan plan = Backends.get("scalar", spec).plan(spec, m.weights())) {
            Map<String, NpyArray> out = m.run(plan, Map.of(m.sequenceInput(), x));
            assertEquals(m.outputNames(), java.util.List.copyOf(out.keySet()));
            // weights of moderate size (a file may hold NaN, infinities or 1e38) give finite outputs on a zero input,
            // through PyTorch's activations or bounded ones (an Affine's or a ReLU's in an LSTM's g and h roles may
            // grow past float's range in two steps)
            boolean moderate = m.weights().toPyTorch().values().stream()
                    .allMatch(v -> { for (float f : v) { if (!(Math.abs(f) <= 1e3f)) { return false; } } return true; })
                    && (spec.cell().isPlain() || spec.cell().activations().stream().allMatch(OnnxFuzzTest::bounded));
            for (NpyArray a : out.values()) {
                assertEquals(ReaderContract.elements(a.shape()), a.size());
                for (float v : a.toFloats()) {
                    assertTrue(!moderate || Float.isFinite(v), "a zero input gave " + v);
                }
            }
        }
    }
}
