package io.cellstate.vector;

import static io.cellstate.vector.VectorConfig.FLOATS;
import static io.cellstate.vector.VectorConfig.LANES;
import static io.cellstate.vector.VectorMath.Kind.SIGMOID;
import static io.cellstate.vector.VectorMath.Kind.TANH;
import static io.cellstate.vector.VectorMath.activate;

import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.cpu.CellKernel;
import io.cellstate.cpu.Step;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;

/**
 * The LSTM's GEMMs and pointwise pass on the Panama Vector API.
 *
 * <p><b>Packing.</b> The hidden units are cut into panels of {@code LANES} units (one vector); a
 * panel holds the four gates of its units side by side, so one row of the packed matrix at depth
 * k is four vectors {@code [i | f | g | o]}, and the panel's rows are contiguous:
 * <pre>
 *   packed[(u * K + k) * 4L + g * L + j] = W[(g * H + u * L + j) * K + k]     (0 where u * L + j >= H)
 * </pre>
 * The micro-kernel streams a panel once per block of rows, broadcasting one input element per k
 * against the four gate vectors: rows x 4 vector sums stay in registers for the whole K loop. Gate
 * buffer rows use the same panel order, so the pointwise pass reads the four gates of a unit from
 * one cache line pair and the cell update runs in registers. Hidden units are padded to whole
 * vectors with zero weights, so no lane is ever masked.
 *
 * <p>Every output element is {@code init + sum_k a[k] * w[k]} accumulated by FMA in k order,
 * whatever the row blocking: the result does not depend on the batch size or the thread count.
 */
final class PanamaLstmKernel implements CellKernel {
    private static final int L = LANES;
    private static final int PANEL = 4 * L;
    private static final int MR = VectorConfig.ROWS;

    private final int hidden;
    private final int units;
    private final int hs;
    private final float[][] wIh;
    private final float[][] wHh;
    private final float[][] bias;
    private final int[] inSize;

    PanamaLstmKernel(RnnSpec spec, RnnWeights weights) {
        hidden = spec.hiddenSize();
        units = (hidden + L - 1) / L;
        hs = units * L;
        int slots = spec.stateCount();
        wIh = new float[slots][];
        wHh = new float[slots][];
        bias = new float[slots][];
        inSize = new int[slots];
        for (int l = 0; l < spec.layers(); l++) {
            for (int d = 0; d < spec.directions(); d++) {
                int s = l * spec.directions() + d;
                inSize[s] = spec.layerInputSize(l);
                wIh[s] = pack(weights.weightIh(l, d), inSize[s]);
                wHh[s] = pack(weights.weightHh(l, d), hidden);
                bias[s] = packBias(weights.biasIh(l, d), weights.biasHh(l, d));
            }
        }
    }

    private float[] pack(MemorySegment w, int k) {
        float[] p = new float[units * k * PANEL];
        for (int u = 0; u < units; u++) {
            for (int g = 0; g < 4; g++) {
                for (int j = 0; j < L && u * L + j < hidden; j++) {
                    long row = (long) (g * hidden + u * L + j) * k;
                    for (int kk = 0; kk < k; kk++) {
                        p[(u * k + kk) * PANEL + g * L + j] = w.getAtIndex(ValueLayout.JAVA_FLOAT, row + kk);
                    }
                }
            }
        }
        return p;
    }

    private float[] packBias(MemorySegment bIh, MemorySegment bHh) {
        float[] p = new float[units * PANEL];
        for (int u = 0; u < units; u++) {
            for (int g = 0; g < 4; g++) {
                for (int j = 0; j < L && u * L + j < hidden; j++) {
                    int r = g * hidden + u * L + j;
                    p[u * PANEL + g * L + j] = bIh.getAtIndex(ValueLayout.JAVA_FLOAT, r)
                            + bHh.getAtIndex(ValueLayout.JAVA_FLOAT, r);
                }
            }
        }
        return p;
    }

    @Override
    public int units() {
        return units;
    }

    @Override
    public int unitWidth() {
        return L;
    }

