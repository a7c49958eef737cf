package io.cellstate.cli;

import static io.cellstate.cli.Cli.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cellstate.Direction;
import io.cellstate.RnnSpec;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** Runs the command line in-process, as the launcher would, and reads what it prints. */
class MainTest {

    @Test
    void demoChecksEveryBackendAgainstTheOracle() {
        Cli.Run r = run("demo", "--steps", "3", "--batch", "2", "--hidden", "8", "--input", "5", "--repeat", "1");
        assertEquals(0, r.exitCode(), r.out() + r.err());
        assertTrue(r.row("scalar").contains("oracle"), r.out());
        // The tests run with --add-modules jdk.incubator.vector (surefire's argLine): vector must be there.
        assertTrue(r.row("vector").contains("PASS"), r.out());
        assertTrue(r.out().contains("tolerance = 8 * u * sqrt(n * T * layers)"), r.out());
    }

    @Test
    void demoWithOneLayerAndOddSizes() {
        Cli.Run r = run("demo", "--layers", "1", "--steps", "7", "--batch", "3", "--hidden", "17", "--input", "1",
                "--repeat", "2", "--threads", "1", "--seed", "7");
        assertEquals(0, r.exitCode(), r.out() + r.err());
        assertTrue(r.row("vector").contains("PASS"), r.out());
    }

    /** Every cell through the demo: every CPU backend within the oracle's tolerance, and a bad name a usage error. */
    @Test
    void demoRunsEveryCell() {
        for (String cell : new String[] {"gru", "gru-original", "rnn-tanh", "rnn-relu"}) {
            Cli.Run r = run("demo", "--cell", cell, "--steps", "4", "--batch", "3", "--hidden", "9", "--input", "5",
                    "--repeat", "1");
            assertEquals(0, r.exitCode(), cell + ": " + r.out() + r.err());
            assertTrue(r.out().startsWith("Cellstate demo: " + cell + ","), r.out());
            assertTrue(r.row("vector").contains("PASS") && r.row("blas").contains("PASS"), cell + ": " + r.out());
        }
        Cli.Run bad = run("demo", "--cell", "lstmp");
        assertEquals(CommandLine.ExitCode.USAGE, bad.exitCode());
        assertTrue(bad.err().contains("--cell") && bad.err().contains("got 'lstmp'"), bad.err());
    }

    @Test
    void badOptionValueIsAUsageErrorNamingTheOption() {
        Cli.Run r = run("demo", "--batch", "0");
        assertNotEquals(0, r.exitCode());
        assertTrue(r.err().contains("--batch"), r.err());
        assertTrue(r.err().contains("expected >= 1, got 0"), r.err());
        assertEquals("", r.out());
    }

    @Test
    void unknownOptionAndNonNumberAreUsageErrors() {
        Cli.Run unknown = run("demo", "--bogus");
        assertEquals(CommandLine.ExitCode.USAGE, unknown.exitCode());
        assertTrue(unknown.err().contains("--bogus"), unknown.err());

        Cli.Run notANumber = run("demo", "--steps", "ten");
        assertEquals(CommandLine.ExitCode.USAGE, notANumber.exitCode());
        assertTrue(notANumber.err().contains("--steps"), notANumber.err());
    }

    @Test
    void noSubcommandShowsUsage() {
        Cli.Run r = run();
        assertEquals(CommandLine.ExitCode.USAGE, r.exitCode());
        assertTrue(r.err().contains("Usage: cellstate"), r.err());
    }

