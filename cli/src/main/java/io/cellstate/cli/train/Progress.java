package io.cellstate.cli.train;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * A progress display for a loop whose fraction done is known. On a terminal it redraws one line in
 * place ({@code \r}), at most ten times a second: a bar, the percentage and a status such as the
 * running loss. Elsewhere (a pipe, a file, a CI log) carriage returns would pile up, so it prints a
 * plain line at each tenth of the way instead.
 */
public final class Progress {
    private static final int BAR = 30;
    private static final long REDRAW_NANOS = 100_000_000L;

    private final PrintWriter out;
    private final boolean terminal;
    private long lastDraw;
    private int lastTenth;
    private int lastWidth;

    /**
     * A display on {@code out}.
     *
     * @param out      where it writes
     * @param terminal whether {@code out} is a terminal (redraw in place) or not (plain lines)
     */
    public Progress(PrintWriter out, boolean terminal) {
        this.out = out;
        this.terminal = terminal;
    }

    /**
     * Whether the standard output of this process is a terminal.
     *
     * @return true when {@code System.console()} is a terminal
     */
    public static boolean stdoutIsTerminal() {
        java.io.Console c = System.console();
        return c != null && c.isTerminal();
    }

    /**
     * Reports how far the loop is.
     *
     * @param fraction done, from 0 to 1 (clamped)
     * @param status   what to show beside the bar
     */
    public void update(double fraction, String status) {
        double f = Math.clamp(fraction, 0.0, 1.0);
        if (terminal) {
            long now = System.nanoTime();
            if (lastDraw != 0 && now - lastDraw < REDRAW_NANOS) {
                return;
            }
            lastDraw = now;
            draw(f, status);
        } else {
            int tenth = (int) Math.floor(f * 10);
            if (tenth > lastTenth && tenth < 10) {
                lastTenth = tenth;
                out.println(String.format(Locale.ROOT, "%3d%%  %s", tenth * 10, status));
                out.flush();
            }
        }
    }

    /**
     * Ends the display with a last status: the bar at its end on a terminal (then a new line), a last
     * plain line elsewhere.
     *
     * @param fraction done, from 0 to 1
     * @param status   the final status
     */
    public void finish(double fraction, String status) {
        double f = Math.clamp(fraction, 0.0, 1.0);
        if (terminal) {
            draw(f, status);
            out.println();
        } else {
            out.println(String.format(Locale.ROOT, "%3d%%  %s", (int) Math.floor(f * 100), status));
        }
        out.flush();
    }

    /** Erases the bar from a terminal's line, so that a plain line can take its place; nothing elsewhere. */
    public void clear() {
        if (terminal && lastWidth > 0) {
            out.print("\r" + " ".repeat(lastWidth) + "\r");
            out.flush();
            lastWidth = 0;
            lastDraw = 0;
        }
    }

    /** The line a terminal shows for {@code fraction} and {@code status}. */
    static String bar(double fraction, String status) {
        int filled = (int) Math.round(fraction * BAR);
        return "[" + "=".repeat(filled) + " ".repeat(BAR - filled) + "] "
                + String.format(Locale.ROOT, "%3d%%  ", (int) Math.floor(fraction * 100)) + status;
    }

    private void draw(double fraction, String status) {
        String line = bar(fraction, status);
        // pad over the rest of a longer previous line
        int pad = Math.max(0, lastWidth - line.length());
        out.print("\r" + line + " ".repeat(pad));
        out.flush();
        lastWidth = line.length();
    }
}
