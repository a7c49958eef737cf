package io.cellstate.bench;

import java.math.BigDecimal;
import java.math.MathContext;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * docs/benchmarks.svg: one panel per benchmark, a group of bars per configuration (shape and
 * threads), a bar per backend, GFLOP/s on the y axis with JMH's error bars. The peers' bars (oneDNN's,
 * and ONNX Runtime's where it ran) are hatched and outlined, and the legend calls them peers. Where training ran, a panel per cell
 * first shows forward and training side by side as multiples of oneDNN ({@link SideBySide}): per
 * configuration and backend a solid bar (forward) and a pale one (training), and a line at 1. Written by hand: no chart library, so
 * the file diffs well and renders anywhere (browsers, GitHub, rsvg).
 */
final class SvgChart {

    /** Nominal width: a README column on GitHub, readable without zooming. */
    static final int WIDTH = 900;

    private static final int LEFT = 72;
    private static final int RIGHT = 16;
    private static final int PLOT_HEIGHT = 250;
    /** Narrowest bar worth drawing; the chart grows wider rather than go below it. */
    private static final double MIN_BAR = 7;
    private static final double GROUP_FILL = 0.78;

    private static final String PEER_FILL = "#E69F00";
    private static final String ORT_FILL = "#D55E00";
    private static final Map<String, String> KNOWN = Map.of("vector", "#0072B2", "blas", "#009E73",
            "cudnn", "#CC79A7", "scalar", "#8C8C8C", BenchResult.PEER, PEER_FILL, BenchResult.ORT, ORT_FILL);
    /** Okabe and Ito's colour-blind-safe palette, for backends without a colour of their own. */
    private static final List<String> SPARE = List.of("#56B4E9", "#F0E442", "#000000");

    private final StringBuilder svg = new StringBuilder();
    private final Map<String, String> colours = new HashMap<>();

    private SvgChart() {
    }

    /** The chart of every table in {@code in}. */
    static String render(ReportInput in) {
        return new SvgChart().draw(in);
    }

    private String draw(ReportInput in) {
        List<String> backends = backends(in.tables());
        int spare = 0;
        for (String b : backends) {
            colours.put(b, KNOWN.containsKey(b) ? KNOWN.get(b) : SPARE.get(spare++ % SPARE.size()));
        }
        int width = WIDTH;
        for (ResultTable t : in.tables()) {
            double needed = LEFT + RIGHT + t.rows().size() * t.backends().size() * MIN_BAR / GROUP_FILL;
            width = Math.max(width, (int) Math.ceil(needed));
        }
        List<SideBySide> pairs = SideBySide.of(in.tables());
        for (SideBySide p : pairs) {
            double needed = LEFT + RIGHT + p.rows().size() * 2 * p.backends().size() * MIN_BAR / GROUP_FILL;
            width = Math.max(width, (int) Math.ceil(needed));
        }
        int panelHeight = 20 + PLOT_HEIGHT + 58;
        int top = 92;
        int height = top + (pairs.size() + in.tables().size()) * panelHeight + 8;

        svg.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        svg.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                + "viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
                + "font-size=\"11\" fill=\"#222\">\n", width, height, width, height));
        svg.append("<title>Cellstate LSTM benchmarks, ").append(esc(in.date())).append("</title>\n");
        svg.append("<defs>\n  <pattern id=\"peer-hatch\" patternUnits=\"userSpaceOnUse\" width=\"6\" height=\"6\" "
                + "patternTransform=\"rotate(45)\">\n    <rect width=\"6\" height=\"6\" fill=\"" + PEER_FILL + "\"/>\n"
                + "    <rect width=\"2\" height=\"6\" fill=\"#FFFFFF\"/>\n  </pattern>\n"
                + (backends.contains(BenchResult.ORT) ? "  <pattern id=\"ort-hatch\" patternUnits=\"userSpaceOnUse\" width=\"6\""
                        + " height=\"6\" patternTransform=\"rotate(-45)\">\n    <rect width=\"6\" height=\"6\" fill=\"" + ORT_FILL
                        + "\"/>\n    <rect width=\"2\" height=\"6\" fill=\"#FFFFFF\"/>\n  </pattern>\n" : "")
                + "</defs>\n");
        svg.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"#FFFFFF\"/>\n", width, height));

        text(LEFT, 24, "start", "font-size=\"17\" font-weight=\"bold\"",
                "Cellstate LSTM kernels: GFLOP/s per backend, " + in.date());
        MachineInfo m = in.machine();
        text(LEFT, 44, "start", "font-size=\"12\" fill=\"#444\"", m.cpu() + "; " + m.cores() + " logical processors; "
                + String.join(", ", in.runs().stream().map(JmhRun::vm).distinct().toList()));
        text(LEFT, 60, "start", "font-size=\"12\" fill=\"#444\"",
                "Higher is better. Error bars: JMH's 99.9% confidence interval. "
                        + "Shapes are batch \u00d7 hidden, input = hidden.");
        legend(backends, LEFT, 80);

        for (SideBySide p : pairs) {
            ratioPanel(p, top, width);
            top += panelHeight;
        }
        for (ResultTable t : in.tables()) {
            panel(t, top, width);
            top += panelHeight;
        }
        svg.append("</svg>\n");
        return svg.toString();
    }

    private void legend(List<String> backends, double x, double y) {
        svg.append("<g class=\"legend\">\n");
        for (String b : backends) {
            svg.append(String.format(Locale.ROOT, "  <rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"12\" %s/>\n",
                    x, y - 10, fill(b)));
            String label = b.equals(BenchResult.PEER) ? "oneDNN (peer)" : b.equals(BenchResult.ORT) ? "ONNX Runtime (peer)" : b;
            text(x + 19, y, "start", "font-size=\"12\"", label);
            x += 19 + 7.2 * label.length() + 18;
        }
        svg.append(String.format(Locale.ROOT, "  <path d=\"M%.1f %.1fv12M%.1f %.1fh8M%.1f %.1fh8\" stroke=\"#222\" "
                + "stroke-width=\"1.2\" fill=\"none\"/>\n", x + 4, y - 11, x, y - 11, x, y + 1));
        text(x + 14, y, "start", "font-size=\"12\"", "99.9% CI");
        svg.append("</g>\n");
    }

    private void panel(ResultTable t, double top, int width) {
        double plotTop = top + 22;
        double plotBottom = plotTop + PLOT_HEIGHT;
        double plotLeft = LEFT;
        double plotRight = width - RIGHT;
        int commonSteps = commonSteps(t);

        String what = t.isStep()
                ? "one call = one time step of a streaming plan"
                : t.isConcurrent()
                ? "4 threads at once, a plan each: one thread's call"
                : "one call = T steps over B sequences"
                        + (commonSteps > 0 ? ", T = " + commonSteps + " unless marked" : "");
        svg.append(String.format(Locale.ROOT, "  <text x=\"%.1f\" y=\"%.1f\" font-size=\"13\">"
                + "<tspan font-weight=\"bold\">%s</tspan>"
                + "<tspan dx=\"8\" fill=\"#444\" font-size=\"12\">\u2014 %s</tspan></text>\n", plotLeft, top + 12, esc(t.shortName()), esc(what)));

        Scale y = Scale.of(t, plotTop, plotBottom);
        svg.append("<g class=\"axis\">\n");
        for (double tick : y.ticks()) {
            double py = y.map(tick);
            svg.append(String.format(Locale.ROOT, "  <line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                    + "stroke=\"#E4E4E4\" stroke-width=\"1\"/>\n", plotLeft, py, plotRight, py));
            text(plotLeft - 6, py + 4, "end", "", tickLabel(tick));
        }
        svg.append(String.format(Locale.ROOT, "  <line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\" "
                + "stroke-width=\"1\"/>\n", plotLeft, plotBottom, plotRight, plotBottom));
        double mid = (plotTop + plotBottom) / 2;
        svg.append(String.format(Locale.ROOT, "  <text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"12\" "
                + "transform=\"rotate(-90 %.1f %.1f)\">%s</text>\n", plotLeft - 48, mid, plotLeft - 48, mid,
                y.log() ? "GFLOP/s (log scale)" : "GFLOP/s"));
        svg.append("</g>\n");

        List<ResultTable.Row> rows = t.rows();
        double groupWidth = (plotRight - plotLeft) / rows.size();
        double barWidth = Math.min(36, groupWidth * GROUP_FILL / t.backends().size());
        boolean rotate = barWidth < 22;
        svg.append("<g class=\"bars\">\n");
        int clusterStart = 0;
        for (int g = 0; g < rows.size(); g++) {
            ResultTable.Row row = rows.get(g);
            double gx = plotLeft + g * groupWidth;
            List<String> present = t.backends().stream().filter(row.cells()::containsKey).toList();
            double x = gx + (groupWidth - present.size() * barWidth) / 2;
            for (String b : present) {
                bar(row.cells().get(b).result(), x, barWidth, y, plotTop, plotBottom, rotate);
                x += barWidth;
            }
            if (t.hasThreads()) {
                text(gx + groupWidth / 2, plotBottom + 14, "middle", "font-size=\"10\" fill=\"#444\"",
                        row.config().threadsLabel() + " thr");
            }
            boolean clusterEnds = g == rows.size() - 1 || !sameShape(row.config(), rows.get(g + 1).config());
            if (clusterEnds) {
                ResultTable.Config c = row.config();
                double cx = plotLeft + (clusterStart + g + 1) * groupWidth / 2;
                String label = c.shape() + (!t.isStep() && c.steps() > 0 && c.steps() != commonSteps
                        ? ", T=" + c.steps() : "");
                text(cx, plotBottom + (t.hasThreads() ? 29 : 16), "middle", "font-size=\"12\"", label);
                if (g < rows.size() - 1) {
                    double sx = plotLeft + (g + 1) * groupWidth;
                    svg.append(String.format(Locale.ROOT, "  <line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                            + "stroke=\"#CCCCCC\" stroke-dasharray=\"3 3\"/>\n", sx, plotTop, sx, plotBottom + 32));
                }
                clusterStart = g + 1;
            }
        }
        svg.append("</g>\n");
        text((plotLeft + plotRight) / 2, plotBottom + 48, "middle", "font-size=\"12\" fill=\"#444\"",
                "shape B\u00d7H" + (t.hasThreads() ? " and CPU threads" : ""));
    }

    /** Forward and training as multiples of oneDNN, per configuration and backend. */
    private void ratioPanel(SideBySide p, double top, int width) {
        double plotTop = top + 22;
        double plotBottom = plotTop + PLOT_HEIGHT;
        double plotLeft = LEFT;
        double plotRight = width - RIGHT;
        svg.append(String.format(Locale.ROOT, "  <text x=\"%.1f\" y=\"%.1f\" font-size=\"13\">"
                + "<tspan font-weight=\"bold\">%s: forward and training vs oneDNN</tspan>"
                + "<tspan dx=\"8\" fill=\"#444\" font-size=\"12\">\u2014 solid: forward; pale: training step;"
                + " above the line is faster than oneDNN</tspan></text>\n", plotLeft, top + 12, esc(p.cell())));
        double max = 1;
        for (SideBySide.Row r : p.rows()) {
            for (SideBySide.Ratios q : r.ratios().values()) {
                max = Math.max(max, Double.isNaN(q.forward()) ? 0 : q.forward());
                max = Math.max(max, Double.isNaN(q.training()) ? 0 : q.training());
            }
        }
        Scale y = new Scale(false, 0, Scale.niceCeil(max * 1.1, 1, 2, 2.5, 5, 10), plotTop, plotBottom);
        svg.append("<g class=\"axis\">\n");
        for (double tick : y.ticks()) {
            double py = y.map(tick);
            svg.append(String.format(Locale.ROOT, "  <line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                    + "stroke=\"#E4E4E4\" stroke-width=\"1\"/>\n", plotLeft, py, plotRight, py));
            text(plotLeft - 6, py + 4, "end", "", tickLabel(tick) + "\u00d7");
        }
        double mid = (plotTop + plotBottom) / 2;
        svg.append(String.format(Locale.ROOT, "  <text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"12\" "
                + "transform=\"rotate(-90 %.1f %.1f)\">oneDNN's time / ours</text>\n", plotLeft - 48, mid, plotLeft - 48,
                mid));
        svg.append("</g>\n");
        List<SideBySide.Row> rows = p.rows();
        double groupWidth = (plotRight - plotLeft) / rows.size();
        double barWidth = Math.min(30, groupWidth * GROUP_FILL / (2 * Math.max(1, p.backends().size())));
        svg.append("<g class=\"ratios\">\n");
        for (int g = 0; g < rows.size(); g++) {
            SideBySide.Row row = rows.get(g);
            double gx = plotLeft + g * groupWidth;
            List<String> present = p.backends().stream().filter(row.ratios()::containsKey).toList();
            double x = gx + (groupWidth - 2 * present.size() * barWidth) / 2;
            for (String b : present) {
                SideBySide.Ratios q = row.ratios().get(b);
                ratioBar(b, "forward", q.forward(), row.config(), x, barWidth, y, plotBottom);
                ratioBar(b, "training", q.training(), row.config(), x + barWidth, barWidth, y, plotBottom);
                x += 2 * barWidth;
            }
            ResultTable.Config c = row.config();
            text(gx + groupWidth / 2, plotBottom + 14, "middle", "font-size=\"10\" fill=\"#444\"",
                    c.threadsLabel() + " thr");
            text(gx + groupWidth / 2, plotBottom + 29, "middle", "font-size=\"11\"",
                    c.shape() + (c.steps() > 0 ? ", T=" + c.steps() : ""));
        }
        double one = y.map(1);
        svg.append(String.format(Locale.ROOT, "  <line class=\"peer-line\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                + "y2=\"%.1f\" stroke=\"%s\" stroke-width=\"1.5\" stroke-dasharray=\"6 3\"/>\n", plotLeft, one,
                plotRight, one, PEER_FILL));
        svg.append("</g>\n");
        text((plotLeft + plotRight) / 2, plotBottom + 48, "middle", "font-size=\"12\" fill=\"#444\"",
                "shape B\u00d7H, steps and CPU threads");
    }

    private void ratioBar(String backend, String kind, double ratio, ResultTable.Config c, double x, double w, Scale y,
                          double plotBottom) {
        if (Double.isNaN(ratio)) {
            return;
        }
        double top = y.map(ratio);
        String tip = String.format(Locale.ROOT, "%s %s, %s%s, threads=%s: %s\u00d7 oneDNN", MarkdownReport.label(backend),
                kind, c.shape(), c.steps() > 0 ? ", T=" + c.steps() : "", c.threadsLabel(), Numbers.sig3(ratio));
        String colour = colours.get(backend);
        String paint = kind.equals("forward") ? "fill=\"" + colour + "\""
                : "fill=\"" + colour + "\" fill-opacity=\"0.4\" stroke=\"" + colour + "\" stroke-width=\"1\"";
        svg.append(String.format(Locale.ROOT, "  <rect class=\"ratio\" data-backend=\"%s\" data-kind=\"%s\" "
                + "x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" %s><title>%s</title></rect>\n", esc(backend), kind,
                x + 0.5, top, w - 1, Math.max(0, plotBottom - top), paint, esc(tip)));
        text(x + w / 2, top - 3, "middle", "font-size=\"9\"", Numbers.sig3(ratio));
    }

    private void bar(BenchResult r, double x, double w, Scale y, double plotTop, double plotBottom, boolean rotate) {
        double top = y.map(r.gflops());
        String tip = String.format(Locale.ROOT, "%s, %s%s%s: %s GFLOP/s, %s ms", MarkdownReport.label(r.backend()),
                r.shape(), r.steps() > 0 && !r.isStep() ? ", T=" + r.steps() : "",
                r.threads() >= 0 ? ", threads=" + r.threads() : "", Numbers.sig3(r.gflops()),
                Numbers.withError(r.millis(), r.errorMillis()));
        svg.append(String.format(Locale.ROOT, "  <rect class=\"bar\" data-backend=\"%s\" x=\"%.1f\" y=\"%.1f\" "
                + "width=\"%.1f\" height=\"%.1f\" %s><title>%s</title></rect>\n", esc(r.backend()), x + 0.5, top,
                w - 1, Math.max(0, plotBottom - top), fill(r.backend()), esc(tip)));
        double errTop = top;
        if (!Double.isNaN(r.errorMillis())) {
            double lo = y.map(r.gflopsLow());
            errTop = Math.max(plotTop - 6, y.map(r.gflopsHigh()));
            double cx = x + w / 2;
            double cap = Math.max(2, w * 0.25);
            svg.append(String.format(Locale.ROOT, "  <path class=\"err\" "
                    + "d=\"M%.1f %.1fV%.1fM%.1f %.1fh%.1fM%.1f %.1fh%.1f\" stroke=\"#222\" stroke-width=\"1\" "
                    + "fill=\"none\"/>\n", cx, lo, errTop, cx - cap, lo, 2 * cap, cx - cap, errTop, 2 * cap));
        }
        double lx = x + w / 2;
        double ly = Math.min(errTop, top) - 3;
        String value = Numbers.sig3(r.gflops());
        if (rotate) {
            svg.append(String.format(Locale.ROOT, "  <text x=\"%.1f\" y=\"%.1f\" font-size=\"9\" text-anchor=\"start\" "
                    + "transform=\"rotate(-90 %.1f %.1f)\">%s</text>\n", lx + 3, ly, lx + 3, ly, value));
        } else {
            text(lx, ly, "middle", "font-size=\"9\"", value);
        }
    }

    private String fill(String backend) {
        return switch (backend) {
            case BenchResult.PEER -> "fill=\"url(#peer-hatch)\" stroke=\"#7A4A00\" stroke-width=\"1.5\"";
            case BenchResult.ORT -> "fill=\"url(#ort-hatch)\" stroke=\"#6B2F00\" stroke-width=\"1.5\"";
            default -> "fill=\"" + colours.get(backend) + "\"";
        };
    }

    private void text(double x, double y, String anchor, String attrs, String s) {
        svg.append(String.format(Locale.ROOT, "  <text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\"%s>%s</text>\n", x, y,
                anchor, attrs.isEmpty() ? "" : " " + attrs, esc(s)));
    }

    private static boolean sameShape(ResultTable.Config a, ResultTable.Config b) {
        return a.batch() == b.batch() && a.hidden() == b.hidden() && a.steps() == b.steps();
    }

    /** The most frequent steps param of a table (0 if none), named once instead of under every group. */
    private static int commonSteps(ResultTable t) {
        Map<Integer, Integer> count = new HashMap<>();
        t.rows().forEach(r -> count.merge(r.config().steps(), 1, Integer::sum));
        return count.entrySet().stream().max(Map.Entry.comparingByValue()).map(Map.Entry::getKey).orElse(0);
    }

    private static List<String> backends(List<ResultTable> tables) {
        Set<String> all = new LinkedHashSet<>();
        tables.forEach(t -> all.addAll(t.backends()));
        return BenchResult.peersLast(all);
    }

    private static String tickLabel(double v) {
        if (v >= 1 || v == 0) {
            return String.format(Locale.ROOT, "%,.0f", v);
        }
        return new BigDecimal(v).round(new MathContext(3)).stripTrailingZeros().toPlainString();
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    /**
     * The y axis of a panel: logarithmic where the values span more than a factor of 20 (the
     * scalar oracle next to a GEMM kernel), else linear from 0.
     */
    private record Scale(boolean log, double lo, double hi, double top, double bottom) {

        static Scale of(ResultTable t, double top, double bottom) {
            double min = Double.POSITIVE_INFINITY;
            double max = 0;
            for (ResultTable.Row row : t.rows()) {
                for (ResultTable.Cell c : row.cells().values()) {
                    BenchResult r = c.result();
                    min = Math.min(min, Math.min(r.gflops(), r.gflopsLow()));
                    double high = r.gflopsHigh();
                    max = Math.max(max, Double.isInfinite(high) ? r.gflops() : Math.max(high, r.gflops()));
                }
            }
            if (max / min > 20) {
                return new Scale(true, niceFloor(min * 0.9), niceCeil(max * 1.15, 1, 2, 5, 10), top, bottom);
            }
            return new Scale(false, 0, niceCeil(max * 1.1, 1, 2, 2.5, 5, 10), top, bottom);
        }

        double map(double v) {
            double f = log
                    ? (Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))
                    : v / hi;
            return bottom - Math.min(1, f) * (bottom - top);
        }

        List<Double> ticks() {
            List<Double> ticks = new ArrayList<>();
            if (log) {
                // 1, 2, 5 per decade while that leaves room to read them; decades only beyond.
                boolean fine = Math.log10(hi / lo) <= 3.5;
                for (double d = Math.pow(10, Math.floor(Math.log10(lo))); d <= hi * 1.0001; d *= 10) {
                    for (double m : fine ? new double[] {1, 2, 5} : new double[] {1}) {
                        double v = Double.parseDouble(String.format(Locale.ROOT, "%.6g", d * m));
                        if (v >= lo * 0.9999 && v <= hi * 1.0001) {
                            ticks.add(v);
                        }
                    }
                }
            } else {
                double step = niceCeil(hi / 5, 1, 2, 2.5, 5, 10);
                for (double v = 0; v <= hi * 1.0001; v += step) {
                    ticks.add(v);
                }
            }
            return ticks;
        }

        /** The smallest of {@code multiples} times a power of ten that is at least {@code v}. */
        private static double niceCeil(double v, double... multiples) {
            if (!(v > 0)) {
                return 1;
            }
            double p = Math.pow(10, Math.floor(Math.log10(v)));
            for (double m : multiples) {
                if (m * p >= v * 0.9999) {
                    return m * p;
                }
            }
            return 10 * p;
        }

        /** The largest of 1, 2, 5 times a power of ten that is at most {@code v}. */
        private static double niceFloor(double v) {
            double p = Math.pow(10, Math.floor(Math.log10(v)));
            for (double m : new double[] {5, 2, 1}) {
                if (m * p <= v * 1.0001) {
                    return m * p;
                }
            }
            return p;
        }
    }
}
