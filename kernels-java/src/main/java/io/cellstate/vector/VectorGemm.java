package io.cellstate.vector;

import static io.cellstate.vector.VectorConfig.FLOATS;
import static io.cellstate.vector.VectorConfig.LANES;

import io.cellstate.WorkerGroup;
import io.cellstate.cpu.CpuGemm;
import java.lang.foreign.MemorySegment;
import java.util.function.IntConsumer;
import jdk.incubator.vector.FloatVector;

/**
 * {@link CpuGemm} on the Vector API over heap buffers ({@code float[]} behind each segment), NN and TN
 * ({@code B} not transposed), for the training engine's shapes. Over panels of {@link #KC} values of k, a block of
 * four vectors of B's columns is packed contiguously (in {@link Panels}' layout of a weight panel; B's rows may lie
 * a power of two apart, and then in the same cache sets), the participant's rows of op(A) are read in place, and
 * {@link Panels#accumulate}, the forward kernels' micro-kernels (6 rows by 4 vectors with AVX-512's 32 registers, 6
 * rows by 2 with AVX2's 16), adds their product to C. A constant B (a weight matrix) is packed once. TN (a weight
 * gradient) packs op(A) too: with 32 registers as BLIS does, in micro-panels of 6 rows for a kernel of its own
 * ({@link #transposed}); with 16, transposed row by row for the same kernels as NN.
 *
 * <p>Every element of C is {@code beta C} (C, or 0 where beta is 0 and C is not read) plus, in k order, each
 * {@code alpha op(A)[i][q]} (rounded to float) times {@code B[q][j]}, fused: one thread computes it, with the same
 * operations in the same order whatever block, panel of k or thread it falls to (edges included: a lane of a vector
 * FMA and {@link Math#fma} round alike), so the result depends neither on the thread count nor on the blocking.
 * Threads are the plan's {@link WorkerGroup.Team}, each taking a contiguous range of row or column blocks.
 */
final class VectorGemm implements CpuGemm {
    private static final int BLOCK = Panels.PANEL;
    /**
     * Values of k per panel of NN and TN: a packed panel of B is KC x BLOCK floats (64 KiB at 512 bits), in L2. On a
     * Zen 4 the training GEMMs ran 5 to 10% faster than with 128 (half the passes of C) and no faster with 384 or 512.
     */
    private static final int KC = 256;
    /**
     * Floats between the rows of a packed op(A) (NN with an alpha to apply, TN with 16 registers) past KC: where the
     * stride is a power of two, the rows of a chunk written one column at a time (TN) fall in a few cache sets.
     */
    private static final int PITCH = KC + 16;
    /** Fewer rows than this (a step of a small batch) run unpacked: packing B's block would cost more than it saves. */
    private static final int PACK_ROWS = 16;
    /** Rows of a participant's share where rows are split: a multiple of the kernels' 6-row and 4-row blocks. */
    private static final int STRIP = 24;
    /**
     * Rows of C a participant takes through all of k before the next ones (NN): 240 rows of a 2048-wide C are 1.9 MiB,
     * in the L2 or L3 cache, and 240 rows of a panel of A, 240 KiB, in L2. On a Zen 4, chunks of 120 or 480 rows ran
     * no faster. TN's rows pass the blocks of B in chunks of as many.
     */
    private static final int ROW_CHUNK = 10 * STRIP;
    /** Rows of a micro-panel of TN's packed op(A), and of its kernels' blocks. */
    private static final int MR = 6;
    /**
     * Whether TN runs on its micro-panels ({@link #transposed}): with 32 registers (AVX-512). With 16 (AVX2) the
     * micro-panels' kernel of 6 rows by half a block (since removed) ran a Zen 4's weight gradient at
     * 42 GFLOP/s under {@code -XX:UseAVX=2}, where transposing op(A)'s rows for {@link Panels#accumulate} ran at 61 and
     * the NN products at 80 to 97 (cause not found; three forms of the kernel ran alike), so TN transposes there.
     */
    private static final boolean WIDE = VectorConfig.REGISTERS >= 32;
    /**
     * TN's rows of op(A) and columns of B packed at once per panel of k, per participant: up to 3 MiB (3072 rows by
     * KC) and 32 blocks (2 MiB at 512 bits). On a Zen 4, KC of 128 or 512 ran no faster there.
     */
    private static final int TN_ROWS = 128 * STRIP;
    private static final int TN_COLS = 32 * BLOCK;
    /** Multiply-adds a second thread must get before it pays for its wake-up. */
    private static final long MIN_MACS_PER_THREAD = 1 << 16;
    /** The sums' start where beta is 0: a block of zeros. */
    private static final float[] ZEROS = new float[BLOCK];

