package io.cellstate.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/** A plain-text table: columns as wide as their widest cell, numbers right-aligned. */
final class TextTable {

    /** How a column aligns its cells. */
    enum Align { LEFT, RIGHT }

    private final String[] headers;
    private final Align[] align;
    private final List<String[]> rows = new ArrayList<>();

    TextTable(String[] headers, Align... align) {
        if (headers.length != align.length) {
            throw new IllegalArgumentException("align: expected " + headers.length + " entries, got " + align.length);
        }
        this.headers = headers.clone();
        this.align = align.clone();
    }

    TextTable row(String... cells) {
        if (cells.length != headers.length) {
            throw new IllegalArgumentException("cells: expected " + headers.length + ", got " + cells.length);
        }
        rows.add(cells.clone());
        return this;
    }

    /** Prints the header, a rule and the rows. */
    void print(PrintWriter out) {
        print(out, true);
    }

    /** Prints the rows, and the header and a rule before them if {@code header}. */
    void print(PrintWriter out, boolean header) {
        int[] width = new int[headers.length];
        for (int c = 0; c < headers.length; c++) {
            width[c] = header ? headers[c].length() : 0;
            for (String[] r : rows) {
                width[c] = Math.max(width[c], r[c].length());
            }
        }
        if (header) {
            line(out, headers, width);
            String[] rule = new String[headers.length];
            for (int c = 0; c < rule.length; c++) {
                rule[c] = "-".repeat(width[c]);
            }
            line(out, rule, width);
        }
        for (String[] r : rows) {
            line(out, r, width);
        }
        out.flush();
    }

    private void line(PrintWriter out, String[] cells, int[] width) {
        StringBuilder s = new StringBuilder();
        for (int c = 0; c < cells.length; c++) {
            if (c > 0) {
                s.append("  ");
            }
            boolean last = c == cells.length - 1;
            String pad = " ".repeat(width[c] - cells[c].length());
            if (align[c] == Align.RIGHT) {
                s.append(pad).append(cells[c]);
            } else {
                s.append(cells[c]).append(last ? "" : pad);
            }
        }
        out.println(s);
    }
}
