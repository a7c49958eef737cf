package io.cellstate.vector;

import static io.cellstate.vector.VectorConfig.FLOATS;
import static io.cellstate.vector.VectorConfig.LANES;

import io.cellstate.WorkerGroup;
import io.cellstate.cpu.CpuGemm;
import java.lang.foreign.MemorySegment;
import java.util.function.IntConsumer;
import jdk.incubator.vector.FloatVector;

/**
 * {@link CpuGemm} on the Vector API over heap buffers ({@code float[]} behind each segment), with
 * register-blocked micro-kernels for the training engine's three shapes:
 * <ul>
 *   <li>NN and TN ({@code B} not transposed): two rows of C by four vectors of columns stay in registers
 *       for the whole k loop, each step broadcasting one element of op(A) per row against four vectors of
 *       a row of B (A is read along its rows for NN, down its columns for TN);</li>
 *   <li>NT ({@code B} transposed, its rows the columns of C): two rows of A against four rows of B, eight
 *       vector dot products along k, each summed across its lanes in lane order at the end.</li>
 * </ul>
 * Every element of C is computed by one thread with the same operations in the same order, whatever
 * block or thread it falls to (edges included: a lane of a vector FMA and {@link Math#fma} round alike),
 * so the result depends neither on the thread count nor on the blocking. Threads are the plan's
 * {@link WorkerGroup.Team}, each taking a contiguous range of row or column blocks.
 */
final class VectorGemm implements CpuGemm {
    private static final int NV = 4;
    private static final int BLOCK = NV * LANES;
    /** Multiply-adds a second thread must get before it pays for its wake-up. */
    private static final long MIN_MACS_PER_THREAD = 1 << 16;

    private final WorkerGroup.Team team;
    private final int threads;
    private final IntConsumer part = this::part;
    /** Lane sums of the NT kernel, one row of 8 vectors per participant. */
    private final float[][] lanes;
    // the GEMM in flight, read by the participants
    private boolean transA;
    private boolean transB;
    private int m;
    private int n;
    private int k;
    private float alpha;
    private float beta;
    private float[] a;
    private float[] b;
    private float[] c;
    private int aOff;
    private int bOff;
    private int cOff;
    private int lda;
    private int ldb;
    private int ldc;

    VectorGemm(WorkerGroup.Team team, int threads) {
        this.team = team;
        this.threads = Math.max(1, threads);
        this.lanes = new float[this.threads][8 * LANES];
    }

    @Override
    public MemorySegment allocate(long floats) {
        return MemorySegment.ofArray(new float[Math.toIntExact(floats)]);
    }

    private static float[] array(MemorySegment s) {
        assert s.heapBase().orElse(null) instanceof float[] : "not a buffer of this CpuGemm: " + s;
        return (float[]) s.heapBase().orElseThrow();
    }

