package io.cellstate.cpu;

import java.lang.foreign.MemorySegment;

/**
 * What a CPU kernel supplies to the {@link CpuPlan driver} for one cell, cut as oneDNN cuts its RNN
 * cells: the input projection of many steps as one GEMM, hoisted out of the time loop; then per
 * step a recurrent phase, one GEMM with a fused pointwise part (the LSTM, the RNN, the
 * linear-before-reset GRU), or two GEMMs with a pointwise part between them (the original GRU,
 * whose second GEMM multiplies {@code r ⊙ h}: {@link #phases()} is 2, and the driver puts a barrier
 * between them). The kernel picks its pointwise parts once, for its cell, when it is made. The
 * driver owns the layer x direction x time loop, the state buffers, and the sequence-length masking:
 * a kernel computes every row, and the driver keeps the state of sequences that have ended.
 *
 * <p>The hidden units are cut into {@link #units()} work units of {@link #unitWidth()} units each
 * (the last may be partial); the driver gives each thread a contiguous range {@code [u0, u1)} of
 * them. A thread owns every gate of its hidden units, so within a phase it runs the recurrent GEMM
 * and the pointwise part for them without waiting for the others.
 *
 * <p>Buffers, all row-major, are laid out by the kernel's strides: {@code h} and {@code c} rows of
 * {@link #hiddenStride()} floats (columns past H are padding the kernel keeps to itself), gate rows
 * of {@link #gateStride()} floats in whatever order the kernel likes. The gate buffer is the
 * driver's, but a kernel may keep the projection in a buffer of its own instead (indexed the same
 * way) and use the driver's only as it likes: the driver reads none of it. Weight slots are
 * {@code layer * directions + direction}.
 */
public interface CellKernel {

    /**
     * Number of work units the hidden units are cut into.
     *
     * @return at least 1
     */
    int units();

    /**
     * Hidden units per work unit; unit u covers {@code [u * unitWidth, min(H, (u + 1) * unitWidth))}.
     *
     * @return at least 1
     */
    int unitWidth();

    /**
     * Row stride of the h and c buffers.
     *
     * @return at least H
     */
    int hiddenStride();

    /**
     * Row stride of the gate buffer.
     *
     * @return at least G*H
     */
    int gateStride();

    /**
     * Recurrent phases per step, with a barrier between consecutive ones.
     *
     * @return 1, or 2 for a cell whose second GEMM needs the first's result from every unit
     */
    default int phases() {
        return 1;
    }

    /**
     * Sizes the kernel's own per-step buffers for up to {@code batch} rows; called by the driver on
     * the calling thread before a call, so steps allocate nothing.
     *
     * @param batch the call's batch size
     */
    default void reserve(int batch) {
    }

    /**
     * Input projection: for rows {@code r < rows} and units {@code [u0, u1)},
     * {@code gates[r] = x[r] · W_ih^T} plus the biases the cell folds in, where row r of x starts at
     * {@code xOff + r * xStride}.
     *
     * @param slot    the weight slot
     * @param x       the layer's input
     * @param xOff    where row 0 starts
     * @param xStride floats between rows
     * @param rows    how many rows
     * @param gates   the driver's gate buffer
     * @param u0      first work unit
     * @param u1      one past the last
     */
    void project(int slot, float[] x, int xOff, int xStride, int rows, float[] gates, int u0, int u1);

    /**
     * Whether this kernel can read a layer's input in place from native memory
     * ({@link #project(int, MemorySegment, long, int, int, float[], int, int)}); then the driver
     * hands it the caller's native, sequence-major input instead of copying it to the heap first.
     *
     * @return false unless overridden
     */
    default boolean projectsFromSegments() {
        return false;
    }

    /**
     * {@link #project(int, float[], int, int, int, float[], int, int)} reading row r of x at byte
     * {@code xByteOff + r * xStride * 4} of a native segment, in place. Only called where
     * {@link #projectsFromSegments()} is true.
     *
     * @param slot     the weight slot
     * @param x        the caller's native input
     * @param xByteOff where row 0 starts, in bytes
     * @param xStride  floats between rows
     * @param rows     how many rows
     * @param gates    the driver's gate buffer
     * @param u0       first work unit
     * @param u1       one past the last
     */
    default void project(int slot, MemorySegment x, long xByteOff, int xStride, int rows, float[] gates, int u0, int u1) {
        throw new UnsupportedOperationException("this kernel reads its input from arrays only");
    }

    /**
     * Phase {@code phase} of one time step for units {@code [u0, u1)} and every row of the batch:
     * the phase's recurrent GEMM over {@code s.hPrev()} (or over what the phase before made) and its
     * pointwise part, reading the step's projection at {@code s.gates()[s.gateOffset() + b * gateStride]}
     * and {@code s.cPrev()}, and, in the last phase, writing {@code s.hNext()} and {@code s.cNext()}.
     *
     * @param phase from 0 to {@link #phases()} - 1
     * @param slot  the weight slot
     * @param s     the step's buffers
     * @param u0    first work unit
     * @param u1    one past the last
     */
    void recurrent(int phase, int slot, Step s, int u0, int u1);

    /**
     * Called on the calling thread before a call's first {@code project} and, in a {@code finally},
     * after its last step: for a process-wide setting the kernel must hold for the whole call
     * (OpenBLAS's thread count).
     */
    default void beginCall() {
    }

    /** Ends what {@link #beginCall()} began. */
    default void endCall() {
    }

    /** Releases what the kernel holds outside the Java heap (native buffers); called once, by the plan's close. */
    default void close() {
    }
}
