package io.cellstate.bench;

import java.util.List;

/**
 * Everything a report is rendered from.
 *
 * @param runs     the JMH files read
 * @param tables   their results, one table per benchmark
 * @param machine  the machine
 * @param date     when the benchmarks ran, e.g. "2026-11-22 23:45 UTC"
 * @param notes    free-text lines for the machine section (the oneDNN version, OpenBLAS settings)
 * @param commands the command lines that ran JMH
 */
record ReportInput(List<JmhRun> runs, List<ResultTable> tables, MachineInfo machine, String date,
                   List<String> notes, List<String> commands) {

    /** The number of results over all tables. */
    int size() {
        return tables.stream().mapToInt(ResultTable::size).sum();
    }
}
