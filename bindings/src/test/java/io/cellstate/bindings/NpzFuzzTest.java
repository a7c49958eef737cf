package io.cellstate.bindings;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fuzzes {@link Npz#read(Path)} within the default limits, through a file (the reader is the JDK's
 * {@link java.util.zip.ZipFile}, which reads the central directory from the end of a file): every
 * input is read or refused with a {@link ModelFormatException} ({@link ReaderContract}); each array
 * read has as many elements as its shape says, and the archive written back, stored and deflated,
 * is read again the same.
 *
 * <p>Only this package's classes are instrumented, not the JDK's zip code, so the fuzzer is guided
 * by the checks of {@link Npz} and {@link Npy} rather than by the zip parser's branches.
 *
 * <p>Plain test runs replay the seeds in {@code NpzFuzzTestInputs/read}; with {@code JAZZER_FUZZ=1} it is
 * fuzzed, for as long and within the limits the build sets (FUZZING.md).
 */
class NpzFuzzTest {
    /**
     * An entry may declare up to {@link Npz#MAX_DEFLATE_RATIO} bytes per compressed byte; the reader
     * holds an entry's bytes and its array, and the zip reader a buffer of up to the entry's size.
     */
    private static final long HEAP_PER_BYTE = 4L * Npz.MAX_DEFLATE_RATIO;

    @TempDir
    static Path dir;

    @FuzzTest
    @DictionaryEntries({"PK\u0003\u0004", "PK\u0001\u0002", "PK\u0005\u0006", "PK\u0006\u0006", "PK\u0006\u0007",
        ".npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }"})
    void read(byte[] archive) throws IOException {
        Path file = dir.resolve("fuzz.npz");
        Files.write(file, archive);
        Map<String, NpyArray> arrays = ReaderContract.readOrRefuse(file.toString(), HEAP_PER_BYTE, archive.length,
                () -> Npz.read(file));
        if (arrays == null) {
            return;
        }
        for (Map.Entry<String, NpyArray> a : arrays.entrySet()) {
            assertEquals(ReaderContract.elements(a.getValue().shape()), a.getValue().size(), a::getKey);
        }
        Path again = dir.resolve("rewritten.npz");
        for (boolean compress : new boolean[] {false, true}) {
            Npz.write(again, arrays, compress);
            Map<String, NpyArray> back = Npz.read(again);
            assertEquals(List.copyOf(arrays.keySet()), List.copyOf(back.keySet()));
            assertEquals(arrays, back, () -> "written back " + (compress ? "deflated" : "stored"));
        }
    }
}
