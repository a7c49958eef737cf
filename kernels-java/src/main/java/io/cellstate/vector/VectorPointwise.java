package io.cellstate.vector;

import static io.cellstate.vector.VectorConfig.FLOATS;
import static io.cellstate.vector.VectorConfig.LANES;
import static io.cellstate.vector.VectorMath.Kind.SIGMOID;
import static io.cellstate.vector.VectorMath.Kind.TANH;
import static io.cellstate.vector.VectorMath.activate;

import io.cellstate.cpu.Pointwise;
import jdk.incubator.vector.FloatVector;

/** {@link Pointwise} on the Vector API, with the vector kernel's activations. */
final class VectorPointwise implements Pointwise {

    @Override
    public void lstmRow(float[] gates, int g, int stride, float[] cPrev, float[] cNext, int cOff, float[] h, int hOff,
                        int hidden) {
        activate(gates, g, 1, 0, 2 * stride, SIGMOID);          // i, f
        activate(gates, g + 2 * stride, 1, 0, stride, TANH);    // g
        activate(gates, g + 3 * stride, 1, 0, stride, SIGMOID); // o
        updateCell(gates, g, stride, 0, cPrev, cNext, cOff, h, hOff, 1, stride);
        activate(h, hOff, 1, 0, stride, TANH);
        scaleByOutputGate(gates, g + 3 * stride, 0, h, hOff, 1, stride);
    }

    @Override
    public void gruRow(float[] px, int g, float[] ph, int q, int stride, float[] hPrev, float[] hNext, int hOff,
                       int hidden) {
        add(px, g, 0, ph, q, 0, 1, 2 * stride);
        activate(px, g, 1, 0, 2 * stride, SIGMOID); // r, z
        addResetTimes(px, g + 2 * stride, g, 0, ph, q + 2 * stride, 0, 1, stride);
        activate(px, g + 2 * stride, 1, 0, stride, TANH); // n
        blend(px, g + stride, g + 2 * stride, 0, hPrev, hNext, hOff, 1, stride);
    }

    @Override
    public void gruResetRow(float[] px, int g, float[] rz, int q, int stride, float[] hPrev, float[] rh, int hOff,
                            int hidden) {
        add(px, g, 0, rz, q, 0, 1, 2 * stride);
        activate(px, g, 1, 0, 2 * stride, SIGMOID); // r, z
        reset(px, g, 0, hPrev, rh, hOff, 1, stride);
    }

    @Override
    public void gruNewRow(float[] px, int g, float[] hn, int q, int stride, float[] hPrev, float[] hNext, int hOff,
                          int hidden) {
        add(px, g + 2 * stride, 0, hn, q, 0, 1, stride);
        activate(px, g + 2 * stride, 1, 0, stride, TANH); // n
        blend(px, g + stride, g + 2 * stride, 0, hPrev, hNext, hOff, 1, stride);
    }

    @Override
    public void rnnRow(float[] gates, int g, float[] hNext, int hOff, int hidden, boolean relu) {
        elman(gates, g, hNext, hOff, (hidden + LANES - 1) / LANES * LANES, relu);
    }

    // The parts the rows above and the vector kernels' fused passes (VectorLstm, VectorGru,
    // VectorGruOriginal, VectorRnn) share, in the form of VectorMath.activate: count runs of width floats (a multiple of
    // the lane count), the runs of the gate buffers stride floats apart, those of a state width apart.

    /**
     * The LSTM's {@code c' = f c + i g}, from {@code cPrev} into {@code cNext} at {@code co} and (to take
     * its tanh next) into {@code h} at {@code ho}; gate k of run u at {@code g + u * pStride + k * gateStep}.
     */
    static void updateCell(float[] gates, int g, int gateStep, int pStride, float[] cPrev, float[] cNext, int co,
                           float[] h, int ho, int count, int width) {
        for (int u = 0; u < count; u++) {
            int gu = g + u * pStride;
            int cu = co + u * width;
            int hu = ho + u * width;
            for (int j = 0; j < width; j += LANES) {
                FloatVector i = FloatVector.fromArray(FLOATS, gates, gu + j);
                FloatVector f = FloatVector.fromArray(FLOATS, gates, gu + gateStep + j);
                FloatVector z = FloatVector.fromArray(FLOATS, gates, gu + 2 * gateStep + j);
                FloatVector cn = f.fma(FloatVector.fromArray(FLOATS, cPrev, cu + j), i.mul(z));
                cn.intoArray(cNext, cu + j);
                cn.intoArray(h, hu + j);
            }
        }
    }