    @Test
    void infoListsEveryBackend() {
        Cli.Run r = run("info");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("java.home"), r.out());
        assertTrue(r.row("scalar").contains("yes"), r.out());
        assertTrue(r.row("vector").contains("yes"), r.out());
        assertTrue(r.row("vector").contains("lstm, gru, gru-original, rnn-tanh, rnn-relu"), r.out());
        assertTrue(r.row("cudnn").contains("lstm, gru, rnn-tanh, rnn-relu"), "cudnn lacks the original GRU: " + r.out());
    }

    @Test
    void helpAndVersion() {
        Cli.Run help = run("demo", "--help");
        assertEquals(0, help.exitCode());
        assertTrue(help.out().contains("--repeat"), help.out());

        Cli.Run version = run("--version");
        assertEquals(0, version.exitCode());
        assertTrue(version.out().startsWith("cellstate "), version.out());
    }

    @Test
    void trainHelpNamesBothTasksAndTheBudget() {
        Cli.Run help = run("train", "--help");
        assertEquals(0, help.exitCode(), help.err());
        assertTrue(help.out().contains("--time") && help.out().contains("--epochs") && help.out().contains("classify"),
                help.out());
    }

    @Test
    void trainRefusesBadSettingsNamingTheOption() {
        Cli.Run lr = run("train", "--lr", "-1");
        assertEquals(CommandLine.ExitCode.USAGE, lr.exitCode());
        assertTrue(lr.err().contains("Invalid value for option '--lr': expected a finite value > 0, got -1.0"), lr.err());

        Cli.Run budget = run("train", "adding", "--time", "0");
        assertEquals(CommandLine.ExitCode.USAGE, budget.exitCode());
        assertTrue(budget.err().contains("Invalid value for options '--time', '--iterations'"), budget.err());

        Cli.Run other = run("train", "adding", "--epochs", "3");
        assertEquals(CommandLine.ExitCode.USAGE, other.exitCode());
        assertTrue(other.err().contains("Option --epochs does not apply to adding"), other.err());

        Cli.Run split = run("train", "classify", "--validation-split", "1");
        assertEquals(CommandLine.ExitCode.USAGE, split.exitCode());
        assertTrue(split.err().contains("'--validation-split': expected 0 < split < 1, got 1.0"), split.err());

        Cli.Run task = run("train", "sorting");
        assertEquals(CommandLine.ExitCode.USAGE, task.exitCode());
        assertTrue(task.err().contains("sorting"), task.err());

        Cli.Run backend = run("train", "--backend", "nosuch", "--iterations", "1");
        assertEquals(Main.EXIT_FAILED, backend.exitCode());
        assertTrue(backend.err().contains("backend: expected one of") && backend.err().contains("got 'nosuch'"),
                backend.err());
        assertEquals("", backend.out());
    }

    /** A run too short to learn exits with 1 and says the goal was not reached; the chart is still written. */
    @Test
    void trainExitsWithOneWhenTheGoalIsNotReached(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        Cli.Run r = run("train", "--backend", "scalar", "--steps", "4", "--hidden", "4", "--batch", "4", "--iterations", "20",
                "--out", dir.toString());
        assertEquals(Main.EXIT_FAILED, r.exitCode(), r.out() + r.err());
        assertTrue(r.out().contains("Trained 20 steps (80 sequences)"), r.out());
        assertTrue(r.out().contains("goal (< 0.0167) NOT reached"), r.out());
        assertTrue(java.nio.file.Files.exists(dir.resolve("adding-loss.svg")), r.out());
    }

    @Test
    void toleranceFollowsTheAccumulationLength() {
        RnnSpec rnn = RnnSpec.builder().inputSize(64).hiddenSize(128).layers(2)
                .direction(Direction.BIDIRECTIONAL).build();
        assertEquals(256 + 128 + 2, io.cellstate.Tolerance.accumulationLength(rnn));
        assertEquals(8 * Math.pow(2, -24) * Math.sqrt(386.0 * 50 * 2), OracleCheck.tolerance(rnn, 50), 1e-15);
    }

    @Test
    void medianOfOddAndEvenCounts() {
        assertEquals(3, OracleCheck.median(new long[] {9, 3, 1}));
        assertEquals(2.5, OracleCheck.median(new long[] {4, 1, 2, 3}));
    }
}
