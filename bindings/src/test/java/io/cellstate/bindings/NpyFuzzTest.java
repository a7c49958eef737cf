package io.cellstate.bindings;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;

/**
 * Fuzzes {@link Npy#read(byte[], String)}: every input is read or refused with a
 * {@link ModelFormatException} ({@link ReaderContract}); an array read has as many elements as its
 * shape says and, written back, is read again the same, holding the file's bits.
 *
 * <p>Plain test runs replay the seeds in {@code NpyFuzzTestInputs/read}; with {@code JAZZER_FUZZ=1} it is
 * fuzzed, for as long and within the limits the build sets (FUZZING.md).
 */
class NpyFuzzTest {
    private static final String SOURCE = "fuzz.npy";

    /**
     * The arrays are the file's data (elements of 4 or 8 bytes, at most the file's size) and the
     * header's text; a dict of dimensions is a list of boxed longs, about 24 bytes per digit.
     */
    private static final long HEAP_PER_BYTE = 64;

    @FuzzTest
    @DictionaryEntries({"NUMPY", "{'descr': ", "'fortran_order': ", "'shape': ", "False", "True",
        "'<f4'", "'>f8'", "'<i4'", "'>i8'", "'=f4'", "'|O'", "(2, 3)", "(0,)", "()", ", }"})
    void read(byte[] file) throws IOException {
        NpyArray a = ReaderContract.readOrRefuse(SOURCE, HEAP_PER_BYTE, file.length, () -> Npy.read(file, SOURCE));
        if (a == null) {
            return;
        }
        assertEquals(ReaderContract.elements(a.shape()), a.size(), a::toString);
        byte[] rewritten = Npy.toBytes(a);
        assertEquals(a, Npy.read(rewritten, "rewritten"));
        ReaderContract.sameData(file, rewritten, a);
    }
}
