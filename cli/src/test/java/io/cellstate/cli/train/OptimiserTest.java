package io.cellstate.cli.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Adam against PyTorch's formula worked by hand, and clipping by global norm as clip_grad_norm_. */
class OptimiserTest {

    /**
     * Three steps of two parameters, lr 1e-3, betas 0.9 and 0.999, eps 1e-8 (PyTorch's defaults).
     * Step 1 by hand: m = 0.1 g, v = 0.001 g^2, so m / (1 - 0.9) = g and sqrt(v) / sqrt(1 - 0.999) = |g|:
     * p moves by lr g / (|g| + eps), i.e. 1 - 1e-3 * 0.5 / (0.5 + 1e-8) = 0.99900000002 and
     * -2 + 1e-3 * 3 / (3 + 1e-8) = -1.9990000000033334. Step 2 (g = -1, 0.25) for the first:
     * m = 0.9 * 0.05 - 0.1 = -0.055, v = 0.999 * 0.00025 + 0.001 = 0.00124975,
     * p = 0.99900000002 + (1e-3 / 0.19) * 0.055 / (sqrt(0.00124975 / 0.001999) + 1e-8) = 0.9993661035424056.
     * The later figures are the same formula in float64 (Python), as torch.optim.Adam computes it.
     */
    @Test
    void adamFollowsPyTorchsFormula() {
        Parameter p = new Parameter("p", new double[] {1.0, -2.0}, new double[2]);
        Adam adam = Adam.withLearningRate(List.of(p), 1e-3);
        double[][] grads = {{0.5, -3.0}, {-1.0, 0.25}, {2.0, 0.0}};
        double[][] expected = {
            {0.99900000002, -1.9990000000033334},
            {0.9993661035424056, -1.9983940865080716},
            {0.998946447927181, -1.9979257136206032},
        };
        for (int t = 0; t < 3; t++) {
            System.arraycopy(grads[t], 0, p.grad(), 0, 2);
            adam.step();
            assertArrayEquals(expected[t], p.value(), 1e-13, "after step " + (t + 1));
        }
        assertEquals(3, adam.steps());
    }

    /**
     * Adam's first step moves every element by lr |g| / (|g| + eps) against its gradient's sign,
     * whatever the gradient's scale (the bias correction): lr itself unless |g| is near eps.
     */
    @Test
    void adamsFirstStepIsTheLearningRateWhateverTheScale() {
        double[] g = {1e-3, -50, 7, 1e-8};
        Parameter p = new Parameter("p", new double[4], g.clone());
        Adam.withLearningRate(List.of(p), 0.01).step();
        assertArrayEquals(new double[] {-0.01 * 1e-3 / (1e-3 + 1e-8), 0.01 * 50 / (50 + 1e-8), -0.01 * 7 / (7 + 1e-8),
            -0.01 * 0.5}, p.value(), 1e-15);
    }

    @Test
    void adamRefusesBadSettingsNamingThem() {
        List<Parameter> ps = List.of(Parameter.of("p", new double[1]));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Adam.withLearningRate(ps, 0)).getMessage()
                .startsWith("lr: "));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Adam(ps, 1e-3, 1.0, 0.999, 1e-8))
                .getMessage().startsWith("beta1: "));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Adam(ps, 1e-3, 0.9, -0.1, 1e-8))
                .getMessage().startsWith("beta2: "));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Adam(ps, 1e-3, 0.9, 0.999, Double.NaN))
                .getMessage().startsWith("eps: "));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Parameter("q", new double[2], new double[3]))
                .getMessage().startsWith("grad: "));
    }

    /** Gradients (3, 4) and (12): joint norm 13; clipped to 6.5 they are halved (less PyTorch's 1e-6 in the divisor). */
    @Test
    void clippingScalesEveryGradientByOneFactor() {
        Parameter a = new Parameter("a", new double[2], new double[] {3, 4});
        Parameter b = new Parameter("b", new double[1], new double[] {12});
        double norm = GradientClipping.clipByGlobalNorm(List.of(a, b), 6.5);
        assertEquals(13, norm, 1e-12);
        double coef = 6.5 / (13 + 1e-6);
        assertArrayEquals(new double[] {3 * coef, 4 * coef}, a.grad(), 1e-15);
        assertArrayEquals(new double[] {12 * coef}, b.grad(), 1e-15);
        assertEquals(6.5, GradientClipping.globalNorm(List.of(a, b)), 1e-6);
    }

    @Test
    void clippingLeavesASmallerGradientAsItIs() {
        Parameter a = new Parameter("a", new double[2], new double[] {0.3, -0.4});
        assertEquals(0.5, GradientClipping.clipByGlobalNorm(List.of(a), 1.0), 1e-15);
        assertArrayEquals(new double[] {0.3, -0.4}, a.grad(), 0);
        Parameter zero = new Parameter("z", new double[2], new double[2]);
        assertEquals(0, GradientClipping.clipByGlobalNorm(List.of(zero), 1.0));
        assertArrayEquals(new double[2], zero.grad(), 0);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> GradientClipping.clipByGlobalNorm(List.of(a), 0))
                .getMessage().startsWith("maxNorm: "));
    }
}
