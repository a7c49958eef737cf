package io.cellstate;

/**
 * The inputs of one forward pass.
 *
 * @param x       the input sequence, {@code [T, B, inputSize]} or, batch-major, {@code [B, T, inputSize]}
 * @param layout  the layout of {@code x} and of the output sequence
 * @param lengths one length per batch entry, {@code 1 <= length <= T}, or null when every sequence has length T
 * @param h0      initial hidden state {@code [layers*D, B, H]}, or null for zeros
 * @param c0      initial cell state {@code [layers*D, B, H]} (LSTM), or null for zeros
 */
public record RnnInput(Tensor x, Layout layout, int[] lengths, Tensor h0, Tensor c0) {

    /**
     * Sequence-major input, every sequence of full length, zero initial states.
     *
     * @param x the input sequence, {@code [T, B, inputSize]}
     * @return the input
     */
    public static RnnInput of(Tensor x) {
        return new RnnInput(x, Layout.SEQUENCE_MAJOR, null, null, null);
    }

    /**
     * This input read in another layout.
     *
     * @param layout the layout of {@code x} and of the output sequence
     * @return the new input
     */
    public RnnInput withLayout(Layout layout) {
        return new RnnInput(x, layout, lengths, h0, c0);
    }

    /**
     * This input with per-sequence lengths.
     *
     * @param lengths one per batch entry, {@code 1 <= length <= T} (not copied until the call)
     * @return the new input
     */
    public RnnInput withLengths(int... lengths) {
        return new RnnInput(x, layout, lengths, h0, c0);
    }

    /**
     * This input with initial states.
     *
     * @param h0 the initial hidden state {@code [layers*D, B, H]}, or null for zeros
     * @param c0 the initial cell state {@code [layers*D, B, H]}, or null for zeros
     * @return the new input
     */
    public RnnInput withInitialState(Tensor h0, Tensor c0) {
        return new RnnInput(x, layout, lengths, h0, c0);
    }

    /**
     * Time steps T, read from {@code x} and the layout.
     *
     * @return T
     */
    public int steps() {
        return layout == Layout.BATCH_MAJOR ? x.dim(1) : x.dim(0);
    }

    /**
     * Batch size B, read from {@code x} and the layout.
     *
     * @return B
     */
    public int batch() {
        return layout == Layout.BATCH_MAJOR ? x.dim(0) : x.dim(1);
    }
}
