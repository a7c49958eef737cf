package io.cellstate.cpu;

import java.lang.foreign.MemorySegment;

/**
 * What a CPU kernel supplies to the {@link CpuLstmPlan driver}: the two GEMMs of an LSTM step and
 * the fused pointwise pass, over weights it packed once, for one slice of the hidden units.
 *
 * <p>The hidden units are cut into {@link #units()} work units of {@link #unitWidth()} units each
 * (the last may be partial); the driver gives each thread a contiguous range {@code [u0, u1)} of
 * them. A thread owns every gate of its hidden units, so it can run the recurrent GEMM and the
 * pointwise pass for them without waiting for the others: one barrier per time step is all the
 * synchronisation there is.
 *
 * <p>Buffers, all row-major, are laid out by the kernel's strides: {@code h} and {@code c} rows of
 * {@link #hiddenStride()} floats (columns past H are padding the kernel keeps to itself), gate rows
 * of {@link #gateStride()} floats in whatever order the kernel likes. The gate buffer is the
 * driver's, but a kernel may keep the projection in a buffer of its own instead (indexed the same
 * way) and use the driver's only as it likes: the driver reads none of it. Weight slots are
 * {@code layer * directions + direction}.
 */
public interface LstmKernel {

    /** Number of work units the hidden units are cut into. */
    int units();

    /** Hidden units per work unit; unit u covers {@code [u * unitWidth, min(H, (u + 1) * unitWidth))}. */
    int unitWidth();

    /** Row stride of the h and c buffers, at least H. */
    int hiddenStride();

    /** Row stride of the gate buffer, at least G*H. */
    int gateStride();

    /**
     * Input projection: for rows {@code r < rows} and units {@code [u0, u1)},
     * {@code gates[r] = x[r] · W_ih^T + b_ih + b_hh}, where row r of x starts at {@code xOff + r * xStride}.
     */
    void project(int slot, float[] x, int xOff, int xStride, int rows, float[] gates, int u0, int u1);

    /**
     * Whether this kernel can read a layer's input in place from native memory
     * ({@link #project(int, MemorySegment, long, int, int, float[], int, int)}); then the driver
     * hands it the caller's native, sequence-major input instead of copying it to the heap first.
     */
    default boolean projectsFromSegments() {
        return false;
    }

    /**
     * {@link #project(int, float[], int, int, int, float[], int, int)} reading row r of x at byte
     * {@code xByteOff + r * xStride * 4} of a native segment, in place. Only called where
     * {@link #projectsFromSegments()} is true.
     */
    default void project(int slot, MemorySegment x, long xByteOff, int xStride, int rows, float[] gates, int u0, int u1) {
        throw new UnsupportedOperationException("this kernel reads its input from arrays only");
    }

    /**
     * Recurrent step at time {@code t} for units {@code [u0, u1)}: for each batch row b,
     * {@code gates[gOff + b * gateStride] += hPrev[b] · W_hh^T}, then the cell update writing
     * {@code c[b]} in place and {@code hNext[b]}. A row whose sequence has ended
     * ({@code lengths != null && t >= lengths[b]}) keeps its state: {@code hNext[b] = hPrev[b]},
     * {@code c[b]} untouched.
     */
    void step(int slot, float[] gates, int gOff, float[] hPrev, float[] hNext, float[] c, int batch,
              int[] lengths, int t, int u0, int u1);

    /**
     * Called on the calling thread before a call's first {@code project} and, in a {@code finally},
     * after its last {@code step}: for a process-wide setting the kernel must hold for the whole
     * call (OpenBLAS's thread count).
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