    private final WorkerGroup.Team team;
    private final int threads;
    private final IntConsumer part = this::part;
    /**
     * Per participant: the packed panel of B ({@code KC x BLOCK}), its rows of op(A) for a panel of k where they are
     * packed (a chunk of {@link #ROW_CHUNK} rows, row by row: TN, or an alpha to apply), and the chunk's rows of C in
     * the last, narrower columns, a block wide.
     */
    private final float[][] packB;
    private final float[][] packA;
    private final float[][] edge;
    /** Per participant: a micro-panel's rows of C where they are fewer than {@link #MR} or narrower than a block (TN). */
    private final float[][] tile;
    /** Per participant: TN's packed micro-panels of op(A) and blocks of B for a panel of k, grown to the largest call's. */
    private final float[][] microA;
    private final float[][] blocksB;
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
        this.packB = new float[this.threads][KC * BLOCK];
        this.packA = new float[this.threads][PITCH * ROW_CHUNK];
        this.edge = new float[this.threads][ROW_CHUNK * BLOCK];
        this.tile = new float[this.threads][MR * BLOCK];
        this.microA = new float[this.threads][0];
        this.blocksB = new float[this.threads][0];
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
        if (beta != 0 && beta != 1) {
            throw new IllegalArgumentException("beta: expected 0 or 1, got " + beta);
        }
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
     * columns (the last padded with zero columns), all of k's rows contiguous, so a panel of {@link #KC} values
     * of k is the slice of its rows, and all of k one panel. A step's GEMM against a constant weight matrix then
     * reads it without copying it.
     */
    static final class Packed implements Constant {
        final float[] data;
        /** {@link #data} as the segment the GEMM's fields take, made once: a call allocates nothing. */
        final MemorySegment segment;
        final int k;
        final int n;

        Packed(float[] b, int bOff, int ldb, int k, int n) {
            this.k = k;
            this.n = n;
            int blocks = (n + BLOCK - 1) / BLOCK;
            this.data = new float[Math.multiplyExact(Math.multiplyExact(blocks, Math.max(1, k)), BLOCK)];
            this.segment = MemorySegment.ofArray(data);
            for (int jb = 0; jb < blocks; jb++) {
                int width = Math.min(BLOCK, n - jb * BLOCK);
                for (int q = 0; q < k; q++) {
                    System.arraycopy(b, bOff + q * ldb + jb * BLOCK, data, panel(jb, q), width);
                }
            }
        }

        /** Where row {@code q} of column block {@code jb} starts (and with it the panel of k from q). */
        int panel(int jb, int q) {
            return (jb * Math.max(1, k) + q) * BLOCK;
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
        // A constant B is packed already: split by columns, each participant streams only its part of it (a step's
        // few rows); split by rows, each reads only its rows of A, the larger operand of a product over every
        // step's rows (by columns, two threads read all of a 52 MB dG each, from memory).
        // Rows go in strips of STRIP where there are enough of them, so the packed kernels run on full strips.
        boolean strips = m >= parts * STRIP;
        boolean byRows = colUnits() < parts || (m > n && (strips || rowUnits() >= parts));
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
        chunks(i0, i1, j0, j1, w);
    }

    // ---------------------------------------------------------------- NN and TN

