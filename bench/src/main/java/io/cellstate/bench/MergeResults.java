package io.cellstate.bench;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Concatenates JMH JSON result files (one per JMH invocation) into one array, so a profile that
 * needs several invocations (parameters that are not a full cross product) keeps one results file.
 *
 * <pre>
 *   java -cp "bench/target/classes:bench/target/lib/*" io.cellstate.bench.MergeResults OUT.json IN.json...
 * </pre>
 */
public final class MergeResults {
    private MergeResults() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 2) {
            System.err.println("Usage: MergeResults OUT.json IN.json...");
            System.exit(2);
        }
        JsonArray all = new JsonArray();
        for (int i = 1; i < args.length; i++) {
            try (Reader in = Files.newBufferedReader(Path.of(args[i]), StandardCharsets.UTF_8)) {
                JsonElement root = JsonParser.parseReader(in);
                if (!root.isJsonArray()) {
                    System.err.println("MergeResults: " + args[i] + " is not a JMH JSON array");
                    System.exit(1);
                }
                all.addAll(root.getAsJsonArray());
            }
        }
        // JMH writes NaN for an error it could not compute; Gson needs leave to write it back.
        String json = new GsonBuilder().setPrettyPrinting().serializeSpecialFloatingPointValues().create().toJson(all);
        Files.writeString(Path.of(args[0]), json + "\n", StandardCharsets.UTF_8);
    }
}
