package io.cellstate.bench;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** Writes the report's Markdown: the whole of docs/benchmarks.md, and the README's block. */
final class MarkdownReport {

    /** The README lines between which the block goes; everything between them is replaced. */
    static final String START = "<!-- bench:start -->";
    static final String END = "<!-- bench:end -->";

    private static final String ERROR_BARS = "Times are per call, in ms, \u00b1 the half-width of JMH's 99.9% "
            + "confidence interval. GFLOP/s = 2 T B G H (I + H) / time, I = H, G the cell's gates (the two GEMMs of each step; the "
            + "pointwise pass is not counted); a training step counts three times that (the backward pass's four GEMMs "
            + "per step: data gradients through both weights, and both weight gradients). \"vs oneDNN\" is the "
            + "GFLOP/s over oneDNN's for the same configuration in the same run: above 1 is faster than oneDNN.";

    private static final String ORT_RATIOS = "\"vs ORT\" is the same against ONNX Runtime (ORT: its Java API, CPU"
            + " execution provider, running the model `Onnx.write` writes for the network), what a Java user runs today.";

    private static final String LSTM_OPTIONS = "`lstm-projK` is the LSTM with a projection to P = H/K (PyTorch's"
            + " `proj_size`: h and the output have P columns, W_hh is 4H \u00d7 P), whose GFLOP/s count the projection's"
            + " GEMM too: 2 T B (4 H (I + P) + P H); `lstm-peephole` is the LSTM with peepholes (the gates i, f and o see"
            + " the cell state; the same GEMMs as the LSTM). oneDNN runs them as its LSTM with `weights_projection` and"
            + " `weights_peephole`.";

    private static final String SIDE_BY_SIDE = "Each backend's speed as a multiple of oneDNN's, measured in the same run: "
            + "the forward call (`ForwardBenchmark`: inference, T steps of one layer) and the training step "
            + "(`TrainingBenchmark`: oneDNN's `forward_training` + `backward` primitives against our training plan's "
            + "forward into a workspace + backward to every gradient). Above 1 is faster than oneDNN; \"-\" where a "
            + "benchmark did not run that configuration.";

    private MarkdownReport() {
    }

    /** docs/benchmarks.md. */
    static String document(ReportInput in, String chartLink) {
        StringBuilder md = new StringBuilder();
        md.append("# Cellstate benchmarks\n\n");
        md.append("LSTM kernels of every backend, and ").append(hasOrt(in) ? "oneDNN and ONNX Runtime as peers" : "oneDNN as a peer")
                .append(", timed by JMH in the same run on ")
                .append(in.date()).append(". Written by `io.cellstate.bench.Report` from ")
                .append(codeList(in.runs().stream().map(r -> r.file().toString()).toList()))
                .append("; do not edit by hand.\n\n");
        md.append("![GFLOP/s per backend](").append(chartLink).append(")\n\n");

        md.append("## Machine\n\n");
        MachineInfo m = in.machine();
        md.append("* CPU: ").append(m.cpu()).append("; ").append(m.cores()).append(" logical processors\n");
        md.append("* Memory: ").append(m.memory()).append('\n');
        md.append("* OS: ").append(m.os()).append('\n');
        for (String vm : distinct(in.runs().stream().map(r -> r.vm() + " (`" + r.jvm() + "`)").toList())) {
            md.append("* JDK: ").append(vm).append('\n');
        }
        for (String args : distinct(in.runs().stream().map(r -> String.join(" ", r.jvmArgs())).toList())) {
            md.append("* JVM options: `").append(args).append("`\n");
        }
        for (String v : distinct(in.runs().stream().map(JmhRun::jmhVersion).toList())) {
            md.append("* JMH ").append(v).append('\n');
        }
        for (String note : in.notes()) {
            md.append("* ").append(note).append('\n');
        }

        md.append("\n## How it was run\n\n");
        if (!in.commands().isEmpty()) {
            md.append("```sh\n");
            in.commands().forEach(c -> md.append(c).append('\n'));
            md.append("```\n\n");
        }
        md.append("JMH settings: ").append(String.join("; ",
                distinct(in.runs().stream().flatMap(r -> r.settings().stream()).toList()))).append(".\n\n");
        md.append(errorBars(in)).append("\n\n");

        List<SideBySide> pairs = SideBySide.of(in.tables());
        if (!pairs.isEmpty()) {
            md.append("## Forward and training against oneDNN\n\n").append(SIDE_BY_SIDE).append("\n\n");
            for (SideBySide p : pairs) {
                md.append("**").append(p.cell()).append("**\n\n").append(sideBySide(p)).append('\n');
            }
        }

        for (ResultTable t : in.tables()) {
            md.append("## ").append(t.shortName()).append("\n\n");
            md.append(t.isStep()
                    ? "One call is one time step of a streaming plan (`RnnPlan.step`): T = 1 in GFLOP/s.\n\n"
                    : t.isConcurrent()
                    ? "Four threads call at once, each with a plan (or oneDNN instance) of its own over the same weights:"
                            + " the time and GFLOP/s of one call as one thread sees it (the four together do four"
                            + " times the work). `vector` borrows helpers from the common worker group, bounded by the"
                            + " cores; `vector-private` gives each plan a group of its own as large as the machine (each"
                            + " plan's own pool, as before worker groups); threads = the most a call may use.\n\n"
                    : t.isTraining()
                    ? "One call is one training step of one layer of the cell, I = H, from a zero state: a forward pass"
                            + " that keeps what the backward pass needs, then the backward pass to dx, dh0 (dc0) and every"
                            + " weight gradient (ours overwrite them; oneDNN's accumulate, so they are zeroed first, in the"
                            + " call). GFLOP/s counts 3 \u00d7 2 T B G H (I + H).\n\n"
                    : "One call runs a batch of B sequences of T steps through one layer of the cell, I = H"
                            + " (GFLOP/s counts the cell's G gates: 4 for the LSTM, 3 for the GRU, 1 for the RNN).\n\n");
            md.append(table(t)).append('\n');
        }
        List<String> skipped = in.runs().stream().flatMap(r -> r.skipped().stream()).toList();
        if (!skipped.isEmpty()) {
            md.append("Left out (not readable as an LSTM benchmark with a `shape` param):\n\n");
            skipped.forEach(s -> md.append("* ").append(s).append('\n'));
            md.append('\n');
        }
        return md.toString();
    }

