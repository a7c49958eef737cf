package io.cellstate.vector;

import static io.cellstate.vector.VectorConfig.FLOATS;
import static io.cellstate.vector.VectorConfig.LANES;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;

/**
 * Weights packed in panels, and the GEMM micro-kernels that stream them: the part every cell's
 * vector kernel shares.
 *
 * <p><b>Layout.</b> The hidden units are cut into unit-vectors of {@code L} units (one vector, the
 * last padded with zero weights). A layout of G gates puts the G gate vectors of a unit-vector side
 * by side, unit-major: the gate column of (unit-vector u, gate g, lane j) is {@code (u * G + g) * L + j}.
 * Those vectors are cut, four at a time, into panels of {@code 4L} columns (the last padded with
 * zero vectors), and a panel's rows are contiguous:
 * <pre>
 *   packed[LEAD + (p * K + k) * 4L + s * L + j] = W[((g0 + g) * H + u * L + j) * K + k]     for u * G + g = 4p + s
 * </pre>
 * For the LSTM (G = 4) a panel is one unit-vector's four gates; for the GRU's three gates and the
 * RNN's one, panels straddle unit-vectors, which the kernels' work units respect (see
 * {@link #unitsPerWork}).
 *
 * <p><b>Micro-kernels.</b> A panel is streamed once per block of rows, broadcasting one input element
 * per k against its four vectors: rows x 4 vector sums stay in registers for the whole K loop (6 rows with
 * AVX-512's 32 registers; with AVX2's 16, 6 rows against half a panel at a time; the rows left over go in
 * smaller blocks, the last odd one alone).
 * Every output element is {@code init + sum_k a[k] * w[k]} accumulated by FMA in k order, whatever
 * the row blocking: the result depends neither on the batch size nor on the thread count.
 */
final class Panels {
    static final int L = LANES;
    /** Floats per panel row: four vectors. */
    static final int PANEL = 4 * L;
    private static final int MR = VectorConfig.ROWS;
    /** Whether the 6-row block takes half a panel at a time (16 registers). */
    private static final boolean HALF = VectorConfig.HALF_PANELS;
    /** Floats of {@code a} per chunk of rows in {@link #multiply} (512 KiB: a quarter of an L2 of 2 MiB). */
    static final int CHUNK_FLOATS = 1 << 17;
    /**
     * Floats before the first panel (48 bytes). G1, the default collector, places an array of half a region or
     * more (the packed weights of H = 512 and up, with a heap of a few GiB) at the start of a region, and the usual
     * array header puts its first element 16 bytes past that: 48 bytes on, the panels start on a 64-byte line, and
     * no 64-byte load of a weight vector crosses two lines, which an Intel core pays for twice (Panels.multiply at
     * K = 512: 141 GFLOP/s across lines, 159 on them). Smaller arrays land where the allocator puts them, as before.
     */
    static final int LEAD = 12;

    private Panels() {
    }

    /** Unit-vectors of {@code hidden} units. */
    static int unitVectors(int hidden) {
        return (hidden + L - 1) / L;
    }

    /** Panels of a layout of {@code gates} gates over {@code units} unit-vectors. */
    static int panels(int units, int gates) {
        return (units * gates + 3) / 4;
    }

    /**
     * Unit-vectors per work unit, so that a work unit of a G-gate layout (and of any layout of fewer
     * gates the cell also uses) starts on a panel: 1 for G = 4, 2 for G = 2, 4 for G = 1 and 3.
     */
    static int unitsPerWork(int gates) {
        return 4 / gcd(gates, 4);
    }

    private static int gcd(int a, int b) {
        return b == 0 ? a : gcd(b, a % b);
    }

    /** The first panel of unit-vector {@code u} in a layout of {@code gates} gates (u on a work-unit boundary). */
    static int firstPanel(int u, int gates) {
        return u * gates / 4;
    }

    /** One past the last panel that holds a gate of unit-vectors before {@code u}. */
    static int endPanel(int u, int gates) {
        return (u * gates + 3) / 4;
    }

