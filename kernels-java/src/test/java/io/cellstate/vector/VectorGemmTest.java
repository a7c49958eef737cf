package io.cellstate.vector;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cellstate.WorkerGroup;
import io.cellstate.cpu.CpuGemm;
import io.cellstate.cpu.ReferenceGemm;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link VectorGemm} against {@link ReferenceGemm} in the two shapes the training engine uses (NN and
 * TN), over awkward sizes, offsets and leading dimensions wider than the matrices, with beta 0 (C not
 * read: it starts as NaN) and 1. Both sum each element in float32 in k order, one with FMA, one without,
 * so they differ by at most the deterministic bound gamma_k = k u / (1 - k u) of the sum of |a b|. With
 * 1 and 3 threads the results are bitwise the same.
 */
class VectorGemmTest {
    private static final int[] SIZES = {1, 2, 3, 7, 8, 15, 16, 17, 33, 64};

    @Test
    void matchesTheReferenceAndIgnoresThreads() {
        SplittableRandom r = new SplittableRandom(11);
        try (WorkerGroup group = WorkerGroup.create(3)) {
            CpuGemm one = new VectorGemm(group.team(), 1);
            CpuGemm three = new VectorGemm(group.team(), 3);
            CpuGemm ref = new ReferenceGemm();
            int checked = 0;
            for (int shape = 0; shape < 2; shape++) {
                boolean transA = shape == 1;
                for (int trial = 0; trial < 90; trial++) {
                    int m = SIZES[r.nextInt(SIZES.length)] * (trial % 7 == 0 ? 5 : 1);
                    int n = SIZES[r.nextInt(SIZES.length)];
                    int k = SIZES[r.nextInt(SIZES.length)] * (trial % 5 == 0 ? 9 : 1);
                    check(r, ref, one, three, transA, m, n, k);
                    checked++;
                }
            }
            assertTrue(checked == 180);
        }
    }

    /**
     * Rows past {@code ROW_CHUNK} (256) and enough of them for a split by rows: the participants take strips of
     * rows, each chunk of rows runs through all of k, and the result is still the one-thread result bit for bit.
     */
    @Test
    void tallProductsSplitByRowsAndChunked() {
        SplittableRandom r = new SplittableRandom(12);
        try (WorkerGroup group = WorkerGroup.create(3)) {
            CpuGemm one = new VectorGemm(group.team(), 1);
            CpuGemm three = new VectorGemm(group.team(), 3);
            CpuGemm ref = new ReferenceGemm();
            for (boolean transA : new boolean[] {false, true}) {
                check(r, ref, one, three, transA, 600, 70, 300);
                check(r, ref, one, three, transA, 515, 17, 129);
                check(r, ref, one, three, transA, 257, 130, 40);
            }
        }
    }