    /** The LSTM's {@code h' = o tanh(c')}, with tanh(c') already in {@code h} at {@code ho} and o at {@code oo}. */
    static void scaleByOutputGate(float[] gates, int oo, int pStride, float[] h, int ho, int count, int width) {
        for (int u = 0; u < count; u++) {
            int ou = oo + u * pStride;
            int hu = ho + u * width;
            for (int j = 0; j < width; j += LANES) {
                FloatVector.fromArray(FLOATS, gates, ou + j).mul(FloatVector.fromArray(FLOATS, h, hu + j))
                        .intoArray(h, hu + j);
            }
        }
    }

    /** {@code a[ao + u * aStride + j] += b[bo + u * bStride + j]}: the recurrent product added to the projection. */
    static void add(float[] a, int ao, int aStride, float[] b, int bo, int bStride, int count, int width) {
        for (int u = 0; u < count; u++) {
            int au = ao + u * aStride;
            int bu = bo + u * bStride;
            for (int j = 0; j < width; j += LANES) {
                FloatVector.fromArray(FLOATS, a, au + j).add(FloatVector.fromArray(FLOATS, b, bu + j)).intoArray(a, au + j);
            }
        }
    }

    /** {@code n += r ⊙ b}, n at {@code no} and r at {@code ro} in {@code px}: PyTorch's GRU's reset of its recurrent n part. */
    static void addResetTimes(float[] px, int no, int ro, int pStride, float[] b, int bo, int bStride, int count,
                              int width) {
        for (int u = 0; u < count; u++) {
            int nu = no + u * pStride;
            int ru = ro + u * pStride;
            int bu = bo + u * bStride;
            for (int j = 0; j < width; j += LANES) {
                FloatVector.fromArray(FLOATS, px, ru + j).fma(FloatVector.fromArray(FLOATS, b, bu + j),
                        FloatVector.fromArray(FLOATS, px, nu + j)).intoArray(px, nu + j);
            }
        }
    }

    /** {@code out = r ⊙ h}, r at {@code ro} in {@code px}, h and out at {@code ho}: the original GRU's reset state. */
    static void reset(float[] px, int ro, int pStride, float[] h, float[] out, int ho, int count, int width) {
        for (int u = 0; u < count; u++) {
            int ru = ro + u * pStride;
            int hu = ho + u * width;
            for (int j = 0; j < width; j += LANES) {
                FloatVector.fromArray(FLOATS, px, ru + j).mul(FloatVector.fromArray(FLOATS, h, hu + j))
                        .intoArray(out, hu + j);
            }
        }
    }

    /** {@code h' = n + z (h - n)}, z at {@code zo} and n at {@code no} in {@code px}, h and h' at {@code ho}. */
    static void blend(float[] px, int zo, int no, int pStride, float[] hPrev, float[] hNext, int ho, int count,
                      int width) {
        for (int u = 0; u < count; u++) {
            int zu = zo + u * pStride;
            int nu = no + u * pStride;
            int hu = ho + u * width;
            for (int j = 0; j < width; j += LANES) {
                FloatVector z = FloatVector.fromArray(FLOATS, px, zu + j);
                FloatVector n = FloatVector.fromArray(FLOATS, px, nu + j);
                z.fma(FloatVector.fromArray(FLOATS, hPrev, hu + j).sub(n), n).intoArray(hNext, hu + j);
            }
        }
    }

    /** The Elman RNN's {@code h' = tanh(a)} or {@code max(0, a)} over {@code width} floats. */
    static void elman(float[] a, int ao, float[] h, int ho, int width, boolean relu) {
        if (relu) {
            for (int j = 0; j < width; j += LANES) {
                // max(0, NaN) is NaN, as Math.max: a poisoned sequence stays poisoned
                FloatVector.fromArray(FLOATS, a, ao + j).max(0f).intoArray(h, ho + j);
            }
        } else {
            System.arraycopy(a, ao, h, ho, width);
            activate(h, ho, 1, 0, width, TANH);
        }
    }

    @Override
    public int alignment() {
        return LANES;
    }
}