    /**
     * NN (and TN of fewer rows than {@link #PACK_ROWS}; more go to {@link #transposed}) over chunks of
     * {@link #ROW_CHUNK} rows, and in each over panels of {@link #KC} values of k: a
     * panel of B ({@code KC x BLOCK} floats) stays in the L1/L2 cache while every row block of the chunk passes
     * over it, where a whole column of B (k up to T*B rows for a weight gradient) would be read again from
     * memory for each; and the chunk's rows of C, which every panel of k reads and writes again, stay in the
     * caches too, where all of C (T*B rows of the input projection) would go to memory and back once per panel.
     * C is the sum itself: each panel adds its products to what the one before left, in k order.
     */
    private void chunks(int i0, int i1, int j0, int j1, int w) {
        if (transA && WIDE && i1 - i0 >= PACK_ROWS) {
            transposed(i0, i1, j0, j1, w);
            return;
        }
        for (int r0 = i0; r0 < i1 || r0 == i0; r0 += ROW_CHUNK) {
            int r1 = Math.min(i1, r0 + ROW_CHUNK);
            // a constant's panels of k lie one after another, so its k is taken whole where A is read in place
            int kc = constant != null && alpha == 1 ? Math.max(k, 1) : KC;
            for (int p0 = 0; p0 < k || p0 == 0; p0 += kc) {
                // the first panel starts from C (beta 1) or from 0 (beta 0: C is not read), the next from C
                panel(r0, r1, j0, j1, w, p0, Math.min(k, p0 + kc), p0 > 0 || beta != 0);
            }
        }
    }

    /**
     * One panel of k over rows {@code [i0, i1)}: the rows of op(A) are read in place, or packed row by row with an
     * alpha to apply, each block of columns of B is packed contiguously (its rows may lie a power of two apart,
     * which would put them in the same cache sets) unless it is a constant's, and {@link Panels#accumulate} runs the
     * two from the caches. The last columns, narrower than a block, are staged a block wide. With too few rows to
     * pay for packing B, the kernels below read A and B in place; every path does the same operations in the same
     * order.
     */
    private void panel(int i0, int i1, int j0, int j1, int w, int k0, int k1, boolean load) {
        int kc = k1 - k0;
        int rows = i1 - i0;
        if (rows < PACK_ROWS && constant == null) {
            unpacked(i0, i1, j0, j1, k0, k1, load);
            return;
        }
        // op(A)'s rows: in place, or packed (TN with 16 registers: A's columns; or with alpha to apply)
        float[] pa = a;
        int pao = aOff + i0 * lda + k0;
        int pas = lda;
        if (transA || alpha != 1) {
            pa = packA[w];
            pao = 0;
            pas = PITCH;
            packRows(pa, i0, i1, k0, kc);
        }
        float[] start = load ? null : ZEROS;
        int j = j0;
        for (; j + BLOCK <= j1; j += BLOCK) {
            Panels.accumulate(pa, pao, pas, rows, kc, panelOfB(packB[w], j, BLOCK, k0, kc), panelOffset(j, k0), c,
                    cOff + i0 * ldc + j, ldc, start);
        }
        if (j < j1) {
            // the last columns, narrower than a block: their rows of C staged a block wide, only they stored back
            int width = j1 - j;
            float[] e = edge[w];
            if (load) {
                for (int r = 0; r < rows; r++) {
                    System.arraycopy(c, cOff + (i0 + r) * ldc + j, e, r * BLOCK, width);
                }
            }
            Panels.accumulate(pa, pao, pas, rows, kc, panelOfB(packB[w], j, width, k0, kc), panelOffset(j, k0), e, 0,
                    BLOCK, start);
            for (int r = 0; r < rows; r++) {
                System.arraycopy(e, r * BLOCK, c, cOff + (i0 + r) * ldc + j, width);
            }
        }
    }