    /**
     * An alpha other than 1 scales each element of op(A) before its product (packed or read in place, NN and TN), within
     * the same bound of the reference; a beta other than 0 or 1 is refused before C is touched.
     */
    @Test
    void alphaScalesTheProductAndBetaIsZeroOrOne() {
        SplittableRandom r = new SplittableRandom(13);
        try (WorkerGroup group = WorkerGroup.create(3)) {
            CpuGemm one = new VectorGemm(group.team(), 1);
            CpuGemm three = new VectorGemm(group.team(), 3);
            CpuGemm ref = new ReferenceGemm();
            for (boolean transA : new boolean[] {false, true}) {
                for (float alpha : new float[] {0.5f, -3f}) {
                    check(r, ref, one, three, transA, 40, 70, 300, alpha);
                    check(r, ref, one, three, transA, 3, 130, 17, alpha);
                }
            }
            MemorySegment a = copy(one, random(r, 4));
            float[] c0 = random(r, 4);
            MemorySegment c = copy(one, c0);
            IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                    () -> one.gemm(false, 2, 2, 2, 1f, a, 0, 2, a, 0, 2, 0.5f, c, 0, 2));
            assertTrue(e.getMessage().contains("beta") && e.getMessage().contains("0.5"), e.getMessage());
            assertArrayEquals(c0, c.toArray(ValueLayout.JAVA_FLOAT), "C changed by a refused call");
        }
    }

    private static void check(SplittableRandom r, CpuGemm ref, CpuGemm one, CpuGemm three, boolean transA, int m, int n,
                              int k) {
        check(r, ref, one, three, transA, m, n, k, 1f);
    }

    /** One product with a random beta, padding and offsets: 1 and 3 threads alike, both within the bound of the reference. */
    private static void check(SplittableRandom r, CpuGemm ref, CpuGemm one, CpuGemm three, boolean transA, int m, int n,
                              int k, float alpha) {
        float beta = r.nextBoolean() ? 0f : 1f;
        int pad = r.nextInt(3);
        int lda = (transA ? m : k) + pad;
        int ldb = n + pad;
        int ldc = n + pad;
        long aOff = r.nextInt(4);
        long bOff = r.nextInt(4);
        long cOff = r.nextInt(4);
        int aRows = transA ? k : m;
        int bRows = k;
        float[] a = random(r, (int) aOff + aRows * lda);
        float[] b = random(r, (int) bOff + bRows * ldb);
        float[] c = beta == 0 ? nan((int) cOff + m * ldc) : random(r, (int) cOff + m * ldc);
        float[][] out = new float[3][];
        CpuGemm[] gemms = {ref, one, three};
        for (int g = 0; g < 3; g++) {
            MemorySegment as = copy(gemms[g], a);
            MemorySegment bs = copy(gemms[g], b);
            MemorySegment cs = copy(gemms[g], c);
            gemms[g].gemm(transA, m, n, k, alpha, as, aOff, lda, bs, bOff, ldb, beta, cs, cOff, ldc);
            out[g] = cs.toArray(ValueLayout.JAVA_FLOAT);
        }
        String what = (transA ? "TN" : "NN") + " m=" + m + " n=" + n + " k=" + k
                + " alpha=" + alpha + " beta=" + beta + " pad=" + pad;
        assertArrayEquals(out[1], out[2], what + ": 1 and 3 threads differ");
        double bound = k * 0x1p-24 / (1 - k * 0x1p-24) + 0x1p-24;
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double size = beta == 0 ? 0 : Math.abs(c[(int) cOff + i * ldc + j]);
                for (int q = 0; q < k; q++) {
                    float x = a[(int) aOff + (transA ? q * lda + i : i * lda + q)];
                    float y = b[(int) bOff + q * ldb + j];
                    size += Math.abs((double) alpha * x * y);
                }
                int at = (int) cOff + i * ldc + j;
                double diff = Math.abs((double) out[0][at] - out[1][at]);
                assertTrue(diff <= 2 * bound * size, what + ": C[" + i + ", " + j + "] " + out[1][at]
                        + ", reference " + out[0][at]);
            }
        }
        for (int i = 0; i < c.length; i++) {
            boolean inC = i >= cOff && (i - cOff) % ldc < n && (i - cOff) / ldc < m;
            assertTrue(inC || Float.floatToRawIntBits(out[1][i]) == Float.floatToRawIntBits(c[i]),
                    what + ": wrote outside C at " + i);
        }
    }

    /**
     * TN packs op(A) in micro-panels and B in blocks per panel of k, a few thousand rows and columns at a time; NN
     * reads op(A) in place. Both sum each element alike, so TN on A gives, bit for bit, what NN gives on A
     * transposed: over sizes past one packing's rows (3072) and columns (2048 at 512 bits), past one panel of k, with
     * a last micro-panel of fewer than six rows and a last block of fewer columns, with 1 and 3 threads.
     */
    @Test
    void transposedIsTheProductOfTheTransposeBitForBit() {
        SplittableRandom r = new SplittableRandom(14);
        int[][] shapes = {{3100, 70, 300}, {40, 2100, 260}, {17, 33, 1}, {601, 130, 513}};
        try (WorkerGroup group = WorkerGroup.create(3)) {
            for (int threads : new int[] {1, 3}) {
                CpuGemm g = new VectorGemm(group.team(), threads);
                for (int[] shape : shapes) {
                    int m = shape[0];
                    int n = shape[1];
                    int k = shape[2];
                    float beta = r.nextBoolean() ? 0f : 1f;
                    float alpha = r.nextBoolean() ? 1f : -0.5f;
                    float[] a = random(r, k * m);
                    float[] at = new float[m * k];
                    for (int q = 0; q < k; q++) {
                        for (int i = 0; i < m; i++) {
                            at[i * k + q] = a[q * m + i];
                        }
                    }
                    MemorySegment b = copy(g, random(r, k * n));
                    float[] c0 = beta == 0 ? nan(m * n) : random(r, m * n);
                    MemorySegment tn = copy(g, c0);
                    MemorySegment nn = copy(g, c0);
                    g.gemm(true, m, n, k, alpha, copy(g, a), 0, m, b, 0, n, beta, tn, 0, n);
                    g.gemm(false, m, n, k, alpha, copy(g, at), 0, k, b, 0, n, beta, nn, 0, n);
                    assertArrayEquals(nn.toArray(ValueLayout.JAVA_FLOAT), tn.toArray(ValueLayout.JAVA_FLOAT),
                            "m=" + m + " n=" + n + " k=" + k + " alpha=" + alpha + " beta=" + beta + " threads=" + threads);
                }
            }
        }
    }

    /**
     * A constant B (a weight matrix, packed once) gives C bit for bit as B read where it lies, for any
     * number of rows (below the size where an ordinary call packs B too) and threads; B may be given again
     * after it changes.
     */
    @Test
    void aConstantBIsTheSameAsBInPlace() {
        SplittableRandom r = new SplittableRandom(5);
        int[] ks = {1, 7, 64, 127, 128, 129, 300};
        int[] ns = {1, 5, 16, 63, 64, 65, 130, 257};
        try (WorkerGroup group = WorkerGroup.create(3)) {
            for (int threads : new int[] {1, 3}) {
                CpuGemm g = new VectorGemm(group.team(), threads);
                int checked = 0;
                for (int trial = 0; trial < 60; trial++) {
                    int m = 1 + r.nextInt(trial % 3 == 0 ? 40 : 6);
                    int n = ns[r.nextInt(ns.length)];
                    int k = ks[r.nextInt(ks.length)];
                    float beta = r.nextBoolean() ? 0f : 1f;
                    int ldb = n + r.nextInt(20);
                    long bOff = r.nextInt(4);
                    MemorySegment a = copy(g, random(r, m * k));
                    MemorySegment b = copy(g, random(r, (int) bOff + k * ldb));
                    float[] c0 = beta == 0 ? nan(m * n) : random(r, m * n);
                    MemorySegment inPlace = copy(g, c0);
                    MemorySegment packed = copy(g, c0);
                    g.gemm(false, m, n, k, 1f, a, 0, k, b, bOff, ldb, beta, inPlace, 0, n);
                    CpuGemm.Constant w = g.constant(b, bOff, ldb, k, n);
                    g.gemm(m, 1f, a, 0, k, w, beta, packed, 0, n);
                    assertArrayEquals(inPlace.toArray(ValueLayout.JAVA_FLOAT), packed.toArray(ValueLayout.JAVA_FLOAT),
                            "m=" + m + " n=" + n + " k=" + k + " beta=" + beta + " threads=" + threads);
                    checked++;
                }
                assertTrue(checked == 60);
            }
        }
    }

    private static float[] random(SplittableRandom r, int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) r.nextDouble(-1, 1);
        }
        return f;
    }

    private static float[] nan(int n) {
        float[] f = new float[n];
        java.util.Arrays.fill(f, Float.NaN);
        return f;
    }

    private static MemorySegment copy(CpuGemm g, float[] values) {
        MemorySegment s = g.allocate(values.length);
        MemorySegment.copy(values, 0, s, ValueLayout.JAVA_FLOAT, 0, values.length);
        return s;
    }
}