    @Override
    public int hiddenStride() {
        return hs;
    }

    @Override
    public int gateStride() {
        return 4 * hs;
    }

    @Override
    public void project(int slot, float[] x, int xOff, int xStride, int rows, float[] gates, int u0, int u1) {
        float[] w = wIh[slot];
        float[] b = bias[slot];
        int k = inSize[slot];
        int gs = 4 * hs;
        int blocked = MR == 1 ? 0 : rows - rows % MR;
        for (int u = u0; u < u1; u++) {
            int wo = u * k * PANEL;
            int col = u * PANEL;
            for (int r = 0; r < blocked; r += MR) {
                if (MR == 4) {
                    gemm4(x, xOff + r * xStride, xStride, k, w, wo, gates, r * gs + col, gs, b, col);
                } else {
                    gemm2(x, xOff + r * xStride, xStride, k, w, wo, gates, r * gs + col, gs, b, col);
                }
            }
        }
        for (int r = blocked; r < rows; r++) {
            singleRow(x, xOff + r * xStride, k, w, gates, r * gs, b, u0, u1);
        }
    }

    /**
     * One row against units {@code [u0, u1)}, two panels at a time: eight independent FMA chains
     * keep both FMA pipes busy where one panel's four chains would wait on FMA latency (the batch-1
     * GEMV). Each element's sum runs in the same order as in the blocked kernels.
     */
    private static void singleRow(float[] a, int ao, int k, float[] w, float[] out, int oo, float[] bias, int u0, int u1) {
        int u = u0;
        for (; u + 2 <= u1; u += 2) {
            gemm1x2(a, ao, k, w, u * k * PANEL, (u + 1) * k * PANEL, out, oo + u * PANEL, bias, u * PANEL);
        }
        if (u < u1) {
            gemm1(a, ao, k, w, u * k * PANEL, out, oo + u * PANEL, bias, u * PANEL);
        }
    }

    @Override
    public void recurrent(int phase, int slot, Step s, int u0, int u1) {
        float[] gates = s.gates();
        int gOff = s.gateOffset();
        float[] hPrev = s.hPrev();
        float[] hNext = s.hNext();
        int batch = s.batch();
        float[] w = wHh[slot];
        int gs = 4 * hs;
        int blocked = MR == 1 ? 0 : batch - batch % MR;
        for (int u = u0; u < u1; u++) {
            int wo = u * hidden * PANEL;
            int col = u * PANEL;
            for (int b = 0; b < blocked; b += MR) {
                if (MR == 4) {
                    gemm4(hPrev, b * hs, hs, hidden, w, wo, gates, gOff + b * gs + col, gs, null, 0);
                } else {
                    gemm2(hPrev, b * hs, hs, hidden, w, wo, gates, gOff + b * gs + col, gs, null, 0);
                }
            }
        }
        for (int b = blocked; b < batch; b++) {
            singleRow(hPrev, b * hs, hidden, w, gates, gOff + b * gs, null, u0, u1);
        }
        int units = u1 - u0;
        float[] cPrev = s.cPrev();
        float[] cNext = s.cNext();
        for (int b = 0; b < batch; b++) {
            int g = gOff + b * gs + u0 * PANEL;
            int r = b * hs + u0 * L;
            activate(gates, g, units, PANEL, 2 * L, SIGMOID);      // i, f
            activate(gates, g + 2 * L, units, PANEL, L, TANH);    // g
            activate(gates, g + 3 * L, units, PANEL, L, SIGMOID); // o
            updateCell(gates, g, cPrev, cNext, hNext, r, units);
            activate(hNext, r, 1, 0, units * L, TANH);
            scaleByOutputGate(gates, g, hNext, r, units);
        }
    }

