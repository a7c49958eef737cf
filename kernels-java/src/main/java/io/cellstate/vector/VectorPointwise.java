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
        for (int j = 0; j < stride; j += LANES) {
            FloatVector i = FloatVector.fromArray(FLOATS, gates, g + j);
            FloatVector f = FloatVector.fromArray(FLOATS, gates, g + stride + j);
            FloatVector z = FloatVector.fromArray(FLOATS, gates, g + 2 * stride + j);
            FloatVector cn = f.fma(FloatVector.fromArray(FLOATS, cPrev, cOff + j), i.mul(z));
            cn.intoArray(cNext, cOff + j);
            cn.intoArray(h, hOff + j);
        }
        activate(h, hOff, 1, 0, stride, TANH);
        for (int j = 0; j < stride; j += LANES) {
            FloatVector.fromArray(FLOATS, gates, g + 3 * stride + j)
                    .mul(FloatVector.fromArray(FLOATS, h, hOff + j)).intoArray(h, hOff + j);
        }
    }

    @Override
    public void gruRow(float[] px, int g, float[] ph, int q, int stride, float[] hPrev, float[] hNext, int hOff,
                       int hidden) {
        for (int j = 0; j < 2 * stride; j += LANES) {
            FloatVector.fromArray(FLOATS, px, g + j).add(FloatVector.fromArray(FLOATS, ph, q + j)).intoArray(px, g + j);
        }
        activate(px, g, 1, 0, 2 * stride, SIGMOID); // r, z
        for (int j = 0; j < stride; j += LANES) {
            FloatVector.fromArray(FLOATS, px, g + j).fma(FloatVector.fromArray(FLOATS, ph, q + 2 * stride + j),
                    FloatVector.fromArray(FLOATS, px, g + 2 * stride + j)).intoArray(px, g + 2 * stride + j);
        }
        activate(px, g + 2 * stride, 1, 0, stride, TANH); // n
        blend(px, g, stride, hPrev, hNext, hOff);
    }

    @Override
    public void gruResetRow(float[] px, int g, float[] rz, int q, int stride, float[] hPrev, float[] rh, int hOff,
                            int hidden) {
        for (int j = 0; j < 2 * stride; j += LANES) {
            FloatVector.fromArray(FLOATS, px, g + j).add(FloatVector.fromArray(FLOATS, rz, q + j)).intoArray(px, g + j);
        }
        activate(px, g, 1, 0, 2 * stride, SIGMOID); // r, z
        for (int j = 0; j < stride; j += LANES) {
            FloatVector.fromArray(FLOATS, px, g + j).mul(FloatVector.fromArray(FLOATS, hPrev, hOff + j))
                    .intoArray(rh, hOff + j);
        }
    }

    @Override
    public void gruNewRow(float[] px, int g, float[] hn, int q, int stride, float[] hPrev, float[] hNext, int hOff,
                          int hidden) {
        for (int j = 0; j < stride; j += LANES) {
            int n = g + 2 * stride + j;
            FloatVector.fromArray(FLOATS, px, n).add(FloatVector.fromArray(FLOATS, hn, q + j)).intoArray(px, n);
        }
        activate(px, g + 2 * stride, 1, 0, stride, TANH); // n
        blend(px, g, stride, hPrev, hNext, hOff);
    }

    /** h' = n + z (h - n), z and n in the z and n blocks at {@code g}. */
    private static void blend(float[] px, int g, int stride, float[] hPrev, float[] hNext, int hOff) {
        for (int j = 0; j < stride; j += LANES) {
            FloatVector z = FloatVector.fromArray(FLOATS, px, g + stride + j);
            FloatVector n = FloatVector.fromArray(FLOATS, px, g + 2 * stride + j);
            z.fma(FloatVector.fromArray(FLOATS, hPrev, hOff + j).sub(n), n).intoArray(hNext, hOff + j);
        }
    }

    @Override
    public void rnnRow(float[] gates, int g, float[] hNext, int hOff, int hidden, boolean relu) {
        int width = (hidden + LANES - 1) / LANES * LANES;
        if (relu) {
            for (int j = 0; j < width; j += LANES) {
                FloatVector.fromArray(FLOATS, gates, g + j).max(0f).intoArray(hNext, hOff + j);
            }
        } else {
            System.arraycopy(gates, g, hNext, hOff, width);
            activate(hNext, hOff, 1, 0, width, TANH);
        }
    }

    @Override
    public int alignment() {
        return LANES;
    }
}
