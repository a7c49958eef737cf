package io.cellstate.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/** Renders synthetic JMH results (JMH's own JSON layout) and checks the arithmetic and the files. */
class ReportTest {

    private static final String FORWARD = "io.cellstate.bench.ForwardBenchmark.forward";
    private static final String STEP = "io.cellstate.bench.StepBenchmark.step";
    private static final String TRAINING = "io.cellstate.bench.TrainingBenchmark.train";

    @TempDir
    Path dir;

    /** B = 1, H = I = 512, T = 100: 2 * 100 * 1 * 2048 * 1024 = 419.4 MFLOP; in 7.24 ms, 57.9 GFLOP/s. */
    @Test
    void gflopsOfAForwardCall() {
        BenchResult r = forward("vector", "1x512", 100, 1, 7.24, 1.40, "ms/op");
        assertEquals(419_430_400.0, r.flop());
        assertEquals(419_430_400.0 / 7.24e-3 / 1e9, r.gflops(), 1e-9);
        assertEquals(57.93, r.gflops(), 0.005);
        assertEquals(419_430_400.0 / 8.64e-3 / 1e9, r.gflopsLow(), 1e-9);
        assertEquals(419_430_400.0 / 5.84e-3 / 1e9, r.gflopsHigh(), 1e-9);
    }

    /** A step benchmark does one step per call whatever its params, and may time in us. */
    /** A cell param splits the tables, and GFLOP/s counts that cell's gates: 3 for the GRU, 1 for the RNN. */
    @Test
    void cellsGetTablesOfTheirOwnAndTheirOwnGateCounts() throws IOException {
        BenchResult gru = new BenchResult("f", FORWARD, "vector", 1, 512, 100, 1, 7.24, 1.40, "ms/op", "gru");
        assertEquals(314_572_800.0, gru.flop());
        BenchResult rnn = new BenchResult("f", FORWARD, "vector", 1, 512, 100, 1, 7.24, 1.40, "ms/op", "rnn-tanh");
        assertEquals(104_857_600.0, rnn.flop());
        assertEquals("ForwardBenchmark.forward (gru)", gru.shortName());
        String withCell = result(FORWARD, "vector", "1x512", 100, 1, 7.24, 1.40, "ms/op")
                .replace("\"backend\" : \"vector\",", "\"backend\" : \"vector\",\n            \"cell\" : \"gru\",");
        String peerWithCell = result(FORWARD, "onednn", "1x512", 100, 1, 3.62, 0.10, "ms/op")
                .replace("\"backend\" : \"onednn\",", "\"backend\" : \"onednn\",\n            \"cell\" : \"gru\",");
        Path json = write("cells.json", array(result(FORWARD, "vector", "1x512", 100, 1, 7.24, 1.40, "ms/op"),
                withCell, peerWithCell));
        List<ResultTable> tables = ResultTable.of(JmhRun.read(json).results(), new ArrayList<>());
        assertEquals(2, tables.size(), "the LSTM results and the GRU's apart");
        ResultTable lstm = tables.get(0);
        ResultTable g = tables.get(1);
        assertEquals("ForwardBenchmark.forward (gru)", g.shortName());
        assertTrue(Double.isNaN(lstm.rows().getFirst().cells().get("vector").ratio()),
                "no oneDNN LSTM result: the GRU's peer is not the LSTM's");
        assertEquals(0.5, g.rows().getFirst().cells().get("vector").ratio(), 1e-12);
        assertThrows(IllegalArgumentException.class,
                () -> new BenchResult("f", FORWARD, "vector", 1, 512, 100, 1, 1, 1, "ms/op", "lstmp"));
    }

    @Test
    void aStepCallIsOneStepAndUnitsConvert() {
        BenchResult step = new BenchResult("f", STEP, "vector", 1, 512, 100, 1, 50, 2, "us/op");
        assertEquals(1, step.stepsPerCall());
        assertEquals(0.050, step.millis(), 1e-12);
        assertEquals(0.002, step.errorMillis(), 1e-12);
        assertEquals(4_194_304.0 / 50e-6 / 1e9, step.gflops(), 1e-9);

        BenchResult rate = forward("vector", "1x512", 100, 1, 200, 20, "ops/s");
        assertEquals(5.0, rate.millis(), 1e-12);
        assertEquals(0.5, rate.errorMillis(), 1e-12);
        assertEquals(1e-6, BenchResult.millisPerUnit("ns/op"));
        assertEquals(1e3, BenchResult.millisPerUnit("s/op"));
    }

