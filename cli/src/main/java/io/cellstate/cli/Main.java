package io.cellstate.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code cellstate} command line. Started by the {@code ./cellstate} launcher, which adds the
 * JVM flags the kernels need ({@code --add-modules jdk.incubator.vector}); the library itself
 * never sets flags or properties.
 */
@Command(name = "cellstate",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "Fast LSTM kernels for the JVM: one API, interchangeable kernels, one oracle.",
        subcommands = {InfoCommand.class, DemoCommand.class, TrainCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    /** Exit code of a run whose results are wrong (a backend outside its tolerance) or that failed. */
    static final int EXIT_FAILED = 1;

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured command line; tests run it in-process with their own writers. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((e, line, parsed) -> {
            // The API's exceptions name the argument, the expected and the actual value: that message
            // is the whole story, a stack trace would only bury it.
            line.getErr().println(line.getColorScheme().errorText("cellstate: " + e.getMessage()));
            if (!(e instanceof IllegalArgumentException || e instanceof IllegalStateException
                    || e instanceof UnsupportedOperationException)) {
                e.printStackTrace(line.getErr());
            }
            return EXIT_FAILED;
        });
        return cl;
    }

    /** Without a subcommand: the usage, and a usage error's exit code. */
    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "Missing required subcommand (info, demo, train or help)");
    }

    /** The project's version, filtered in from the POM at build time. */
    static String version() {
        try (InputStream in = Main.class.getResourceAsStream("version.properties")) {
            if (in == null) {
                return "unknown";
            }
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {
                "cellstate " + version(),
                "JVM: ${java.version} (${java.vendor} ${java.vm.name} ${java.vm.version})",
                "OS: ${os.name} ${os.version} ${os.arch}"
            };
        }
    }
}
