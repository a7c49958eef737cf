package io.cellstate.cli.train;

import io.cellstate.Tensor;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Synthetic sequences of four classes for a sequence classifier: noisy sine, square, sawtooth and
 * chirp waves, one channel. Each sequence draws its own frequency (1.5 to 4 cycles over the
 * sequence), phase and amplitude (0.5 to 1.5), and every step adds Gaussian noise, so a class is
 * told by its shape over time, not by a value at one step. The chirp's frequency rises linearly to
 * three times its start over the sequence, so it differs from the sine only in that change.
 */
public final class Waveforms {

    /** The classes, in label order. */
    public enum Shape {
        /** sin(2 pi phi). */
        SINE,
        /** The sign of the sine. */
        SQUARE,
        /** A ramp from -1 to 1 per cycle. */
        SAWTOOTH,
        /** A sine whose frequency rises linearly from f to 3f. */
        CHIRP;

        /** The wave at phase {@code cycles} (in cycles) without amplitude or noise. */
        double at(double cycles) {
            double frac = cycles - Math.floor(cycles);
            return switch (this) {
                case SINE, CHIRP -> Math.sin(2 * Math.PI * cycles);
                case SQUARE -> frac < 0.5 ? 1 : -1;
                case SAWTOOTH -> 2 * frac - 1;
            };
        }

        /**
         * The name in lower case.
         *
         * @return e.g. {@code sawtooth}
         */
        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** The number of classes. */
    public static final int CLASSES = Shape.values().length;

    /**
     * Labelled sequences.
     *
     * @param x      one array of T values per sequence
     * @param labels each sequence's class, the ordinal of its {@link Shape}
     */
    public record Dataset(float[][] x, int[] labels) {

        /**
         * Number of sequences.
         *
         * @return N
         */
        public int size() {
            return labels.length;
        }

        /**
         * Steps per sequence.
         *
         * @return T
         */
        public int steps() {
            return x[0].length;
        }

        /**
         * The sequences {@code order[from .. to)} as a sequence-major batch {@code [T, to - from, 1]}.
         *
         * @param order indices into this dataset
         * @param from  the first position in {@code order}
         * @param to    the position after the last
         * @return the batch's inputs
         */
        public Tensor inputs(int[] order, int from, int to) {
            int batch = to - from;
            int steps = steps();
            float[] data = new float[steps * batch];
            for (int b = 0; b < batch; b++) {
                float[] s = x[order[from + b]];
                for (int t = 0; t < steps; t++) {
                    data[t * batch + b] = s[t];
                }
            }
            return Tensor.of(data, steps, batch, 1);
        }

        /**
         * The labels of {@code order[from .. to)}.
         *
         * @param order indices into this dataset
         * @param from  the first position in {@code order}
         * @param to    the position after the last
         * @return the batch's labels
         */
        public int[] labels(int[] order, int from, int to) {
            int[] y = new int[to - from];
            for (int i = 0; i < y.length; i++) {
                y[i] = labels[order[from + i]];
            }
            return y;
        }
    }

    private Waveforms() {
    }

    /**
     * {@code n} sequences, the classes in turn (so every class has n/4 or one more), each drawn as the
     * class comment says.
     *
     * @param n     sequences, at least 1
     * @param steps T, at least 2
     * @param noise the standard deviation of the noise added at each step, at least 0
     * @param rng   the generator
     * @return the dataset
     * @throws IllegalArgumentException for a count or noise out of range, naming it
     */
    public static Dataset generate(int n, int steps, double noise, SplittableRandom rng) {
        if (n < 1) {
            throw new IllegalArgumentException("n: expected >= 1, got " + n);
        }
        if (steps < 2) {
            throw new IllegalArgumentException("steps: expected >= 2, got " + steps);
        }
        if (!(noise >= 0) || Double.isInfinite(noise)) {
            throw new IllegalArgumentException("noise: expected a finite value >= 0, got " + noise);
        }
        List<Shape> shapes = List.of(Shape.values());
        float[][] x = new float[n][steps];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            Shape shape = shapes.get(i % CLASSES);
            labels[i] = shape.ordinal();
            double f = rng.nextDouble(1.5, 4.0);
            double phase = rng.nextDouble();
            double amplitude = rng.nextDouble(0.5, 1.5);
            for (int t = 0; t < steps; t++) {
                double u = (double) t / steps;
                // cycles elapsed: f u, or for the chirp the integral of f (1 + 2u), i.e. f (u + u^2)
                double cycles = phase + f * (shape == Shape.CHIRP ? u + u * u : u);
                x[i][t] = (float) (amplitude * shape.at(cycles) + noise * rng.nextGaussian());
            }
        }
        return new Dataset(x, labels);
    }
}