    /** The README block: the forward tables, with links to the full report and the chart. */
    static String readmeBlock(ReportInput in, String documentLink, String chartLink) {
        StringBuilder md = new StringBuilder();
        MachineInfo m = in.machine();
        md.append("LSTM forward, one layer, I = H, float32; ").append(in.date()).append(", ")
                .append(m.cpu()).append(", ").append(m.cores()).append(" logical processors, ")
                .append(String.join(", ", distinct(in.runs().stream().map(JmhRun::vm).toList()))).append(".\n\n");
        List<ResultTable> forward = in.tables().stream().filter(ResultTable::isForward).toList();
        for (ResultTable t : forward) {
            if (forward.size() > 1) {
                md.append("**").append(t.shortName()).append("**\n\n");
            }
            md.append(table(t)).append('\n');
        }
        List<SideBySide> pairs = SideBySide.of(in.tables());
        if (!pairs.isEmpty()) {
            md.append("Forward and training against oneDNN. ").append(SIDE_BY_SIDE).append("\n\n");
            for (SideBySide p : pairs) {
                if (pairs.size() > 1) {
                    md.append("**").append(p.cell()).append("**\n\n");
                }
                md.append(sideBySide(p)).append('\n');
            }
        }
        md.append(errorBars(in)).append(" The whole report, with the machine, the JMH commands and every "
                        + "benchmark: [").append(documentLink).append("](").append(documentLink)
                .append("); chart: [").append(chartLink).append("](").append(chartLink).append(").\n");
        return md.toString();
    }

    private static boolean hasOrt(ReportInput in) {
        return in.tables().stream().anyMatch(ResultTable::hasOrt);
    }

    private static String errorBars(ReportInput in) {
        String text = hasOrt(in) ? ERROR_BARS + " " + ORT_RATIOS : ERROR_BARS;
        return hasLstmOptions(in) ? text + " " + LSTM_OPTIONS : text;
    }

    /** Whether a table is of an LSTM with options ({@link BenchCase#cell}: {@code lstm-proj2}, ...). */
    private static boolean hasLstmOptions(ReportInput in) {
        return in.tables().stream().anyMatch(t -> t.cell().startsWith("lstm-"));
    }

    /**
     * Replaces what lies between the {@link #START} and {@link #END} marker lines of {@code readme}
     * with {@code block}, keeping the markers and everything outside them. A marker counts only
     * alone on its line, so prose may name the markers.
     *
     * @throws IllegalArgumentException if a marker is missing, repeated, or out of order
     */
    static String replaceBlock(String readme, String block) {
        return MarkerBlock.replace(readme, START, END, "the README", block);
    }

