package io.cellstate.blas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cellstate.Backend;
import io.cellstate.Backends;
import io.cellstate.Direction;
import io.cellstate.PlanOptions;
import io.cellstate.RnnInput;
import io.cellstate.RnnPlan;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.Tensor;
import org.bytedeco.javacpp.Pointer;
import org.junit.jupiter.api.Test;

/** Every native buffer a plan allocates is released by its close(): JavaCPP's count returns to where it was. */
class BlasNativeMemoryTest {

    @Test
    void thousandsOfPlansLeaveNoNativeMemory() {
        Backend blas = Backends.get("blas", RnnSpec.lstm(1, 1));
        RnnSpec spec = RnnSpec.builder().inputSize(24).hiddenSize(40).layers(2).direction(Direction.BIDIRECTIONAL).build();
        RnnWeights weights = RnnWeights.random(spec, 1);
        RnnInput in = RnnInput.of(Tensor.zeros(5, 3, 24).fill(0.25f));
        try (RnnPlan warm = blas.plan(spec, weights)) {
            warm.forward(in); // loads OpenBLAS and its own buffers before the count starts
        }
        long before = Pointer.totalBytes();
        long peak = before;
        for (int i = 0; i < 3000; i++) {
            try (RnnPlan plan = blas.plan(spec, weights, PlanOptions.defaults().withThreads(1 + i % 2))) {
                if (i % 10 == 0) {
                    plan.forward(in); // grows the native workspace too
                }
                peak = Math.max(peak, Pointer.totalBytes());
            }
        }
        long after = Pointer.totalBytes();
        System.out.printf("JavaCPP tracked bytes: %d before, %d peak (one plan open), %d after 3000 plans%n",
                before, peak, after);
        assertTrue(peak > before, "a plan holds native memory while open (weights are packed there)");
        assertEquals(before, after, "native bytes left behind by closed plans");
    }

    @Test
    void reportsItsOpenBlasCore() {
        String core = BlasBackend.core();
        System.out.println("OpenBLAS core: " + core + " (OPENBLAS_CORETYPE=" + System.getenv("OPENBLAS_CORETYPE") + ")");
        assertTrue(!core.isEmpty() && Backends.byName("blas").description().contains(core), core);
    }
}
