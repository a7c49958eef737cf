package io.cellstate.vector;

import static io.cellstate.vector.VectorConfig.FLOATS;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Vectorised exp, sigmoid and tanh in float32 arithmetic with float32 accuracy (a few ulp; the
 * test measures it against {@link Math}), independent of whether the JDK ships SVML stubs for
 * {@code VectorOperators.EXP}. NaN in gives NaN out; large inputs saturate without NaN.
 */
final class VectorMath {
    private static final float LOG2E = 1.44269504088896341f;
    /** ln 2 split in two (Cody and Waite) so that n * LN2_HI is exact for |n| <= 2^9. */
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    /** 1.5 * 2^23: adding it rounds a float of magnitude < 2^22 to an integer, held in the low mantissa bits. */
    private static final float ROUNDER = 12582912f;
    private static final int ROUNDER_BITS = Float.floatToRawIntBits(ROUNDER);
    /** exp overflows float above 88.72 and leaves the normal range below -87.34. */
    private static final float EXP_HI = 88.3f;
    private static final float EXP_LO = -87.3f;
    /** Below this |x|, tanh comes from its odd polynomial; above, from exp (no cancellation there). */
    private static final float TANH_SMALL = 0.625f;
    /**
     * tanh(x) = x + x^3 P(x^2) on |x| <= 0.625: least squares on Chebyshev nodes in the relative
     * error, fitted for this project (max 1.2 ulp measured in float32 Horner evaluation).
     */
    private static final float T0 = -0.3333333432674408f;
    private static final float T1 = 0.13333304226398468f;
    private static final float T2 = -0.05395940691232681f;
    private static final float T3 = 0.021769961342215538f;
    private static final float T4 = -0.008346980437636375f;
    private static final float T5 = 0.0022958412300795317f;

    private VectorMath() {
    }

    /** e^x. After range reduction x = n ln2 + r, |r| <= ln2/2, the Taylor polynomial of degree 7 errs by < 6e-9. */
    static FloatVector exp(FloatVector x) {
        x = x.max(EXP_LO).min(EXP_HI);
        FloatVector t = x.fma(LOG2E, ROUNDER);
        FloatVector n = t.sub(ROUNDER);
        FloatVector r = n.fma(c(-LN2_HI), x);
        r = n.fma(c(-LN2_LO), r);
        FloatVector p = r.fma(c(1f / 5040), c(1f / 720));
        p = p.fma(r, c(1f / 120));
        p = p.fma(r, c(1f / 24));
        p = p.fma(r, c(1f / 6));
        p = p.fma(r, c(0.5f));
        p = p.fma(r, c(1f));
        p = p.fma(r, c(1f));
        // 2^n built in the exponent field: t's low bits hold n + ROUNDER_BITS
        FloatVector scale = t.reinterpretAsInts().sub(ROUNDER_BITS - 127)
                .lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return p.mul(scale);
    }

    /** 1 / (1 + e^-x). */
    static FloatVector sigmoid(FloatVector x) {
        return c(1f).div(exp(x.neg()).add(1f));
    }

    /** tanh(x): odd polynomial near 0, 1 - 2 / (e^(2|x|) + 1) with the sign of x elsewhere. */
    static FloatVector tanh(FloatVector x) {
        FloatVector x2 = x.mul(x);
        FloatVector p = x2.fma(c(T5), c(T4));
        p = p.fma(x2, c(T3));
        p = p.fma(x2, c(T2));
        p = p.fma(x2, c(T1));
        p = p.fma(x2, c(T0));
        FloatVector small = x2.mul(x).fma(p, x);
        FloatVector a = x.abs();
        FloatVector big = c(1f).sub(c(2f).div(exp(a.add(a)).add(1f)));
        big = big.blend(big.neg(), x.compare(VectorOperators.LT, 0f));
        return big.blend(small, a.compare(VectorOperators.LT, TANH_SMALL));
    }

    private static FloatVector c(float v) {
        return FloatVector.broadcast(FLOATS, v);
    }
}