    @Test
    void numbersKeepThreeSignificantDigits() {
        assertEquals("57.9", Numbers.sig3(57.932));
        assertEquals("282", Numbers.sig3(282.37));
        assertEquals("13575", Numbers.sig3(13575.36));
        assertEquals("0.0168", Numbers.sig3(0.016807));
        assertEquals("100", Numbers.sig3(99.96));
        assertEquals("1.00", Numbers.sig3(0.99996));
        assertEquals("7.24 \u00b1 1.40", Numbers.withError(7.2409, 1.4000));
        assertEquals("282 \u00b1 121", Numbers.withError(282.37, 121.45));
        assertEquals("7.24", Numbers.withError(7.2409, Double.NaN));
    }

    @Test
    void ratioIsToOneDnnInTheSameFileAndConfiguration() throws IOException {
        Path json = write("20261122T120000Z-quick.json", sample());
        List<BenchResult> results = JmhRun.read(json).results();
        List<ResultTable> tables = ResultTable.of(results, new ArrayList<>());
        assertEquals(2, tables.size());
        ResultTable forward = tables.getFirst();
        assertEquals(List.of("vector", "scalar", "onednn"), forward.backends());

        ResultTable.Row small = forward.rows().getFirst();
        assertEquals(new ResultTable.Config(1, 512, 100, 1), small.config());
        assertEquals(0.5, small.cells().get("vector").ratio(), 1e-12);
        assertEquals(3.62 / 215.39, small.cells().get("scalar").ratio(), 1e-12);
        assertEquals(1.0, small.cells().get("onednn").ratio(), 1e-12);
        ResultTable.Row large = forward.rows().getLast();
        assertEquals(new ResultTable.Config(64, 512, 100, 2), large.config());
        assertTrue(Double.isNaN(large.cells().get("vector").ratio()), "no oneDNN result for 64x512");

        ResultTable step = tables.getLast();
        assertTrue(step.isStep());
        assertEquals(2.0, step.rows().getFirst().cells().get("vector").ratio(), 1e-12);
        assertTrue(Double.isNaN(step.rows().getFirst().cells().get("onednn").result().error()),
                "JMH's \"NaN\" error reads as NaN");

        // The same configuration in another file does not borrow this file's oneDNN.
        Path other = write("other.json", array(result(FORWARD, "vector", "1x512", 100, 1, 7.0, 0.1, "ms/op")));
        List<BenchResult> both = new ArrayList<>(results);
        both.addAll(JmhRun.read(other).results());
        List<String> warnings = new ArrayList<>();
        ResultTable merged = ResultTable.of(both, warnings).getFirst();
        assertTrue(Double.isNaN(merged.rows().getFirst().cells().get("vector").ratio()));
        assertEquals(1, warnings.size(), warnings.toString());
    }

