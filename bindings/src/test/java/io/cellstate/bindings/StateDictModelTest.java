package io.cellstate.bindings;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.cellstate.Backend;
import io.cellstate.Cell;
import io.cellstate.Layout;
import io.cellstate.RnnPlan;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every ../shared/conformance/torch case loads from its model.safetensors (a projected LSTM's proj_size from its
 * weight_hr) and matches PyTorch on every CPU backend that runs it; one that does not is skipped, printing why.
 */
class StateDictModelTest {
    static Stream<Arguments> cases() throws IOException {
        List<Path> all = SharedCases.cases("torch", "model.safetensors");
        if (all.isEmpty()) {
            return Stream.of(Arguments.of("(no torch cases)", null));
        }
        return all.stream().map(d -> Arguments.of(d.getFileName().toString(), d));
    }

    @SuppressWarnings("unchecked")
    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void stateDictRunsLikePyTorch(String name, Path dir) throws IOException {
        if (dir == null) {
            String why = "no shared conformance data at " + System.getProperty("cellstate.conformance") + ": skipped";
            System.out.println("StateDictModelTest: " + why);
            assumeTrue(false, why);
        }
        Map<String, Object> meta = (Map<String, Object>) Json.parse(Files.readString(dir.resolve("meta.json")), 0,
                (off, p) -> new ModelFormatException("meta.json", "offset " + off, p));
        Layout layout = Boolean.TRUE.equals(meta.get("batch_first")) ? Layout.BATCH_MAJOR : Layout.SEQUENCE_MAJOR;
        Cell cell = "relu".equals(meta.get("nonlinearity")) ? Cell.rnnRelu() : null;
        RnnModel model = StateDicts.read(dir.resolve("model.safetensors"), new StateDicts.Options(null, cell, layout));
        assertEquals(((Json.Number) meta.get("hidden_size")).text(), String.valueOf(model.spec().hiddenSize()), name);
        assertEquals(((Json.Number) meta.get("num_layers")).text(), String.valueOf(model.spec().layers()), name);
        assertEquals(((Json.Number) meta.get("proj_size")).text(), String.valueOf(model.spec().projectionSize()), name);
        Map<String, NpyArray> in = SharedCases.arrays(dir, List.of("x", "h0", "c0", "lengths"));
        Map<String, NpyArray> expected = SharedCases.arrays(dir, model.outputNames());
        int steps = in.get("x").shape()[layout == Layout.BATCH_MAJOR ? 1 : 0];
        StringBuilder report = new StringBuilder();
        for (Backend b : SharedCases.backends(model.spec(), "StateDictModelTest " + name)) {
            try (RnnPlan plan = b.plan(model.spec(), model.weights())) {
                Map<String, NpyArray> out = model.run(plan, in);
                for (Map.Entry<String, NpyArray> e : expected.entrySet()) {
                    double r = SharedCases.check(name + " on " + b.name() + ", " + e.getKey(), model.spec(), steps, e.getValue(),
                            out.get(e.getKey()));
                    report.append(String.format(" %s/%s %.3f", b.name(), e.getKey(), r));
                }
            }
        }
        System.out.println("StateDictModelTest: " + name + ": error/tolerance" + report);
    }
}
