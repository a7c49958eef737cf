package io.cellstate.cli.train;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * A line chart of training curves as a self-contained SVG file (no script, no external font or
 * style), readable in any browser: series as polylines, optional horizontal reference lines (a
 * baseline, a target), a logarithmic or linear y axis, a legend on the right.
 */
public final class LossChart {
    private static final int WIDTH = 860;
    private static final int HEIGHT = 440;
    private static final int LEFT = 70;
    private static final int RIGHT = 260;
    private static final int TOP = 40;
    private static final int BOTTOM = 50;

    /**
     * One curve.
     *
     * @param name    its legend
     * @param x       abscissae, ascending
     * @param y       ordinates, as many (positive for a logarithmic axis; other points are left out)
     * @param color   an SVG colour, e.g. {@code #1f77b4}
     * @param markers whether each point gets a dot (for sparse series such as validation)
     */
    public record Series(String name, double[] x, double[] y, String color, boolean markers) {

        /**
         * Checks the lengths.
         *
         * @throws IllegalArgumentException if x and y differ in length
         */
        public Series {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(color, "color");
            if (x.length != y.length) {
                throw new IllegalArgumentException("y: expected " + x.length + " values (as x), got " + y.length);
            }
        }
    }

    /**
     * A horizontal line across the plot.
     *
     * @param name  its label
     * @param y     its ordinate
     * @param color an SVG colour
     */
    public record Reference(String name, double y, String color) {
    }

    private final String title;
    private final String xLabel;
    private final String yLabel;
    private final boolean logY;
    private final List<Series> series = new ArrayList<>();
    private final List<Reference> references = new ArrayList<>();

    /**
     * An empty chart.
     *
     * @param title  the heading
     * @param xLabel the x axis's label
     * @param yLabel the y axis's label
     * @param logY   whether the y axis is logarithmic (decades)
     */
    public LossChart(String title, String xLabel, String yLabel, boolean logY) {
        this.title = Objects.requireNonNull(title, "title");
        this.xLabel = Objects.requireNonNull(xLabel, "xLabel");
        this.yLabel = Objects.requireNonNull(yLabel, "yLabel");
        this.logY = logY;
    }

    /**
     * Adds a curve.
     *
     * @param s the series
     * @return this chart
     */
    public LossChart add(Series s) {
        series.add(Objects.requireNonNull(s, "s"));
        return this;
    }

    /**
     * Adds a horizontal reference line.
     *
     * @param r the line
     * @return this chart
     */
    public LossChart add(Reference r) {
        references.add(Objects.requireNonNull(r, "r"));
        return this;
    }