    @Test
    void rendersTablesChartAndReadmeBlock() throws Exception {
        Path json = write("20261122T120000Z-quick.json", sample());
        Path out = dir.resolve("docs");
        Path readme = dir.resolve("README.md");
        String before = "# Title\n\n## Benchmarks\n\nThe report replaces what lies between `" + MarkdownReport.START
                + "` and `" + MarkdownReport.END + "`.\n\n";
        String after = "\n\n## Next section\n\nKept.\n";
        Files.writeString(readme, before + MarkdownReport.START + "\nold placeholder\n" + MarkdownReport.END + after);

        assertEquals(0, run(json.toString(), "--out", out.toString(), "--readme", readme.toString(),
                "--note", "oneDNN 3.11.0", "--command", "java -cp ... org.openjdk.jmh.Main ForwardBenchmark"));

        String md = Files.readString(out.resolve("benchmarks.md"));
        assertTrue(md.contains("2026-11-22 12:00 UTC"), md);
        assertTrue(md.contains("* oneDNN 3.11.0\n"), md);
        assertTrue(md.contains("java -cp ... org.openjdk.jmh.Main ForwardBenchmark\n"), md);
        assertTrue(md.contains("* JMH 1.37\n"), md);
        assertTrue(md.contains("| B\u00d7H | T | threads | vector ms | vector GFLOP/s | vector vs oneDNN "
                + "| scalar ms | scalar GFLOP/s | scalar vs oneDNN | oneDNN ms | oneDNN GFLOP/s |\n"), md);
        // 419.4 MFLOP: vector 7.24 ms -> 57.9; scalar 215.39 ms -> 1.95; oneDNN 3.62 ms -> 116.
        String small = "| 1\u00d7512 | 100 | 1 | 7.24 \u00b1 1.40 | 57.9 | 0.500\u00d7 | 215 \u00b1 11 | 1.95 "
                + "| 0.0168\u00d7 | 3.62 \u00b1 0.10 | 116 |\n";
        assertTrue(md.contains(small), md);
        assertTrue(md.contains("| 64\u00d7512 | 100 | 2 | 282 \u00b1 121 | 95.1 | - |  |  |  |  |  |\n"), md);
        // The step table: no T column; 50 us -> 83.9 GFLOP/s, oneDNN's 100 us -> 41.9, no error given.
        assertTrue(md.contains("| 1\u00d7512 | 1 | 0.0500 \u00b1 0.0020 | 83.9 | 2.00\u00d7 | 0.100 | 41.9 |\n"), md);
        assertTrue(md.contains("![GFLOP/s per backend](benchmarks.svg)"), md);

        Document svg = DocumentBuilderFactory.newInstance().newDocumentBuilder()
                .parse(out.resolve("benchmarks.svg").toFile());
        List<Element> bars = elements(svg, "rect").stream().filter(e -> e.getAttribute("class").equals("bar")).toList();
        assertEquals(6, bars.size(), "one bar per result");
        for (Element bar : bars) {
            boolean peer = bar.getAttribute("data-backend").equals("onednn");
            assertEquals(peer, bar.getAttribute("fill").equals("url(#peer-hatch)"),
                    "oneDNN's bars, and only they, are hatched");
            assertTrue(Double.parseDouble(bar.getAttribute("height")) > 0);
        }
        assertEquals(2, bars.stream().filter(b -> b.getAttribute("data-backend").equals("onednn")).count());
        assertTrue(elements(svg, "text").stream().anyMatch(t -> t.getTextContent().equals("oneDNN (peer)")));
        assertTrue(elements(svg, "text").stream().anyMatch(t -> t.getTextContent().startsWith("GFLOP/s")));

        String text = Files.readString(readme);
        assertTrue(text.startsWith(before + MarkdownReport.START + "\n"), text);
        assertTrue(text.endsWith(MarkdownReport.END + after), text);
        assertFalse(text.contains("old placeholder"), text);
        assertTrue(text.contains(small), "the forward table");
        assertFalse(text.contains("83.9"), "the step table stays in docs/benchmarks.md");
        assertTrue(text.contains("[docs/benchmarks.md](docs/benchmarks.md)"), text);
        assertTrue(text.contains("[docs/benchmarks.svg](docs/benchmarks.svg)"), text);

        assertEquals(0, run(json.toString(), "--out", out.toString(), "--readme", readme.toString(),
                "--note", "oneDNN 3.11.0", "--command", "java -cp ... org.openjdk.jmh.Main ForwardBenchmark"));
        assertEquals(text, Files.readString(readme), "rendering twice changes nothing");
    }

    /**
     * The concurrency benchmark gets a table of its own in docs/benchmarks.md, described as one thread's
     * call among four, and stays out of the README's forward tables.
     */
    @Test
    void theConcurrentPlansTableIsDescribedAndKeptOutOfTheReadme() throws Exception {
        String concurrent = "io.cellstate.bench.ConcurrentPlansBenchmark.forward";
        Path json = write("20261202T120000Z-quick.json", array(
                result(FORWARD, "vector", "1x512", 100, 1, 7.24, 1.40, "ms/op"),
                result(FORWARD, "onednn", "1x512", 100, 1, 3.62, 0.10, "ms/op"),
                result(concurrent, "vector", "16x256", 50, 0, 12.0, 0.5, "ms/op"),
                result(concurrent, "vector-private", "16x256", 50, 0, 18.0, 0.5, "ms/op"),
                result(concurrent, "onednn", "16x256", 50, 0, 13.0, 0.5, "ms/op")));
        Path out = dir.resolve("docs");
        Path readme = write("README.md", "# T\n\n" + MarkdownReport.START + "\nold\n" + MarkdownReport.END + "\n");
        assertEquals(0, run(json.toString(), "--out", out.toString(), "--readme", readme.toString()));
        String md = Files.readString(out.resolve("benchmarks.md"));
        assertTrue(md.contains("## ConcurrentPlansBenchmark.forward\n\nFour threads call at once"), md);
        // 16x256, T = 50: 2 * 50 * 16 * 4 * 256 * 512 = 838.9 MFLOP; 12 ms -> 69.9 GFLOP/s; oneDNN's 13 ms / 12 = 1.08
        assertTrue(md.contains("| 16\u00d7256 | 50 | all | 12.0 \u00b1 0.5 | 69.9 | 1.08\u00d7 | 18.0 \u00b1 0.5 | 46.6 |"), md);
        String text = Files.readString(readme);
        assertTrue(text.contains("| 1\u00d7512 | 100 | 1 | 7.24"), text);
        assertFalse(text.contains("16\u00d7256"), "the concurrency table stays in docs/benchmarks.md:\n" + text);
    }

