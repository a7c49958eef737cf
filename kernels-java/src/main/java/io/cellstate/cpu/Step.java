package io.cellstate.cpu;

/**
 * The buffers of one time step as a {@link CellKernel} sees them: the step's projection, the state
 * before and after it. One per participant of a call, set by the driver before each step and read
 * by the kernel, so a step allocates nothing and no thread writes another's.
 */
public final class Step {
    private float[] gates;
    private int gateOffset;
    private float[] hPrev;
    private float[] hNext;
    private float[] cPrev;
    private float[] cNext;
    private int batch;

    void set(float[] gates, int gateOffset, float[] hPrev, float[] hNext, float[] cPrev, float[] cNext, int batch) {
        this.gates = gates;
        this.gateOffset = gateOffset;
        this.hPrev = hPrev;
        this.hNext = hNext;
        this.cPrev = cPrev;
        this.cNext = cNext;
        this.batch = batch;
    }

    /**
     * The driver's gate buffer, holding the step's projection (see {@link CellKernel#gateStride()}).
     *
     * @return the buffer
     */
    public float[] gates() {
        return gates;
    }

    /**
     * Where the step's first row of gates starts in {@link #gates()}.
     *
     * @return the offset in floats
     */
    public int gateOffset() {
        return gateOffset;
    }

    /**
     * h before the step, rows of {@link CellKernel#hiddenStride()} floats.
     *
     * @return the buffer
     */
    public float[] hPrev() {
        return hPrev;
    }

    /**
     * h after the step, written by the last phase.
     *
     * @return the buffer
     */
    public float[] hNext() {
        return hNext;
    }

    /**
     * c before the step (cells with a cell state; for the others an empty array).
     *
     * @return the buffer
     */
    public float[] cPrev() {
        return cPrev;
    }

    /**
     * c after the step (cells with a cell state; for the others an empty array).
     *
     * @return the buffer
     */
    public float[] cNext() {
        return cNext;
    }

    /**
     * Rows in the step.
     *
     * @return B
     */
    public int batch() {
        return batch;
    }
}
