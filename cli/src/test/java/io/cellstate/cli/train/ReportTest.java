package io.cellstate.cli.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/** The chart is well-formed SVG with the series and references asked for; the progress display in both modes. */
class ReportTest {

    private static Document parse(String svg) throws Exception {
        return DocumentBuilderFactory.newInstance().newDocumentBuilder()
                .parse(new ByteArrayInputStream(svg.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void chartIsWellFormedWithEverySeries(@TempDir Path dir) throws Exception {
        LossChart chart = new LossChart("T <&> \"x\"", "step", "mse", true)
                .add(new LossChart.Reference("baseline", 1.0 / 6, "#d62728"))
                .add(new LossChart.Series("train", new double[] {1, 2, 3, 4}, new double[] {0.2, 0.05, 0.0, 0.003},
                        "#1f77b4", false))
                .add(new LossChart.Series("val", new double[] {0, 4}, new double[] {0.17, 0.004}, "#ff7f0e", true));
        Path file = dir.resolve("sub/chart.svg");
        chart.write(file);
        Document doc = parse(Files.readString(file));
        Element root = doc.getDocumentElement();
        assertEquals("svg", root.getTagName());
        NodeList lines = doc.getElementsByTagName("polyline");
        assertEquals(2, lines.getLength());
        // the zero of the training series cannot sit on a logarithmic axis: left out, three points remain
        assertEquals(3, ((Element) lines.item(0)).getAttribute("points").split(" ").length);
        assertEquals(2, doc.getElementsByTagName("circle").getLength());
        List<String> texts = new ArrayList<>();
        NodeList t = doc.getElementsByTagName("text");
        for (int i = 0; i < t.getLength(); i++) {
            texts.add(t.item(i).getTextContent());
        }
        assertTrue(texts.contains("T <&> \"x\""), texts.toString());
        // decades from 1e-3 (the smallest value, 0.003) to 1e0 (above 0.2)
        assertTrue(texts.containsAll(List.of("1e-3", "1e-2", "1e-1", "1e0")), texts.toString());
        assertFalse(texts.contains("1e-4"), texts.toString());
        assertTrue(texts.containsAll(List.of("baseline", "train", "val")), texts.toString());
    }

    @Test
    void linearChartAndNiceSteps() throws Exception {
        LossChart chart = new LossChart("acc", "epoch", "accuracy", false)
                .add(new LossChart.Series("a", new double[] {1, 2, 3}, new double[] {0.3, 0.6, 0.9}, "#000", true));
        Document doc = parse(chart.toSvg());
        assertEquals(3, doc.getElementsByTagName("circle").getLength());
        List<String> texts = new ArrayList<>();
        NodeList t = doc.getElementsByTagName("text");
        for (int i = 0; i < t.getLength(); i++) {
            texts.add(t.item(i).getTextContent());
        }
        // from 0 up to the tick above 0.9, in steps of 0.2, written short
        assertTrue(texts.containsAll(List.of("0", "0.2", "0.4", "0.6", "0.8", "1")), texts.toString());
        assertEquals(1, LossChart.niceStep(0.7));
        assertEquals(0.2, LossChart.niceStep(0.15), 1e-15);
        assertEquals(500, LossChart.niceStep(333));
    }

    @Test
    void progressPrintsPlainLinesAtEachTenthWhenNotATerminal() {
        StringWriter s = new StringWriter();
        Progress p = new Progress(new PrintWriter(s), false);
        for (int i = 1; i <= 100; i++) {
            p.update(i / 100.0, "step " + i);
        }
        p.finish(1.0, "done");
        List<String> lines = s.toString().lines().toList();
        assertEquals(10, lines.size(), s.toString());
        assertEquals(" 10%  step 10", lines.getFirst());
        assertEquals("100%  done", lines.getLast());
        assertFalse(s.toString().contains("\r"));
    }

    @Test
    void progressRedrawsOneLineOnATerminal() {
        StringWriter s = new StringWriter();
        Progress p = new Progress(new PrintWriter(s), true);
        p.update(0.5, "loss 0.1");
        p.finish(1.0, "loss 0.01");
        String out = s.toString();
        assertTrue(out.startsWith("\r[" + "=".repeat(15) + " ".repeat(15) + "]  50%  loss 0.1"), out);
        assertTrue(out.contains("\r[" + "=".repeat(30) + "] 100%  loss 0.01"), out);
        assertTrue(out.endsWith(System.lineSeparator()), out);
        assertEquals(1, out.chars().filter(c -> c == '\n').count(), "one line, redrawn: " + out);
    }
}