    /**
     * Packs gates {@code [g0, g0 + gates)} of {@code w}, a PyTorch-layout {@code [G*H x k]} matrix
     * (gate blocks of H rows), into panels.
     */
    static float[] pack(MemorySegment w, int k, int hidden, int g0, int gates) {
        int units = unitVectors(hidden);
        float[] p = new float[LEAD + panels(units, gates) * k * PANEL];
        for (int u = 0; u < units; u++) {
            for (int g = 0; g < gates; g++) {
                int v = u * gates + g;
                int col = (v % 4) * L;
                int panel = v / 4;
                for (int j = 0; j < L && u * L + j < hidden; j++) {
                    long row = (long) ((g0 + g) * hidden + u * L + j) * k;
                    for (int kk = 0; kk < k; kk++) {
                        p[LEAD + (panel * k + kk) * PANEL + col + j] = w.getAtIndex(ValueLayout.JAVA_FLOAT, row + kk);
                    }
                }
            }
        }
        return p;
    }

    /**
     * Gates {@code [g0, g0 + gates)} of {@code a + b} ({@code b} may be null), PyTorch-layout bias
     * vectors of G*H, in the same gate columns as {@link #pack}.
     */
    static float[] packBias(MemorySegment a, MemorySegment b, int hidden, int g0, int gates) {
        int units = unitVectors(hidden);
        float[] p = new float[panels(units, gates) * PANEL];
        for (int u = 0; u < units; u++) {
            for (int g = 0; g < gates; g++) {
                int v = u * gates + g;
                for (int j = 0; j < L && u * L + j < hidden; j++) {
                    int r = (g0 + g) * hidden + u * L + j;
                    float x = a.getAtIndex(ValueLayout.JAVA_FLOAT, r);
                    if (b != null) {
                        x += b.getAtIndex(ValueLayout.JAVA_FLOAT, r);
                    }
                    p[v * L + j] = x;
                }
            }
        }
        return p;
    }

    /**
     * For rows {@code r < rows} and panels {@code [p0, p1)}:
     * {@code out[oOff + r * oStride + p * 4L ..] = init + a[aOff + r * aStride, +k) · panel p}, with init
     * {@code bias[p * 4L ..]}, or what {@code out} holds where {@code bias} is null.
     *
     * <p>Many rows (a hoisted input projection) are taken in chunks of about {@link #CHUNK_FLOATS} floats of
     * {@code a} (never fewer than 252 rows, cut on multiples of 12), each chunk through every panel, so a chunk is
     * read from L2 by each panel rather than all of {@code a} from L3: on an Intel Xeon with 2 MiB of L2, at K = 512,
     * 6400 rows ran at 146-156 GFLOP/s chunked and 130-141 whole, 25600 rows at 144-155 and 117-129.
     */
    static void multiply(float[] a, int aOff, int aStride, int rows, int k, float[] w, int p0, int p1, float[] out,
                         int oOff, int oStride, float[] bias) {
        int chunks = Math.max(1, rows / Math.max(252, CHUNK_FLOATS / Math.max(1, k)));
        for (int i = 0; i < chunks; i++) {
            int r0 = i == 0 ? 0 : (int) ((long) i * rows / chunks) / 12 * 12;
            int r1 = i == chunks - 1 ? rows : (int) ((long) (i + 1) * rows / chunks) / 12 * 12;
            multiplyRows(a, aOff + r0 * aStride, aStride, r1 - r0, k, w, p0, p1, out, oOff + r0 * oStride, oStride, bias);
        }
    }

    /** {@link #multiply} for rows few enough that they stay in L2 while every panel passes them. */
    private static void multiplyRows(float[] a, int aOff, int aStride, int rows, int k, float[] w, int p0, int p1,
                                     float[] out, int oOff, int oStride, float[] bias) {
        int blocked = 0;
        for (int p = p0; p < p1; p++) {
            blocked = blocks(a, aOff, aStride, rows, k, w, LEAD + p * k * PANEL, out, oOff + p * PANEL, oStride, bias,
                    p * PANEL);
        }
        for (int r = blocked; r < rows; r++) {
            singleRow(a, aOff + r * aStride, k, w, out, oOff + r * oStride, bias, p0, p1);
        }
    }

