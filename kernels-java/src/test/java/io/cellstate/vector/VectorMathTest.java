package io.cellstate.vector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.function.DoubleUnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * The vectorised activations against {@link Math} in float64: error in ulps of the correctly
 * rounded float32 result, over the whole range an LSTM feeds them, plus the edges.
 */
class VectorMathTest {
    private static final int L = VectorConfig.LANES;

    @org.junit.jupiter.api.BeforeAll
    static void widthFitsThisCpu() {
        org.junit.jupiter.api.Assumptions.assumeTrue(VectorConfig.problem().isEmpty(), () -> {
            System.out.println("SKIPPED VectorMathTest: " + VectorConfig.problem());
            return VectorConfig.problem();
        });
    }

    @Test
    void sigmoidWithinThreeUlp() {
        assertUlps("sigmoid", VectorMath.Kind.SIGMOID, x -> 1 / (1 + Math.exp(-x)), -80f, 30f, 3);
    }

    @Test
    void tanhWithinThreeUlp() {
        assertUlps("tanh", VectorMath.Kind.TANH, Math::tanh, -12f, 12f, 3);
        assertUlps("tanh near 0", VectorMath.Kind.TANH, Math::tanh, -0.7f, 0.7f, 3);
        assertUlps("tanh tiny", VectorMath.Kind.TANH, Math::tanh, -1e-4f, 1e-4f, 2);
    }

    @Test
    void edgesSaturateAndNaNPropagates() {
        float[] in = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 1e30f, -1e30f, 0f, -0f, 100f};
        float[] s = apply(VectorMath.Kind.SIGMOID, in);
        float[] t = apply(VectorMath.Kind.TANH, in);
        assertTrue(Float.isNaN(s[0]) && Float.isNaN(t[0]), "NaN in, NaN out");
        assertEquals(1f, s[1]);
        assertTrue(Float.isNaN(apply(VectorMath.Kind.TANH, new float[] {Float.NaN})[0]));
        assertEquals(0f, s[2], 1e-38f);
        assertEquals(1f, s[3]);
        assertEquals(0f, s[4], 1e-38f);
        assertEquals(0.5f, s[5]);
        assertEquals(1f, t[1]);
        assertEquals(-1f, t[2]);
        assertEquals(1f, t[3]);
        assertEquals(-1f, t[4]);
        assertEquals(0f, t[5]);
        assertEquals(1f, t[7]);
    }

    private static float[] apply(VectorMath.Kind f, float[] in) {
        float[] out = new float[in.length];
        for (int i = 0; i < in.length; i++) {
            float[] lane = new float[L];
            java.util.Arrays.fill(lane, in[i]);
            VectorMath.activate(lane, 0, 1, 0, L, f);
            out[i] = lane[L - 1];
        }
        return out;
    }

    private static void assertUlps(String name, VectorMath.Kind f, DoubleUnaryOperator exact,
                                   float lo, float hi, double maxUlps) {
        SplittableRandom r = new SplittableRandom(42);
        float[] x = new float[4 * L];
        float[] y = new float[4 * L];
        double worst = 0;
        float worstAt = 0;
        for (int n = 0; n < 200_000; n += 4 * L) {
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) r.nextDouble(lo, hi);
            }
            System.arraycopy(x, 0, y, 0, x.length);
            VectorMath.activate(y, 0, 2, 2 * L, 2 * L, f); // two runs of two vectors: strides exercised
            for (int i = 0; i < x.length; i++) {
                double e = exact.applyAsDouble(x[i]);
                double ulps = Math.abs(y[i] - e) / Math.ulp((float) e);
                if (Math.abs(e) < Float.MIN_NORMAL) {
                    ulps = Math.abs(y[i] - e) / Float.MIN_NORMAL;
                }
                if (ulps > worst) {
                    worst = ulps;
                    worstAt = x[i];
                }
            }
        }
        System.out.printf("%s on [%g, %g]: worst %.2f ulp at x = %s (%d-bit vectors)%n", name, lo, hi, worst, worstAt,
                VectorConfig.BITS);
        assertTrue(worst <= maxUlps, name + ": " + worst + " ulp at x = " + worstAt + ", allowed " + maxUlps);
    }
}
