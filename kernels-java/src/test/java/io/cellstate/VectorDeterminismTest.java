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
