package io.cellstate.cli.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cellstate.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The synthetic tasks' data: the adding problem as Arjovsky et al. define it, the four waveforms. */
class DataTest {

    /** One marker in each half (T odd included), values in [0, 1), the target their sum. */
    @Test
    void addingProblemHasOneMarkerPerHalfAndTheirSum() {
        for (int steps : new int[] {2, 7, 100}) {
            AddingProblem p = new AddingProblem(steps);
            AddingProblem.Batch b = p.draw(new SplittableRandom(steps), 33);
            Tensor x = b.x();
            int half = steps / 2;
            for (int s = 0; s < 33; s++) {
                int first = 0;
                int second = 0;
                double sum = 0;
                for (int t = 0; t < steps; t++) {
                    float v = x.get(t, s, 0);
                    float m = x.get(t, s, 1);
                    assertTrue(v >= 0 && v < 1, "value " + v);
                    assertTrue(m == 0 || m == 1, "marker " + m);
                    if (m == 1) {
                        sum += v;
                        if (t < half) {
                            first++;
                        } else {
                            second++;
                        }
                    }
                }
                assertEquals(1, first, "T = " + steps + ", sequence " + s + ": markers in the first half");
                assertEquals(1, second, "T = " + steps + ", sequence " + s + ": markers in the second half");
                assertEquals(sum, b.target()[s], 1e-12);
            }
        }
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new AddingProblem(1)).getMessage()
                .startsWith("steps: expected >= 2"));
    }

    /**
     * Predicting 1 scores the variance of a sum of two U[0, 1], 1/6. Over 20000 targets the estimate's
     * standard error is sqrt((1/15 - 1/36) / 20000) = 0.0014; 0.006 is four of them.
     */
    @Test
    void addingBaselineIsOneSixth() {
        AddingProblem.Batch b = new AddingProblem(10).draw(new SplittableRandom(5), 20000);
        double mse = AddingTask.baselineMse(java.util.List.of(b));
        assertEquals(1.0 / 6, mse, 0.006);
        assertEquals(AddingProblem.BASELINE_MSE, 1.0 / 6, 0);
    }

    @Test
    void addingDrawIsSeeded() {
        AddingProblem p = new AddingProblem(9);
        AddingProblem.Batch a = p.draw(new SplittableRandom(3), 4);
        AddingProblem.Batch b = p.draw(new SplittableRandom(3), 4);
        assertTrue(java.util.Arrays.equals(a.x().toArray(), b.x().toArray()));
        assertTrue(java.util.Arrays.equals(a.target(), b.target()));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> p.draw(new SplittableRandom(1), Tensor.zeros(8, 2, 2),
                new double[2])).getMessage().startsWith("x: expected [9, B, 2]"));
    }

    /** Classes in turn; without noise a square wave takes two values, a sawtooth many, a sine stays within its amplitude. */
    @Test
    void waveformsAreBalancedAndShaped() {
        Waveforms.Dataset d = Waveforms.generate(10, 64, 0, new SplittableRandom(8));
        assertEquals(10, d.size());
        assertEquals(64, d.steps());
        int[] counts = new int[Waveforms.CLASSES];
        for (int y : d.labels()) {
            counts[y]++;
        }
        assertEquals("[3, 3, 2, 2]", java.util.Arrays.toString(counts));
        float[] square = d.x()[Waveforms.Shape.SQUARE.ordinal()];
        float amp = Math.abs(square[0]);
        for (float v : square) {
            assertEquals(amp, Math.abs(v), 1e-6f, "a square wave is +-amplitude");
        }
        assertTrue(amp >= 0.5f && amp <= 1.5f, "amplitude " + amp);
        float[] sine = d.x()[Waveforms.Shape.SINE.ordinal()];
        long distinct = java.util.stream.IntStream.range(0, sine.length).mapToObj(i -> sine[i]).distinct().count();
        assertTrue(distinct > 32, "a sine takes many values: " + distinct);

        Tensor batch = d.inputs(new int[] {4, 1, 2}, 1, 3);
        assertEquals("[64, 2, 1]", java.util.Arrays.toString(batch.shape()));
        assertEquals(d.x()[1][5], batch.get(5, 0, 0));
        assertEquals(d.x()[2][63], batch.get(63, 1, 0));
        assertEquals("[1, 2]", java.util.Arrays.toString(d.labels(new int[] {4, 1, 2}, 1, 3)));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Waveforms.generate(4, 8, -1, new SplittableRandom(1)))
                .getMessage().startsWith("noise: "));
    }

    @Test
    void shuffleIsAPermutation() {
        int[] a = java.util.stream.IntStream.range(0, 50).toArray();
        ClassifyTask.shuffle(a, new SplittableRandom(4));
        assertTrue(!java.util.Arrays.equals(a, java.util.stream.IntStream.range(0, 50).toArray()), "shuffled");
        java.util.Arrays.sort(a);
        assertTrue(java.util.Arrays.equals(a, java.util.stream.IntStream.range(0, 50).toArray()));
        assertEquals(1600, ClassifyTask.trainSize(2000, 0.2));
    }
}