    /**
     * TN over rows {@code [i0, i1)}. op(A)'s rows are A's columns, so a row of the stored A (a weight gradient's dG:
     * a step's row of all gates) holds a value of each. Read a chunk of columns at a time, as NN's rows are, A's rows
     * are visited a few hundred floats at a time, each a page or more from the last: on a Zen 4 packing them took a
     * quarter of a weight gradient's time. So, per panel of {@link #KC} values of k, the participant's rows of op(A)
     * (up to {@link #TN_ROWS}) are packed whole, reading A's rows from end to end, as BLIS packs A: in micro-panels of
     * {@link #MR} rows, k-major (a value of k of the six rows, then the next), one stream for the kernel to broadcast
     * from; and its columns of B (up to {@link #TN_COLS}) once, in blocks. Then each chunk of {@link #ROW_CHUNK} rows
     * passes every block of B, each micro-panel of the chunk against the block in the caches.
     */
    private void transposed(int i0, int i1, int j0, int j1, int w) {
        for (int a0 = i0; a0 < i1; a0 += TN_ROWS) {
            int a1 = Math.min(i1, a0 + TN_ROWS);
            for (int k0 = 0; k0 < k || k0 == 0; k0 += KC) {
                int kc = Math.min(k, k0 + KC) - k0;
                // the first panel starts from C (beta 1) or from 0 (beta 0: C is not read), the next from C
                boolean load = k0 > 0 || beta != 0;
                float[] pa = microPanels(w, a0, a1, k0, kc);
                for (int b0 = j0; b0 < j1; b0 += TN_COLS) {
                    int b1 = Math.min(j1, b0 + TN_COLS);
                    float[] pb = columnBlocks(w, b0, b1, k0, kc);
                    for (int r0 = a0; r0 < a1; r0 += ROW_CHUNK) {
                        int r1 = Math.min(a1, r0 + ROW_CHUNK);
                        for (int j = b0; j < b1; j += BLOCK) {
                            microRows(pa, (r0 - a0) * kc, r0, r1, kc, pb, (j - b0) * kc, j, Math.min(BLOCK, b1 - j),
                                    load, tile[w]);
                        }
                    }
                }
            }
        }
    }

    /**
     * Rows {@code [r0, r1)} of C, columns {@code [j, j + width)}: each micro-panel of packed op(A) ({@code pa} from
     * {@code ao}) by the block of B at {@code pb[bo]}. A micro-panel of fewer rows, or a block narrower than
     * {@link #BLOCK}, runs on its rows of C staged in {@code t}, a block wide; only they are stored back.
     */
    private void microRows(float[] pa, int ao, int r0, int r1, int kc, float[] pb, int bo, int j, int width,
                           boolean load, float[] t) {
        for (int r = r0; r < r1; r += MR, ao += MR * kc) {
            int n = Math.min(MR, r1 - r);
            int at = cOff + r * ldc + j;
            if (n == MR && width == BLOCK) {
                for (int x = 0; !load && x < MR; x++) {
                    System.arraycopy(ZEROS, 0, c, at + x * ldc, BLOCK);
                }
                gemm6k(pa, ao, kc, pb, bo, c, at, ldc);
            } else {
                java.util.Arrays.fill(t, 0f);
                for (int x = 0; load && x < n; x++) {
                    System.arraycopy(c, at + x * ldc, t, x * BLOCK, width);
                }
                gemm6k(pa, ao, kc, pb, bo, t, 0, BLOCK);
                for (int x = 0; x < n; x++) {
                    System.arraycopy(t, x * BLOCK, c, at + x * ldc, width);
                }
            }
        }
    }

    /**
     * Columns {@code [i0, i1)} of A (op(A)'s rows), values {@code [k0, k0 + kc)} of k, times alpha, packed in
     * participant {@code w}'s buffer in micro-panels of {@link #MR} rows: {@code [mp * MR * kc + q * MR + r]} is row
     * {@code i0 + mp * MR + r} at {@code k0 + q}; the last micro-panel's missing rows are 0.
     */
    private float[] microPanels(int w, int i0, int i1, int k0, int kc) {
        int full = (i1 - i0) / MR;
        int rest = i1 - i0 - full * MR;
        float[] pa = grown(microA, w, (full + 1) * MR * kc);
        for (int q = 0; q < kc; q++) {
            int at = aOff + (k0 + q) * lda + i0;
            int to = q * MR;
            for (int mp = 0; mp < full; mp++, at += MR, to += MR * kc) {
                pa[to] = alpha * a[at];
                pa[to + 1] = alpha * a[at + 1];
                pa[to + 2] = alpha * a[at + 2];
                pa[to + 3] = alpha * a[at + 3];
                pa[to + 4] = alpha * a[at + 4];
                pa[to + 5] = alpha * a[at + 5];
            }
            for (int r = 0; rest > 0 && r < MR; r++) {
                pa[to + r] = r < rest ? alpha * a[at + r] : 0f;
            }
        }
        return pa;
    }

