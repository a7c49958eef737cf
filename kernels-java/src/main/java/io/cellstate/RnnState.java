package io.cellstate;

import java.util.Objects;

/**
 * The carried state of a streaming run ({@link RnnPlan#step}): {@code h} and, for an LSTM,
 * {@code c}, each {@code [layers, B, H]}. {@link RnnPlan#step} updates them in place.
 */
public final class RnnState {
    private final Tensor h;
    private final Tensor c;

    /**
     * A state over the given tensors (not copied: the step writes into them).
     *
     * @param h the hidden state {@code [layers, B, H]}
     * @param c the cell state {@code [layers, B, H]}, or null for cells without one
     */
    public RnnState(Tensor h, Tensor c) {
        this.h = Objects.requireNonNull(h, "h");
        this.c = c;
    }

    /**
     * Zero state for {@code batch} sequences of {@code spec}.
     *
     * @param spec  the network
     * @param batch the number of sequences, at least 1
     * @return new zeroed heap tensors
     * @throws IllegalArgumentException if {@code batch < 1}
     */
    public static RnnState zeros(RnnSpec spec, int batch) {
        if (batch < 1) {
            throw new IllegalArgumentException("batch: expected >= 1, got " + batch);
        }
        return new RnnState(Tensor.zeros(spec.stateCount(), batch, spec.outputHiddenSize()),
                spec.cell().hasCellState() ? Tensor.zeros(spec.stateCount(), batch, spec.hiddenSize()) : null);
    }

    /**
     * The hidden state.
     *
     * @return {@code h}, {@code [layers, B, H]}
     */
    public Tensor h() {
        return h;
    }

    /**
     * The cell state.
     *
     * @return {@code c}, {@code [layers, B, H]}, or null for cells without one
     */
    public Tensor c() {
        return c;
    }

    /**
     * Batch size B.
     *
     * @return B, or -1 if {@code h} is not of rank 3
     */
    public int batch() {
        return h.rank() == 3 ? h.dim(1) : -1;
    }
}
