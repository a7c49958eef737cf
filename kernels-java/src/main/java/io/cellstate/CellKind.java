package io.cellstate;

/**
 * The recurrent cell. Gate order is fixed for each kind and is the order of PyTorch, cuDNN and
 * oneDNN: LSTM {@code i, f, g, o}; GRU {@code r, z, n}; plain RNN has one gate.
 */
public enum CellKind {
    /** Long short-term memory: four gates {@code i, f, g, o}, a hidden and a cell state. */
    LSTM(4, true),
    /** Gated recurrent unit: three gates {@code r, z, n}. Declared; no backend supports it yet. */
    GRU(3, false),
    /** Elman RNN with tanh. Declared; no backend supports it yet. */
    RNN_TANH(1, false),
    /** Elman RNN with ReLU. Declared; no backend supports it yet. */
    RNN_RELU(1, false);

    private final int gates;
    private final boolean hasCellState;

    CellKind(int gates, boolean hasCellState) {
        this.gates = gates;
        this.hasCellState = hasCellState;
    }

    /**
     * Number of gates G: weight matrices have G*hidden rows.
     *
     * @return 4, 3 or 1
     */
    public int gates() {
        return gates;
    }

    /**
     * Whether the cell carries a second state {@code c} beside {@code h} (LSTM only).
     *
     * @return true for the LSTM
     */
    public boolean hasCellState() {
        return hasCellState;
    }
}