    /**
     * B's columns {@code [j0, j1)}, values {@code [k0, k0 + kc)} of k, packed in participant {@code w}'s buffer in
     * blocks of {@link #BLOCK} columns, each block's kc rows contiguous (the last block padded with zero columns).
     */
    private float[] columnBlocks(int w, int j0, int j1, int k0, int kc) {
        int blocks = (j1 - j0 + BLOCK - 1) / BLOCK;
        float[] pb = grown(blocksB, w, blocks * kc * BLOCK);
        int whole = (j1 - j0) / BLOCK;
        for (int q = 0; q < kc; q++) {
            int at = bOff + (k0 + q) * ldb + j0;
            int to = q * BLOCK;
            for (int jb = 0; jb < whole; jb++, at += BLOCK, to += kc * BLOCK) {
                FloatVector.fromArray(FLOATS, b, at).intoArray(pb, to);
                FloatVector.fromArray(FLOATS, b, at + LANES).intoArray(pb, to + LANES);
                FloatVector.fromArray(FLOATS, b, at + 2 * LANES).intoArray(pb, to + 2 * LANES);
                FloatVector.fromArray(FLOATS, b, at + 3 * LANES).intoArray(pb, to + 3 * LANES);
            }
            if (whole < blocks) {
                int width = j1 - j0 - whole * BLOCK;
                System.arraycopy(b, at, pb, to, width);
                java.util.Arrays.fill(pb, to + width, to + BLOCK, 0f);
            }
        }
        return pb;
    }

    /** Participant {@code w}'s buffer of {@code buffers}, made to hold {@code floats} floats. */
    private static float[] grown(float[][] buffers, int w, int floats) {
        if (buffers[w].length < floats) {
            buffers[w] = new float[floats];
        }
        return buffers[w];
    }