    private static int base(MemorySegment s, long off) {
        return Math.toIntExact(s.address() / Float.BYTES + off);
    }

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, MemorySegment a, long aOff, int lda,
                     MemorySegment b, long bOff, int ldb, float beta, MemorySegment c, long cOff, int ldc) {
        this.transA = transA;
        this.transB = transB;
        this.m = m;
        this.n = n;
        this.k = k;
        this.alpha = alpha;
        this.beta = beta;
        this.a = array(a);
        this.b = array(b);
        this.c = array(c);
        this.aOff = base(a, aOff);
        this.bOff = base(b, bOff);
        this.cOff = base(c, cOff);
        this.lda = lda;
        this.ldb = ldb;
        this.ldc = ldc;
        try {
            long macs = (long) m * n * k;
            int wanted = (int) Math.min(Math.min(threads, units()), Math.max(1, macs / MIN_MACS_PER_THREAD));
            if (wanted <= 1 || team == null) {
                run(0, 1);
            } else {
                team.run(wanted, part);
            }
        } finally {
            this.a = null;
            this.b = null;
            this.c = null;
        }
    }

    /** Row blocks of the kernel in use. */
    private int rowUnits() {
        return (m + 1) / 2;
    }

    /** Column blocks of the kernel in use. */
    private int colUnits() {
        return transB ? (n + 3) / 4 : (n + BLOCK - 1) / BLOCK;
    }

    private int units() {
        return Math.max(rowUnits(), colUnits());
    }

    private void part(int w) {
        run(w, team.participants());
    }

    /** Participant {@code w} of {@code parts}: its share of the larger of the row and the column blocks. */
    private void run(int w, int parts) {
        int i0 = 0;
        int i1 = m;
        int j0 = 0;
        int j1 = n;
        boolean byRows = rowUnits() >= colUnits();
        int units = byRows ? rowUnits() : colUnits();
        int u0 = (int) ((long) w * units / parts);
        int u1 = (int) ((long) (w + 1) * units / parts);
        int unit = byRows ? 2 : transB ? 4 : BLOCK;
        if (byRows) {
            i0 = u0 * unit;
            i1 = Math.min(m, u1 * unit);
        } else {
            j0 = u0 * unit;
            j1 = Math.min(n, u1 * unit);
        }
        if (transB) {
            dots(i0, i1, j0, j1, lanes[w]);
        } else {
            broadcasts(i0, i1, j0, j1, lanes[w]);
        }
    }

    // ---------------------------------------------------------------- NN and TN

    private void broadcasts(int i0, int i1, int j0, int j1, float[] sums) {
        int si = transA ? 1 : lda;
        int sk = transA ? lda : 1;
        int j = j0;
        for (; j + BLOCK <= j1; j += BLOCK) {
            int i = i0;
            for (; i + 2 <= i1; i += 2) {
                block2x4(i, j, si, sk, sums);
            }
            if (i < i1) {
                block1x4(i, j, si, sk, sums);
            }
        }
        for (; j + LANES <= j1; j += LANES) {
            for (int i = i0; i < i1; i++) {
                block1x1(i, j, si, sk, sums);
            }
        }
        for (; j < j1; j++) {
            for (int i = i0; i < i1; i++) {
                float acc = 0;
                int ai = aOff + i * si;
                int bq = bOff + j;
                for (int q = 0; q < k; q++, bq += ldb) {
                    acc = Math.fma(a[ai + q * sk], b[bq], acc);
                }
                int at = cOff + i * ldc + j;
                c[at] = beta == 0 ? alpha * acc : beta * c[at] + alpha * acc;
            }
        }
    }

    private void block2x4(int i, int j, int si, int sk, float[] sums) {
        FloatVector c00 = FloatVector.zero(FLOATS);
        FloatVector c01 = c00;
        FloatVector c02 = c00;
        FloatVector c03 = c00;
        FloatVector c10 = c00;
        FloatVector c11 = c00;
        FloatVector c12 = c00;
        FloatVector c13 = c00;
        int a0 = aOff + i * si;
        int a1 = a0 + si;
        int bq = bOff + j;
        for (int q = 0; q < k; q++, bq += ldb) {
            FloatVector b0 = FloatVector.fromArray(FLOATS, b, bq);
            FloatVector b1 = FloatVector.fromArray(FLOATS, b, bq + LANES);
            FloatVector b2 = FloatVector.fromArray(FLOATS, b, bq + 2 * LANES);
            FloatVector b3 = FloatVector.fromArray(FLOATS, b, bq + 3 * LANES);
            FloatVector x0 = FloatVector.broadcast(FLOATS, a[a0 + q * sk]);
            FloatVector x1 = FloatVector.broadcast(FLOATS, a[a1 + q * sk]);
            c00 = x0.fma(b0, c00);
            c01 = x0.fma(b1, c01);
            c02 = x0.fma(b2, c02);
            c03 = x0.fma(b3, c03);
            c10 = x1.fma(b0, c10);
            c11 = x1.fma(b1, c11);
            c12 = x1.fma(b2, c12);
            c13 = x1.fma(b3, c13);
        }
        c00.intoArray(sums, 0);
        c01.intoArray(sums, LANES);
        c02.intoArray(sums, 2 * LANES);
        c03.intoArray(sums, 3 * LANES);
        c10.intoArray(sums, 4 * LANES);
        c11.intoArray(sums, 5 * LANES);
        c12.intoArray(sums, 6 * LANES);
        c13.intoArray(sums, 7 * LANES);
        store(sums, 0, cOff + i * ldc + j, BLOCK);
        store(sums, BLOCK, cOff + (i + 1) * ldc + j, BLOCK);
    }

    private void block1x4(int i, int j, int si, int sk, float[] sums) {
        FloatVector c0 = FloatVector.zero(FLOATS);
        FloatVector c1 = c0;
        FloatVector c2 = c0;
        FloatVector c3 = c0;
        int a0 = aOff + i * si;
        int bq = bOff + j;
        for (int q = 0; q < k; q++, bq += ldb) {
            FloatVector x = FloatVector.broadcast(FLOATS, a[a0 + q * sk]);
            c0 = x.fma(FloatVector.fromArray(FLOATS, b, bq), c0);
            c1 = x.fma(FloatVector.fromArray(FLOATS, b, bq + LANES), c1);
            c2 = x.fma(FloatVector.fromArray(FLOATS, b, bq + 2 * LANES), c2);
            c3 = x.fma(FloatVector.fromArray(FLOATS, b, bq + 3 * LANES), c3);
        }
        c0.intoArray(sums, 0);
        c1.intoArray(sums, LANES);
        c2.intoArray(sums, 2 * LANES);
        c3.intoArray(sums, 3 * LANES);
        store(sums, 0, cOff + i * ldc + j, BLOCK);
    }

    private void block1x1(int i, int j, int si, int sk, float[] sums) {
        FloatVector acc = FloatVector.zero(FLOATS);
        int a0 = aOff + i * si;
        int bq = bOff + j;
        for (int q = 0; q < k; q++, bq += ldb) {
            acc = FloatVector.broadcast(FLOATS, a[a0 + q * sk]).fma(FloatVector.fromArray(FLOATS, b, bq), acc);
        }
        acc.intoArray(sums, 0);
        store(sums, 0, cOff + i * ldc + j, LANES);
    }

    /**
     * {@code C = alpha sum + beta C} for {@code n} sums from {@code sums[from]} into C at {@code at}, as the
     * scalar edge computes it. The sums go through an array, not a vector argument: a helper taking a
     * vector is not always inlined into the large kernels, and then every vector passed is boxed.
     */
    private void store(float[] sums, int from, int at, int n) {
        for (int l = 0; l < n; l++) {
            c[at + l] = beta == 0 ? alpha * sums[from + l] : beta * c[at + l] + alpha * sums[from + l];
        }
    }

    // ---------------------------------------------------------------- NT

    private void dots(int i0, int i1, int j0, int j1, float[] sums) {
        int kv = k - k % LANES;
        for (int i = i0; i < i1; i += 2) {
            boolean two = i + 1 < i1;
            int j = j0;
            if (two) {
                for (; j + 4 <= j1; j += 4) {
                    dot2x4(i, j, kv, sums);
                }
            }
            for (; j < j1; j++) {
                dot1x1(i, j, kv, sums);
                if (two) {
                    dot1x1(i + 1, j, kv, sums);
                }
            }
        }
    }

    private void dot2x4(int i, int j, int kv, float[] sums) {
        FloatVector c00 = FloatVector.zero(FLOATS);
        FloatVector c01 = c00;
        FloatVector c02 = c00;
        FloatVector c03 = c00;
        FloatVector c10 = c00;
        FloatVector c11 = c00;
        FloatVector c12 = c00;
        FloatVector c13 = c00;
        int a0 = aOff + i * lda;
        int a1 = a0 + lda;
        int b0 = bOff + j * ldb;
        int b1 = b0 + ldb;
        int b2 = b1 + ldb;
        int b3 = b2 + ldb;
        for (int q = 0; q < kv; q += LANES) {
            FloatVector x0 = FloatVector.fromArray(FLOATS, a, a0 + q);
            FloatVector x1 = FloatVector.fromArray(FLOATS, a, a1 + q);
            FloatVector y0 = FloatVector.fromArray(FLOATS, b, b0 + q);
            FloatVector y1 = FloatVector.fromArray(FLOATS, b, b1 + q);
            FloatVector y2 = FloatVector.fromArray(FLOATS, b, b2 + q);
            FloatVector y3 = FloatVector.fromArray(FLOATS, b, b3 + q);
            c00 = x0.fma(y0, c00);
            c01 = x0.fma(y1, c01);
            c02 = x0.fma(y2, c02);
            c03 = x0.fma(y3, c03);
            c10 = x1.fma(y0, c10);
            c11 = x1.fma(y1, c11);
            c12 = x1.fma(y2, c12);
            c13 = x1.fma(y3, c13);
        }
        c00.intoArray(sums, 0);
        c01.intoArray(sums, LANES);
        c02.intoArray(sums, 2 * LANES);
        c03.intoArray(sums, 3 * LANES);
        c10.intoArray(sums, 4 * LANES);
        c11.intoArray(sums, 5 * LANES);
        c12.intoArray(sums, 6 * LANES);
        c13.intoArray(sums, 7 * LANES);
        for (int r = 0; r < 2; r++) {
            for (int s = 0; s < 4; s++) {
                finish(i + r, j + s, sums, (r * 4 + s) * LANES, kv);
            }
        }
    }

    private void dot1x1(int i, int j, int kv, float[] sums) {
        FloatVector acc = FloatVector.zero(FLOATS);
        int a0 = aOff + i * lda;
        int b0 = bOff + j * ldb;
        for (int q = 0; q < kv; q += LANES) {
            acc = FloatVector.fromArray(FLOATS, a, a0 + q).fma(FloatVector.fromArray(FLOATS, b, b0 + q), acc);
        }
        acc.intoArray(sums, 0);
        finish(i, j, sums, 0, kv);
    }

    /** Sums the lanes at {@code sums[at]} in lane order, adds the k tail past {@code kv}, and stores C[i, j]. */
    private void finish(int i, int j, float[] sums, int at, int kv) {
        float acc = 0;
        for (int l = 0; l < LANES; l++) {
            acc += sums[at + l];
        }
        int a0 = aOff + i * lda;
        int b0 = bOff + j * ldb;
        for (int q = kv; q < k; q++) {
            acc = Math.fma(a[a0 + q], b[b0 + q], acc);
        }
        int o = cOff + i * ldc + j;
        c[o] = beta == 0 ? alpha * acc : beta * c[o] + alpha * acc;
    }

    @Override
    public void close() {
    }
}