    /** c' = f c + i g from {@code cPrev} into {@code cNext} and (to take its tanh next) into h, for {@code units} units. */
    private static void updateCell(float[] gates, int g, float[] cPrev, float[] cNext, float[] h, int s, int units) {
        for (int u = 0; u < units; u++) {
            int gu = g + u * PANEL;
            int su = s + u * L;
            FloatVector i = FloatVector.fromArray(FLOATS, gates, gu);
            FloatVector f = FloatVector.fromArray(FLOATS, gates, gu + L);
            FloatVector z = FloatVector.fromArray(FLOATS, gates, gu + 2 * L);
            FloatVector cn = f.fma(FloatVector.fromArray(FLOATS, cPrev, su), i.mul(z));
            cn.intoArray(cNext, su);
            cn.intoArray(h, su);
        }
    }

    /** h' = o tanh(c'), with tanh(c') already in h. */
    private static void scaleByOutputGate(float[] gates, int g, float[] h, int s, int units) {
        for (int u = 0; u < units; u++) {
            int su = s + u * L;
            FloatVector.fromArray(FLOATS, gates, g + u * PANEL + 3 * L)
                    .mul(FloatVector.fromArray(FLOATS, h, su)).intoArray(h, su);
        }
    }

    /**
     * One row: {@code out[0, 4L) = init + a[0, k) . panel}, where init is {@code bias[bo..]} or,
     * when {@code bias} is null, what {@code out} holds.
     */
    private static void gemm1(float[] a, int ao, int k, float[] w, int wo, float[] out, int oo, float[] bias, int bo) {
        float[] s = bias != null ? bias : out;
        int so = bias != null ? bo : oo;
        FloatVector c0 = FloatVector.fromArray(FLOATS, s, so);
        FloatVector c1 = FloatVector.fromArray(FLOATS, s, so + L);
        FloatVector c2 = FloatVector.fromArray(FLOATS, s, so + 2 * L);
        FloatVector c3 = FloatVector.fromArray(FLOATS, s, so + 3 * L);
        for (int kk = 0; kk < k; kk++) {
            int p = wo + kk * PANEL;
            FloatVector x = FloatVector.broadcast(FLOATS, a[ao + kk]);
            c0 = FloatVector.fromArray(FLOATS, w, p).fma(x, c0);
            c1 = FloatVector.fromArray(FLOATS, w, p + L).fma(x, c1);
            c2 = FloatVector.fromArray(FLOATS, w, p + 2 * L).fma(x, c2);
            c3 = FloatVector.fromArray(FLOATS, w, p + 3 * L).fma(x, c3);
        }
        c0.intoArray(out, oo);
        c1.intoArray(out, oo + L);
        c2.intoArray(out, oo + 2 * L);
        c3.intoArray(out, oo + 3 * L);
    }

    /** One row against two panels ({@code w} at {@code w0} and {@code w1}, out and bias a panel apart); see {@link #gemm1}. */
    private static void gemm1x2(float[] a, int ao, int k, float[] w, int w0, int w1, float[] out, int oo,
                                float[] bias, int bo) {
        float[] s = bias != null ? bias : out;
        int so = bias != null ? bo : oo;
        FloatVector c0 = FloatVector.fromArray(FLOATS, s, so);
        FloatVector c1 = FloatVector.fromArray(FLOATS, s, so + L);
        FloatVector c2 = FloatVector.fromArray(FLOATS, s, so + 2 * L);
        FloatVector c3 = FloatVector.fromArray(FLOATS, s, so + 3 * L);
        FloatVector d0 = FloatVector.fromArray(FLOATS, s, so + PANEL);
        FloatVector d1 = FloatVector.fromArray(FLOATS, s, so + PANEL + L);
        FloatVector d2 = FloatVector.fromArray(FLOATS, s, so + PANEL + 2 * L);
        FloatVector d3 = FloatVector.fromArray(FLOATS, s, so + PANEL + 3 * L);
        for (int kk = 0; kk < k; kk++) {
            int p = w0 + kk * PANEL;
            int q = w1 + kk * PANEL;
            FloatVector x = FloatVector.broadcast(FLOATS, a[ao + kk]);
            c0 = FloatVector.fromArray(FLOATS, w, p).fma(x, c0);
            c1 = FloatVector.fromArray(FLOATS, w, p + L).fma(x, c1);
            c2 = FloatVector.fromArray(FLOATS, w, p + 2 * L).fma(x, c2);
            c3 = FloatVector.fromArray(FLOATS, w, p + 3 * L).fma(x, c3);
            d0 = FloatVector.fromArray(FLOATS, w, q).fma(x, d0);
            d1 = FloatVector.fromArray(FLOATS, w, q + L).fma(x, d1);
            d2 = FloatVector.fromArray(FLOATS, w, q + 2 * L).fma(x, d2);
            d3 = FloatVector.fromArray(FLOATS, w, q + 3 * L).fma(x, d3);
        }
        c0.intoArray(out, oo);
        c1.intoArray(out, oo + L);
        c2.intoArray(out, oo + 2 * L);
        c3.intoArray(out, oo + 3 * L);
        d0.intoArray(out, oo + PANEL);
        d1.intoArray(out, oo + PANEL + L);
        d2.intoArray(out, oo + PANEL + 2 * L);
        d3.intoArray(out, oo + PANEL + 3 * L);
    }