    /**
     * For rows {@code r < rows}: {@code out[oOff + r * oStride, +4L) = init + a[aOff + r * aStride, +k) · the panel at
     * w[wo]}, init {@code start[0, 4L)} or, where {@code start} is null, what {@code out} holds; each sum takes its
     * k in order, in the blocks of {@link #multiply}. The GEMM micro-kernel of {@link VectorGemm} too, on its
     * packed operands.
     */
    static void accumulate(float[] a, int aOff, int aStride, int rows, int k, float[] w, int wo, float[] out, int oOff,
                           int oStride, float[] start) {
        for (int r = blocks(a, aOff, aStride, rows, k, w, wo, out, oOff, oStride, start, 0); r < rows; r++) {
            gemm1(a, aOff + r * aStride, k, w, wo, out, oOff + r * oStride, start, 0);
        }
    }

    /**
     * The rows of {@code rows} that go in blocks against one panel ({@code w} at {@code wo}, {@code out} at that
     * panel's columns), each block's sums starting from the bias at {@code col} where there is one; returns how many
     * rows that was: all but the last odd one.
     */
    private static int blocks(float[] a, int aOff, int aStride, int rows, int k, float[] w, int wo, float[] out,
                              int oOff, int oStride, float[] bias, int col) {
        // rows in blocks of MR, the rest in the largest smaller blocks (no 4-row block with 16 registers, where it
        // would spill), the last odd row alone
        int r6 = MR == 6 ? rows - rows % 6 : 0;
        int r4 = MR >= 4 && !HALF ? r6 + (rows - r6) / 4 * 4 : r6;
        int r2 = MR >= 2 ? r4 + (rows - r4) / 2 * 2 : r4;
        int r = 0;
        for (; r < r6; r += 6) {
            startFromBias(bias, col, out, oOff + r * oStride, oStride, 6);
            if (HALF) {
                gemm6x2(a, aOff + r * aStride, aStride, k, w, wo, out, oOff + r * oStride, oStride);
                gemm6x2(a, aOff + r * aStride, aStride, k, w, wo + 2 * L, out, oOff + r * oStride + 2 * L, oStride);
            } else {
                gemm6(a, aOff + r * aStride, aStride, k, w, wo, out, oOff + r * oStride, oStride);
            }
        }
        for (; r < r4; r += 4) {
            startFromBias(bias, col, out, oOff + r * oStride, oStride, 4);
            gemm4(a, aOff + r * aStride, aStride, k, w, wo, out, oOff + r * oStride, oStride);
        }
        for (; r < r2; r += 2) {
            startFromBias(bias, col, out, oOff + r * oStride, oStride, 2);
            gemm2(a, aOff + r * aStride, aStride, k, w, wo, out, oOff + r * oStride, oStride);
        }
        return r2;
    }

    /**
     * Copies the bias of the panel at column {@code col} into {@code n} rows of {@code out} (nothing where
     * {@code bias} is null: the sums start from what {@code out} holds). The blocked kernels take no bias argument:
     * with it, C2 (JDK 25) kept the array of A in a vector register and moved it back every k (seen in the
     * disassembly), and gemm4 ran at 140-175 GFLOP/s instead of 185-200. The copy is made just before the block's
     * kernel, so its lines are in L1.
     */
    private static void startFromBias(float[] bias, int col, float[] out, int oo, int os, int n) {
        if (bias != null) {
            for (int i = 0; i < n; i++) {
                System.arraycopy(bias, col, out, oo + i * os, PANEL);
            }
        }
    }