    /**
     * Training results: three forward passes' work per call, a table of their own, and beside the
     * forward ones as ratios to oneDNN in the document, the README and the chart's first panel.
     */
    @Test
    void trainingSitsBesideForward() throws Exception {
        Path json = write("20261202T120000Z-quick.json", array(
                result(FORWARD, "vector", "64x512", 100, 1, 200.0, 2.0, "ms/op"),
                result(FORWARD, "onednn", "64x512", 100, 1, 250.0, 2.0, "ms/op"),
                result(TRAINING, "vector", "64x512", 100, 1, 800.0, 8.0, "ms/op"),
                result(TRAINING, "onednn", "64x512", 100, 1, 600.0, 6.0, "ms/op"),
                result(TRAINING, "vector", "64x500", 50, 2, 150.0, 1.0, "ms/op"),
                result(TRAINING, "onednn", "64x500", 50, 2, 300.0, 1.0, "ms/op")));
        List<BenchResult> results = JmhRun.read(json).results();
        BenchResult train = results.get(2);
        assertTrue(train.isTraining() && !train.isStep());
        // 3 * 2 * 100 * 64 * 4 * 512 * 1024 = 80.5 GFLOP; in 800 ms, 101 GFLOP/s
        assertEquals(3 * results.getFirst().flop(), train.flop());
        assertEquals(80_530_636_800.0 / 0.8 / 1e9, train.gflops(), 1e-9);
        List<SideBySide> pairs = SideBySide.of(ResultTable.of(results, new ArrayList<>()));
        assertEquals(1, pairs.size());
        assertEquals(List.of("vector"), pairs.getFirst().backends());
        assertEquals(2, pairs.getFirst().rows().size(), "the forward's row and the benchdnn row");

        Path out = dir.resolve("docs");
        Path readme = write("README.md", "# T\n\n" + MarkdownReport.START + "\nold\n" + MarkdownReport.END + "\n");
        assertEquals(0, run(json.toString(), "--out", out.toString(), "--readme", readme.toString()));
        String md = Files.readString(out.resolve("benchmarks.md"));
        String header = "| B\u00d7H | T | threads | vector forward | vector training |\n";
        // forward 250 / 200 = 1.25; training 600 / 800 = 0.75; benchdnn's shape trains only: 300 / 150 = 2
        String both = "| 64\u00d7512 | 100 | 1 | 1.25\u00d7 | 0.750\u00d7 |\n";
        String trainingOnly = "| 64\u00d7500 | 50 | 2 | - | 2.00\u00d7 |\n";
        assertTrue(md.contains("## Forward and training against oneDNN\n"), md);
        assertTrue(md.contains(header + "| :--- | ---: | ---: | ---: | ---: |\n" + trainingOnly + both), md);
        assertTrue(md.contains("## TrainingBenchmark.train\n\nOne call is one training step"), md);
        assertTrue(md.contains("| 64\u00d7512 | 100 | 1 | 800 \u00b1 8 | 101 | 0.750\u00d7 | 600 \u00b1 6 | 134 |\n"), md);

        String text = Files.readString(readme);
        assertTrue(text.contains(both) && text.contains(trainingOnly), text);
        assertFalse(text.contains("800 \u00b1 8"), "the training GFLOP/s table stays in docs/benchmarks.md:\n" + text);

        Document svg = DocumentBuilderFactory.newInstance().newDocumentBuilder()
                .parse(out.resolve("benchmarks.svg").toFile());
        List<Element> ratios = elements(svg, "rect").stream().filter(e -> e.getAttribute("class").equals("ratio")).toList();
        assertEquals(3, ratios.size(), "forward and training at 64x512, training alone at 64x500");
        assertEquals(2, ratios.stream().filter(e -> e.getAttribute("data-kind").equals("training")).count());
        Element fast = ratios.stream().filter(e -> e.getAttribute("data-kind").equals("training")
                && e.getTextContent().contains("64\u00d7500")).findFirst().orElseThrow();
        Element slow = ratios.stream().filter(e -> e.getAttribute("data-kind").equals("training")
                && e.getTextContent().contains("64\u00d7512")).findFirst().orElseThrow();
        assertEquals(Double.parseDouble(fast.getAttribute("height")) / 2.0 * 0.75,
                Double.parseDouble(slow.getAttribute("height")), 0.1, "bar heights are the ratios, from 0");
        assertEquals(1, elements(svg, "line").stream().filter(e -> e.getAttribute("class").equals("peer-line")).count());
    }

