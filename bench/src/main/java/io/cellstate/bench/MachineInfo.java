package io.cellstate.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The machine the report is rendered on, which {@code bench/run.sh} makes the machine the
 * benchmarks ran on by rendering right after the run.
 *
 * @param cpu    the CPU model, with family and model numbers where the name alone is vague, and
 *               its SIMD extensions that matter to the kernels
 * @param cores  logical processors available to the JVM
 * @param memory total memory, e.g. "23.4 GiB"
 * @param os     the OS name, version and architecture, with the distribution where known
 */
public record MachineInfo(String cpu, int cores, String memory, String os) {

    /** SIMD extensions worth naming: what decides the vector width and the GEMM kernels. */
    private static final List<String> ISA = List.of("avx2", "fma", "avx512f", "avx512_bf16", "avx512_fp16",
            "amx_tile", "asimd", "sve", "sve2");

    /** Reads /proc/cpuinfo, /proc/meminfo and /etc/os-release where they exist. */
    public static MachineInfo detect() {
        Map<String, String> cpuinfo = firstBlock(Path.of("/proc/cpuinfo"));
        return new MachineInfo(cpu(cpuinfo), Runtime.getRuntime().availableProcessors(), totalMemory(),
                System.getProperty("os.name") + " " + System.getProperty("os.version") + " ("
                        + System.getProperty("os.arch") + ")" + distribution());
    }

    private static String cpu(Map<String, String> cpuinfo) {
        String model = cpuinfo.getOrDefault("model name", cpuinfo.getOrDefault("hardware", "unknown CPU"));
        // A hypervisor may pass only "AMD EPYC"; family and model then tell the generation.
        if (cpuinfo.containsKey("cpu family") && cpuinfo.containsKey("model")) {
            model += " (family " + cpuinfo.get("cpu family") + ", model " + cpuinfo.get("model") + ")";
        }
        String flags = cpuinfo.getOrDefault("flags", cpuinfo.getOrDefault("features", ""));
        if (flags.isEmpty()) {
            return model;
        }
        Set<String> have = Set.of(flags.split("\\s+"));
        List<String> named = new ArrayList<>();
        for (String isa : ISA) {
            if (have.contains(isa)) {
                named.add(isa);
            }
        }
        if (have.contains("avx2") && !have.contains("avx512f")) {
            named.add("no avx512");
        }
        return named.isEmpty() ? model : model + ", " + String.join(" ", named);
    }

    /** The key/value pairs of the first processor in /proc/cpuinfo, keys lower case; empty if absent. */
    private static Map<String, String> firstBlock(Path file) {
        Map<String, String> out = new LinkedHashMap<>();
        try {
            for (String line : Files.readAllLines(file)) {
                if (line.isBlank() && !out.isEmpty()) {
                    break;
                }
                int colon = line.indexOf(':');
                if (colon > 0) {
                    out.putIfAbsent(line.substring(0, colon).strip().toLowerCase(Locale.ROOT),
                            line.substring(colon + 1).strip());
                }
            }
        } catch (IOException e) {
            // Not Linux, or not readable: the report says "unknown".
        }
        return out;
    }

    private static String totalMemory() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    long kib = Long.parseLong(line.replaceAll("\\D", ""));
                    return String.format(Locale.ROOT, "%.1f GiB", kib / (1024.0 * 1024.0));
                }
            }
        } catch (IOException | NumberFormatException e) {
            // Falls through to the JVM's view.
        }
        return "unknown (max heap " + Runtime.getRuntime().maxMemory() / (1 << 20) + " MiB)";
    }

    private static String distribution() {
        try {
            for (String line : Files.readAllLines(Path.of("/etc/os-release"))) {
                if (line.startsWith("PRETTY_NAME=")) {
                    return ", " + line.substring("PRETTY_NAME=".length()).replace("\"", "");
                }
            }
        } catch (IOException e) {
            // No distribution to name.
        }
        return "";
    }
}