    /**
     * One row against panels {@code [p0, p1)}, two at a time: eight independent FMA chains keep both
     * FMA pipes busy where one panel's four chains would wait on FMA latency (the batch-1 GEMV). Each
     * element's sum runs in the same order as in the blocked kernels.
     */
    private static void singleRow(float[] a, int ao, int k, float[] w, float[] out, int oo, float[] bias, int p0, int p1) {
        int p = p0;
        for (; p + 2 <= p1; p += 2) {
            gemm1x2(a, ao, k, w, LEAD + p * k * PANEL, LEAD + (p + 1) * k * PANEL, out, oo + p * PANEL, bias, p * PANEL);
        }
        if (p < p1) {
            gemm1(a, ao, k, w, LEAD + p * k * PANEL, out, oo + p * PANEL, bias, p * PANEL);
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
    private static void gemm2(float[] a, int ao, int as, int k, float[] w, int wo, float[] out, int oo, int os) {
        FloatVector c00 = FloatVector.fromArray(FLOATS, out, oo);
        FloatVector c01 = FloatVector.fromArray(FLOATS, out, oo + L);
        FloatVector c02 = FloatVector.fromArray(FLOATS, out, oo + 2 * L);
        FloatVector c03 = FloatVector.fromArray(FLOATS, out, oo + 3 * L);
        FloatVector c10 = FloatVector.fromArray(FLOATS, out, oo + os);
        FloatVector c11 = FloatVector.fromArray(FLOATS, out, oo + os + L);
        FloatVector c12 = FloatVector.fromArray(FLOATS, out, oo + os + 2 * L);
        FloatVector c13 = FloatVector.fromArray(FLOATS, out, oo + os + 3 * L);
        int a1 = ao + as;
        // two values of k per pass: C2 (JDK 25) moves the pointer of A through a vector register once per pass,
        // a chain of two moves that, once per k, held the 8 FMAs of a pass to 57% of the FMA rate (AVX2, 68 of
        // 120 GFLOP/s; 87 unrolled); each sum still takes its k in order
        int kk = 0;
        for (; kk + 2 <= k; kk += 2) {
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
            int q = p + PANEL;
            FloatVector v0 = FloatVector.fromArray(FLOATS, w, q);
            FloatVector v1 = FloatVector.fromArray(FLOATS, w, q + L);
            FloatVector v2 = FloatVector.fromArray(FLOATS, w, q + 2 * L);
            FloatVector v3 = FloatVector.fromArray(FLOATS, w, q + 3 * L);
            FloatVector y0 = FloatVector.broadcast(FLOATS, a[ao + kk + 1]);
            c00 = v0.fma(y0, c00);
            c01 = v1.fma(y0, c01);
            c02 = v2.fma(y0, c02);
            c03 = v3.fma(y0, c03);
            FloatVector y1 = FloatVector.broadcast(FLOATS, a[a1 + kk + 1]);
            c10 = v0.fma(y1, c10);
            c11 = v1.fma(y1, c11);
            c12 = v2.fma(y1, c12);
            c13 = v3.fma(y1, c13);
        }
        for (; kk < k; kk++) {
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

    /**
     * Four rows, for 32-register machines (AVX-512); see {@link #gemm2}. Written for C2's register allocator
     * as much as for the reader: the row offsets are spelled out where they are used, not kept in locals
     * (with locals, C2 spilled the pointer of A to a vector register inside the k loop). Check a change in the
     * machine code: {@code -XX:+UnlockDiagnosticVMOptions -XX:CompileCommand=print,io.cellstate.vector.Panels::gemm4}
     * prints it as bytes (docs/benchmarks.md says how they were decoded), and the k loop should hold 4 loads,
     * 4 broadcasts, 16 FMAs and no {@code vmovq}.
     */
    private static void gemm4(float[] a, int ao, int as, int k, float[] w, int wo, float[] out, int oo, int os) {
        FloatVector c00 = FloatVector.fromArray(FLOATS, out, oo);
        FloatVector c01 = FloatVector.fromArray(FLOATS, out, oo + L);
        FloatVector c02 = FloatVector.fromArray(FLOATS, out, oo + 2 * L);
        FloatVector c03 = FloatVector.fromArray(FLOATS, out, oo + 3 * L);
        FloatVector c10 = FloatVector.fromArray(FLOATS, out, oo + os);
        FloatVector c11 = FloatVector.fromArray(FLOATS, out, oo + os + L);
        FloatVector c12 = FloatVector.fromArray(FLOATS, out, oo + os + 2 * L);
        FloatVector c13 = FloatVector.fromArray(FLOATS, out, oo + os + 3 * L);
        FloatVector c20 = FloatVector.fromArray(FLOATS, out, oo + 2 * os);
        FloatVector c21 = FloatVector.fromArray(FLOATS, out, oo + 2 * os + L);
        FloatVector c22 = FloatVector.fromArray(FLOATS, out, oo + 2 * os + 2 * L);
        FloatVector c23 = FloatVector.fromArray(FLOATS, out, oo + 2 * os + 3 * L);
        FloatVector c30 = FloatVector.fromArray(FLOATS, out, oo + 3 * os);
        FloatVector c31 = FloatVector.fromArray(FLOATS, out, oo + 3 * os + L);
        FloatVector c32 = FloatVector.fromArray(FLOATS, out, oo + 3 * os + 2 * L);
        FloatVector c33 = FloatVector.fromArray(FLOATS, out, oo + 3 * os + 3 * L);
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

    /**
     * Six rows, the block of 32-register machines (AVX-512): 24 sums, 4 weight vectors and a broadcast live. Per
     * value of k it loads the panel's 4 vectors once for 24 FMAs, where {@link #gemm4} loads them for 16: on an
     * Intel Xeon (AVX-512, family 6 model 167) it ran at 128-140 GFLOP/s where gemm4 ran at 102-111 on the same
     * product (16 to 1600 rows, K = 512), and within the noise of gemm4 on a Zen 5. Written as gemm4 is (row
     * offsets spelled out where they are used); check a change in the machine code as gemm4 says.
     */
    private static void gemm6(float[] a, int ao, int as, int k, float[] w, int wo, float[] out, int oo, int os) {
        FloatVector c00 = FloatVector.fromArray(FLOATS, out, oo);
        FloatVector c01 = FloatVector.fromArray(FLOATS, out, oo + L);
        FloatVector c02 = FloatVector.fromArray(FLOATS, out, oo + 2 * L);
        FloatVector c03 = FloatVector.fromArray(FLOATS, out, oo + 3 * L);
        FloatVector c10 = FloatVector.fromArray(FLOATS, out, oo + os);
        FloatVector c11 = FloatVector.fromArray(FLOATS, out, oo + os + L);
        FloatVector c12 = FloatVector.fromArray(FLOATS, out, oo + os + 2 * L);
        FloatVector c13 = FloatVector.fromArray(FLOATS, out, oo + os + 3 * L);
        FloatVector c20 = FloatVector.fromArray(FLOATS, out, oo + 2 * os);
        FloatVector c21 = FloatVector.fromArray(FLOATS, out, oo + 2 * os + L);
        FloatVector c22 = FloatVector.fromArray(FLOATS, out, oo + 2 * os + 2 * L);
        FloatVector c23 = FloatVector.fromArray(FLOATS, out, oo + 2 * os + 3 * L);
        FloatVector c30 = FloatVector.fromArray(FLOATS, out, oo + 3 * os);
        FloatVector c31 = FloatVector.fromArray(FLOATS, out, oo + 3 * os + L);
        FloatVector c32 = FloatVector.fromArray(FLOATS, out, oo + 3 * os + 2 * L);
        FloatVector c33 = FloatVector.fromArray(FLOATS, out, oo + 3 * os + 3 * L);
        FloatVector c40 = FloatVector.fromArray(FLOATS, out, oo + 4 * os);
        FloatVector c41 = FloatVector.fromArray(FLOATS, out, oo + 4 * os + L);
        FloatVector c42 = FloatVector.fromArray(FLOATS, out, oo + 4 * os + 2 * L);
        FloatVector c43 = FloatVector.fromArray(FLOATS, out, oo + 4 * os + 3 * L);
        FloatVector c50 = FloatVector.fromArray(FLOATS, out, oo + 5 * os);
        FloatVector c51 = FloatVector.fromArray(FLOATS, out, oo + 5 * os + L);
        FloatVector c52 = FloatVector.fromArray(FLOATS, out, oo + 5 * os + 2 * L);
        FloatVector c53 = FloatVector.fromArray(FLOATS, out, oo + 5 * os + 3 * L);
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
            x = FloatVector.broadcast(FLOATS, a[ao + as + kk]);
            c10 = w0.fma(x, c10);
            c11 = w1.fma(x, c11);
            c12 = w2.fma(x, c12);
            c13 = w3.fma(x, c13);
            x = FloatVector.broadcast(FLOATS, a[ao + 2 * as + kk]);
            c20 = w0.fma(x, c20);
            c21 = w1.fma(x, c21);
            c22 = w2.fma(x, c22);
            c23 = w3.fma(x, c23);
            x = FloatVector.broadcast(FLOATS, a[ao + 3 * as + kk]);
            c30 = w0.fma(x, c30);
            c31 = w1.fma(x, c31);
            c32 = w2.fma(x, c32);
            c33 = w3.fma(x, c33);
            x = FloatVector.broadcast(FLOATS, a[ao + 4 * as + kk]);
            c40 = w0.fma(x, c40);
            c41 = w1.fma(x, c41);
            c42 = w2.fma(x, c42);
            c43 = w3.fma(x, c43);
            x = FloatVector.broadcast(FLOATS, a[ao + 5 * as + kk]);
            c50 = w0.fma(x, c50);
            c51 = w1.fma(x, c51);
            c52 = w2.fma(x, c52);
            c53 = w3.fma(x, c53);
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
        c40.intoArray(out, oo + 4 * os);
        c41.intoArray(out, oo + 4 * os + L);
        c42.intoArray(out, oo + 4 * os + 2 * L);
        c43.intoArray(out, oo + 4 * os + 3 * L);
        c50.intoArray(out, oo + 5 * os);
        c51.intoArray(out, oo + 5 * os + L);
        c52.intoArray(out, oo + 5 * os + 2 * L);
        c53.intoArray(out, oo + 5 * os + 3 * L);
    }

    /**
     * Six rows against half a panel (two of its four vectors, {@code w} and {@code out} offset to the half), the
     * block of 16-register machines (AVX2): 12 sums, 2 weight vectors and a broadcast live. Per value of k it loads
     * 2 weight vectors for 12 FMAs, where {@link #gemm2} loads 4 for 8. See {@link #gemm4} on checking the machine
     * code.
     */
    private static void gemm6x2(float[] a, int ao, int as, int k, float[] w, int wo, float[] out, int oo, int os) {
        FloatVector c00 = FloatVector.fromArray(FLOATS, out, oo);
        FloatVector c01 = FloatVector.fromArray(FLOATS, out, oo + L);
        FloatVector c10 = FloatVector.fromArray(FLOATS, out, oo + os);
        FloatVector c11 = FloatVector.fromArray(FLOATS, out, oo + os + L);
        FloatVector c20 = FloatVector.fromArray(FLOATS, out, oo + 2 * os);
        FloatVector c21 = FloatVector.fromArray(FLOATS, out, oo + 2 * os + L);
        FloatVector c30 = FloatVector.fromArray(FLOATS, out, oo + 3 * os);
        FloatVector c31 = FloatVector.fromArray(FLOATS, out, oo + 3 * os + L);
        FloatVector c40 = FloatVector.fromArray(FLOATS, out, oo + 4 * os);
        FloatVector c41 = FloatVector.fromArray(FLOATS, out, oo + 4 * os + L);
        FloatVector c50 = FloatVector.fromArray(FLOATS, out, oo + 5 * os);
        FloatVector c51 = FloatVector.fromArray(FLOATS, out, oo + 5 * os + L);
        for (int kk = 0; kk < k; kk++) {
            int p = wo + kk * PANEL;
            FloatVector w0 = FloatVector.fromArray(FLOATS, w, p);
            FloatVector w1 = FloatVector.fromArray(FLOATS, w, p + L);
            FloatVector x = FloatVector.broadcast(FLOATS, a[ao + kk]);
            c00 = w0.fma(x, c00);
            c01 = w1.fma(x, c01);
            x = FloatVector.broadcast(FLOATS, a[ao + as + kk]);
            c10 = w0.fma(x, c10);
            c11 = w1.fma(x, c11);
            x = FloatVector.broadcast(FLOATS, a[ao + 2 * as + kk]);
            c20 = w0.fma(x, c20);
            c21 = w1.fma(x, c21);
            x = FloatVector.broadcast(FLOATS, a[ao + 3 * as + kk]);
            c30 = w0.fma(x, c30);
            c31 = w1.fma(x, c31);
            x = FloatVector.broadcast(FLOATS, a[ao + 4 * as + kk]);
            c40 = w0.fma(x, c40);
            c41 = w1.fma(x, c41);
            x = FloatVector.broadcast(FLOATS, a[ao + 5 * as + kk]);
            c50 = w0.fma(x, c50);
            c51 = w1.fma(x, c51);
        }
        c00.intoArray(out, oo);
        c01.intoArray(out, oo + L);
        c10.intoArray(out, oo + os);
        c11.intoArray(out, oo + os + L);
        c20.intoArray(out, oo + 2 * os);
        c21.intoArray(out, oo + 2 * os + L);
        c30.intoArray(out, oo + 3 * os);
        c31.intoArray(out, oo + 3 * os + L);
        c40.intoArray(out, oo + 4 * os);
        c41.intoArray(out, oo + 4 * os + L);
        c50.intoArray(out, oo + 5 * os);
        c51.intoArray(out, oo + 5 * os + L);
    }

}