    /**
     * The LSTM's options are cells of their own: tables and side-by-side rows under their benchmark names,
     * GFLOP/s that count the projection's GEMM (2 T B (4 H (I + P) + P H)), and a line saying what the
     * names mean, only where they appear.
     */
    @Test
    void lstmOptionsGetTablesGflopsAndALegend() throws Exception {
        // 2 * 100 * 1 * (4 * 512 * (512 + 256) + 256 * 512) = 340.8 MFLOP
        BenchResult proj2 = new BenchResult("f", FORWARD, "vector", 1, 512, 100, 1, 7.24, 1.40, "ms/op", "lstm-proj2");
        assertEquals(340_787_200.0, proj2.flop());
        // 2 * 100 * 64 * (4 * 512 * (512 + 128) + 128 * 512) = 17.6 GFLOP
        assertEquals(17_616_076_800.0, new BenchResult("f", FORWARD, "vector", 64, 512, 100, 1, 1, 1, "ms/op",
                "lstm-proj4").flop());
        BenchResult peephole = new BenchResult("f", TRAINING, "vector", 1, 512, 100, 1, 7.24, 1.40, "ms/op", "lstm-peephole");
        assertEquals(3 * 419_430_400.0, peephole.flop(), "peepholes add no GEMM");
        assertThrows(IllegalArgumentException.class,
                () -> new BenchResult("f", FORWARD, "vector", 1, 512, 100, 1, 1, 1, "ms/op", "lstm-proj3"));

        Path json = write("20261204T120000Z-options.json", array(
                withCell(result(FORWARD, "vector", "64x512", 100, 1, 100.0, 1.0, "ms/op"), "lstm-proj2"),
                withCell(result(FORWARD, "onednn", "64x512", 100, 1, 150.0, 1.0, "ms/op"), "lstm-proj2"),
                withCell(result(TRAINING, "vector", "64x512", 100, 1, 400.0, 4.0, "ms/op"), "lstm-proj2"),
                withCell(result(TRAINING, "onednn", "64x512", 100, 1, 500.0, 5.0, "ms/op"), "lstm-proj2"),
                withCell(result(FORWARD, "onednn", "64x512", 100, 1, 150.0, 1.0, "ms/op"), "lstm-peephole")));
        List<ResultTable> tables = ResultTable.of(JmhRun.read(json).results(), new ArrayList<>());
        assertEquals(List.of("ForwardBenchmark.forward (lstm-proj2)", "TrainingBenchmark.train (lstm-proj2)",
                "ForwardBenchmark.forward (lstm-peephole)"), tables.stream().map(ResultTable::shortName).toList());
        Path out = dir.resolve("docs");
        assertEquals(0, run(json.toString(), "--out", out.toString()));
        String md = Files.readString(out.resolve("benchmarks.md"));
        assertTrue(md.contains("**lstm-proj2**\n\n| B\u00d7H | T | threads | vector forward | vector training |\n"
                + "| :--- | ---: | ---: | ---: | ---: |\n| 64\u00d7512 | 100 | 1 | 1.50\u00d7 | 1.25\u00d7 |\n"), md);
        assertTrue(md.contains("## ForwardBenchmark.forward (lstm-peephole)\n"), md);
        assertTrue(md.contains("`lstm-projK` is the LSTM with a projection to P = H/K"), md);

        Path plain = write("20261204T130000Z-quick.json", array(result(FORWARD, "vector", "1x512", 100, 1, 7.24, 1.40,
                "ms/op")));
        assertEquals(0, run(plain.toString(), "--out", out.toString()));
        assertFalse(Files.readString(out.resolve("benchmarks.md")).contains("lstm-projK"), "no legend without the options");
    }

