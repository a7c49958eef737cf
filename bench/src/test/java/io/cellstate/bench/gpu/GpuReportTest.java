package io.cellstate.bench.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The GPU section: its tables, its verdicts on the targets, and its place in docs/benchmarks.md. */
class GpuReportTest {
    @TempDir
    Path dir;

    private static String row(String variant, String algorithm, int b, int h, Double ms, Double min, Double hostUs, String ran) {
        return "{\"variant\":\"" + variant + "\",\"algorithm\":\"" + algorithm + "\",\"batch\":" + b + ",\"hidden\":" + h
                + ",\"steps\":100" + (ms == null ? ",\"unsupported\":\"CUDNN_STATUS_NOT_SUPPORTED\""
                : ",\"ms\":" + ms + ",\"msMin\":" + min + ",\"msMax\":" + ms * 1.1 + (hostUs == null ? "" : ",\"hostUs\":" + hostUs)
                + ",\"ran\":\"" + ran + "\"") + "}";
    }

    private static JsonObject cudnn() {
        String rows = String.join(",",
                row("raw", "STANDARD", 1, 256, 1.0, 0.95, 1000.0, "STANDARD"),
                row("raw", "PERSIST_STATIC", 1, 256, 0.10, 0.10, 40.0, "PERSIST_STATIC"),
                row("raw", "PERSIST_STATIC_SMALL_H", 1, 256, null, null, null, null),
                row("plan", "STANDARD", 1, 256, 1.02, 0.96, 1010.0, "STANDARD"),
                row("plan", "PERSIST_STATIC", 1, 256, 0.106, 0.101, 41.0, "PERSIST_STATIC"),
                row("plan", "PERSIST_STATIC_SMALL_H", 1, 256, null, null, null, null),
                row("plan", "AUTO", 1, 256, 0.104, 0.102, 42.0, "PERSIST_STATIC"),
                row("plan-host", "AUTO", 1, 256, 0.2, 0.19, null, "PERSIST_STATIC"),
                row("raw", "STANDARD", 64, 512, 2.0, 2.0, 1500.0, "STANDARD"),
                row("plan", "STANDARD", 64, 512, 2.02, 2.01, 1510.0, "STANDARD"),
                row("plan", "AUTO", 64, 512, 2.2, 2.1, 1520.0, "STANDARD"));
        return JsonParser.parseString("{\"meta\":{\"gpu\":\"Test GPU\",\"cudnn\":\"cuDNN 9.19.0\",\"java\":\"25\","
                + "\"date\":\"2026-11-23T01:00:00Z\"},\"results\":[" + rows + "]}").getAsJsonObject();
    }

    private static JsonObject pytorch() {
        return JsonParser.parseString("{\"meta\":{\"torch\":\"2.11.0\",\"cudnn\":91900,\"cuda\":\"13.0\"},\"results\":["
                + "{\"batch\":1,\"hidden\":256,\"ms\":1.04},{\"batch\":64,\"hidden\":512,\"ms\":2.1}]}").getAsJsonObject();
    }

    /** The training table: our variants per (T, B, H) beside PyTorch's, the speed-up like for like. */
    @Test
    void trainingTable() {
        JsonObject ours = JsonParser.parseString("{\"meta\":{\"cudnn\":\"cuDNN 9.19.0\",\"date\":\"2026-12-02\"},"
                + "\"results\":["
                + "{\"variant\":\"train-device\",\"algorithm\":\"STANDARD\",\"steps\":50,\"batch\":64,\"hidden\":500,\"ms\":4.0},"
                + "{\"variant\":\"train-device\",\"algorithm\":\"PERSIST_STATIC\",\"steps\":50,\"batch\":64,\"hidden\":500,"
                + "\"unsupported\":\"CUDNN_STATUS_NOT_SUPPORTED\"},"
                + "{\"variant\":\"train-device\",\"algorithm\":\"PERSIST_DYNAMIC\",\"steps\":50,\"batch\":64,\"hidden\":500,\"ms\":5.0},"
                + "{\"variant\":\"train-device-data\",\"algorithm\":\"STANDARD\",\"steps\":50,\"batch\":64,\"hidden\":500,\"ms\":3.0},"
                + "{\"variant\":\"train-host\",\"algorithm\":\"STANDARD\",\"steps\":50,\"batch\":64,\"hidden\":500,\"ms\":9.0}"
                + "]}").getAsJsonObject();
        JsonObject torch = JsonParser.parseString("{\"meta\":{\"torch\":\"2.11.0\"},\"results\":["
                + "{\"variant\":\"train\",\"steps\":50,\"batch\":64,\"hidden\":500,\"ms\":3.5},"
                + "{\"variant\":\"train-host-grads\",\"steps\":50,\"batch\":64,\"hidden\":500,\"ms\":5.0}]}").getAsJsonObject();
        String md = GpuReport.renderTraining(ours, torch, "t.json", "pt.json");
        // 5.0 / 4.0 = 1.25x PyTorch with its gradients copied to the host
        assertTrue(md.contains("| 50, 64×500 | 3.500 | 5.000 | 4.000 | 5.000 (PERSIST_DYNAMIC) | 3.000 | 9.000 | 1.25× |"), md);
    }