    /**
     * Writes {@link #toSvg()} to {@code file}, creating its directory.
     *
     * @param file where the chart goes
     * @throws IOException if it cannot be written
     */
    public void write(Path file) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        if (dir != null) {
            Files.createDirectories(dir);
        }
        Files.writeString(file, toSvg(), StandardCharsets.UTF_8);
    }

    /**
     * The chart as an SVG document.
     *
     * @return the document's text
     */
    public String toSvg() {
        double xMin = Double.POSITIVE_INFINITY;
        double xMax = Double.NEGATIVE_INFINITY;
        double yMin = Double.POSITIVE_INFINITY;
        double yMax = Double.NEGATIVE_INFINITY;
        for (Series s : series) {
            for (int i = 0; i < s.x().length; i++) {
                if (plottable(s.y()[i]) && Double.isFinite(s.x()[i])) {
                    xMin = Math.min(xMin, s.x()[i]);
                    xMax = Math.max(xMax, s.x()[i]);
                    yMin = Math.min(yMin, s.y()[i]);
                    yMax = Math.max(yMax, s.y()[i]);
                }
            }
        }
        for (Reference r : references) {
            if (plottable(r.y())) {
                yMin = Math.min(yMin, r.y());
                yMax = Math.max(yMax, r.y());
            }
        }
        if (xMin > xMax) {
            xMin = 0;
            xMax = 1;
        }
        if (xMax == xMin) {
            xMax = xMin + 1;
        }
        if (yMin > yMax) {
            yMin = logY ? 0.1 : 0;
            yMax = 1;
        }
        double lo;
        double hi;
        if (logY) {
            lo = Math.floor(Math.log10(yMin));
            hi = Math.ceil(Math.log10(yMax));
            if (hi == lo) {
                hi = lo + 1;
            }
        } else {
            lo = Math.min(0, yMin);
            double top = yMax == lo ? lo + 1 : yMax;
            // up to the tick above the largest value, so the top gridline is labelled
            double step = niceStep((top - lo) / 5);
            hi = Math.ceil(top / step - 1e-9) * step;
        }
        Axes a = new Axes(xMin, xMax, lo, hi);

        StringBuilder svg = new StringBuilder();
        svg.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\""
                + " viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">%n", WIDTH, HEIGHT, WIDTH, HEIGHT));
        svg.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", WIDTH, HEIGHT));
        svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"24\" font-size=\"15\">%s</text>%n", LEFT, escape(title)));
        // y grid and ticks
        if (logY) {
            for (int e = (int) lo; e <= (int) hi; e++) {
                double py = a.py(e);
                gridLine(svg, py, "1e" + e);
            }
        } else {
            double step = niceStep((hi - lo) / 5);
            for (double v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
                gridLine(svg, a.py(v), format(v));
            }
        }
        // x ticks
        double xStep = niceStep((xMax - xMin) / 6);
        for (double v = Math.ceil(xMin / xStep) * xStep; v <= xMax + xStep * 1e-9; v += xStep) {
            double px = a.px(v);
            svg.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#444\"/>%n",
                    px, HEIGHT - BOTTOM, px, HEIGHT - BOTTOM + 5));
            svg.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>%n",
                    px, HEIGHT - BOTTOM + 18, format(v)));
        }
        svg.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#444\"/>%n",
                LEFT, TOP, WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM));
        svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>%n",
                LEFT + (WIDTH - LEFT - RIGHT) / 2, HEIGHT - 10, escape(xLabel)));
        svg.append(String.format(Locale.ROOT, "<text transform=\"translate(16 %d) rotate(-90)\" text-anchor=\"middle\">%s</text>%n",
                TOP + (HEIGHT - TOP - BOTTOM) / 2, escape(yLabel)));

        int legendY = TOP + 10;
        for (Reference r : references) {
            if (!plottable(r.y())) {
                continue;
            }
            double py = a.py(logY ? Math.log10(r.y()) : r.y());
            svg.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\""
                    + " stroke-dasharray=\"6 4\"/>%n", LEFT, py, WIDTH - RIGHT, py, escape(r.color())));
            legendY = legend(svg, legendY, r.color(), true, r.name());
        }
        for (Series s : series) {
            StringBuilder points = new StringBuilder();
            StringBuilder dots = new StringBuilder();
            for (int i = 0; i < s.x().length; i++) {
                double y = s.y()[i];
                if (!plottable(y) || !Double.isFinite(s.x()[i])) {
                    continue;
                }
                double px = a.px(s.x()[i]);
                double py = a.py(logY ? Math.log10(y) : y);
                points.append(String.format(Locale.ROOT, "%.1f,%.1f ", px, py));
                if (s.markers()) {
                    dots.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>%n",
                            px, py, escape(s.color())));
                }
            }
            svg.append(String.format(Locale.ROOT, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"%s\"/>%n",
                    escape(s.color()), points.toString().strip()));
            svg.append(dots);
            legendY = legend(svg, legendY, s.color(), false, s.name());
        }
        svg.append("</svg>\n");
        return svg.toString();
    }

    private boolean plottable(double y) {
        return Double.isFinite(y) && (!logY || y > 0);
    }

    private static void gridLine(StringBuilder svg, double py, String label) {
        svg.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>%n",
                LEFT, py, WIDTH - RIGHT, py));
        svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>%n",
                LEFT - 6, py + 4, escape(label)));
    }

    private static int legend(StringBuilder svg, int y, String color, boolean dashed, String name) {
        int x = WIDTH - RIGHT + 12;
        svg.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\"%s/>%n",
                x, y, x + 24, y, escape(color), dashed ? " stroke-dasharray=\"6 4\"" : ""));
        svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\">%s</text>%n", x + 30, y + 4, escape(name)));
        return y + 20;
    }

    /** 1, 2 or 5 times a power of ten, at least {@code raw}. */
    static double niceStep(double raw) {
        if (!(raw > 0)) {
            return 1;
        }
        double p = Math.pow(10, Math.floor(Math.log10(raw)));
        for (double m : new double[] {1, 2, 5, 10}) {
            if (m * p >= raw) {
                return m * p;
            }
        }
        return 10 * p;
    }

    private static String format(double v) {
        if (Math.abs(v) < 1e-12) {
            return "0";
        }
        if (v == Math.rint(v) && Math.abs(v) < 1e7) {
            return Long.toString((long) v);
        }
        String s = String.format(Locale.ROOT, "%.3g", v);
        return s.contains(".") && !s.contains("e") ? s.replaceAll("0+$", "").replaceAll("\\.$", "") : s;
    }

    /** Text for an SVG attribute or element. */
    static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    /** Data coordinates (y already in decades for a logarithmic axis) to pixels. */
    private record Axes(double xMin, double xMax, double yLo, double yHi) {
        double px(double x) {
            return LEFT + (x - xMin) / (xMax - xMin) * (WIDTH - LEFT - RIGHT);
        }

        double py(double y) {
            return HEIGHT - BOTTOM - (y - yLo) / (yHi - yLo) * (HEIGHT - TOP - BOTTOM);
        }
    }
}