    /** {@code json} (one result of {@link #result}) with a {@code cell} param. */
    private static String withCell(String json, String cell) {
        return json.replace("            \"backend\" : ", "            \"cell\" : \"" + cell + "\",\n            \"backend\" : ");
    }

    /**
     * ONNX Runtime is a second peer: last, after oneDNN, with no ratio of its own; each of our backends gets
     * a "vs ORT" column beside "vs oneDNN" in the forward table and in the side-by-side table, and its bars
     * are hatched in a colour of their own. Tables where it did not run keep their columns.
     */
    @Test
    void onnxRuntimeIsASecondPeer() throws Exception {
        Path json = write("20261203T120000Z-onnxruntime.json", array(
                result(FORWARD, "onnxruntime", "1x512", 100, 1, 20.0, 0.4, "ms/op"),
                result(FORWARD, "vector", "1x512", 100, 1, 10.0, 0.2, "ms/op"),
                result(FORWARD, "onednn", "1x512", 100, 1, 5.0, 0.1, "ms/op"),
                result(FORWARD, "vector", "64x512", 100, 2, 100.0, 1.0, "ms/op"),
                result(TRAINING, "vector", "1x512", 100, 1, 40.0, 1.0, "ms/op"),
                result(TRAINING, "onednn", "1x512", 100, 1, 20.0, 1.0, "ms/op")));
        List<ResultTable> tables = ResultTable.of(JmhRun.read(json).results(), new ArrayList<>());
        ResultTable forward = tables.getFirst();
        assertEquals(List.of("vector", "onednn", "onnxruntime"), forward.backends(), "the peers last, oneDNN first");
        assertTrue(forward.hasOrt() && !tables.getLast().hasOrt());
        ResultTable.Cell vector = forward.rows().getFirst().cells().get("vector");
        assertEquals(0.5, vector.ratio(), 1e-12);
        assertEquals(2.0, vector.ortRatio(), 1e-12);
        assertTrue(Double.isNaN(forward.rows().getLast().cells().get("vector").ortRatio()), "no ONNX Runtime at 64x512");

        Path out = dir.resolve("docs");
        assertEquals(0, run(json.toString(), "--out", out.toString()));
        String md = Files.readString(out.resolve("benchmarks.md"));
        assertTrue(md.contains("and oneDNN and ONNX Runtime as peers"), md);
        assertTrue(md.contains("\"vs ORT\" is the same against ONNX Runtime"), md);
        // 419.4 MFLOP: vector 10 ms -> 41.9 GFLOP/s, oneDNN 5 ms -> 83.9, ONNX Runtime 20 ms -> 21.0
        assertTrue(md.contains("| B\u00d7H | T | threads | vector ms | vector GFLOP/s | vector vs oneDNN | vector vs ORT "
                + "| oneDNN ms | oneDNN GFLOP/s | ORT ms | ORT GFLOP/s |\n"), md);
        assertTrue(md.contains("| 1\u00d7512 | 100 | 1 | 10.0 \u00b1 0.2 | 41.9 | 0.500\u00d7 | 2.00\u00d7 | 5.00 \u00b1 0.10 | 83.9 "
                + "| 20.0 \u00b1 0.4 | 21.0 |\n"), md);
        assertTrue(md.contains("| 64\u00d7512 | 100 | 2 | 100 \u00b1 1 | 268 | - | - |  |  |  |  |\n"), md);
        assertTrue(md.contains("| B\u00d7H | T | threads | vector forward | vector training | vector forward vs ORT |\n"
                + "| :--- | ---: | ---: | ---: | ---: | ---: |\n| 1\u00d7512 | 100 | 1 | 0.500\u00d7 | 0.500\u00d7 | 2.00\u00d7 |\n"), md);
        assertTrue(md.contains("| 1\u00d7512 | 100 | 1 | 40.0 \u00b1 1.0 | 31.5 | 0.500\u00d7 | 20.0 \u00b1 1.0 | 62.9 |\n"),
                "the training table, where ONNX Runtime did not run, keeps its columns:\n" + md);

        Document svg = DocumentBuilderFactory.newInstance().newDocumentBuilder()
                .parse(out.resolve("benchmarks.svg").toFile());
        List<Element> bars = elements(svg, "rect").stream().filter(e -> e.getAttribute("class").equals("bar")).toList();
        for (Element bar : bars) {
            String b = bar.getAttribute("data-backend");
            String fill = bar.getAttribute("fill");
            assertEquals(b.equals("onednn") ? "url(#peer-hatch)" : b.equals("onnxruntime") ? "url(#ort-hatch)" : "#0072B2", fill, b);
        }
        assertEquals(1, bars.stream().filter(b -> b.getAttribute("data-backend").equals("onnxruntime")).count());
        assertEquals(1, elements(svg, "pattern").stream().filter(e -> e.getAttribute("id").equals("ort-hatch")).count());
        assertTrue(elements(svg, "text").stream().anyMatch(t -> t.getTextContent().equals("ONNX Runtime (peer)")));
    }

