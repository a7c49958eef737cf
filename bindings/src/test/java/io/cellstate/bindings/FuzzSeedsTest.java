package io.cellstate.bindings;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fuzz tests' seed corpora hold what {@link FuzzSeeds} makes, and each seed is what its name
 * says: {@code bad-*} refused with a {@link ModelFormatException}, every other seed read (fixed
 * findings, {@code finding-*}, are left to the fuzz tests, which replay every file).
 *
 * <p>Run with {@code -Dcellstate.fuzz.writeSeeds=true} to (re)write the seeds into
 * {@code src/test/resources} (FUZZING.md). The bytes are not compared with the committed ones: the
 * deflated archives depend on the zlib the JDK was built with.
 */
class FuzzSeedsTest {
    private static final Path RESOURCES = Path.of("src", "test", "resources");

    @TempDir
    Path dir;

    @Test
    void theCorporaHoldEveryGeneratedSeed() throws IOException {
        Map<Path, Map<String, byte[]>> corpora = FuzzSeeds.corpora(RESOURCES);
        if (Boolean.getBoolean("cellstate.fuzz.writeSeeds")) {
            for (Map.Entry<Path, Map<String, byte[]>> c : corpora.entrySet()) {
                Files.createDirectories(c.getKey());
                for (Map.Entry<String, byte[]> seed : c.getValue().entrySet()) {
                    Files.write(c.getKey().resolve(seed.getKey()), seed.getValue());
                }
                System.out.println("FuzzSeedsTest: wrote " + c.getValue().size() + " seeds to " + c.getKey().toAbsolutePath());
            }
        }
        List<String> missing = new ArrayList<>();
        for (Map.Entry<Path, Map<String, byte[]>> c : corpora.entrySet()) {
            for (String name : c.getValue().keySet()) {
                if (!Files.isRegularFile(c.getKey().resolve(name))) {
                    missing.add(c.getKey().resolve(name).toString());
                }
            }
        }
        assertTrue(missing.isEmpty(), () -> "seeds missing (run with -Dcellstate.fuzz.writeSeeds=true): " + missing);
    }

    @Test
    void everyGeneratedSeedIsWhatItsNameSays() throws IOException {
        for (Map<String, byte[]> seeds : FuzzSeeds.corpora(dir).values()) {
            for (Map.Entry<String, byte[]> seed : seeds.entrySet()) {
                assertTrue(seed.getValue().length < 4096, () -> seed.getKey() + ": over libFuzzer's default limit");
                check(seed.getKey(), seed.getValue());
            }
        }
    }

    @Test
    void everyCommittedSeedIsWhatItsNameSays() throws IOException {
        int checked = 0;
        for (Path corpus : FuzzSeeds.corpora(RESOURCES).keySet()) {
            List<Path> files;
            try (Stream<Path> s = Files.list(corpus)) {
                files = s.sorted().toList();
            }
            assertFalse(files.isEmpty(), () -> corpus + " is empty");
            for (Path f : files) {
                if (!f.getFileName().toString().startsWith("finding-")) {
                    check(f.getFileName().toString(), Files.readAllBytes(f));
                    checked++;
                }
            }
        }
        System.out.println("FuzzSeedsTest: " + checked + " committed seeds read or refused as named");
    }

    /** Reads a seed by the reader its suffix names: refused if its name starts with bad-, read otherwise. */
    private void check(String name, byte[] bytes) throws IOException {
        Reader read = switch (name.substring(name.lastIndexOf('.'))) {
            case ".npy" -> () -> Npy.read(bytes, name);
            case ".safetensors" -> () -> Safetensors.read(bytes, name);
            case ".onnx" -> () -> Onnx.read(bytes, name, Map.of());
            case ".npz" -> () -> {
                Path f = dir.resolve(name);
                Files.write(f, bytes);
                Npz.read(f);
            };
            default -> throw new AssertionError(name + ": not a seed of a known kind");
        };
        if (name.startsWith("bad-")) {
            assertThrows(ModelFormatException.class, read::run, name);
        } else {
            read.run();
        }
    }

    @FunctionalInterface
    private interface Reader {
        void run() throws IOException;
    }
}
