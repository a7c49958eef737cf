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

    /**
     * Training plans hold native weights, scratch and workspaces: a workspace's close releases its own, the
     * plan's close everything left (workspaces not closed included), and a grown workspace frees the old.
     */
    @Test
    void trainingPlansAndWorkspacesLeaveNoNativeMemory() {
        Backend blas = Backends.get("blas", RnnSpec.lstm(1, 1));
        RnnSpec spec = RnnSpec.builder().cell(io.cellstate.Cell.gru()).inputSize(6).hiddenSize(10).layers(2).build();
        RnnWeights weights = RnnWeights.random(spec, 1);
        PlanOptions training = PlanOptions.defaults().withMode(io.cellstate.ForwardMode.TRAINING);
        try (RnnPlan warm = blas.plan(spec, weights)) {
            warm.forward(RnnInput.of(Tensor.zeros(2, 2, 6))); // loads OpenBLAS before the count starts
        }
        long before = Pointer.totalBytes();
        for (int i = 0; i < 300; i++) {
            try (RnnPlan plan = blas.plan(spec, weights, training.withThreads(1 + i % 2))) {
                io.cellstate.RnnWorkspace ws = plan.newWorkspace();
                for (int t : new int[] {3, 7}) { // the second call grows the workspace
                    RnnInput in = RnnInput.of(Tensor.zeros(t, 2, 6).fill(0.25f));
                    plan.forward(in, io.cellstate.RnnOutput.allocate(spec, in.layout(), t, 2), ws);
                    plan.backward(ws, io.cellstate.RnnOutputGrad.of(Tensor.zeros(t, 2, 10).fill(1f)),
                            io.cellstate.RnnInputGrad.none(), io.cellstate.RnnWeightGrads.zeros(spec),
                            io.cellstate.WeightGradMode.OVERWRITE);
                }
                if (i % 2 == 0) {
                    long held = Pointer.totalBytes();
                    ws.close();
                    assertEquals(0, ws.bytes(), "bytes() of a closed workspace");
                    assertTrue(Pointer.totalBytes() < held, "a workspace's close releases its native memory");
                }
            }
        }
        assertEquals(before, Pointer.totalBytes(), "native bytes left behind by closed training plans and workspaces");
    }

    /**
     * A cell with options runs every pass on the training engine, its inference forward too, in native buffers
     * (weights, W_hr and its transpose, scratch, the inference buffers): the plan's close releases them all.
     */
    @Test
    void plansOfACellWithOptionsLeaveNoNativeMemory() {
        Backend blas = Backends.get("blas", RnnSpec.lstm(1, 1));
        io.cellstate.Cell cell = io.cellstate.Cell.lstm().withProjection(4).withPeepholes(true).withClip(0.5f);
        RnnSpec spec = RnnSpec.builder().cell(cell).inputSize(6).hiddenSize(10).layers(2)
                .direction(Direction.BIDIRECTIONAL).build();
        RnnWeights weights = RnnWeights.random(spec, 1);
        try (RnnPlan warm = blas.plan(spec, weights)) {
            warm.forward(RnnInput.of(Tensor.zeros(2, 2, 6))); // loads OpenBLAS before the count starts
        }
        long before = Pointer.totalBytes();
        for (int i = 0; i < 300; i++) {
            PlanOptions options = i % 2 == 0 ? PlanOptions.defaults()
                    : PlanOptions.defaults().withMode(io.cellstate.ForwardMode.TRAINING);
            try (RnnPlan plan = blas.plan(spec, weights, options.withThreads(1 + i % 3 / 2))) {
                for (int t : new int[] {3, 7}) { // the second call grows the buffers
                    RnnInput in = RnnInput.of(Tensor.zeros(t, 2, 6).fill(0.25f));
                    plan.forward(in);
                    if (i % 2 == 1) {
                        try (io.cellstate.RnnWorkspace ws = plan.newWorkspace()) {
                            plan.forward(in, io.cellstate.RnnOutput.allocate(spec, in.layout(), t, 2), ws);
                            plan.backward(ws, io.cellstate.RnnOutputGrad.of(Tensor.zeros(t, 2, 8).fill(1f)),
                                    io.cellstate.RnnInputGrad.none(), io.cellstate.RnnWeightGrads.zeros(spec),
                                    io.cellstate.WeightGradMode.OVERWRITE);
                        }
                    }
                }
                assertTrue(Pointer.totalBytes() > before, "an open plan of a cell with options holds native memory");
            }
        }
        assertEquals(before, Pointer.totalBytes(), "native bytes left behind by closed plans of a cell with options");
    }

    @Test
    void reportsItsOpenBlasCore() {
        String core = BlasBackend.core();
        System.out.println("OpenBLAS core: " + core + " (OPENBLAS_CORETYPE=" + System.getenv("OPENBLAS_CORETYPE") + ")");
        assertTrue(!core.isEmpty() && Backends.byName("blas").description().contains(core), core);
    }
}
