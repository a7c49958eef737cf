package io.cellstate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.cellstate.testing.Case;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The vector kernel sums every element in the same order whatever the row blocking and the
 * thread split (see Panels), so a sequence's result is bit for bit the same alone or in a
 * batch, on one thread or several, in one call or two.
 */
class VectorDeterminismTest {
    private final Backend vector = Backends.byName("vector");

    static Stream<Cell> cells() {
        return Arrays.stream(Case.CELLS);
    }

    @BeforeEach
    void needsVector() {
        Assumptions.assumeTrue(vector.availability().available(), () -> vector.availability().reason());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cells")
    void aSequenceAloneEqualsItInABatch(Cell cell) {
        aloneEqualsInABatch(cell, 24, 9, 5);
    }

    /**
     * 64 steps of 17 sequences of 256 inputs: the first layer's projection has 1088 rows, which Panels takes in two
     * chunks of rows (see Panels.multiply), and the recurrent GEMM's 17 rows fall in blocks of 6, 6, 4 and 1 (6, 6, 2, 2
     * and 1 with 16 registers).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cells")
    void aSequenceAloneEqualsItInALongBatch(Cell cell) {
        aloneEqualsInABatch(cell, 256, 64, 17);
    }

    private void aloneEqualsInABatch(Cell cell, int inputs, int steps, int batch) {
        RnnSpec spec = RnnSpec.builder().cell(cell).inputSize(inputs).hiddenSize(70).layers(2).build();
        RnnWeights weights = RnnWeights.random(spec, 5);
        float[] x = Case.uniform(new SplittableRandom(3), steps * batch * inputs, 1);
        try (RnnPlan plan = vector.plan(spec, weights, PlanOptions.defaults().withThreads(2))) {
            RnnOutput all = plan.forward(RnnInput.of(Tensor.of(x, steps, batch, inputs)));
            for (int b = 0; b < batch; b++) {
                float[] one = new float[steps * inputs];
                for (int t = 0; t < steps; t++) {
                    System.arraycopy(x, (t * batch + b) * inputs, one, t * inputs, inputs);
                }
                RnnOutput alone = plan.forward(RnnInput.of(Tensor.of(one, steps, 1, inputs)));
                assertArrayEquals(alone.y().toArray(), column(all.y(), b, steps, batch), cell + " sequence " + b);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cells")
    void threadCountsAgreeBitForBit(Cell cell) {
        RnnSpec spec = RnnSpec.builder().cell(cell).inputSize(24).hiddenSize(70).layers(2).build();
        RnnWeights weights = RnnWeights.random(spec, 5);
        int steps = 7;
        int batch = 6;
        RnnInput in = RnnInput.of(Tensor.of(Case.uniform(new SplittableRandom(4), steps * batch * 24, 1), steps, batch, 24));
        float[] reference = null;
        for (int threads : new int[] {1, 2, 3}) {
            try (RnnPlan plan = vector.plan(spec, weights, PlanOptions.defaults().withThreads(threads))) {
                float[] y = plan.forward(in).y().toArray();
                if (reference == null) {
                    reference = y;
                } else {
                    assertArrayEquals(reference, y, cell + " threads=" + threads);
                }
            }
        }
    }

    /**
     * A training pass (forward, then backward to every gradient) on 1, 2 and 3 threads, bit for bit alike: the GEMMs
     * sum alike whatever the split, and a step's pointwise part, split among the threads by rows (13 sequences of
     * random lengths, some ended), computes each row alike on any thread. Two layers, both directions.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cells")
    void trainingThreadCountsAgreeBitForBit(Cell cell) {
        RnnSpec spec = RnnSpec.builder().cell(cell).inputSize(24).hiddenSize(40).layers(2)
                .direction(Direction.BIDIRECTIONAL).build();
        Case c = new Case(9, spec, 6, 13, Layout.SEQUENCE_MAJOR, Case.Lengths.RANDOM, true, true);
        RnnInput in = c.input();
        SplittableRandom r = new SplittableRandom(10);
        int steps = c.steps();
        int batch = c.batch();
        Tensor dy = Tensor.of(Case.uniform(r, steps * batch * spec.outputSize(), 1), steps, batch, spec.outputSize());
        Tensor dhN = Tensor.of(Case.uniform(r, spec.stateCount() * batch * spec.outputHiddenSize(), 1),
                spec.stateCount(), batch, spec.outputHiddenSize());
        Tensor dcN = spec.cell().hasCellState() ? Tensor.of(Case.uniform(r, spec.stateCount() * batch * spec.hiddenSize(), 1),
                spec.stateCount(), batch, spec.hiddenSize()) : null;
        RnnOutputGrad gradOut = new RnnOutputGrad(dy, dhN, dcN);
        java.util.Map<String, float[]> reference = null;
        for (int threads : new int[] {1, 2, 3}) {
            PlanOptions training = PlanOptions.defaults().withMode(ForwardMode.TRAINING).withThreads(threads);
            try (RnnPlan plan = vector.plan(spec, c.weights(), training); RnnWorkspace ws = plan.newWorkspace()) {
                RnnOutput out = RnnOutput.allocate(spec, Layout.SEQUENCE_MAJOR, steps, batch);
                RnnInputGrad gi = RnnInputGrad.allocate(spec, Layout.SEQUENCE_MAJOR, steps, batch);
                RnnWeightGrads wg = RnnWeightGrads.zeros(spec);
                plan.forward(in, out, ws);
                plan.backward(ws, gradOut, gi, wg, WeightGradMode.OVERWRITE);
                java.util.Map<String, float[]> got = new java.util.TreeMap<>();
                got.put("y", out.y().toArray());
                got.put("hN", out.hN().toArray());
                got.put("dx", gi.dx().toArray());
                got.put("dh0", gi.dh0().toArray());
                if (gi.dc0() != null) {
                    got.put("dc0", gi.dc0().toArray());
                }
                wg.toStateDict().forEach((name, t) -> got.put(name, t.toArray()));
                if (reference == null) {
                    reference = got;
                } else {
                    for (var e : reference.entrySet()) {
                        assertArrayEquals(e.getValue(), got.get(e.getKey()), cell + " " + e.getKey() + " threads=" + threads);
                    }
                }
            }
        }
    }

    /** Sequence b of a sequence-major [T, B, F] tensor as [T, 1, F] data. */
    private static float[] column(Tensor y, int b, int steps, int batch) {
        int f = y.dim(2);
        float[] all = y.toArray();
        float[] out = new float[steps * f];
        for (int t = 0; t < steps; t++) {
            System.arraycopy(all, (t * batch + b) * f, out, t * f, f);
        }
        return out;
    }
}