    /**
     * docs/benchmarks.md's GPU section comes from another machine, its Spark section from the spark module's
     * harness: rendering the CPU report keeps both.
     */
    @Test
    void theGpuAndSparkSectionsSurviveARender() throws Exception {
        Path json = write("20261122T120000Z-quick.json", sample());
        Path out = dir.resolve("docs");
        assertEquals(0, run(json.toString(), "--out", out.toString()));
        Path md = out.resolve("benchmarks.md");
        String gpu = "<!-- gpu:start -->\n## GPU\n\n| a | b |\n<!-- gpu:end -->";
        String spark = "<!-- spark:start -->\n## Spark\n\n| c | d |\n<!-- spark:end -->";
        Files.writeString(md, Files.readString(md) + "\n" + gpu + "\n\n" + spark + "\n");
        assertEquals(0, run(json.toString(), "--out", out.toString()));
        String text = Files.readString(md);
        for (String block : List.of(gpu, spark)) {
            assertTrue(text.contains(block), text);
            assertEquals(text.indexOf(block), text.lastIndexOf(block), "kept once");
        }
        assertTrue(text.startsWith("# Cellstate benchmarks"), text);
    }

    /** The hand-written analysis (rooflines, phase profiles) survives a render too, before the GPU section. */
    @Test
    void theAnalysisSectionSurvivesARender() throws Exception {
        Path json = write("20261122T120000Z-quick.json", sample());
        Path out = dir.resolve("docs");
        assertEquals(0, run(json.toString(), "--out", out.toString()));
        Path md = out.resolve("benchmarks.md");
        String analysis = "<!-- analysis:start -->\n## Why\n\nroofline\n<!-- analysis:end -->";
        String gpu = "<!-- gpu:start -->\n## GPU\n<!-- gpu:end -->";
        Files.writeString(md, Files.readString(md) + "\n" + gpu + "\n" + analysis + "\n");
        assertEquals(0, run(json.toString(), "--out", out.toString()));
        String text = Files.readString(md);
        assertTrue(text.contains(analysis) && text.contains(gpu), text);
        assertEquals(text.indexOf(analysis), text.lastIndexOf(analysis), "kept once");
        assertTrue(text.indexOf(analysis) < text.indexOf(gpu), "the analysis before the GPU section");
    }

    @Test
    void aReadmeWithoutMarkersIsLeftAlone() throws IOException {
        Path json = write("r.json", sample());
        Path readme = write("README.md", "# Title\n\nNo markers here.\n");
        assertEquals(1, run(json.toString(), "--out", dir.resolve("docs").toString(), "--readme", readme.toString()));
        assertEquals("# Title\n\nNo markers here.\n", Files.readString(readme));
        assertEquals(2, run("--out", "x"), "no input file");
    }

    @Test
    void markersCountOnlyAloneOnTheirLines() {
        String readme = "a `" + MarkdownReport.START + "` b\n" + MarkdownReport.START + "\nold\n"
                + MarkdownReport.END + "\r\nc\n";
        assertEquals("a `" + MarkdownReport.START + "` b\n" + MarkdownReport.START + "\nnew\n" + MarkdownReport.END
                + "\r\nc\n", MarkdownReport.replaceBlock(readme, "new\n"));
        String twice = readme + MarkdownReport.START + "\n";
        assertThrows(IllegalArgumentException.class, () -> MarkdownReport.replaceBlock(twice, "x\n"));
        String reversed = MarkdownReport.END + "\n" + MarkdownReport.START + "\n";
        assertThrows(IllegalArgumentException.class, () -> MarkdownReport.replaceBlock(reversed, "x\n"));
    }

