package io.cellstate.cpu;

import java.lang.foreign.MemorySegment;

/**
 * The dense linear algebra a CPU backend lends the training engine: buffers of its own memory
 * and a single-precision GEMM over them, as BLAS's {@code cblas_sgemm} in row-major order. The
 * engine keeps every matrix of a training pass (weights, saved gates and states, gradients) in
 * buffers this allocates, and reads and writes their elements through the segments; the GEMM may
 * use whatever it knows of the memory behind them (a heap array, a native address).
 *
 * <p>All offsets, leading dimensions and sizes are in floats. One instance serves one plan, so one
 * caller at a time; it may use threads of its own within a call.
 */
public interface CpuGemm extends AutoCloseable {

    /**
     * A zeroed buffer of {@code floats} floats, aligned for the implementation's vectors, of memory
     * {@link #gemm} takes. The implementation keeps it until {@link #close()}.
     *
     * @param floats the size, at least 0
     * @return the buffer
     */
    MemorySegment allocate(long floats);

    /**
     * {@code C[m x n] = alpha * op(A)[m x k] * B[k x n] + beta * C}, row-major, where
     * {@code op(A)} is A or its transpose ({@code A} is then stored {@code [k x m]}): the engine's
     * forward and data gradients (NN) and weight gradients (TN); B is never transposed (the engine keeps
     * the weights' transposes). With {@code beta == 0} C is written without being read. Every operand is a buffer of
     * {@link #allocate}; A and B may be the same buffer, C is apart from both.
     *
     * @param transA use A transposed
     * @param m      rows of C
     * @param n      columns of C
     * @param k      the inner dimension
     * @param alpha  the product's scale
     * @param a      A's buffer
     * @param aOff   where A starts
     * @param lda    floats between A's stored rows
     * @param b      B's buffer
     * @param bOff   where B starts
     * @param ldb    floats between B's stored rows
     * @param beta   C's scale, 0 or 1
     * @param c      C's buffer
     * @param cOff   where C starts
     * @param ldc    floats between C's rows
     */
    void gemm(boolean transA, int m, int n, int k, float alpha, MemorySegment a, long aOff, int lda,
              MemorySegment b, long bOff, int ldb, float beta, MemorySegment c, long cOff, int ldc);

    /**
     * A B operand that many calls share and none changes (a weight matrix, until the weights are set
     * again): the implementation may keep it in a layout of its own, made once.
     */
    interface Constant {
    }

    /** The default {@link Constant}: the operand where it lies, read in place by each call. */
    record InPlace(MemorySegment b, long bOff, int ldb, int k, int n) implements Constant {
    }

    /**
     * {@code B[k x n]} at {@code b + bOff}, rows {@code ldb} apart, as a constant operand of
     * {@link #gemm(int, float, MemorySegment, long, int, Constant, float, MemorySegment, long, int)}. What it
     * returns stays valid until B changes; the caller asks again then.
     *
     * @param b    B's buffer, of {@link #allocate}
     * @param bOff where B starts
     * @param ldb  floats between B's rows
     * @param k    B's rows
     * @param n    B's columns
     * @return the operand
     */
    default Constant constant(MemorySegment b, long bOff, int ldb, int k, int n) {
        return new InPlace(b, bOff, ldb, k, n);
    }

    /**
     * {@code C[m x n] = alpha * A[m x k] * B[k x n] + beta * C} with a constant B of this instance's
     * {@link #constant}: the same result, bit for bit, as the other {@code gemm} on B where it lies.
     *
     * @param m     rows of C
     * @param alpha the product's scale
     * @param a     A's buffer
     * @param aOff  where A starts
     * @param lda   floats between A's rows
     * @param b     the constant B
     * @param beta  C's scale, 0 or 1
     * @param c     C's buffer
     * @param cOff  where C starts
     * @param ldc   floats between C's rows
     */
    default void gemm(int m, float alpha, MemorySegment a, long aOff, int lda, Constant b, float beta, MemorySegment c,
                      long cOff, int ldc) {
        InPlace p = (InPlace) b;
        gemm(false, m, p.n(), p.k(), alpha, a, aOff, lda, p.b(), p.bOff(), p.ldb(), beta, c, cOff, ldc);
    }

    /**
     * Called before a training call's first GEMM, on the calling thread (for a process-wide
     * setting held for the call, OpenBLAS's thread count).
     */
    default void beginCall() {
    }

    /** Ends what {@link #beginCall()} began, in a {@code finally}. */
    default void endCall() {
    }

    /** Releases every buffer allocated and anything else held outside the Java heap. Idempotent. */
    @Override
    void close();

    /** Makes the {@link CpuGemm}s of a plan: one for its GEMMs and weights, more for memory alone (workspaces). */
    @FunctionalInterface
    interface Factory {
        /**
         * A new instance with no buffers yet.
         *
         * @param team    the plan's threads, for an implementation that runs on them
         * @param threads the most threads a GEMM may use, the caller included
         * @return the instance
         */
        CpuGemm create(io.cellstate.WorkerGroup.Team team, int threads);
    }
}
