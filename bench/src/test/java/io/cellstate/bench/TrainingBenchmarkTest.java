package io.cellstate.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.cellstate.Backends;
import io.cellstate.Cell;
import io.cellstate.ForwardMode;
import io.cellstate.PlanOptions;
import io.cellstate.RnnSpec;
import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.openjdk.jmh.annotations.Param;

/** The training benchmark's parameter grid and profiles, and one untimed trial of each backend. */
class TrainingBenchmarkTest {

    /** The same knobs as the forward benchmark, so their rows pair up in the report. */
    @Test
    void hasTheForwardBenchmarksParams() {
        for (String name : List.of("backend", "cell", "shape", "steps", "threads")) {
            assertNotNull(param(TrainingBenchmark.class, name), name);
            assertNotNull(param(ForwardBenchmark.class, name), name);
        }
        assertEquals(Arrays.asList(param(ForwardBenchmark.class, "shape")), Arrays.asList(param(TrainingBenchmark.class, "shape")));
        assertEquals(Arrays.asList(param(ForwardBenchmark.class, "steps")), Arrays.asList(param(TrainingBenchmark.class, "steps")));
        assertTrue(Arrays.asList(param(TrainingBenchmark.class, "backend")).containsAll(List.of("vector", "blas", "onednn")));
        assertTrue(BenchResult.PEER.equals(ForwardBenchmark.ONEDNN));
    }

    /**
     * Both profiles train at 1 and 2 threads on PyTorch's benchmark default (B = 64, I = H = 512,
     * T = 100) and benchdnn's l1t50mb64sic500 (B = 64, I = H = 500, T = 50), beside oneDNN, and the
     * quick profile trains on every shape it runs the forward LSTM at T = 100 on, but 1x1024.
     */
    @Test
    void theProfilesTrainOnTheReferenceShapes() throws IOException {
        String script = Files.readString(Path.of("run.sh"));
        for (String profile : List.of("quick", "full")) {
            String body = script.substring(script.indexOf("\n  " + profile + ")"));
            body = body.substring(0, body.indexOf(";;"));
            List<String> training = body.lines().filter(l -> l.contains("\"TrainingBenchmark ")).toList();
            assertTrue(training.stream().anyMatch(l -> covers(script, l, "64x512", "100")), profile + ": " + training);
            assertTrue(training.stream().anyMatch(l -> covers(script, l, "64x500", "50")), profile + ": " + training);
            assertTrue(training.stream().filter(l -> !l.contains("backend=scalar"))
                    .allMatch(l -> l.contains("backend=vector,blas,onednn") && l.contains("threads=1,2")), training.toString());
        }
    }

    /** Whether invocation {@code line} runs shape {@code shape} at {@code steps} steps (variables expanded). */
    private static boolean covers(String script, String line, String shape, String steps) {
        String expanded = line;
        for (String v : List.of("SHAPES_T100", "SHAPES_T50", "SHAPES_TRAIN", "SHAPE_BENCHDNN")) {
            int at = script.indexOf("readonly " + v + "=");
            if (at >= 0) {
                String value = script.substring(at + v.length() + 10, script.indexOf('\n', at));
                expanded = expanded.replace("$" + v, value);
            }
        }
        String shapes = expanded.replaceAll(".*-p shape=([^ ]+).*", "$1");
        return Arrays.asList(shapes.split(",")).contains(shape) && expanded.contains("-p steps=" + steps + " ");
    }

    /**
     * One trial without timing, as JMH runs it: setup with its oracle checks, a few steps, teardown.
     * Skipped, saying why, where a backend (or the scalar oracle the check needs) does not train yet.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"onednn", "vector", "blas"})
    void aTrialRunsAndPassesItsOracleCheck(String backend) throws Exception {
        RnnSpec spec = RnnSpec.builder().cell(Cell.lstm()).inputSize(24).hiddenSize(24).build();
        assumeTrue(trains("scalar", spec), "the scalar oracle does not train yet: the trial's check cannot run");
        assumeTrue(backend.equals("onednn") || trains(backend, spec), backend + " does not train yet");
        for (String cell : List.of("lstm", "gru", "rnn-relu")) {
            TrainingBenchmark b = new TrainingBenchmark();
            b.backend = backend;
            b.cell = cell;
            b.shape = "3x24";
            b.steps = 9;
            b.threads = 1;
            b.setUp();
            try {
                for (int i = 0; i < 3; i++) {
                    assertNotNull(b.train());
                }
            } finally {
                b.tearDown();
            }
        }
    }

    /**
     * The LSTM's options, one untimed trial each with its oracle checks (forward prefix and gradients):
     * oneDNN's projection and peephole LSTM, and the scalar oracle itself. {@code vector} and {@code blas}
     * run them where they can; until then their trial fails naming the cell, which is what JMH reports.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"onednn", "scalar", "vector", "blas"})
    void theLstmsOptionsTrainAndPassTheirOracleCheck(String backend) throws Exception {
        for (String cell : List.of("lstm-proj2", "lstm-proj4", "lstm-peephole")) {
            RnnSpec spec = BenchCase.spec(cell, 24);
            assumeTrue(trains("scalar", spec), "the scalar oracle does not train " + cell + ": the trial's check cannot run");
            TrainingBenchmark b = new TrainingBenchmark();
            b.backend = backend;
            b.cell = cell;
            b.shape = "3x24";
            b.steps = 9;
            b.threads = 1;
            if (!backend.equals("onednn") && !trains(backend, spec)) {
                UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, b::setUp);
                assertTrue(e.getMessage().contains("cannot run") && e.getMessage().contains(spec.cell().toString()),
                        e.getMessage());
                System.out.println(backend + " " + cell + ": the trial fails, as JMH will show it: " + e.getMessage());
                b.tearDown();
                continue;
            }
            b.setUp();
            try {
                for (int i = 0; i < 2; i++) {
                    assertNotNull(b.train());
                }
            } finally {
                b.tearDown();
            }
        }
    }

    private static boolean trains(String backend, RnnSpec spec) {
        return Backends.list().stream().anyMatch(i -> i.name().equals(backend) && i.available())
                && Backends.byName(backend).unsupported(spec, PlanOptions.defaults().withMode(ForwardMode.TRAINING)).isEmpty();
    }

    private static String[] param(Class<?> benchmark, String field) {
        try {
            Field f = benchmark.getField(field);
            Param p = f.getAnnotation(Param.class);
            return p == null ? null : p.value();
        } catch (NoSuchFieldException e) {
            return null;
        }
    }
}