    @Test
    void mergesInvocationsIntoOneFile() throws IOException {
        Path a = write("a.json", array(result(FORWARD, "vector", "1x512", 100, 1, 7.24, 1.40, "ms/op")));
        Path b = write("b.json", array(result(FORWARD, "onednn", "1x512", 100, 1, 3.62, "\"NaN\"", "ms/op"),
                result(FORWARD, "scalar", "1x256", 100, 1, 55.0, 1.0, "ms/op")));
        Path merged = dir.resolve("merged.json");
        MergeResults.main(new String[] {merged.toString(), a.toString(), b.toString()});
        List<BenchResult> results = JmhRun.read(merged).results();
        assertEquals(List.of("vector", "onednn", "scalar"), results.stream().map(BenchResult::backend).toList());
        assertTrue(Double.isNaN(results.get(1).error()));
        assertEquals(0.5, ResultTable.ratioToPeer(results.getFirst(), results), 1e-12);
    }

    private int run(String... args) {
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        PrintStream quiet = new PrintStream(sink, true, StandardCharsets.UTF_8);
        int status = Report.run(args, quiet, quiet);
        System.out.print(sink.toString(StandardCharsets.UTF_8));
        return status;
    }

    private static BenchResult forward(String backend, String shape, int steps, int threads, double score,
                                       double error, String unit) {
        String[] bh = shape.split("x");
        return new BenchResult("f", FORWARD, backend, Integer.parseInt(bh[0]), Integer.parseInt(bh[1]), steps,
                threads, score, error, unit);
    }

    /** Forward results of three backends, one of them without a oneDNN partner, and a step benchmark in us. */
    private static String sample() {
        return array(
                result(FORWARD, "vector", "1x512", 100, 1, 7.24, 1.40, "ms/op"),
                result(FORWARD, "vector", "64x512", 100, 2, 282.37, 121.45, "ms/op"),
                result(FORWARD, "scalar", "1x512", 100, 1, 215.39, 11.18, "ms/op"),
                result(FORWARD, "onednn", "1x512", 100, 1, 3.62, 0.10, "ms/op"),
                result(STEP, "onednn", "1x512", -1, 1, 100.0, "\"NaN\"", "us/op"),
                result(STEP, "vector", "1x512", -1, 1, 50.0, 2.0, "us/op"));
    }

    private static String array(String... results) {
        return "[\n" + String.join(",\n", results) + "\n]\n";
    }

    private static String result(String benchmark, String backend, String shape, int steps, int threads,
                                 double score, Object error, String unit) {
        String params = "            \"backend\" : \"" + backend + "\",\n            \"shape\" : \"" + shape + "\",\n"
                + (steps > 0 ? "            \"steps\" : \"" + steps + "\",\n" : "")
                + "            \"threads\" : \"" + threads + "\"\n";
        return String.format(Locale.ROOT, """
                    {
                        "jmhVersion" : "1.37",
                        "benchmark" : "%s",
                        "mode" : "avgt",
                        "threads" : 1,
                        "forks" : 1,
                        "jvm" : "/usr/lib/jvm/jdk-25/bin/java",
                        "jvmArgs" : [
                            "--add-modules",
                            "jdk.incubator.vector",
                            "--enable-native-access=ALL-UNNAMED"
                        ],
                        "jdkVersion" : "25.0.3",
                        "vmName" : "OpenJDK 64-Bit Server VM",
                        "vmVersion" : "25.0.3+9-LTS",
                        "warmupIterations" : 2,
                        "warmupTime" : "1 s",
                        "warmupBatchSize" : 1,
                        "measurementIterations" : 3,
                        "measurementTime" : "2 s",
                        "measurementBatchSize" : 1,
                        "params" : {
                %s        },
                        "primaryMetric" : {
                            "score" : %s,
                            "scoreError" : %s,
                            "scoreConfidence" : [
                                0.0,
                                0.0
                            ],
                            "scoreUnit" : "%s",
                            "rawData" : [
                                [
                                    %s
                                ]
                            ]
                        },
                        "secondaryMetrics" : {
                        }
                    }""", benchmark, params, score, error, unit, score);
    }

    private Path write(String name, String text) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, text);
        return p;
    }

    private static List<Element> elements(Document doc, String tag) {
        NodeList nodes = doc.getElementsByTagName(tag);
        List<Element> out = new ArrayList<>();
        for (int i = 0; i < nodes.getLength(); i++) {
            out.add((Element) nodes.item(i));
        }
        return out;
    }
}
