package io.cellstate.bindings;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.util.List;
import java.util.Map;

/**
 * Fuzzes {@link Safetensors#read(byte[], String)}: every input is read or refused with a
 * {@link ModelFormatException} ({@link ReaderContract}); what is read, written back as F32 with its
 * metadata, is read again the same: names in the same order, shapes, the float bits, the metadata.
 *
 * <p>Plain test runs replay the seeds in {@code SafetensorsFuzzTestInputs/read}; with {@code JAZZER_FUZZ=1} it is
 * fuzzed, for as long and within the limits the build sets (FUZZING.md).
 */
class SafetensorsFuzzTest {
    private static final String SOURCE = "fuzz.safetensors";

    /**
     * Float32 elements from F16/BF16 data are twice the data; the header's JSON tree, a few objects
     * per number or name, stays under 64 bytes per header byte.
     */
    private static final long HEAP_PER_BYTE = 64;

    @FuzzTest
    @DictionaryEntries({"{\"", "\":{\"dtype\":\"", "F32", "F16", "BF16", "F64", "U8", "F4", "\",\"shape\":[",
        "],\"data_offsets\":[", "]}", "\"__metadata__\":{", "\\u00e9", "\\ud800"})
    void read(byte[] file) throws IOException {
        Safetensors.Contents c = ReaderContract.readOrRefuse(SOURCE, HEAP_PER_BYTE, file.length, () -> Safetensors.read(file, SOURCE));
        if (c == null) {
            return;
        }
        for (Map.Entry<String, Safetensors.Tensor> t : c.tensors().entrySet()) {
            assertEquals(ReaderContract.elements(t.getValue().shape()), t.getValue().data().length, t::getKey);
        }
        Safetensors.Contents back = Safetensors.read(Safetensors.toBytes(c.tensors(), c.metadata()), "rewritten");
        assertEquals(List.copyOf(c.tensors().keySet()), List.copyOf(back.tensors().keySet()));
        assertEquals(c.metadata(), back.metadata());
        for (Map.Entry<String, Safetensors.Tensor> t : c.tensors().entrySet()) {
            Safetensors.Tensor again = back.tensors().get(t.getKey());
            assertArrayEquals(t.getValue().shape(), again.shape(), t::getKey);
            assertArrayEquals(bits(t.getValue().data()), bits(again.data()), t::getKey);
        }
    }

    private static int[] bits(float[] f) {
        int[] b = new int[f.length];
        for (int k = 0; k < f.length; k++) {
            b[k] = Float.floatToRawIntBits(f[k]);
        }
        return b;
    }
}
