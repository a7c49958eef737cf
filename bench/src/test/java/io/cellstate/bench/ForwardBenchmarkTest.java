package io.cellstate.bench;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cellstate.Backends;
import io.cellstate.PlanOptions;
import io.cellstate.RnnSpec;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** One untimed trial of the forward benchmark per backend, as JMH runs it: setup with its oracle check, calls, teardown. */
class ForwardBenchmarkTest {

    /**
     * The LSTM's options against oneDNN's projection and peephole LSTM and on the scalar oracle, checked
     * against the oracle on the first steps; {@code vector} and {@code blas} where they run them, else
     * their trial fails naming the cell (what JMH then reports for that trial).
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"onednn", "scalar", "vector", "blas"})
    void theLstmsOptionsRunAndPassTheirOracleCheck(String backend) throws Exception {
        for (String cell : List.of("lstm-proj2", "lstm-proj4", "lstm-peephole")) {
            RnnSpec spec = BenchCase.spec(cell, 32);
            ForwardBenchmark b = new ForwardBenchmark();
            b.backend = backend;
            b.cell = cell;
            b.shape = "2x32";
            b.steps = 10;
            b.threads = 1;
            if (!backend.equals(ForwardBenchmark.ONEDNN) && !runs(backend, spec)) {
                Exception e = assertThrows(RuntimeException.class, b::setUp);
                assertTrue(e.getMessage().contains(spec.cell().toString()), e.getMessage());
                System.out.println(backend + " " + cell + ": the trial fails, as JMH will show it: " + e);
                b.tearDown();
                continue;
            }
            b.setUp();
            try {
                for (int i = 0; i < 2; i++) {
                    assertNotNull(b.forward());
                }
            } finally {
                b.tearDown();
            }
        }
    }

    private static boolean runs(String backend, RnnSpec spec) {
        return Backends.list().stream().anyMatch(i -> i.name().equals(backend) && i.available())
                && Backends.byName(backend).unsupported(spec, PlanOptions.defaults()).isEmpty();
    }
}
