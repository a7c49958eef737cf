package io.cellstate;

/** How a sequence tensor is laid out in memory (row-major). */
public enum Layout {
    /** {@code [T, B, F]}: time outermost. cuDNN's, oneDNN's and PyTorch's default. */
    SEQUENCE_MAJOR,
    /** {@code [B, T, F]}: batch outermost. PyTorch's {@code batch_first=True}, ONNX {@code layout=1}. */
    BATCH_MAJOR;

    /**
     * The shape of a sequence tensor in this layout.
     *
     * @param steps    T
     * @param batch    B
     * @param features F
     * @return {@code [T, B, F]} or {@code [B, T, F]}
     */
    public int[] shape(int steps, int batch, int features) {
        return this == SEQUENCE_MAJOR ? new int[] {steps, batch, features} : new int[] {batch, steps, features};
    }

    /**
     * Row index of (t, b) in a tensor of this layout seen as a matrix of feature rows.
     *
     * @param t     the time step
     * @param b     the sequence
     * @param steps T
     * @param batch B
     * @return the row
     */
    public int row(int t, int b, int steps, int batch) {
        return this == SEQUENCE_MAJOR ? t * batch + b : b * steps + t;
    }

    /**
     * Human-readable name of the shape, for messages.
     *
     * @return {@code "[T, B, F] (sequence-major)"} or {@code "[B, T, F] (batch-major)"}
     */
    public String describe() {
        return this == SEQUENCE_MAJOR ? "[T, B, F] (sequence-major)" : "[B, T, F] (batch-major)";
    }
}
