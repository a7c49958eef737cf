package io.cellstate.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Forward and training beside each other for one cell: per configuration (shape, T, threads) and
 * backend, the ratio to oneDNN of the forward call ({@code ForwardBenchmark}) and of the training
 * step ({@code TrainingBenchmark}), each measured against oneDNN in the same run, and the forward
 * call's ratio to ONNX Runtime where it ran (it has no training). What the report's summary table and
 * the chart's ratio panel (oneDNN's ratios) show.
 *
 * @param cell     the cell, e.g. {@code lstm}
 * @param backends our backends (not the peer) with a result in either benchmark, forward's first
 * @param rows     one per configuration either benchmark ran, in {@link ResultTable#ORDER}
 */
record SideBySide(String cell, List<String> backends, List<Row> rows) {

    /**
     * A backend's two ratios to oneDNN, and its forward's to ONNX Runtime; NaN where that benchmark or
     * that peer has no result.
     */
    record Ratios(double forward, double training, double forwardVsOrt) {
    }

    /** One configuration and each backend's ratios. */
    record Row(ResultTable.Config config, Map<String, Ratios> ratios) {
    }

    /**
     * One comparison per cell that has a training table with a backend of ours, paired with that
     * cell's forward table if any.
     */
    static List<SideBySide> of(List<ResultTable> tables) {
        List<SideBySide> out = new ArrayList<>();
        for (ResultTable training : tables) {
            if (!training.isTraining()) {
                continue;
            }
            ResultTable forward = tables.stream().filter(t -> t.isForward() && t.cell().equals(training.cell()))
                    .findFirst().orElse(null);
            SideBySide p = pair(training.cell(), forward, training);
            if (!p.backends().isEmpty()) { // oneDNN alone: no ratio to show
                out.add(p);
            }
        }
        return List.copyOf(out);
    }

    private static SideBySide pair(String cell, ResultTable forward, ResultTable training) {
        Set<String> backends = new LinkedHashSet<>();
        Set<ResultTable.Config> configs = new TreeSet<>(ResultTable.ORDER);
        for (ResultTable t : forward == null ? List.of(training) : List.of(forward, training)) {
            backends.addAll(t.backends());
            t.rows().forEach(r -> configs.add(r.config()));
        }
        backends.removeAll(BenchResult.PEERS);
        List<Row> rows = new ArrayList<>();
        for (ResultTable.Config c : configs) {
            Map<String, Ratios> ratios = new LinkedHashMap<>();
            for (String b : backends) {
                double f = ratio(forward, c, b, false);
                double t = ratio(training, c, b, false);
                double o = ratio(forward, c, b, true);
                if (!Double.isNaN(f) || !Double.isNaN(t) || !Double.isNaN(o)) {
                    ratios.put(b, new Ratios(f, t, o));
                }
            }
            rows.add(new Row(c, Map.copyOf(ratios)));
        }
        return new SideBySide(cell, List.copyOf(backends), List.copyOf(rows));
    }

    /** Whether any row has a ratio to ONNX Runtime (its column is worth showing). */
    boolean hasOrt() {
        return rows.stream().flatMap(r -> r.ratios().values().stream()).anyMatch(q -> !Double.isNaN(q.forwardVsOrt()));
    }

    private static double ratio(ResultTable table, ResultTable.Config config, String backend, boolean toOrt) {
        if (table == null) {
            return Double.NaN;
        }
        for (ResultTable.Row r : table.rows()) {
            if (r.config().equals(config)) {
                ResultTable.Cell c = r.cells().get(backend);
                return c == null ? Double.NaN : toOrt ? c.ortRatio() : c.ratio();
            }
        }
        return Double.NaN;
    }
}
