package io.cellstate.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import picocli.CommandLine;

/** Runs the command line in-process, as the launcher would, with writers the tests read. */
final class Cli {
    private Cli() {
    }

    /** Exit code and the text written to standard output and standard error. */
    record Run(int exitCode, String out, String err) {
        List<String> lines() {
            return out.lines().toList();
        }

        /** The table row that starts with {@code backend}. */
        String row(String backend) {
            return lines().stream().filter(l -> l.startsWith(backend + " ")).findFirst()
                    .orElseThrow(() -> new AssertionError("no row for " + backend + " in:\n" + out + err));
        }

        /** Everything printed, for assertion messages. */
        String all() {
            return out + err;
        }
    }

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }
}