    /** Two rows ({@code a} rows {@code as} apart, {@code out} rows {@code os} apart); see {@link #gemm1}. */
    private static void gemm2(float[] a, int ao, int as, int k, float[] w, int wo, float[] out, int oo, int os,
                              float[] bias, int bo) {
        float[] s = bias != null ? bias : out;
        int s0 = bias != null ? bo : oo;
        int s1 = bias != null ? bo : oo + os;
        FloatVector c00 = FloatVector.fromArray(FLOATS, s, s0);
        FloatVector c01 = FloatVector.fromArray(FLOATS, s, s0 + L);
        FloatVector c02 = FloatVector.fromArray(FLOATS, s, s0 + 2 * L);
        FloatVector c03 = FloatVector.fromArray(FLOATS, s, s0 + 3 * L);
        FloatVector c10 = FloatVector.fromArray(FLOATS, s, s1);
        FloatVector c11 = FloatVector.fromArray(FLOATS, s, s1 + L);
        FloatVector c12 = FloatVector.fromArray(FLOATS, s, s1 + 2 * L);
        FloatVector c13 = FloatVector.fromArray(FLOATS, s, s1 + 3 * L);
        int a1 = ao + as;
        for (int kk = 0; kk < k; kk++) {
            int p = wo + kk * PANEL;
            FloatVector w0 = FloatVector.fromArray(FLOATS, w, p);
            FloatVector w1 = FloatVector.fromArray(FLOATS, w, p + L);
            FloatVector w2 = FloatVector.fromArray(FLOATS, w, p + 2 * L);
            FloatVector w3 = FloatVector.fromArray(FLOATS, w, p + 3 * L);
            FloatVector x0 = FloatVector.broadcast(FLOATS, a[ao + kk]);
            c00 = w0.fma(x0, c00);
            c01 = w1.fma(x0, c01);
            c02 = w2.fma(x0, c02);
            c03 = w3.fma(x0, c03);
            FloatVector x1 = FloatVector.broadcast(FLOATS, a[a1 + kk]);
            c10 = w0.fma(x1, c10);
            c11 = w1.fma(x1, c11);
            c12 = w2.fma(x1, c12);
            c13 = w3.fma(x1, c13);
        }
        c00.intoArray(out, oo);
        c01.intoArray(out, oo + L);
        c02.intoArray(out, oo + 2 * L);
        c03.intoArray(out, oo + 3 * L);
        c10.intoArray(out, oo + os);
        c11.intoArray(out, oo + os + L);
        c12.intoArray(out, oo + os + 2 * L);
        c13.intoArray(out, oo + os + 3 * L);
    }

