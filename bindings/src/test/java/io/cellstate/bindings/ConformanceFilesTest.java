package io.cellstate.bindings;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The files PyTorch and NumPy wrote in ../shared/conformance/torch: every one reads, and writes back the same. */
class ConformanceFilesTest {
    @TempDir
    Path dir;

    private static Path torch() {
        String p = System.getProperty("cellstate.conformance");
        Path root = p == null ? null : Path.of(p).normalize().resolve("torch");
        boolean present = root != null && Files.isDirectory(root);
        if (!present) {
            System.out.println("ConformanceFilesTest: no reference data at " + p + " (system property cellstate.conformance): skipped");
        }
        assumeTrue(present, "no reference data at " + p);
        return root;
    }

    private static List<Path> files(Path root, String suffix) throws IOException {
        try (Stream<Path> s = Files.walk(root, 2)) {
            return s.filter(f -> f.getFileName().toString().endsWith(suffix)).sorted().toList();
        }
    }

    @Test
    void readsEveryStateDict() throws Exception {
        List<Path> models = files(torch(), ".safetensors");
        assertFalse(models.isEmpty(), "no model.safetensors under the torch cases");
        for (Path m : models) {
            Safetensors.Contents c = Safetensors.read(m);
            assertFalse(c.tensors().isEmpty(), m.toString());
            assertTrue(c.tensors().keySet().stream().anyMatch(k -> k.startsWith("weight_ih_l0")), m + ": " + c.tensors().keySet());
            Path copy = dir.resolve("copy.safetensors");
            Safetensors.write(copy, c.tensors(), c.metadata());
            Safetensors.Contents back = Safetensors.read(copy);
            for (var e : c.tensors().entrySet()) {
                assertTrue(java.util.Arrays.equals(e.getValue().data(), back.tensors().get(e.getKey()).data()), m + " " + e.getKey());
            }
        }
        System.out.println("ConformanceFilesTest: read and rewrote " + models.size() + " state_dicts");
    }

    @Test
    void readsEveryNpy() throws Exception {
        List<Path> arrays = files(torch(), ".npy");
        assertFalse(arrays.isEmpty(), "no .npy under the torch cases");
        for (Path f : arrays) {
            NpyArray a = Npy.read(f);
            assertEquals(a, Npy.read(Npy.toBytes(a), "copy"), f.toString());
            if (a.dtype() == NpyArray.DType.FLOAT32 || a.dtype() == NpyArray.DType.FLOAT64) {
                assertEquals(a.size(), a.toFloats().length, f.toString());
            } else {
                assertEquals(a.size(), a.toLongs().length, f.toString());
            }
        }
        System.out.println("ConformanceFilesTest: read " + arrays.size() + " .npy files");
    }
}
