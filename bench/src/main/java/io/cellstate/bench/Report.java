package io.cellstate.bench;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Renders JMH JSON results ({@code -rf json}) as docs/benchmarks.md (the machine, the command, a
 * table per benchmark: time, GFLOP/s and the ratios to oneDNN and, where it ran, ONNX Runtime per backend), docs/benchmarks.svg
 * (a bar chart of GFLOP/s) and, with {@code --readme}, the block of the README between
 * {@code <!-- bench:start -->} and {@code <!-- bench:end -->}.
 *
 * <pre>
 *   java -cp "bench/target/classes:bench/target/lib/*" io.cellstate.bench.Report \
 *        bench/results/20261122T234500Z-quick.json --out docs --readme README.md \
 *        --note "oneDNN 3.11.0" --command "java ... org.openjdk.jmh.Main ..."
 * </pre>
 *
 * <p>The machine section describes the machine the report is rendered on; {@code bench/run.sh}
 * renders right after the run, so that is the machine that ran the benchmarks. The date is taken
 * from a {@code yyyyMMdd'T'HHmmss'Z'} stamp in a file's name (run.sh names them so), else from
 * the file's modification time.
 */
public final class Report {
    /** The lines around the hand-written analysis of docs/benchmarks.md, which a new report keeps. */
    static final String ANALYSIS_START = "<!-- analysis:start -->";
    static final String ANALYSIS_END = "<!-- analysis:end -->";
    /** The lines around docs/benchmarks.md's Spark section, which a render keeps. */
    static final String SPARK_START = "<!-- spark:start -->";
    static final String SPARK_END = "<!-- spark:end -->";

    private static final String USAGE = """
            Usage: Report FILE.json... [--out DIR] [--readme README.md] [--note TEXT]... [--command TEXT]...
              FILE.json        JMH results (-rf json); several are merged, later files winning on duplicates
              --out DIR        where benchmarks.md and benchmarks.svg go (default: docs)
              --readme FILE    replace the block between <!-- bench:start --> and <!-- bench:end --> in FILE
              --note TEXT      a line for the machine section (oneDNN version, OpenBLAS core); repeatable
              --command TEXT   the command line that ran JMH, shown as run; repeatable""";
    private static final Pattern STAMP = Pattern.compile("(\\d{8}T\\d{6}Z)");
    private static final DateTimeFormatter SHOWN = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm 'UTC'");

    private Report() {
    }

    public static void main(String[] args) {
        int status = run(args, System.out, System.err);
        if (status != 0) {
            System.exit(status);
        }
    }

    /** Runs the report; returns the exit status (0 done, 1 failed, 2 bad arguments). */
    static int run(String[] args, PrintStream out, PrintStream err) {
        List<Path> files = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        List<String> commands = new ArrayList<>();
        Path outDir = Path.of("docs");
        Path readme = null;
        try {
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--out" -> outDir = Path.of(value(args, ++i));
                    case "--readme" -> readme = Path.of(value(args, ++i));
                    case "--note" -> notes.add(value(args, ++i));
                    case "--command" -> commands.add(value(args, ++i));
                    case "-h", "--help" -> {
                        out.println(USAGE);
                        return 0;
                    }
                    default -> {
                        if (args[i].startsWith("--")) {
                            throw new IllegalArgumentException("unknown option " + args[i]);
                        }
                        files.add(Path.of(args[i]));
                    }
                }
            }
            if (files.isEmpty()) {
                throw new IllegalArgumentException("expected at least one JMH JSON file");
            }
        } catch (IllegalArgumentException e) {
            err.println("Report: " + e.getMessage());
            err.println(USAGE);
            return 2;
        }

        try {
            List<JmhRun> runs = new ArrayList<>();
            List<BenchResult> results = new ArrayList<>();
            for (Path f : files) {
                JmhRun run = JmhRun.read(f);
                runs.add(run);
                results.addAll(run.results());
                run.skipped().forEach(s -> err.println("Report: left out " + s));
            }
            if (results.isEmpty()) {
                err.println("Report: no LSTM results (with a shape param) in " + files);
                return 1;
            }
            List<String> warnings = new ArrayList<>();
            List<ResultTable> tables = ResultTable.of(results, warnings);
            warnings.forEach(w -> err.println("Report: " + w));
            ReportInput in = new ReportInput(List.copyOf(runs), tables, MachineInfo.detect(), date(files),
                    List.copyOf(notes), List.copyOf(commands));

            Files.createDirectories(outDir);
            Path md = outDir.resolve("benchmarks.md");
            Path svg = outDir.resolve("benchmarks.svg");
            // Sections other measurements wrote: the analysis (rooflines, phase profiles), Spark's (the spark
            // module's SparkThroughput) and the GPU's (io.cellstate.bench.gpu.GpuReport, another machine). Keep them.
            String before = Files.exists(md) ? Files.readString(md, StandardCharsets.UTF_8) : "";
            StringBuilder kept = new StringBuilder();
            for (String block : List.of(MarkerBlock.blockOf(before, ANALYSIS_START, ANALYSIS_END, md.toString()),
                    MarkerBlock.blockOf(before, SPARK_START, SPARK_END, md.toString()),
                    io.cellstate.bench.gpu.GpuReport.blockOf(before))) {
                if (!block.isEmpty()) {
                    kept.append('\n').append(block).append('\n');
                }
            }
            Files.writeString(md, MarkdownReport.document(in, svg.getFileName().toString()) + kept, StandardCharsets.UTF_8);
            Files.writeString(svg, SvgChart.render(in), StandardCharsets.UTF_8);
            out.println("Report: " + in.size() + " results in " + tables.size() + " table(s) -> " + md + ", " + svg);
            if (readme != null) {
                Path base = readme.toAbsolutePath().normalize().getParent();
                String block = MarkdownReport.readmeBlock(in, link(base, md), link(base, svg));
                String text = Files.readString(readme, StandardCharsets.UTF_8);
                Files.writeString(readme, MarkdownReport.replaceBlock(text, block), StandardCharsets.UTF_8);
                out.println("Report: updated the benchmark block of " + readme);
            }
            return 0;
        } catch (IOException | IllegalArgumentException e) {
            err.println("Report: " + e.getMessage());
            return 1;
        }
    }

    /** When the benchmarks ran: the latest stamp in a file name, else the latest modification time. */
    static String date(List<Path> files) throws IOException {
        LocalDateTime latest = null;
        for (Path f : files) {
            LocalDateTime t = null;
            Matcher m = STAMP.matcher(f.getFileName().toString());
            if (m.find()) {
                try {
                    t = LocalDateTime.parse(m.group(1), DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'"));
                } catch (DateTimeParseException e) {
                    t = null;
                }
            }
            if (t == null) {
                Instant modified = Files.getLastModifiedTime(f).toInstant();
                t = LocalDateTime.ofInstant(modified, ZoneOffset.UTC);
            }
            if (latest == null || t.isAfter(latest)) {
                latest = t;
            }
        }
        return SHOWN.format(latest);
    }

    /** {@code target} relative to the directory {@code base}, with forward slashes, for a Markdown link. */
    private static String link(Path base, Path target) {
        return base.relativize(target.toAbsolutePath().normalize()).toString().replace('\\', '/');
    }

    private static String value(String[] args, int i) {
        if (i >= args.length) {
            throw new IllegalArgumentException(args[i - 1] + " needs a value");
        }
        return args[i];
    }
}
