package io.cellstate.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A consumer on the module path, as a modular framework would use Cellstate: a module that requires
 * {@code io.cellstate}, compiled against the packaged jars and run with them as modules (the jars
 * this module copies to {@code target/lib} for the launcher: the three library jars and what they
 * pull in). Runs after {@code package} (Failsafe), since it needs the jars themselves.
 */
class ModulePathIT {
    /** The modules that load or call native code: the README's usage section gives this list. */
    static final String NATIVE_ACCESS = "io.cellstate.blas,io.cellstate.cuda,org.bytedeco.javacpp,org.bytedeco.openblas,"
            + "org.bytedeco.cuda";
    private static Path modulePath;
    private static Path sources;

    @BeforeAll
    static void locate() {
        modulePath = Path.of(System.getProperty("cellstate.modulePath", "target/lib"));
        sources = Path.of(System.getProperty("cellstate.consumers", "src/it"));
        assertTrue(Files.isDirectory(modulePath), "the packaged jars: " + modulePath.toAbsolutePath());
    }

    /** Compiles the module in {@code sources/name} against the module path into {@code out}: javac's exit code, its messages appended. */
    private static int compile(String name, Path out, StringBuilder messages) throws IOException {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        assertNotNull(javac, "a JDK runs the tests (javax.tools.ToolProvider has no compiler)");
        List<String> args = new ArrayList<>(List.of("--module-path", modulePath.toString(), "-d", out.toString(),
                "-Xlint:-module"));
        try (Stream<Path> files = Files.walk(sources.resolve(name))) {
            files.filter(p -> p.toString().endsWith(".java")).forEach(p -> args.add(p.toString()));
        }
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = javac.run(null, err, err, args.toArray(String[]::new));
        messages.append(err.toString(StandardCharsets.UTF_8));
        return rc;
    }

    @Test
    void aModularConsumerRunsEveryBackendFromTheModulePath(@TempDir Path out) throws Exception {
        StringBuilder messages = new StringBuilder();
        assertEquals(0, compile("consumer", out, messages), messages.toString());
        String launcher = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = List.of(launcher,
                "--module-path", modulePath + File.pathSeparator + out,
                "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=" + NATIVE_ACCESS,
                "-m", "consumer/consumer.Main");
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the consumer hung:\n" + output);
        System.out.println("$ " + String.join(" ", command) + "\n" + output);
        assertEquals(0, p.exitValue(), output);
        assertTrue(output.contains("module: io.cellstate\n"), output);
        assertTrue(output.contains("exports io.cellstate: true"), output);
        assertTrue(output.contains("exports io.cellstate.spi: true"), output);
        assertTrue(output.contains("exports io.cellstate.cpu: false"), output);
        assertTrue(output.contains("exports io.cellstate.vector: false"), output);
        assertTrue(output.contains("exports io.cellstate.internal: false"), output);
        assertTrue(output.contains("vector: ok"), "the Vector API kernel runs as a module:\n" + output);
        assertTrue(output.contains("blas: ok"), "OpenBLAS loads its natives on the module path:\n" + output);
        assertTrue(output.contains("blas module: io.cellstate.blas"), output);
        assertTrue(output.contains("auto: ok (vector"), output);
        assertTrue(output.contains("cudnn: "), output);
        assertFalse(output.contains("WRONG"), output);
        assertFalse(output.contains("--enable-native-access"), "the README's flags cover native access:\n" + output);
    }

    @Test
    void theCpuDriverIsNotPartOfTheApi(@TempDir Path out) throws Exception {
        StringBuilder messages = new StringBuilder();
        int rc = compile("trespasser", out, messages);
        assertEquals(1, rc, "a module compiled against io.cellstate.cpu:\n" + messages);
        assertTrue(messages.toString().contains("package io.cellstate.cpu is not visible")
                || messages.toString().contains("does not export io.cellstate.cpu"), messages.toString());
    }
}