    /** Four rows, for 32-register machines (AVX-512); see {@link #gemm2}. */
    private static void gemm4(float[] a, int ao, int as, int k, float[] w, int wo, float[] out, int oo, int os,
                              float[] bias, int bo) {
        float[] s = bias != null ? bias : out;
        int s0 = bias != null ? bo : oo;
        int s1 = bias != null ? bo : oo + os;
        int s2 = bias != null ? bo : oo + 2 * os;
        int s3 = bias != null ? bo : oo + 3 * os;
        FloatVector c00 = FloatVector.fromArray(FLOATS, s, s0);
        FloatVector c01 = FloatVector.fromArray(FLOATS, s, s0 + L);
        FloatVector c02 = FloatVector.fromArray(FLOATS, s, s0 + 2 * L);
        FloatVector c03 = FloatVector.fromArray(FLOATS, s, s0 + 3 * L);
        FloatVector c10 = FloatVector.fromArray(FLOATS, s, s1);
        FloatVector c11 = FloatVector.fromArray(FLOATS, s, s1 + L);
        FloatVector c12 = FloatVector.fromArray(FLOATS, s, s1 + 2 * L);
        FloatVector c13 = FloatVector.fromArray(FLOATS, s, s1 + 3 * L);
        FloatVector c20 = FloatVector.fromArray(FLOATS, s, s2);
        FloatVector c21 = FloatVector.fromArray(FLOATS, s, s2 + L);
        FloatVector c22 = FloatVector.fromArray(FLOATS, s, s2 + 2 * L);
        FloatVector c23 = FloatVector.fromArray(FLOATS, s, s2 + 3 * L);
        FloatVector c30 = FloatVector.fromArray(FLOATS, s, s3);
        FloatVector c31 = FloatVector.fromArray(FLOATS, s, s3 + L);
        FloatVector c32 = FloatVector.fromArray(FLOATS, s, s3 + 2 * L);
        FloatVector c33 = FloatVector.fromArray(FLOATS, s, s3 + 3 * L);
        int a1 = ao + as;
        int a2 = a1 + as;
        int a3 = a2 + as;
        for (int kk = 0; kk < k; kk++) {
            int p = wo + kk * PANEL;
            FloatVector w0 = FloatVector.fromArray(FLOATS, w, p);
            FloatVector w1 = FloatVector.fromArray(FLOATS, w, p + L);
            FloatVector w2 = FloatVector.fromArray(FLOATS, w, p + 2 * L);
            FloatVector w3 = FloatVector.fromArray(FLOATS, w, p + 3 * L);
            FloatVector x = FloatVector.broadcast(FLOATS, a[ao + kk]);
            c00 = w0.fma(x, c00);
            c01 = w1.fma(x, c01);
            c02 = w2.fma(x, c02);
            c03 = w3.fma(x, c03);
            x = FloatVector.broadcast(FLOATS, a[a1 + kk]);
            c10 = w0.fma(x, c10);
            c11 = w1.fma(x, c11);
            c12 = w2.fma(x, c12);
            c13 = w3.fma(x, c13);
            x = FloatVector.broadcast(FLOATS, a[a2 + kk]);
            c20 = w0.fma(x, c20);
            c21 = w1.fma(x, c21);
            c22 = w2.fma(x, c22);
            c23 = w3.fma(x, c23);
            x = FloatVector.broadcast(FLOATS, a[a3 + kk]);
            c30 = w0.fma(x, c30);
            c31 = w1.fma(x, c31);
            c32 = w2.fma(x, c32);
            c33 = w3.fma(x, c33);
        }
        c00.intoArray(out, oo);
        c01.intoArray(out, oo + L);
        c02.intoArray(out, oo + 2 * L);
        c03.intoArray(out, oo + 3 * L);
        c10.intoArray(out, oo + os);
        c11.intoArray(out, oo + os + L);
        c12.intoArray(out, oo + os + 2 * L);
        c13.intoArray(out, oo + os + 3 * L);
        c20.intoArray(out, oo + 2 * os);
        c21.intoArray(out, oo + 2 * os + L);
        c22.intoArray(out, oo + 2 * os + 2 * L);
        c23.intoArray(out, oo + 2 * os + 3 * L);
        c30.intoArray(out, oo + 3 * os);
        c31.intoArray(out, oo + 3 * os + L);
        c32.intoArray(out, oo + 3 * os + 2 * L);
        c33.intoArray(out, oo + 3 * os + 3 * L);
    }
}
