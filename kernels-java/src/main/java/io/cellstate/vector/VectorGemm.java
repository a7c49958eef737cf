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
 * register-blocked micro-kernels for the training engine's shapes:
 * <ul>
 *   <li>NN and TN ({@code B} not transposed), over panels of {@link #KC} values of k: a block of four vectors
 *       of B's columns is packed contiguously (B's rows may lie a power of two apart, and then in the same
 *       cache sets), the participant's rows of op(A) are packed once per panel in strips of {@link #STRIP}
 *       rows, k-major (for TN, one cache line of A's column per strip and k), and four rows of C (two with
 *       16 vector registers) by four vectors stay in registers over the panel, each step broadcasting one
 *       element of op(A) per row against the four vectors of B; C takes each panel's sums in k order;</li>
 * </ul>
 * Every element of C is computed by one thread with the same operations in the same order, whatever
 * block or thread it falls to (edges included: a lane of a vector FMA and {@link Math#fma} round alike),
 * so the result depends neither on the thread count nor on the blocking. Threads are the plan's
 * {@link WorkerGroup.Team}, each taking a contiguous range of row or column blocks.
 */
final class VectorGemm implements CpuGemm {
    private static final int NV = 4;
    private static final int BLOCK = NV * LANES;
    /** Values of k per panel of NN and TN: a packed panel of B is KC x BLOCK floats (32 KiB at 512 bits), in L1. */
    private static final int KC = 128;
    /**
     * Whether the packed kernel takes four rows at once (16 accumulators, 4 loads of B and 4 broadcasts per
     * 16 FMAs): where the ISA has 32 vector registers (AVX-512, {@link VectorConfig#REGISTERS}, the budget
     * Panels plans for too); with 16 (AVX2) it would spill, and two rows (8 accumulators) run instead.
     */
    private static final boolean FOUR_ROWS = VectorConfig.REGISTERS >= 32;
    /** Fewer rows than this (a step of a small batch) run unpacked: packing B's block would cost more than it saves. */
    private static final int PACK_ROWS = 16;
    /** Rows of A packed together: one cache line of A's column for TN, so each line is read once per panel. */
    private static final int STRIP = 16;
    /**
     * Rows of C a participant takes through all of k before the next ones: 256 rows of a 2048-wide C are 2 MiB,
     * in the L3 cache, and 256 rows of a panel of A ({@code ROW_CHUNK x KC}) are 128 KiB, in L2.
     */
    private static final int ROW_CHUNK = 256;
    /** Multiply-adds a second thread must get before it pays for its wake-up. */
    private static final long MIN_MACS_PER_THREAD = 1 << 16;

    private final WorkerGroup.Team team;
    private final int threads;
    private final IntConsumer part = this::part;
    /** Lane sums of the unpacked kernels and of the narrow last columns, one row of 8 vectors per participant. */
    private final float[][] lanes;
    /**
     * Per participant: the packed panel of B ({@code KC x BLOCK}), and its rows of A for a panel, in strips of
     * {@code STRIP} rows, k-major within a strip, for a chunk of {@link #ROW_CHUNK} rows.
     */
    private final float[][] packB;
    private final float[][] packA;
    // the GEMM in flight, read by the participants
    private Packed constant;
    private boolean transA;
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
        this.packB = new float[this.threads][KC * BLOCK];
        this.packA = new float[this.threads][KC * ROW_CHUNK];
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
    public void gemm(boolean transA, int m, int n, int k, float alpha, MemorySegment a, long aOff, int lda,
                     MemorySegment b, long bOff, int ldb, float beta, MemorySegment c, long cOff, int ldc) {
        this.transA = transA;
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

    /**
     * B packed once, in the layout {@link #panel} packs each call's B into: per block of {@link #BLOCK}
     * columns (the last padded with zero columns) and panel of {@link #KC} values of k, the panel's rows
     * contiguous. A step's GEMM against a constant weight matrix then reads it without copying it.
     */
    static final class Packed implements Constant {
        final float[] data;
        /** {@link #data} as the segment the GEMM's fields take, made once: a call allocates nothing. */
        final MemorySegment segment;
        final int k;
        final int n;
        private final int panelsK;

        Packed(float[] b, int bOff, int ldb, int k, int n) {
            this.k = k;
            this.n = n;
            this.panelsK = Math.max(1, (k + KC - 1) / KC);
            int blocks = (n + BLOCK - 1) / BLOCK;
            this.data = new float[Math.multiplyExact(Math.multiplyExact(blocks, panelsK), KC * BLOCK)];
            this.segment = MemorySegment.ofArray(data);
            for (int jb = 0; jb < blocks; jb++) {
                int width = Math.min(BLOCK, n - jb * BLOCK);
                for (int q = 0; q < k; q++) {
                    System.arraycopy(b, bOff + q * ldb + jb * BLOCK, data, panel(jb, q / KC) + (q % KC) * BLOCK, width);
                }
            }
        }

        /** Where the panel of column block {@code jb} and k panel {@code pk} starts. */
        int panel(int jb, int pk) {
            return (jb * panelsK + pk) * KC * BLOCK;
        }
    }

    @Override
    public Constant constant(MemorySegment b, long bOff, int ldb, int k, int n) {
        return new Packed(array(b), base(b, bOff), ldb, k, n);
    }

    @Override
    public void gemm(int m, float alpha, MemorySegment a, long aOff, int lda, Constant b, float beta, MemorySegment c,
                     long cOff, int ldc) {
        Packed p = (Packed) b;
        this.constant = p;
        try {
            gemm(false, m, p.n, p.k, alpha, a, aOff, lda, p.segment, 0, BLOCK, beta, c, cOff, ldc);
        } finally {
            this.constant = null;
        }
    }

    /** Row blocks of the kernel in use. */
    private int rowUnits() {
        return (m + 1) / 2;
    }

    /** Column blocks of the kernel in use. */
    private int colUnits() {
        return (n + BLOCK - 1) / BLOCK;
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
        // split so that what every participant packs whole is the smaller operand: by columns, each packs all
        // of A (m x k) and only its own blocks of B; by rows, each packs all of B (k x n) and only its rows of A.
        // A constant B is packed already, and split by columns each participant streams only its part of it.
        // Rows go in strips of STRIP where there are enough of them, so the packed kernels run on full strips.
        boolean strips = m >= parts * STRIP;
        boolean byRows = colUnits() < parts || (constant == null && m > n && (strips || rowUnits() >= parts));
        int unit = byRows ? (strips ? STRIP : 2) : BLOCK;
        int units = byRows ? (m + unit - 1) / unit : colUnits();
        int u0 = (int) ((long) w * units / parts);
        int u1 = (int) ((long) (w + 1) * units / parts);
        if (byRows) {
            i0 = u0 * unit;
            i1 = Math.min(m, u1 * unit);
        } else {
            j0 = u0 * unit;
            j1 = Math.min(n, u1 * unit);
        }
        broadcasts(i0, i1, j0, j1, w);
    }

    // ---------------------------------------------------------------- NN and TN

    /**
     * NN and TN over chunks of {@link #ROW_CHUNK} rows, and in each over panels of {@link #KC} values of k: a
     * panel of B ({@code KC x BLOCK} floats) stays in the L1/L2 cache while every row block of the chunk passes
     * over it, where a whole column of B (k up to T*B rows for a weight gradient) would be read again from
     * memory for each; and the chunk's rows of C, which every panel of k reads and writes again, stay in the
     * caches too, where all of C (T*B rows of the input projection) would go to memory and back once per panel.
     * C takes the panels' sums in k order, so the order of the sums is the same whoever computes an element.
     */
    private void broadcasts(int i0, int i1, int j0, int j1, int w) {
        for (int r0 = i0; r0 < i1 || r0 == i0; r0 += ROW_CHUNK) {
            int r1 = Math.min(i1, r0 + ROW_CHUNK);
            for (int p0 = 0; p0 < k || p0 == 0; p0 += KC) {
                // the k range of this panel, and the beta it stores with: beta for the first, 1 after
                panel(r0, r1, j0, j1, lanes[w], packA[w], packB[w], p0, Math.min(k, p0 + KC), p0 == 0 ? beta : 1f);
            }
        }
    }

    /**
     * One panel of k: each full block of columns packs its panel of B contiguously (its rows may lie a
     * power of two apart, which would put them in the same cache sets), then each strip of rows packs its
     * part of A k-major, and the 2 x 4-vector kernel runs over the two from L1. The last columns, narrower
     * than a block, take the unpacked kernels; both do the same operations in the same order.
     */
    private void panel(int i0, int i1, int j0, int j1, float[] sums, float[] pa, float[] pb, int k0, int k1,
                       float betaNow) {
        int si = transA ? 1 : lda;
        int sk = transA ? lda : 1;
        int kc = k1 - k0;
        int j = j0;
        // B already packed (a constant) is always worth it: only A's few rows are packed
        boolean packs = (i1 - i0 >= PACK_ROWS || constant != null) && j < j1;
        if (!packs) {
            // too few rows to pay for packing B's block: the kernels read B in place (B's rows are padded
            // where they would fall in the same cache sets)
            for (; j + BLOCK <= j1; j += BLOCK) {
                int i = i0;
                for (; i + 2 <= i1; i += 2) {
                    block2x4(i, j, si, sk, sums, k0, k1, betaNow);
                }
                if (i < i1) {
                    block1x4(i, j, si, sk, sums, k0, k1, betaNow);
                }
            }
        } else if (packs) {
            // A's rows of this participant, packed once per panel: strips of STRIP rows, k-major within each
            for (int s0 = i0; s0 < i1; s0 += STRIP) {
                int rows = Math.min(STRIP, i1 - s0);
                int base = (s0 - i0) * kc;
                if (transA) {
                    // A's column: row q of the stored A holds the strip's rows side by side
                    for (int q = 0; q < kc; q++) {
                        System.arraycopy(a, aOff + s0 + (k0 + q) * lda, pa, base + q * STRIP, rows);
                    }
                } else {
                    for (int r = 0; r < rows; r++) {
                        int at = aOff + (s0 + r) * lda + k0;
                        for (int q = 0; q < kc; q++) {
                            pa[base + q * STRIP + r] = a[at + q];
                        }
                    }
                }
            }
        }
        for (; j + BLOCK <= j1; j += BLOCK) {
            float[] pbNow = panelOfB(pb, j, BLOCK, k0, kc);
            int pbo = panelOffset(j, k0);
            for (int s0 = i0; s0 < i1; s0 += STRIP) {
                int rows = Math.min(STRIP, i1 - s0);
                int base = (s0 - i0) * kc;
                int r = 0;
                if (FOUR_ROWS) {
                    for (; r + 4 <= rows; r += 4) {
                        packed4x4(pa, base + r, pbNow, pbo, kc, cOff + (s0 + r) * ldc + j, betaNow);
                    }
                }
                for (; r + 2 <= rows; r += 2) {
                    packed2x4(pa, base + r, pbNow, pbo, kc, cOff + (s0 + r) * ldc + j, sums, betaNow, BLOCK);
                }
                if (r < rows) {
                    packed1x4(pa, base + r, pbNow, pbo, kc, cOff + (s0 + r) * ldc + j, sums, betaNow, BLOCK);
                }
            }
        }
        if (packs && j < j1) {
            // the last columns, narrower than a block: packed with zeros past them, only they are stored
            int width = j1 - j;
            float[] pbNow = panelOfB(pb, j, width, k0, kc);
            int pbo = panelOffset(j, k0);
            for (int s0 = i0; s0 < i1; s0 += STRIP) {
                int rows = Math.min(STRIP, i1 - s0);
                int base = (s0 - i0) * kc;
                int r = 0;
                for (; r + 2 <= rows; r += 2) {
                    packed2x4(pa, base + r, pbNow, pbo, kc, cOff + (s0 + r) * ldc + j, sums, betaNow, width);
                }
                if (r < rows) {
                    packed1x4(pa, base + r, pbNow, pbo, kc, cOff + (s0 + r) * ldc + j, sums, betaNow, width);
                }
            }
            j = j1;
        }
        for (; j + LANES <= j1; j += LANES) {
            for (int i = i0; i < i1; i++) {
                block1x1(i, j, si, sk, sums, k0, k1, betaNow);
            }
        }
        for (; j < j1; j++) {
            for (int i = i0; i < i1; i++) {
                float acc = 0;
                int ai = aOff + i * si;
                int bq = bOff + k0 * ldb + j;
                for (int q = k0; q < k1; q++, bq += ldb) {
                    acc = Math.fma(a[ai + q * sk], b[bq], acc);
                }
                int at = cOff + i * ldc + j;
                c[at] = betaNow == 0 ? alpha * acc : betaNow * c[at] + alpha * acc;
            }
        }
    }

    /**
     * The panel of B for columns {@code [j, j + width)} and k from {@code k0}: the constant's, packed once,
     * or this call's B copied into {@code pb} ({@code kc} rows of {@link #BLOCK}, zero past {@code width}).
     */
    private float[] panelOfB(float[] pb, int j, int width, int k0, int kc) {
        if (constant != null) {
            return constant.data;
        }
        for (int q = 0; q < kc; q++) {
            System.arraycopy(b, bOff + (k0 + q) * ldb + j, pb, q * BLOCK, width);
            if (width < BLOCK) {
                java.util.Arrays.fill(pb, q * BLOCK + width, (q + 1) * BLOCK, 0f);
            }
        }
        return pb;
    }

    /** Where {@link #panelOfB}'s panel starts in the array it returns. */
    private int panelOffset(int j, int k0) {
        return constant != null ? constant.panel(j / BLOCK, k0 / KC) : 0;
    }

    /** Rows r to r + 3 of the packed strip against the packed panel, into C at {@code at} and the rows after. */
    private void packed4x4(float[] pa, int r, float[] pb, int pbo, int kc, int at, float betaNow) {
        FloatVector c00 = FloatVector.zero(FLOATS);
        FloatVector c01 = c00;
        FloatVector c02 = c00;
        FloatVector c03 = c00;
        FloatVector c10 = c00;
        FloatVector c11 = c00;
        FloatVector c12 = c00;
        FloatVector c13 = c00;
        FloatVector c20 = c00;
        FloatVector c21 = c00;
        FloatVector c22 = c00;
        FloatVector c23 = c00;
        FloatVector c30 = c00;
        FloatVector c31 = c00;
        FloatVector c32 = c00;
        FloatVector c33 = c00;
        for (int q = 0; q < kc; q++) {
            int bq = pbo + q * BLOCK;
            int aq = q * STRIP + r;
            FloatVector b0 = FloatVector.fromArray(FLOATS, pb, bq);
            FloatVector b1 = FloatVector.fromArray(FLOATS, pb, bq + LANES);
            FloatVector b2 = FloatVector.fromArray(FLOATS, pb, bq + 2 * LANES);
            FloatVector b3 = FloatVector.fromArray(FLOATS, pb, bq + 3 * LANES);
            FloatVector x = FloatVector.broadcast(FLOATS, pa[aq]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            c02 = x.fma(b2, c02);
            c03 = x.fma(b3, c03);
            x = FloatVector.broadcast(FLOATS, pa[aq + 1]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            c12 = x.fma(b2, c12);
            c13 = x.fma(b3, c13);
            x = FloatVector.broadcast(FLOATS, pa[aq + 2]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            c22 = x.fma(b2, c22);
            c23 = x.fma(b3, c23);
            x = FloatVector.broadcast(FLOATS, pa[aq + 3]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            c32 = x.fma(b2, c32);
            c33 = x.fma(b3, c33);
        }
        // C = beta C + alpha sum, lane by lane as store computes it (a multiply, a multiply, an add); written
        // out here, not in a helper, whose vector arguments would be boxed where it is not inlined
        FloatVector al = FloatVector.broadcast(FLOATS, alpha);
        int o1 = at + ldc;
        int o2 = o1 + ldc;
        int o3 = o2 + ldc;
        if (betaNow == 0) {
            c00.mul(al).intoArray(c, at);
            c01.mul(al).intoArray(c, at + LANES);
            c02.mul(al).intoArray(c, at + 2 * LANES);
            c03.mul(al).intoArray(c, at + 3 * LANES);
            c10.mul(al).intoArray(c, o1);
            c11.mul(al).intoArray(c, o1 + LANES);
            c12.mul(al).intoArray(c, o1 + 2 * LANES);
            c13.mul(al).intoArray(c, o1 + 3 * LANES);
            c20.mul(al).intoArray(c, o2);
            c21.mul(al).intoArray(c, o2 + LANES);
            c22.mul(al).intoArray(c, o2 + 2 * LANES);
            c23.mul(al).intoArray(c, o2 + 3 * LANES);
            c30.mul(al).intoArray(c, o3);
            c31.mul(al).intoArray(c, o3 + LANES);
            c32.mul(al).intoArray(c, o3 + 2 * LANES);
            c33.mul(al).intoArray(c, o3 + 3 * LANES);
        } else {
            FloatVector be = FloatVector.broadcast(FLOATS, betaNow);
            FloatVector.fromArray(FLOATS, c, at).mul(be).add(c00.mul(al)).intoArray(c, at);
            FloatVector.fromArray(FLOATS, c, at + LANES).mul(be).add(c01.mul(al)).intoArray(c, at + LANES);
            FloatVector.fromArray(FLOATS, c, at + 2 * LANES).mul(be).add(c02.mul(al)).intoArray(c, at + 2 * LANES);
            FloatVector.fromArray(FLOATS, c, at + 3 * LANES).mul(be).add(c03.mul(al)).intoArray(c, at + 3 * LANES);
            FloatVector.fromArray(FLOATS, c, o1).mul(be).add(c10.mul(al)).intoArray(c, o1);
            FloatVector.fromArray(FLOATS, c, o1 + LANES).mul(be).add(c11.mul(al)).intoArray(c, o1 + LANES);
            FloatVector.fromArray(FLOATS, c, o1 + 2 * LANES).mul(be).add(c12.mul(al)).intoArray(c, o1 + 2 * LANES);
            FloatVector.fromArray(FLOATS, c, o1 + 3 * LANES).mul(be).add(c13.mul(al)).intoArray(c, o1 + 3 * LANES);
            FloatVector.fromArray(FLOATS, c, o2).mul(be).add(c20.mul(al)).intoArray(c, o2);
            FloatVector.fromArray(FLOATS, c, o2 + LANES).mul(be).add(c21.mul(al)).intoArray(c, o2 + LANES);
            FloatVector.fromArray(FLOATS, c, o2 + 2 * LANES).mul(be).add(c22.mul(al)).intoArray(c, o2 + 2 * LANES);
            FloatVector.fromArray(FLOATS, c, o2 + 3 * LANES).mul(be).add(c23.mul(al)).intoArray(c, o2 + 3 * LANES);
            FloatVector.fromArray(FLOATS, c, o3).mul(be).add(c30.mul(al)).intoArray(c, o3);
            FloatVector.fromArray(FLOATS, c, o3 + LANES).mul(be).add(c31.mul(al)).intoArray(c, o3 + LANES);
            FloatVector.fromArray(FLOATS, c, o3 + 2 * LANES).mul(be).add(c32.mul(al)).intoArray(c, o3 + 2 * LANES);
            FloatVector.fromArray(FLOATS, c, o3 + 3 * LANES).mul(be).add(c33.mul(al)).intoArray(c, o3 + 3 * LANES);
        }
    }

    /** Rows r and r + 1 of the packed strip against the packed panel, into C at {@code at} and the row after. */
    private void packed2x4(float[] pa, int r, float[] pb, int pbo, int kc, int at, float[] sums, float betaNow, int width) {
        FloatVector c00 = FloatVector.zero(FLOATS);
        FloatVector c01 = c00;
        FloatVector c02 = c00;
        FloatVector c03 = c00;
        FloatVector c10 = c00;
        FloatVector c11 = c00;
        FloatVector c12 = c00;
        FloatVector c13 = c00;
        for (int q = 0; q < kc; q++) {
            int bq = pbo + q * BLOCK;
            FloatVector b0 = FloatVector.fromArray(FLOATS, pb, bq);
            FloatVector b1 = FloatVector.fromArray(FLOATS, pb, bq + LANES);
            FloatVector b2 = FloatVector.fromArray(FLOATS, pb, bq + 2 * LANES);
            FloatVector b3 = FloatVector.fromArray(FLOATS, pb, bq + 3 * LANES);
            FloatVector x0 = FloatVector.broadcast(FLOATS, pa[q * STRIP + r]);
            FloatVector x1 = FloatVector.broadcast(FLOATS, pa[q * STRIP + r + 1]);
            c00 = x0.fma(b0, c00);
            c01 = x0.fma(b1, c01);
            c02 = x0.fma(b2, c02);
            c03 = x0.fma(b3, c03);
            c10 = x1.fma(b0, c10);
            c11 = x1.fma(b1, c11);
            c12 = x1.fma(b2, c12);
            c13 = x1.fma(b3, c13);
        }
        if (width < BLOCK) {
            // the last, narrower columns: through the lane array, of which only they are stored
            c00.intoArray(sums, 0);
            c01.intoArray(sums, LANES);
            c02.intoArray(sums, 2 * LANES);
            c03.intoArray(sums, 3 * LANES);
            c10.intoArray(sums, 4 * LANES);
            c11.intoArray(sums, 5 * LANES);
            c12.intoArray(sums, 6 * LANES);
            c13.intoArray(sums, 7 * LANES);
            store(sums, 0, at, width, betaNow);
            store(sums, BLOCK, at + ldc, width, betaNow);
            return;
        }
        // C = beta C + alpha sum, lane by lane as store computes it (a multiply, a multiply, an add)
        FloatVector al = FloatVector.broadcast(FLOATS, alpha);
        int at1 = at + ldc;
        if (betaNow == 0) {
            c00.mul(al).intoArray(c, at);
            c01.mul(al).intoArray(c, at + LANES);
            c02.mul(al).intoArray(c, at + 2 * LANES);
            c03.mul(al).intoArray(c, at + 3 * LANES);
            c10.mul(al).intoArray(c, at1);
            c11.mul(al).intoArray(c, at1 + LANES);
            c12.mul(al).intoArray(c, at1 + 2 * LANES);
            c13.mul(al).intoArray(c, at1 + 3 * LANES);
        } else {
            FloatVector be = FloatVector.broadcast(FLOATS, betaNow);
            FloatVector.fromArray(FLOATS, c, at).mul(be).add(c00.mul(al)).intoArray(c, at);
            FloatVector.fromArray(FLOATS, c, at + LANES).mul(be).add(c01.mul(al)).intoArray(c, at + LANES);
            FloatVector.fromArray(FLOATS, c, at + 2 * LANES).mul(be).add(c02.mul(al)).intoArray(c, at + 2 * LANES);
            FloatVector.fromArray(FLOATS, c, at + 3 * LANES).mul(be).add(c03.mul(al)).intoArray(c, at + 3 * LANES);
            FloatVector.fromArray(FLOATS, c, at1).mul(be).add(c10.mul(al)).intoArray(c, at1);
            FloatVector.fromArray(FLOATS, c, at1 + LANES).mul(be).add(c11.mul(al)).intoArray(c, at1 + LANES);
            FloatVector.fromArray(FLOATS, c, at1 + 2 * LANES).mul(be).add(c12.mul(al)).intoArray(c, at1 + 2 * LANES);
            FloatVector.fromArray(FLOATS, c, at1 + 3 * LANES).mul(be).add(c13.mul(al)).intoArray(c, at1 + 3 * LANES);
        }
    }

    private void packed1x4(float[] pa, int r, float[] pb, int pbo, int kc, int at, float[] sums, float betaNow, int width) {
        FloatVector c0 = FloatVector.zero(FLOATS);
        FloatVector c1 = c0;
        FloatVector c2 = c0;
        FloatVector c3 = c0;
        for (int q = 0; q < kc; q++) {
            int bq = pbo + q * BLOCK;
            FloatVector x = FloatVector.broadcast(FLOATS, pa[q * STRIP + r]);
            c0 = x.fma(FloatVector.fromArray(FLOATS, pb, bq), c0);
            c1 = x.fma(FloatVector.fromArray(FLOATS, pb, bq + LANES), c1);
            c2 = x.fma(FloatVector.fromArray(FLOATS, pb, bq + 2 * LANES), c2);
            c3 = x.fma(FloatVector.fromArray(FLOATS, pb, bq + 3 * LANES), c3);
        }
        c0.intoArray(sums, 0);
        c1.intoArray(sums, LANES);
        c2.intoArray(sums, 2 * LANES);
        c3.intoArray(sums, 3 * LANES);
        store(sums, 0, at, width, betaNow);
    }

    private void block2x4(int i, int j, int si, int sk, float[] sums, int k0, int k1, float betaNow) {
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
        int bq = bOff + k0 * ldb + j;
        for (int q = k0; q < k1; q++, bq += ldb) {
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
        store(sums, 0, cOff + i * ldc + j, BLOCK, betaNow);
        store(sums, BLOCK, cOff + (i + 1) * ldc + j, BLOCK, betaNow);
    }

    private void block1x4(int i, int j, int si, int sk, float[] sums, int k0, int k1, float betaNow) {
        FloatVector c0 = FloatVector.zero(FLOATS);
        FloatVector c1 = c0;
        FloatVector c2 = c0;
        FloatVector c3 = c0;
        int a0 = aOff + i * si;
        int bq = bOff + k0 * ldb + j;
        for (int q = k0; q < k1; q++, bq += ldb) {
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
        store(sums, 0, cOff + i * ldc + j, BLOCK, betaNow);
    }

    private void block1x1(int i, int j, int si, int sk, float[] sums, int k0, int k1, float betaNow) {
        FloatVector acc = FloatVector.zero(FLOATS);
        int a0 = aOff + i * si;
        int bq = bOff + k0 * ldb + j;
        for (int q = k0; q < k1; q++, bq += ldb) {
            acc = FloatVector.broadcast(FLOATS, a[a0 + q * sk]).fma(FloatVector.fromArray(FLOATS, b, bq), acc);
        }
        acc.intoArray(sums, 0);
        store(sums, 0, cOff + i * ldc + j, LANES, betaNow);
    }

    /**
     * {@code C = alpha sum + beta C} for {@code n} sums from {@code sums[from]} into C at {@code at}, as the
     * scalar edge computes it. The sums go through an array, not a vector argument: a helper taking a
     * vector is not always inlined into the large kernels, and then every vector passed is boxed.
     */
    private void store(float[] sums, int from, int at, int n, float betaNow) {
        for (int l = 0; l < n; l++) {
            c[at + l] = betaNow == 0 ? alpha * sums[from + l] : betaNow * c[at + l] + alpha * sums[from + l];
        }
    }

    @Override
    public void close() {
    }
}
