package io.cellstate.cli;

import io.cellstate.Backends;
import io.cellstate.cli.TextTable.Align;
import io.cellstate.Availability;
import io.cellstate.Backend;
import io.cellstate.RnnSpec;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code cellstate info}: what this JVM and machine offer, and which backends can run here. */
@Command(name = "info",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "Show the JDK, the CPU, the vector width and every backend with its availability.")
final class InfoCommand implements Callable<Integer> {

    private static final Path CPUINFO = Path.of("/proc/cpuinfo");

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        out.println("Cellstate " + Main.version());
        out.println();
        TextTable env = new TextTable(new String[] {"", ""}, Align.LEFT, Align.LEFT);
        env.row("JDK", Runtime.version() + " (" + System.getProperty("java.vendor") + ", "
                + System.getProperty("java.vm.name") + ")");
        env.row("java.home", System.getProperty("java.home"));
        env.row("OS", System.getProperty("os.name") + " " + System.getProperty("os.version")
                + " (" + System.getProperty("os.arch") + ")");
        env.row("CPU", cpuModel() + ", " + Runtime.getRuntime().availableProcessors() + " available processors");
        env.row("Vector API", vectorApi());
        env.print(out, false);
        out.println();

        out.println("Backends, best first ('auto' picks the first available one that supports the network):");
        TextTable backends = new TextTable(new String[] {"name", "available", "priority", "cells", "description"},
                Align.LEFT, Align.LEFT, Align.RIGHT, Align.LEFT, Align.LEFT);
        for (Backends.Info b : Backends.list()) {
            backends.row(b.name(), b.available() ? "yes" : "no", Integer.toString(b.priority()), cells(b.name()),
                    b.available() ? b.description() : "unavailable: " + b.reason());
        }
        backends.print(out);
        Backends.Choice auto = Backends.choose(RnnSpec.lstm(64, 128));
        out.println();
        out.println("'auto' picks '" + auto.backend().name() + "' for an LSTM here"
                + (auto.fixable().isEmpty() ? "." : ", though these would run if the JVM were started for them:"));
        for (Backends.Info i : auto.fixable()) {
            out.println("  " + i.name() + ": " + i.reason());
        }
        return 0;
    }

    /** The cells backend {@code name} runs, by name (whether or not it can run here). */
    static String cells(String name) {
        Backend b = Backends.byName(name);
        return String.join(", ", io.cellstate.Cell.all().stream()
                .filter(c -> b.unsupported(RnnSpec.builder().cell(c).inputSize(8).hiddenSize(8).build()).isEmpty())
                .map(io.cellstate.Cell::name).toList());
    }

    /** The vector backend's width and micro-kernel, or why it cannot run here. */
    static String vectorApi() {
        Backend vector = Backends.byName("vector");
        Availability a = vector.availability();
        String d = vector.description();
        return a.available() ? d.substring(d.indexOf(':') + 1).strip() : "unavailable: " + a.reason();
    }

    /** The CPU's model name as Linux reports it, or a note saying why it is unknown. */
    static String cpuModel() {
        if (!Files.isReadable(CPUINFO)) {
            return "unknown model (no " + CPUINFO + ")";
        }
        try {
            List<String> lines = Files.readAllLines(CPUINFO);
            // x86 says "model name"; some ARM kernels say "Model" or "Hardware" instead.
            for (String key : List.of("model name", "model", "hardware", "cpu model")) {
                for (String line : lines) {
                    int colon = line.indexOf(':');
                    if (colon > 0 && line.substring(0, colon).strip().toLowerCase(Locale.ROOT).equals(key)) {
                        String value = line.substring(colon + 1).strip();
                        if (!value.isEmpty() && !value.chars().allMatch(Character::isDigit)) {
                            return value;
                        }
                    }
                }
            }
            return "unknown model (not named in " + CPUINFO + ")";
        } catch (IOException e) {
            return "unknown model (" + CPUINFO + ": " + e.getMessage() + ")";
        }
    }
}
