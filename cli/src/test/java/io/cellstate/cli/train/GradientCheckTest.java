package io.cellstate.cli.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.function.ToDoubleFunction;
import org.junit.jupiter.api.Test;

/**
 * The dense layer's and the losses' gradients against central finite differences in float64, as
 * PyTorch's gradcheck (eps 1e-6, atol 1e-5, rtol 1e-3; here tighter, atol 1e-7, since everything is
 * float64 and smooth: the truncation error is about eps^2 times the third derivative and the rounding
 * about 1e-16 |loss| / eps, both far below it). Odd sizes, seeded.
 */
class GradientCheckTest {
    private static final double EPS = 1e-6;
    private static final double ATOL = 1e-7;
    private static final double RTOL = 1e-5;

    /** d f / d a[i] for every i by central differences, a restored afterwards. */
    private static double[] numeric(double[] a, ToDoubleFunction<double[]> f) {
        double[] g = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            double keep = a[i];
            a[i] = keep + EPS;
            double up = f.applyAsDouble(a);
            a[i] = keep - EPS;
            double down = f.applyAsDouble(a);
            a[i] = keep;
            g[i] = (up - down) / (2 * EPS);
        }
        return g;
    }

    private static void assertClose(String what, double[] expected, double[] actual) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            double tol = ATOL + RTOL * Math.abs(expected[i]);
            assertTrue(Math.abs(expected[i] - actual[i]) <= tol, what + "[" + i + "]: finite difference " + expected[i]
                    + ", analytic " + actual[i]);
        }
    }

    private static double[] random(SplittableRandom rng, int n, double k) {
        double[] a = new double[n];
        for (int i = 0; i < n; i++) {
            a[i] = rng.nextDouble(-k, k);
        }
        return a;
    }

    @Test
    void meanSquaredErrorGradient() {
        SplittableRandom rng = new SplittableRandom(11);
        double[] p = random(rng, 7, 2);
        double[] t = random(rng, 7, 2);
        double[] grad = new double[7];
        Losses.meanSquaredError(p, t, grad);
        assertClose("d mse / d p", numeric(p, q -> Losses.meanSquaredError(q, t, null)), grad);
        assertEquals((1.0 + 4.0) / 2, Losses.meanSquaredError(new double[] {1, 0}, new double[] {0, 2}, null), 0);
    }

    @Test
    void softmaxCrossEntropyGradient() {
        SplittableRandom rng = new SplittableRandom(12);
        int batch = 5;
        int classes = 3;
        double[] logits = random(rng, batch * classes, 4);
        int[] labels = {0, 2, 1, 2, 0};
        double[] grad = new double[logits.length];
        Losses.softmaxCrossEntropy(logits, labels, classes, grad);
        assertClose("d ce / d logits", numeric(logits, z -> Losses.softmaxCrossEntropy(z, labels, classes, null)), grad);
    }

    @Test
    void softmaxCrossEntropyValuesAndLargeLogits() {
        assertEquals(Math.log(2), Losses.softmaxCrossEntropy(new double[] {0, 0}, new int[] {1}, 2, null), 1e-15);
        // logits of 1000 overflow exp() unless the largest is subtracted first
        assertEquals(0, Losses.softmaxCrossEntropy(new double[] {1000, 0}, new int[] {0}, 2, null), 1e-12);
        assertEquals(1000, Losses.softmaxCrossEntropy(new double[] {1000, 0}, new int[] {1}, 2, null), 1e-9);
        double[] grad = new double[2];
        Losses.softmaxCrossEntropy(new double[] {1000, 0}, new int[] {1}, 2, grad);
        assertEquals(1, grad[0], 1e-12);
        assertEquals(-1, grad[1], 1e-12);
        assertEquals(2, Losses.correct(new double[] {2, 1, 0, 3, 5, 4}, new int[] {0, 1, 1}, 2));
    }

    @Test
    void lossesRefuseBadInputNamingIt() {
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> Losses.softmaxCrossEntropy(new double[4], new int[] {0, 2}, 2, null)).getMessage()
                .startsWith("labels[1]: expected 0 <= label < 2, got 2"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> Losses.softmaxCrossEntropy(new double[5], new int[] {0, 1}, 2, null)).getMessage()
                .startsWith("logits: "));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> Losses.meanSquaredError(new double[3], new double[2], null)).getMessage().startsWith("target: "));
    }

    /** The dense layer's weight, bias and input gradients through each loss. */
    @Test
    void denseGradientThroughEachLoss() {
        SplittableRandom rng = new SplittableRandom(13);
        int batch = 3;
        int in = 5;
        int out = 4;
        Dense dense = new Dense(in, out, rng.split(), "d");
        double[] x = random(rng, batch * in, 1.5);
        double[] target = random(rng, batch * out, 1);
        int[] labels = {3, 0, 2};
        for (String loss : new String[] {"mse", "ce"}) {
            ToDoubleFunction<double[]> lossOf = y -> loss.equals("mse")
                    ? Losses.meanSquaredError(y, target, null) : Losses.softmaxCrossEntropy(y, labels, out, null);
            ToDoubleFunction<double[]> f = ignored -> {
                double[] y = new double[batch * out];
                dense.forward(x, batch, y);
                return lossOf.applyAsDouble(y);
            };
            double[] y = new double[batch * out];
            dense.forward(x, batch, y);
            double[] dy = new double[y.length];
            if (loss.equals("mse")) {
                Losses.meanSquaredError(y, target, dy);
            } else {
                Losses.softmaxCrossEntropy(y, labels, out, dy);
            }
            double[] dx = new double[x.length];
            dense.backward(x, dy, batch, dx);
            assertClose(loss + ": d / d weight", numeric(dense.weight().value(), f), dense.weight().grad());
            assertClose(loss + ": d / d bias", numeric(dense.bias().value(), f), dense.bias().grad());
            assertClose(loss + ": d / d x", numeric(x, f), dx);
        }
    }

    /** The layer computes x W^T + b with W [out x in], PyTorch's layout, not W x. */
    @Test
    void denseLayoutAndInitialisation() {
        Dense d = new Dense(2, 3, new SplittableRandom(1), "d");
        double[] w = {1, 2, 3, 4, 5, 6};
        System.arraycopy(w, 0, d.weight().value(), 0, 6);
        double[] b = {0.5, -0.5, 0};
        System.arraycopy(b, 0, d.bias().value(), 0, 3);
        double[] y = new double[3];
        d.forward(new double[] {1, -1}, 1, y);
        assertEquals(1 - 2 + 0.5, y[0], 0);
        assertEquals(3 - 4 - 0.5, y[1], 0);
        assertEquals(5 - 6, y[2], 0);

        Dense wide = new Dense(400, 50, new SplittableRandom(2), "w");
        double k = 1 / Math.sqrt(400);
        double max = 0;
        for (double v : wide.weight().value()) {
            max = Math.max(max, Math.abs(v));
        }
        assertTrue(max <= k && max > 0.9 * k, "nn.Linear's bound 1/sqrt(in) = " + k + ", largest |w| " + max);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> d.forward(new double[3], 1, y)).getMessage()
                .startsWith("x: expected 1 x 2 = 2 elements, got 3"));
    }
}
