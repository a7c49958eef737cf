package io.cellstate.vector;

import static io.cellstate.vector.VectorConfig.FLOATS;
import static io.cellstate.vector.VectorConfig.LANES;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Vectorised sigmoid and tanh in float32 arithmetic with float32 accuracy (under 3 ulp; the test
 * measures it against {@link Math}), independent of whether the JDK ships SVML stubs for
 * {@code VectorOperators.EXP}. NaN in gives NaN out; large inputs saturate without NaN.
 *
 * <p>They work in place on arrays, not on {@code FloatVector} arguments: C2 refuses to inline a
 * vector helper this size into a caller ("callee is too large"), and a vector that crosses a call
 * that is not inlined is boxed on the heap, thousands of times per step. One loop serves both
 * functions, which share e^z: the function's constants are loop-invariant scalars.
 */
final class VectorMath {
    /** Which function {@link #activate} computes, as the constants of one formula. */
    enum Kind {
        /** σ(x) = 1 / (1 + e^-x). */
        SIGMOID(Float.NaN, 1f, 0f, Float.NaN, Float.NaN),
        /** tanh(x) = sign(x) (1 - 2 σ(-2|x|)), or its odd polynomial for |x| < 0.625 (no cancellation). */
        TANH(0f, -2f, 1f, 0f, 0.625f);

        /** z = 2|x| where |x| >= this (0 for tanh; NaN, never, for sigmoid), else z = -x. */
        final float absFrom;
        /** result = s * scale + shift, with s = 1 / (1 + e^z). */
        final float scale;
        final float shift;
        /** The result is negated where x < this (never for NaN). */
        final float negateBelow;
        /** The polynomial replaces the result where |x| < this. */
        final float polyBelow;

        Kind(float absFrom, float scale, float shift, float negateBelow, float polyBelow) {
            this.absFrom = absFrom;
            this.scale = scale;
            this.shift = shift;
            this.negateBelow = negateBelow;
            this.polyBelow = polyBelow;
        }
    }

    private static final float LOG2E = 1.44269504088896341f;
    /** ln 2 split in two (Cody and Waite) so that n * LN2_HI is exact for |n| <= 2^9. */
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    /** 1.5 * 2^23: adding it rounds a float of magnitude < 2^22 to an integer, held in the low mantissa bits. */
    private static final float ROUNDER = 12582912f;
    private static final int ROUNDER_BITS = Float.floatToRawIntBits(ROUNDER);
    /** e^z overflows float above 88.72 and leaves the normal range below -87.34. */
    private static final float EXP_HI = 88.3f;
    private static final float EXP_LO = -87.3f;
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

    /**
     * Applies {@code kind} in place to {@code count} runs of {@code width} floats (a multiple of
     * the lane count), the runs {@code stride} apart, the first at {@code off}.
     */
    static void activate(float[] a, int off, int count, int stride, int width, Kind kind) {
        float absFrom = kind.absFrom;
        float scale = kind.scale;
        float shift = kind.shift;
        float negateBelow = kind.negateBelow;
        float polyBelow = kind.polyBelow;
        // constants as vectors, made once: a helper call per use inside the loop would not all be
        // inlined in a method this large, and an operand that is not inlined is a boxed vector
        FloatVector one = FloatVector.broadcast(FLOATS, 1f);
        FloatVector half = FloatVector.broadcast(FLOATS, 0.5f);
        FloatVector sixth = FloatVector.broadcast(FLOATS, 1f / 6);
        FloatVector c24 = FloatVector.broadcast(FLOATS, 1f / 24);
        FloatVector c120 = FloatVector.broadcast(FLOATS, 1f / 120);
        FloatVector ln2Hi = FloatVector.broadcast(FLOATS, -LN2_HI);
        FloatVector ln2Lo = FloatVector.broadcast(FLOATS, -LN2_LO);
        FloatVector t3 = FloatVector.broadcast(FLOATS, T3);
        FloatVector t2 = FloatVector.broadcast(FLOATS, T2);
        FloatVector t1 = FloatVector.broadcast(FLOATS, T1);
        FloatVector t0 = FloatVector.broadcast(FLOATS, T0);
        for (int r = 0; r < count; r++) {
            int base = off + r * stride;
            for (int p = base; p < base + width; p += LANES) {
                FloatVector x = FloatVector.fromArray(FLOATS, a, p);
                FloatVector ax = x.abs();
                FloatVector z = x.neg().blend(ax.add(ax), ax.compare(VectorOperators.GE, absFrom));
                // e^z: z = n ln2 + t with |t| <= ln2/2, e^t by its Taylor polynomial of degree 7 (error < 6e-9)
                z = z.max(EXP_LO).min(EXP_HI);
                FloatVector rounded = z.fma(LOG2E, ROUNDER);
                FloatVector n = rounded.sub(ROUNDER);
                FloatVector t = n.fma(ln2Hi, z);
                t = n.fma(ln2Lo, t);
                FloatVector e = t.fma(1f / 5040, 1f / 720);
                e = e.fma(t, c120);
                e = e.fma(t, c24);
                e = e.fma(t, sixth);
                e = e.fma(t, half);
                e = e.fma(t, one);
                e = e.fma(t, one);
                // times 2^n, built in the exponent field: rounded's low bits hold n + ROUNDER_BITS
                e = e.mul(rounded.reinterpretAsInts().sub(ROUNDER_BITS - 127)
                        .lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats());
                FloatVector s = one.div(e.add(1f));
                FloatVector y = s.fma(scale, shift);
                y = y.blend(y.neg(), x.compare(VectorOperators.LT, negateBelow));
                FloatVector x2 = x.mul(x);
                FloatVector q = x2.fma(T5, T4);
                q = q.fma(x2, t3);
                q = q.fma(x2, t2);
                q = q.fma(x2, t1);
                q = q.fma(x2, t0);
                y = y.blend(x2.mul(x).fma(q, x), ax.compare(VectorOperators.LT, polyBelow));
                y.intoArray(a, p);
            }
        }
    }
}
