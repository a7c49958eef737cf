package io.cellstate.spark;

import io.cellstate.Backends;
import io.cellstate.PlanOptions;
import io.cellstate.RnnInput;
import io.cellstate.RnnOutput;
import io.cellstate.RnnPlan;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/** The plain library's results, one sequence at a time, the tests' reference; and random test data. */
final class Reference {
    private Reference() {
    }

    /**
     * One sequence's results from the plain library.
     *
     * @param embedding the last layer's final hidden state, directions concatenated
     * @param sequence  the last layer's output, {@code [steps][D*H]}
     */
    record Scored(float[] embedding, float[][] sequence) {
    }

    /** Runs each sequence ({@code [steps][inputSize]}) alone, B = 1, on a plan of {@code backend}. */
    static List<Scored> score(RnnSpec spec, RnnWeights weights, String backend, List<float[][]> sequences) {
        PlanOptions one = PlanOptions.defaults().withThreads(1);
        List<Scored> out = new ArrayList<>();
        try (RnnPlan plan = Backends.get(backend, spec, one).plan(spec, weights, one)) {
            for (float[][] s : sequences) {
                int steps = s.length;
                int f = spec.inputSize();
                float[] x = new float[steps * f];
                for (int t = 0; t < steps; t++) {
                    System.arraycopy(s[t], 0, x, t * f, f);
                }
                RnnOutput o = plan.forward(RnnInput.of(Tensor.of(x, steps, 1, f)));
                int h = spec.hiddenSize();
                int d = spec.directions();
                float[] hn = o.hN().toArray();
                float[] embedding = new float[d * h];
                for (int k = 0; k < d; k++) {
                    System.arraycopy(hn, ((spec.layers() - 1) * d + k) * h, embedding, k * h, h);
                }
                float[] y = o.y().toArray();
                float[][] seq = new float[steps][];
                for (int t = 0; t < steps; t++) {
                    seq[t] = Arrays.copyOfRange(y, t * d * h, (t + 1) * d * h);
                }
                out.add(new Scored(embedding, seq));
            }
        }
        return out;
    }

    /** {@code count} sequences of 1 to {@code maxSteps} steps (the first ones of every length up to it) of {@code features} values in [-2, 2). */
    static List<float[][]> sequences(long seed, int count, int maxSteps, int features) {
        SplittableRandom rng = new SplittableRandom(seed);
        List<float[][]> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int steps = i < maxSteps ? maxSteps - i : 1 + rng.nextInt(maxSteps);
            float[][] s = new float[steps][features];
            for (float[] step : s) {
                for (int k = 0; k < features; k++) {
                    step[k] = (float) rng.nextDouble(-2, 2);
                }
            }
            out.add(s);
        }
        return out;
    }

    /** A Spark array value (a Scala Seq) as floats. */
    static float[] floats(Object value) {
        Object[] items = SequenceReader.items(value);
        float[] out = new float[items.length];
        for (int i = 0; i < items.length; i++) {
            out[i] = (Float) items[i];
        }
        return out;
    }

    /** A Spark {@code array<array<float>>} value as {@code [steps][width]}. */
    static float[][] steps(Object value) {
        Object[] items = SequenceReader.items(value);
        float[][] out = new float[items.length][];
        for (int i = 0; i < items.length; i++) {
            out[i] = floats(items[i]);
        }
        return out;
    }
}
