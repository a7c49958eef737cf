package io.cellstate.bench;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The results of one JMH JSON file ({@code -rf json}), with what JMH recorded about the run.
 *
 * @param file       the file
 * @param jmhVersion JMH's version, e.g. "1.37"
 * @param jvm        the java that ran the benchmarks
 * @param vm         the VM's name and version, e.g. "OpenJDK 64-Bit Server VM 25.0.3+9-LTS"
 * @param jvmArgs    the forked JVM's options
 * @param settings   the distinct run settings, e.g. "avgt, 1 fork, warmup 2 × 2 s, measurement 3 × 2 s"
 * @param results    the results, in the file's order
 * @param skipped    why results were left out (no shape param, for example)
 */
public record JmhRun(Path file, String jmhVersion, String jvm, String vm, List<String> jvmArgs,
                     List<String> settings, List<BenchResult> results, List<String> skipped) {

    /**
     * Reads a JMH JSON file.
     *
     * @throws IOException if the file cannot be read or is not a JMH JSON array
     */
    public static JmhRun read(Path file) throws IOException {
        JsonArray array;
        try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            JsonElement root = JsonParser.parseReader(in);
            if (!root.isJsonArray()) {
                throw new IOException(file + ": expected a JMH JSON array (-rf json), got " + kind(root));
            }
            array = root.getAsJsonArray();
        } catch (JsonParseException e) {
            throw new IOException(file + ": not JSON: " + e.getMessage(), e);
        }
        String jmhVersion = "";
        String jvm = "";
        String vm = "";
        List<String> jvmArgs = List.of();
        Set<String> settings = new LinkedHashSet<>();
        List<BenchResult> results = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        for (JsonElement e : array) {
            JsonObject o = e.getAsJsonObject();
            if (jmhVersion.isEmpty()) {
                jmhVersion = string(o, "jmhVersion");
                jvm = string(o, "jvm");
                vm = (string(o, "vmName") + " " + string(o, "vmVersion")).strip();
                jvmArgs = strings(o.getAsJsonArray("jvmArgs"));
            }
            settings.add(settings(o));
            try {
                results.add(result(file, o));
            } catch (IllegalArgumentException | IllegalStateException | NullPointerException ex) {
                skipped.add(string(o, "benchmark") + " " + o.get("params") + ": " + ex.getMessage());
            }
        }
        return new JmhRun(file, jmhVersion, jvm, vm, jvmArgs, List.copyOf(settings), List.copyOf(results),
                List.copyOf(skipped));
    }

    private static BenchResult result(Path file, JsonObject o) {
        JsonObject params = o.has("params") ? o.getAsJsonObject("params") : new JsonObject();
        String shape = param(params, "shape", null);
        if (shape == null) {
            throw new IllegalArgumentException("no shape param (expected \"BxH\")");
        }
        String[] bh = shape.split("x");
        if (bh.length != 2) {
            throw new IllegalArgumentException("shape: expected \"BxH\", got \"" + shape + "\"");
        }
        JsonObject metric = o.getAsJsonObject("primaryMetric");
        return new BenchResult(file.toString(), string(o, "benchmark"), param(params, "backend", "?"),
                Integer.parseInt(bh[0].strip()), Integer.parseInt(bh[1].strip()),
                Integer.parseInt(param(params, "steps", "0")), Integer.parseInt(param(params, "threads", "-1")),
                number(metric.get("score")), number(metric.get("scoreError")), string(metric, "scoreUnit"),
                param(params, "cell", null));
    }

    /** "avgt, 1 fork, warmup 2 × 2 s, measurement 3 × 2 s": how JMH ran one result. */
    private static String settings(JsonObject o) {
        int forks = o.has("forks") ? o.get("forks").getAsInt() : 0;
        return string(o, "mode") + ", " + forks + (forks == 1 ? " fork" : " forks")
                + ", warmup " + string(o, "warmupIterations") + " \u00d7 " + string(o, "warmupTime")
                + ", measurement " + string(o, "measurementIterations") + " \u00d7 " + string(o, "measurementTime");
    }

    private static String param(JsonObject params, String name, String absent) {
        JsonElement v = params.get(name);
        return v == null || v.isJsonNull() ? absent : v.getAsString();
    }

    /** A JSON number, or NaN: JMH writes "NaN" (a string) for an error it could not compute. */
    private static double number(JsonElement v) {
        if (v == null || v.isJsonNull()) {
            return Double.NaN;
        }
        try {
            return v.getAsDouble();
        } catch (NumberFormatException e) {
            return Double.NaN;
        }
    }

    private static String string(JsonObject o, String name) {
        JsonElement v = o.get(name);
        return v == null || v.isJsonNull() ? "" : v.getAsString();
    }

    private static List<String> strings(JsonArray a) {
        List<String> out = new ArrayList<>();
        if (a != null) {
            a.forEach(e -> out.add(e.getAsString()));
        }
        return List.copyOf(out);
    }

    private static String kind(JsonElement e) {
        return e.isJsonObject() ? "an object" : e.isJsonNull() ? "null" : "a single value";
    }
}
