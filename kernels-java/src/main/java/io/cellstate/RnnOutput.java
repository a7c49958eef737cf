package io.cellstate;

/**
 * Where a forward pass writes.
 *
 * @param y  the output sequence {@code [T, B, D*H]} (or {@code [B, T, D*H]} batch-major): the last
 *           layer's hidden state at every step, forward half first; 0 past a sequence's length
 * @param hN the final hidden state {@code [layers*D, B, H]}: for each sequence the state at its last valid step
 * @param cN the final cell state {@code [layers*D, B, H]} (LSTM), or null when the cell has none or it is not wanted
 */
public record RnnOutput(Tensor y, Tensor hN, Tensor cN) {

    /**
     * Fresh zeroed heap tensors of the right shapes for {@code spec} and the given sizes.
     *
     * @param spec   the network
     * @param layout the layout of the output sequence (the input's)
     * @param steps  T
     * @param batch  B
     * @return the tensors, {@code cN} included for an LSTM
     */
    public static RnnOutput allocate(RnnSpec spec, Layout layout, int steps, int batch) {
        return new RnnOutput(
                Tensor.zeros(layout.shape(steps, batch, spec.outputSize())),
                Tensor.zeros(spec.stateCount(), batch, spec.outputHiddenSize()),
                spec.cell().hasCellState() ? Tensor.zeros(spec.stateCount(), batch, spec.hiddenSize()) : null);
    }
}