    @Test
    void tablesAndVerdicts() {
        String md = GpuReport.render(cudnn(), pytorch(), "c.json", "p.json");
        // AUTO 0.104 against the best single algorithm 0.106 (plan figures): -1.9%; 1.04 / 0.104 = 10x PyTorch.
        assertTrue(md.contains("| 1×256 | 1.040 | 1.020 | 0.1060 | not supported | not supported | 0.1040 (PERSIST_STATIC)"
                + " | -1.9% (best: PERSIST_STATIC) | 10.00× | 0.2000 |"), md);
        // 2.2 against 2.02: +8.9%, a miss; 2.1 / 2.2 = 0.955x PyTorch, a miss.
        assertTrue(md.contains("AUTO within 5% of the best single algorithm on every shape: missed on 64×512 (+8.9%)"), md);
        assertTrue(md.contains("At least 1.0× PyTorch everywhere: missed on 64×512 (0.955×)"), md);
        assertTrue(md.contains("At least 5× at batch 1: 1×256 10.0×."), md);
        // overhead 0.106 / 0.10 - 1 = +6.0% median, 0.101 / 0.10 - 1 = +1.0% min: over the target
        assertTrue(md.contains("| 1×256 | PERSIST_STATIC | 0.1000 | 0.1060 | +6.0% | +1.0% | 40.0 | 41.0 |"), md);
        assertTrue(md.contains("over it on 1×256 PERSIST_STATIC (+6.0% median, +1.0% min)"), md);
    }

    /** With plan-graph rows, the algorithm columns and "best" come from them; the direct STANDARD gets a column. */
    @Test
    void graphColumnsWhenTheRunHasThem() {
        String rows = String.join(",",
                row("plan", "STANDARD", 64, 512, 2.0, 2.0, 1500.0, "STANDARD"),
                row("plan-graph", "STANDARD", 64, 512, 1.5, 1.5, 5.0, "STANDARD"),
                row("plan-graph", "PERSIST_STATIC", 64, 512, 6.0, 6.0, 5.0, "PERSIST_STATIC"),
                row("plan", "AUTO", 64, 512, 1.52, 1.5, 5.0, "STANDARD"));
        JsonObject c = JsonParser.parseString("{\"meta\":{},\"results\":[" + rows + "]}").getAsJsonObject();
        String md = GpuReport.render(c, pytorch(), "c.json", "p.json");
        assertTrue(md.contains("| 64×512 | 2.100 | 2.000 | 1.500 | 6.000 | not supported | not supported | 1.520 (STANDARD) | +1.3% (best: STANDARD)"
                + " | 1.38× | - |"), md);
    }

    /** The PERSIST_DYNAMIC sentinel is named only where the run says it used one (older runs did not). */
    @Test
    void sentinelSentenceOnlyWhenTheRunHadOne() {
        String sentence = "Every PERSIST_DYNAMIC network measured was built while another one";
        assertFalse(GpuReport.render(cudnn(), pytorch(), "c.json", "p.json").contains(sentence));
        JsonObject withSentinel = cudnn();
        withSentinel.getAsJsonObject("meta").addProperty("dynamicSentinel", true);
        assertTrue(GpuReport.render(withSentinel, pytorch(), "c.json", "p.json").contains(sentence));
    }

    @Test
    void theBlockIsReplacedOrAppendedAndKeptByReport() throws Exception {
        String first = GpuReport.withBlock("# Bench\n\ntext\n", "one\n");
        assertEquals("# Bench\n\ntext\n\n" + GpuReport.START + "\none\n" + GpuReport.END + "\n", first);
        String second = GpuReport.withBlock(first + "after\n", "two\n");
        assertEquals("# Bench\n\ntext\n\n" + GpuReport.START + "\ntwo\n" + GpuReport.END + "\nafter\n", second);
        assertEquals(GpuReport.START + "\ntwo\n" + GpuReport.END, GpuReport.blockOf(second));
        assertEquals("", GpuReport.blockOf("no block"));

        Path c = Files.writeString(dir.resolve("c.json"), cudnn().toString());
        Path p = Files.writeString(dir.resolve("p.json"), pytorch().toString());
        Path doc = Files.writeString(dir.resolve("benchmarks.md"), "# Cellstate benchmarks\n");
        GpuReport.main(new String[] {c.toString(), p.toString(), "--doc", doc.toString()});
        String block = GpuReport.blockOf(Files.readString(doc));
        assertTrue(block.contains("Test GPU"), block);
        GpuReport.main(new String[] {c.toString(), p.toString(), "--doc", doc.toString()});
        assertEquals(1, Files.readString(doc).split(java.util.regex.Pattern.quote(GpuReport.START), -1).length - 1,
                "rendering twice keeps one block");
    }
}
