package io.cellstate.bench;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The results of one benchmark arranged as the report shows them: one row per configuration
 * (shape, steps, threads), one column group per backend, the peers (oneDNN, then ONNX Runtime) last.
 *
 * @param benchmark the benchmark's full name
 * @param backends  the backends, in the order of their first result, {@link BenchResult#PEERS} last
 * @param rows      the rows, smallest work per step first
 */
public record ResultTable(String benchmark, List<String> backends, List<Row> rows) {

    /** A configuration: what one row of a table measures. */
    public record Config(int batch, int hidden, int steps, int threads) {
        static Config of(BenchResult r) {
            return new Config(r.batch(), r.hidden(), r.steps(), r.threads());
        }

        /** "B×H". */
        public String shape() {
            return batch + "\u00d7" + hidden;
        }

        /** The threads param as shown: "all" for 0, "-" where the benchmark has none. */
        public String threadsLabel() {
            return threads < 0 ? "-" : threads == 0 ? "all" : Integer.toString(threads);
        }
    }

    /**
     * One backend's result in a row.
     *
     * @param result   the result
     * @param ratio    its GFLOP/s over the peer's (oneDNN), from the same file and configuration; NaN if
     *                 the peer has no result there
     * @param ortRatio its GFLOP/s over ONNX Runtime's ({@link BenchResult#ORT}), likewise
     */
    public record Cell(BenchResult result, double ratio, double ortRatio) {
    }

    /** One configuration and the result of each backend that ran it (absent ones are missing). */
    public record Row(Config config, Map<String, Cell> cells) {
    }

    /** The order of rows: smallest work per step first, then batch, steps and threads. */
    static final Comparator<Config> ORDER = Comparator.comparingDouble((Config c) -> (double) c.batch() * c.hidden()
                    * c.hidden())
            .thenComparingInt(Config::batch)
            .thenComparingInt(Config::steps)
            .thenComparingInt(Config::threads);

    /** The short name: class and method. */
    public String shortName() {
        return rows.getFirst().cells().values().iterator().next().result().shortName();
    }

    /** Whether one call of this benchmark is one time step. */
    public boolean isStep() {
        return rows.getFirst().cells().values().iterator().next().result().isStep();
    }

    /** Whether threads call at once, each with a plan of its own (see {@link BenchResult#isConcurrent()}). */
    public boolean isConcurrent() {
        return rows.getFirst().cells().values().iterator().next().result().isConcurrent();
    }

    /** Whether one call of this benchmark is a training step (see {@link BenchResult#isTraining()}). */
    public boolean isTraining() {
        return rows.getFirst().cells().values().iterator().next().result().isTraining();
    }

    /** Whether this is a sequence forward benchmark: not a step, concurrency or training one. */
    public boolean isForward() {
        return !isStep() && !isConcurrent() && !isTraining();
    }

    /** The cell of the benchmark's results: its {@code cell} param, {@code lstm} where it has none. */
    public String cell() {
        String c = rows.getFirst().cells().values().iterator().next().result().cell();
        return c == null ? "lstm" : c;
    }

    /** Whether the benchmark has a steps param (a T column is worth showing). */
    public boolean hasSteps() {
        return !isStep() && rows.stream().anyMatch(r -> r.config().steps() > 0);
    }

    /** Whether ONNX Runtime has a result in the table (its "vs ORT" columns are worth showing). */
    public boolean hasOrt() {
        return backends.contains(BenchResult.ORT);
    }

    /** Whether any row has a threads param. */
    public boolean hasThreads() {
        return rows.stream().anyMatch(r -> r.config().threads() >= 0);
    }

    /** The number of results in the table. */
    public int size() {
        return rows.stream().mapToInt(r -> r.cells().size()).sum();
    }

    /**
     * Arranges results into one table per benchmark, in the order of each benchmark's first result.
     * Where two results share benchmark, configuration and backend (two files ran the same thing),
     * the later one is kept and a line saying so is added to {@code warnings}.
     */
    public static List<ResultTable> of(List<BenchResult> results, List<String> warnings) {
        Map<String, List<BenchResult>> byBenchmark = new LinkedHashMap<>();
        for (BenchResult r : results) {
            byBenchmark.computeIfAbsent(r.benchmark() + "|" + r.cell(), k -> new ArrayList<>()).add(r);
        }
        List<ResultTable> tables = new ArrayList<>();
        byBenchmark.forEach((key, list) -> tables.add(table(list.getFirst().benchmark(), list, warnings)));
        return List.copyOf(tables);
    }

    private static ResultTable table(String name, List<BenchResult> results, List<String> warnings) {
        Set<String> backends = new LinkedHashSet<>();
        for (BenchResult r : results) {
            backends.add(r.backend());
        }
        Map<Config, Map<String, Cell>> rows = new LinkedHashMap<>();
        for (BenchResult r : results) {
            Cell previous = rows.computeIfAbsent(Config.of(r), k -> new LinkedHashMap<>())
                    .put(r.backend(), new Cell(r, ratioToPeer(r, results), ratioTo(BenchResult.ORT, r, results)));
            if (previous != null) {
                warnings.add(r.shortName() + " " + r.backend() + " " + Config.of(r) + ": in both "
                        + previous.result().source() + " and " + r.source() + "; the latter is shown");
            }
        }
        List<Row> sorted = new ArrayList<>();
        rows.forEach((config, cells) -> sorted.add(new Row(config, Map.copyOf(cells))));
        sorted.sort(Comparator.comparing(Row::config, ORDER));
        return new ResultTable(name, BenchResult.peersLast(backends), List.copyOf(sorted));
    }

    /** {@code r}'s GFLOP/s over the peer's (oneDNN) in the same file and configuration, or NaN. */
    static double ratioToPeer(BenchResult r, List<BenchResult> all) {
        return ratioTo(BenchResult.PEER, r, all);
    }

    /** {@code r}'s GFLOP/s over backend {@code peer}'s in the same file and configuration, or NaN. */
    static double ratioTo(String peer, BenchResult r, List<BenchResult> all) {
        for (BenchResult p : all) {
            if (p.backend().equals(peer) && p.source().equals(r.source())
                    && p.benchmark().equals(r.benchmark()) && java.util.Objects.equals(p.cell(), r.cell())
                    && Config.of(p).equals(Config.of(r))) {
                return r.gflops() / p.gflops();
            }
        }
        return Double.NaN;
    }
}