    /**
     * One Markdown table: a row per configuration, three columns per backend (two for a peer).
     * The "vs oneDNN" columns stay when oneDNN did not run, filled with "-", so that every run's
     * table has the same columns; a "vs ORT" column follows each where ONNX Runtime ran.
     */
    static String table(ResultTable t) {
        List<String> header = new ArrayList<>();
        List<String> align = new ArrayList<>();
        header.add("B\u00d7H");
        align.add(":---");
        if (t.hasSteps()) {
            header.add("T");
            align.add("---:");
        }
        if (t.hasThreads()) {
            header.add("threads");
            align.add("---:");
        }
        for (String b : t.backends()) {
            header.add(label(b) + " ms");
            header.add(label(b) + " GFLOP/s");
            align.add("---:");
            align.add("---:");
            if (!BenchResult.isPeer(b)) {
                header.add(label(b) + " vs oneDNN");
                align.add("---:");
                if (t.hasOrt()) {
                    header.add(label(b) + " vs ORT");
                    align.add("---:");
                }
            }
        }
        StringBuilder md = new StringBuilder();
        md.append(row(header)).append(row(align));
        for (ResultTable.Row r : t.rows()) {
            List<String> cells = new ArrayList<>();
            cells.add(r.config().shape());
            if (t.hasSteps()) {
                cells.add(r.config().steps() > 0 ? Integer.toString(r.config().steps()) : "-");
            }
            if (t.hasThreads()) {
                cells.add(r.config().threadsLabel());
            }
            for (String b : t.backends()) {
                ResultTable.Cell c = r.cells().get(b);
                cells.add(c == null ? "" : Numbers.withError(c.result().millis(), c.result().errorMillis()));
                cells.add(c == null ? "" : Numbers.sig3(c.result().gflops()));
                if (!BenchResult.isPeer(b)) {
                    cells.add(c == null ? "" : times(c.ratio()));
                    if (t.hasOrt()) {
                        cells.add(c == null ? "" : times(c.ortRatio()));
                    }
                }
            }
            md.append(row(cells));
        }
        return md.toString();
    }

    /**
     * One side-by-side table: a row per configuration, two ratio columns (forward, training) per backend,
     * and a third (forward vs ORT) where ONNX Runtime ran.
     */
    static String sideBySide(SideBySide p) {
        List<String> header = new ArrayList<>(List.of("B\u00d7H", "T", "threads"));
        List<String> align = new ArrayList<>(List.of(":---", "---:", "---:"));
        boolean ort = p.hasOrt();
        for (String b : p.backends()) {
            header.add(label(b) + " forward");
            header.add(label(b) + " training");
            align.add("---:");
            align.add("---:");
            if (ort) {
                header.add(label(b) + " forward vs ORT");
                align.add("---:");
            }
        }
        StringBuilder md = new StringBuilder();
        md.append(row(header)).append(row(align));
        for (SideBySide.Row r : p.rows()) {
            List<String> cells = new ArrayList<>();
            cells.add(r.config().shape());
            cells.add(r.config().steps() > 0 ? Integer.toString(r.config().steps()) : "-");
            cells.add(r.config().threadsLabel());
            for (String b : p.backends()) {
                SideBySide.Ratios q = r.ratios().get(b);
                cells.add(q == null ? "-" : times(q.forward()));
                cells.add(q == null ? "-" : times(q.training()));
                if (ort) {
                    cells.add(q == null ? "-" : times(q.forwardVsOrt()));
                }
            }
            md.append(row(cells));
        }
        return md.toString();
    }

    private static String times(double ratio) {
        return Double.isNaN(ratio) ? "-" : Numbers.sig3(ratio) + "\u00d7";
    }

    /** How a backend is named in headers and legends. */
    static String label(String backend) {
        return switch (backend) {
            case BenchResult.PEER -> "oneDNN";
            case BenchResult.ORT -> "ORT";
            default -> backend;
        };
    }

    private static String row(List<String> cells) {
        return "| " + String.join(" | ", cells) + " |\n";
    }

    private static String codeList(List<String> items) {
        return String.join(", ", items.stream().map(s -> "`" + s + "`").toList());
    }

    private static List<String> distinct(List<String> items) {
        Set<String> seen = new LinkedHashSet<>(items);
        seen.remove("");
        return List.copyOf(seen);
    }
}
