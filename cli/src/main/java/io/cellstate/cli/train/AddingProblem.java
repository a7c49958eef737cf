package io.cellstate.cli.train;

import io.cellstate.Tensor;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The adding problem (Hochreiter and Schmidhuber 1997, experiment 4; in the form of Arjovsky,
 * Shah and Bengio 2016, "Unitary evolution recurrent neural networks", section 4.2): each sequence
 * has T steps of two channels; channel 0 holds values drawn from U[0, 1], channel 1 is 0 except for
 * two markers of 1, one at a uniformly drawn step of the first half ({@code [0, T/2)}) and one of
 * the second ({@code [T/2, T)}). The target is the sum of the two marked values. A model must
 * remember the first marked value across up to T steps of distraction.
 *
 * <p>The target is the sum of two independent U[0, 1] values, so predicting its mean, 1, scores a
 * mean squared error of its variance, 2/12 = 0.1667: the {@link #BASELINE_MSE} a model must beat.
 */
public final class AddingProblem {
    /** The input channels: the value and the marker. */
    public static final int CHANNELS = 2;
    /** The mean squared error of always predicting 1: the variance of the sum of two U[0, 1] values, 1/6. */
    public static final double BASELINE_MSE = 1.0 / 6;

    private final int steps;

    /**
     * Sequences of {@code steps} steps.
     *
     * @param steps T, at least 2 (one step per half)
     * @throws IllegalArgumentException for fewer than 2 steps
     */
    public AddingProblem(int steps) {
        if (steps < 2) {
            throw new IllegalArgumentException("steps: expected >= 2 (a marker in each half), got " + steps);
        }
        this.steps = steps;
    }

    /**
     * T.
     *
     * @return the steps per sequence
     */
    public int steps() {
        return steps;
    }

    /**
     * Draws {@code x.dim(1)} new sequences into {@code x} and their targets into {@code target}.
     *
     * @param rng    the generator
     * @param x      receives the sequences, {@code [T, B, 2]} (sequence-major)
     * @param target receives the targets, {@code [B]}
     * @throws IllegalArgumentException if the shapes do not match this problem
     */
    public void draw(SplittableRandom rng, Tensor x, double[] target) {
        if (x.rank() != 3 || x.dim(0) != steps || x.dim(2) != CHANNELS) {
            throw new IllegalArgumentException("x: expected [" + steps + ", B, " + CHANNELS + "], got "
                    + Arrays.toString(x.shape()));
        }
        int batch = x.dim(1);
        if (target.length != batch) {
            throw new IllegalArgumentException("target: expected " + batch + " elements (B), got " + target.length);
        }
        int half = steps / 2;
        for (int b = 0; b < batch; b++) {
            int first = rng.nextInt(half);
            int second = half + rng.nextInt(steps - half);
            double sum = 0;
            for (int t = 0; t < steps; t++) {
                long at = ((long) t * batch + b) * CHANNELS;
                float v = (float) rng.nextDouble();
                boolean marked = t == first || t == second;
                x.setFlat(at, v);
                x.setFlat(at + 1, marked ? 1f : 0f);
                if (marked) {
                    sum += v;
                }
            }
            target[b] = sum;
        }
    }

    /**
     * A new batch of {@code batch} sequences.
     *
     * @param rng   the generator
     * @param batch B, at least 1
     * @return the sequences {@code [T, B, 2]} and their targets
     */
    public Batch draw(SplittableRandom rng, int batch) {
        if (batch < 1) {
            throw new IllegalArgumentException("batch: expected >= 1, got " + batch);
        }
        Batch b = new Batch(Tensor.zeros(steps, batch, CHANNELS), new double[batch]);
        draw(rng, b.x(), b.target());
        return b;
    }

    /**
     * Sequences and their targets.
     *
     * @param x      {@code [T, B, 2]}
     * @param target {@code [B]}
     */
    public record Batch(Tensor x, double[] target) {
    }
}
