package io.cellstate.bindings;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.cellstate.Backend;
import io.cellstate.RnnPlan;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The ONNX files of ../shared/conformance read and run on every CPU backend: the graphs PyTorch's exporter
 * wrote (onnx-export, against PyTorch's float64 outputs), and the single-node models of ONNX's node tests
 * (onnx) and of ONNX Runtime's cases (onnx-runtime), whose weights are graph inputs bound when reading, the
 * peepholes P among them. Every case is read, the LSTM's options and other activations included; a backend that
 * lacks a case's cell is skipped, printing its reason.
 */
class OnnxModelTest {
    private static Stream<Arguments> withReason(List<Path> cases, String set) {
        if (cases.isEmpty()) {
            return Stream.of(Arguments.of("(no " + set + " cases)", null));
        }
        return cases.stream().map(d -> Arguments.of(d.getFileName().toString(), d));
    }

    static Stream<Arguments> exported() throws IOException {
        return withReason(SharedCases.cases("onnx-export", "model.onnx"), "onnx-export");
    }

    static Stream<Arguments> singleNode() throws IOException {
        List<Path> all = new ArrayList<>(SharedCases.cases("onnx", "case.json"));
        all.addAll(SharedCases.cases("onnx-runtime", "case.json"));
        if (all.isEmpty()) {
            return withReason(all, "onnx or onnx-runtime");
        }
        return all.stream().map(d -> Arguments.of(d.getParent().getFileName() + "/" + d.getFileName(), d));
    }

    private static void present(Path dir, String name) {
        if (dir == null) {
            String why = name + ": no shared conformance data at " + System.getProperty("cellstate.conformance")
                    + " (system property cellstate.conformance): skipped";
            System.out.println("OnnxModelTest: " + why);
            assumeTrue(false, why);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("exported")
    void exportedGraphMatchesPyTorch(String name, Path dir) throws IOException {
        present(dir, name);
        RnnModel model = Onnx.read(dir.resolve("model.onnx"));
        List<String> inputNames = model.inputs().stream().map(RnnModel.Input::name).toList();
        Map<String, NpyArray> in = SharedCases.arrays(dir, inputNames);
        assertEquals(inputNames, List.copyOf(in.keySet()), name + ": every graph input has its .npy");
        int steps = in.get(model.sequenceInput()).shape()[model.layout() == io.cellstate.Layout.BATCH_MAJOR ? 1 : 0];
        runEverywhere(name, model, in, SharedCases.arrays(dir, model.outputNames()), steps);
    }

    private static void runEverywhere(String name, RnnModel model, Map<String, NpyArray> in, Map<String, NpyArray> expected,
            int steps) {
        assertFalse(expected.isEmpty(), name + ": no expected outputs");
        StringBuilder report = new StringBuilder();
        for (Backend b : SharedCases.backends(model.spec(), "OnnxModelTest " + name)) {
            try (RnnPlan plan = b.plan(model.spec(), model.weights())) {
                Map<String, NpyArray> out = model.run(plan, in);
                assertEquals(model.outputNames(), List.copyOf(out.keySet()), name);
                for (Map.Entry<String, NpyArray> e : expected.entrySet()) {
                    double r = SharedCases.check(name + " on " + b.name() + ", output " + e.getKey(), model.spec(), steps,
                            e.getValue(), out.get(e.getKey()));
                    report.append(String.format(" %s/%s %.3f", b.name(), e.getKey(), r));
                }
            }
        }
        System.out.println("OnnxModelTest: " + name + " (" + model.spec() + "): error/tolerance" + report);
    }

    @SuppressWarnings("unchecked")
    @ParameterizedTest(name = "{0}")
    @MethodSource("singleNode")
    void singleNodeModelMatchesItsOutputs(String name, Path dir) throws IOException {
        present(dir, name);
        Map<String, Object> json = (Map<String, Object>) Json.parse(Files.readString(dir.resolve("case.json")), 0,
                (off, p) -> new ModelFormatException("case.json", "offset " + off, p));
        List<String> nodeIn = (List<String>) json.get("inputs");
        Map<String, NpyArray> bound = new LinkedHashMap<>();
        Map<String, NpyArray> feed = new LinkedHashMap<>();
        for (int i = 0; i < nodeIn.size(); i++) {
            String n = nodeIn.get(i);
            if (n.isEmpty()) {
                continue;
            }
            NpyArray a = Npy.read(dir.resolve(n + ".npy"));
            (i == 1 || i == 2 || i == 3 || i == 7 ? bound : feed).put(n, a);
        }
        RnnModel model = Onnx.read(dir.resolve("model.onnx"), bound);
        NpyArray x = feed.get(nodeIn.get(0));
        Map<String, Object> attrs = (Map<String, Object>) json.get("attributes");
        boolean batchMajor = attrs.get("layout") instanceof Json.Number l && l.text().equals("1");
        int steps = x.shape()[batchMajor ? 1 : 0];
        List<String> outs = ((List<String>) json.get("outputs")).stream().filter(s -> !s.isEmpty()).toList();
        assertEquals(outs, model.outputNames(), name + ": the graph's outputs");
        runEverywhere(name, model, feed, SharedCases.arrays(dir, outs), steps);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("exported")
    void unboundWeightsAreRefusedNamingTheInput(String name, Path dir) throws IOException {
        present(dir, name);
        // The exporter's graphs hold their weights: binding a name that is no graph input is a caller error.
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Onnx.read(dir.resolve("model.onnx"), Map.of("no_such_input", NpyArray.ofFloats(new float[1], 1))));
        assertTrue(e.getMessage().contains("no_such_input"), e.getMessage());
    }
}