    /** Rows {@code [i0, i1)} of op(A), values {@code [k0, k0 + kc)} of k, times alpha, into {@code pa} row by row. */
    private void packRows(float[] pa, int i0, int i1, int k0, int kc) {
        if (transA) {
            // op(A)'s rows are A's columns: row q of the stored A holds a value of each, side by side
            for (int q = 0; q < kc; q++) {
                int at = aOff + (k0 + q) * lda;
                for (int i = i0; i < i1; i++) {
                    pa[(i - i0) * PITCH + q] = alpha * a[at + i];
                }
            }
            return;
        }
        for (int i = i0; i < i1; i++) {
            int at = aOff + i * lda + k0;
            int to = (i - i0) * PITCH;
            if (alpha == 1) {
                System.arraycopy(a, at, pa, to, kc);
            } else {
                for (int q = 0; q < kc; q++) {
                    pa[to + q] = alpha * a[at + q];
                }
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
        return constant != null ? constant.panel(j / BLOCK, k0) : 0;
    }

    /**
     * A panel of k for a few rows (a step of a small batch, a bias gradient's one row) and B in place: blocks of two
     * rows and four vectors, one row, one vector, then single columns, each sum as {@link Panels#accumulate} makes
     * it (C or 0, then alpha times A's element by B's, fused, in k order).
     */
    private void unpacked(int i0, int i1, int j0, int j1, int k0, int k1, boolean load) {
        int si = transA ? 1 : lda;
        int sk = transA ? lda : 1;
        int j = j0;
        for (; j + BLOCK <= j1; j += BLOCK) {
            int i = i0;
            for (; i + 2 <= i1; i += 2) {
                block2x4(i, j, si, sk, k0, k1, load);
            }
            if (i < i1) {
                block1x4(i, j, si, sk, k0, k1, load);
            }
        }
        for (; j + LANES <= j1; j += LANES) {
            for (int i = i0; i < i1; i++) {
                block1x1(i, j, si, sk, k0, k1, load);
            }
        }
        for (; j < j1; j++) {
            for (int i = i0; i < i1; i++) {
                int at = cOff + i * ldc + j;
                float acc = load ? c[at] : 0f;
                int ai = aOff + i * si;
                int bq = bOff + k0 * ldb + j;
                for (int q = k0; q < k1; q++, bq += ldb) {
                    acc = Math.fma(alpha * a[ai + q * sk], b[bq], acc);
                }
                c[at] = acc;
            }
        }
    }

    private void block2x4(int i, int j, int si, int sk, int k0, int k1, boolean load) {
        int o0 = cOff + i * ldc + j;
        int o1 = o0 + ldc;
        // C's rows, or a block of zeros for both
        float[] s = load ? c : ZEROS;
        int s0 = load ? o0 : 0;
        int s1 = load ? o1 : 0;
        FloatVector c00 = FloatVector.fromArray(FLOATS, s, s0);
        FloatVector c01 = FloatVector.fromArray(FLOATS, s, s0 + LANES);
        FloatVector c02 = FloatVector.fromArray(FLOATS, s, s0 + 2 * LANES);
        FloatVector c03 = FloatVector.fromArray(FLOATS, s, s0 + 3 * LANES);
        FloatVector c10 = FloatVector.fromArray(FLOATS, s, s1);
        FloatVector c11 = FloatVector.fromArray(FLOATS, s, s1 + LANES);
        FloatVector c12 = FloatVector.fromArray(FLOATS, s, s1 + 2 * LANES);
        FloatVector c13 = FloatVector.fromArray(FLOATS, s, s1 + 3 * LANES);
        int a0 = aOff + i * si;
        int a1 = a0 + si;
        int bq = bOff + k0 * ldb + j;
        for (int q = k0; q < k1; q++, bq += ldb) {
            FloatVector b0 = FloatVector.fromArray(FLOATS, b, bq);
            FloatVector b1 = FloatVector.fromArray(FLOATS, b, bq + LANES);
            FloatVector b2 = FloatVector.fromArray(FLOATS, b, bq + 2 * LANES);
            FloatVector b3 = FloatVector.fromArray(FLOATS, b, bq + 3 * LANES);
            FloatVector x0 = FloatVector.broadcast(FLOATS, alpha * a[a0 + q * sk]);
            FloatVector x1 = FloatVector.broadcast(FLOATS, alpha * a[a1 + q * sk]);
            c00 = b0.fma(x0, c00);
            c01 = b1.fma(x0, c01);
            c02 = b2.fma(x0, c02);
            c03 = b3.fma(x0, c03);
            c10 = b0.fma(x1, c10);
            c11 = b1.fma(x1, c11);
            c12 = b2.fma(x1, c12);
            c13 = b3.fma(x1, c13);
        }
        c00.intoArray(c, o0);
        c01.intoArray(c, o0 + LANES);
        c02.intoArray(c, o0 + 2 * LANES);
        c03.intoArray(c, o0 + 3 * LANES);
        c10.intoArray(c, o1);
        c11.intoArray(c, o1 + LANES);
        c12.intoArray(c, o1 + 2 * LANES);
        c13.intoArray(c, o1 + 3 * LANES);
    }

    private void block1x4(int i, int j, int si, int sk, int k0, int k1, boolean load) {
        int o0 = cOff + i * ldc + j;
        float[] s = load ? c : ZEROS;
        int s0 = load ? o0 : 0;
        FloatVector c0 = FloatVector.fromArray(FLOATS, s, s0);
        FloatVector c1 = FloatVector.fromArray(FLOATS, s, s0 + LANES);
        FloatVector c2 = FloatVector.fromArray(FLOATS, s, s0 + 2 * LANES);
        FloatVector c3 = FloatVector.fromArray(FLOATS, s, s0 + 3 * LANES);
        int a0 = aOff + i * si;
        int bq = bOff + k0 * ldb + j;
        for (int q = k0; q < k1; q++, bq += ldb) {
            FloatVector x = FloatVector.broadcast(FLOATS, alpha * a[a0 + q * sk]);
            c0 = FloatVector.fromArray(FLOATS, b, bq).fma(x, c0);
            c1 = FloatVector.fromArray(FLOATS, b, bq + LANES).fma(x, c1);
            c2 = FloatVector.fromArray(FLOATS, b, bq + 2 * LANES).fma(x, c2);
            c3 = FloatVector.fromArray(FLOATS, b, bq + 3 * LANES).fma(x, c3);
        }
        c0.intoArray(c, o0);
        c1.intoArray(c, o0 + LANES);
        c2.intoArray(c, o0 + 2 * LANES);
        c3.intoArray(c, o0 + 3 * LANES);
    }

    private void block1x1(int i, int j, int si, int sk, int k0, int k1, boolean load) {
        int o0 = cOff + i * ldc + j;
        FloatVector acc = load ? FloatVector.fromArray(FLOATS, c, o0) : FloatVector.zero(FLOATS);
        int a0 = aOff + i * si;
        int bq = bOff + k0 * ldb + j;
        for (int q = k0; q < k1; q++, bq += ldb) {
            acc = FloatVector.fromArray(FLOATS, b, bq).fma(FloatVector.broadcast(FLOATS, alpha * a[a0 + q * sk]), acc);
        }
        acc.intoArray(c, o0);
    }

    /**
     * Six rows of packed op(A) ({@code a[ao + q * MR + r]}, k-major) by a block of four vectors of packed B, added to
     * C's rows: 24 sums, 4 vectors of B and a broadcast live, as in {@link Panels}' 6-row kernel, whose op(A) is read
     * row by row instead.
     */
    private static void gemm6k(float[] a, int ao, int k, float[] w, int wo, float[] out, int oo, int os) {
        FloatVector c00 = FloatVector.fromArray(FLOATS, out, oo);
        FloatVector c01 = FloatVector.fromArray(FLOATS, out, oo + LANES);
        FloatVector c02 = FloatVector.fromArray(FLOATS, out, oo + 2 * LANES);
        FloatVector c03 = FloatVector.fromArray(FLOATS, out, oo + 3 * LANES);
        FloatVector c10 = FloatVector.fromArray(FLOATS, out, oo + os);
        FloatVector c11 = FloatVector.fromArray(FLOATS, out, oo + os + LANES);
        FloatVector c12 = FloatVector.fromArray(FLOATS, out, oo + os + 2 * LANES);
        FloatVector c13 = FloatVector.fromArray(FLOATS, out, oo + os + 3 * LANES);
        FloatVector c20 = FloatVector.fromArray(FLOATS, out, oo + 2 * os);
        FloatVector c21 = FloatVector.fromArray(FLOATS, out, oo + 2 * os + LANES);
        FloatVector c22 = FloatVector.fromArray(FLOATS, out, oo + 2 * os + 2 * LANES);
        FloatVector c23 = FloatVector.fromArray(FLOATS, out, oo + 2 * os + 3 * LANES);
        FloatVector c30 = FloatVector.fromArray(FLOATS, out, oo + 3 * os);
        FloatVector c31 = FloatVector.fromArray(FLOATS, out, oo + 3 * os + LANES);
        FloatVector c32 = FloatVector.fromArray(FLOATS, out, oo + 3 * os + 2 * LANES);
        FloatVector c33 = FloatVector.fromArray(FLOATS, out, oo + 3 * os + 3 * LANES);
        FloatVector c40 = FloatVector.fromArray(FLOATS, out, oo + 4 * os);
        FloatVector c41 = FloatVector.fromArray(FLOATS, out, oo + 4 * os + LANES);
        FloatVector c42 = FloatVector.fromArray(FLOATS, out, oo + 4 * os + 2 * LANES);
        FloatVector c43 = FloatVector.fromArray(FLOATS, out, oo + 4 * os + 3 * LANES);
        FloatVector c50 = FloatVector.fromArray(FLOATS, out, oo + 5 * os);
        FloatVector c51 = FloatVector.fromArray(FLOATS, out, oo + 5 * os + LANES);
        FloatVector c52 = FloatVector.fromArray(FLOATS, out, oo + 5 * os + 2 * LANES);
        FloatVector c53 = FloatVector.fromArray(FLOATS, out, oo + 5 * os + 3 * LANES);
        for (int kk = 0; kk < k; kk++) {
            int p = wo + kk * BLOCK;
            int q = ao + kk * MR;
            FloatVector w0 = FloatVector.fromArray(FLOATS, w, p);
            FloatVector w1 = FloatVector.fromArray(FLOATS, w, p + LANES);
            FloatVector w2 = FloatVector.fromArray(FLOATS, w, p + 2 * LANES);
            FloatVector w3 = FloatVector.fromArray(FLOATS, w, p + 3 * LANES);
            FloatVector x = FloatVector.broadcast(FLOATS, a[q]);
            c00 = w0.fma(x, c00);
            c01 = w1.fma(x, c01);
            c02 = w2.fma(x, c02);
            c03 = w3.fma(x, c03);
            x = FloatVector.broadcast(FLOATS, a[q + 1]);
            c10 = w0.fma(x, c10);
            c11 = w1.fma(x, c11);
            c12 = w2.fma(x, c12);
            c13 = w3.fma(x, c13);
            x = FloatVector.broadcast(FLOATS, a[q + 2]);
            c20 = w0.fma(x, c20);
            c21 = w1.fma(x, c21);
            c22 = w2.fma(x, c22);
            c23 = w3.fma(x, c23);
            x = FloatVector.broadcast(FLOATS, a[q + 3]);
            c30 = w0.fma(x, c30);
            c31 = w1.fma(x, c31);
            c32 = w2.fma(x, c32);
            c33 = w3.fma(x, c33);
            x = FloatVector.broadcast(FLOATS, a[q + 4]);
            c40 = w0.fma(x, c40);
            c41 = w1.fma(x, c41);
            c42 = w2.fma(x, c42);
            c43 = w3.fma(x, c43);
            x = FloatVector.broadcast(FLOATS, a[q + 5]);
            c50 = w0.fma(x, c50);
            c51 = w1.fma(x, c51);
            c52 = w2.fma(x, c52);
            c53 = w3.fma(x, c53);
        }
        c00.intoArray(out, oo);
        c01.intoArray(out, oo + LANES);
        c02.intoArray(out, oo + 2 * LANES);
        c03.intoArray(out, oo + 3 * LANES);
        c10.intoArray(out, oo + os);
        c11.intoArray(out, oo + os + LANES);
        c12.intoArray(out, oo + os + 2 * LANES);
        c13.intoArray(out, oo + os + 3 * LANES);
        c20.intoArray(out, oo + 2 * os);
        c21.intoArray(out, oo + 2 * os + LANES);
        c22.intoArray(out, oo + 2 * os + 2 * LANES);
        c23.intoArray(out, oo + 2 * os + 3 * LANES);
        c30.intoArray(out, oo + 3 * os);
        c31.intoArray(out, oo + 3 * os + LANES);
        c32.intoArray(out, oo + 3 * os + 2 * LANES);
        c33.intoArray(out, oo + 3 * os + 3 * LANES);
        c40.intoArray(out, oo + 4 * os);
        c41.intoArray(out, oo + 4 * os + LANES);
        c42.intoArray(out, oo + 4 * os + 2 * LANES);
        c43.intoArray(out, oo + 4 * os + 3 * LANES);
        c50.intoArray(out, oo + 5 * os);
        c51.intoArray(out, oo + 5 * os + LANES);
        c52.intoArray(out, oo + 5 * os + 2 * LANES);
        c53.intoArray(out, oo + 5 * os + 3 * LANES);
    }

    /** Holds the team's helpers awake for the training call: it runs a GEMM per step with the pointwise part between. */
    @Override
    public void beginCall() {
        if (team != null && threads > 1) {
            team.hold();
        }
    }

    @Override
    public void endCall() {
        if (team != null) {
            team.release();
        }
    }

    @Override
    public void close() {
        endCall();
    }
}
