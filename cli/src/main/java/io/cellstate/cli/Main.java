package io.cellstate.cli;

import io.cellstate.bindings.ModelFormatException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
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
        subcommands = {InfoCommand.class, DemoCommand.class, RunCommand.class, TrainCommand.class, CommandLine.HelpCommand.class})
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
            Exception cause = e instanceof UncheckedIOException u ? u.getCause() : e;
            line.getErr().println(line.getColorScheme().errorText("cellstate: " + message(cause)));
            if (!userError(cause)) {
                e.printStackTrace(line.getErr());
            }
            return EXIT_FAILED;
        });
        return cl;
    }

    /**
     * Whether {@code e} says what the user got wrong, in one line: the API's exceptions name the argument,
     * the expected and the actual value, a malformed file's name the file, the place and the problem, and
     * the file system's the file. A stack trace would only bury that; it stays for everything else (a bug).
     */
    static boolean userError(Exception e) {
        return e instanceof IllegalArgumentException || e instanceof IllegalStateException
                || e instanceof UnsupportedOperationException || e instanceof ModelFormatException
                || e instanceof FileSystemException;
    }

    /** The line a failure prints after {@code cellstate: }. */
    static String message(Exception e) {
        // These say only the file in getMessage(): the class name is the problem.
        return switch (e) {
            case NoSuchFileException f -> (f.getReason() != null ? f.getReason() + ": " : "") + "no such file: " + f.getFile();
            case AccessDeniedException f -> "permission denied: " + f.getFile();
            case NotDirectoryException f -> "not a directory: " + f.getFile();
            case FileAlreadyExistsException f -> "already exists: " + f.getFile();
            default -> e.getMessage() != null ? e.getMessage() : e.toString();
        };
    }

    /**
     * {@code value}, or a usage error naming {@code option} when it is below {@code min}.
     *
     * @param line the command whose usage it is
     */
    static int atLeast(CommandLine line, String option, int value, int min) {
        if (value < min) {
            throw new CommandLine.ParameterException(line,
                    "Invalid value for option '" + option + "': expected >= " + min + ", got " + value);
        }
        return value;
    }

    /** Without a subcommand: the usage, and a usage error's exit code. */
    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "Missing required subcommand (info, demo, run, train or help)");
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
