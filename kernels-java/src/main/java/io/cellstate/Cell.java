package io.cellstate;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * The recurrent cell of a network, with its own options: a small immutable value per kind. Gate
 * orders are PyTorch's, cuDNN's and oneDNN's; {@link RnnWeights} holds the weights in that order.
 *
 * <ul>
 *   <li>{@link Lstm}, gates i, f, g, o: i = σ(W_ii x + b_ii + W_hi h + b_hi), f and o alike,
 *       g = tanh(W_ig x + b_ig + W_hg h + b_hg); c' = f ⊙ c + i ⊙ g, h' = o ⊙ tanh(c').</li>
 *   <li>{@link Gru}, gates r, z, n: r = σ(W_ir x + b_ir + W_hr h + b_hr), z alike;
 *       h' = (1 − z) ⊙ n + z ⊙ h, with, linear before reset (PyTorch's and cuDNN's GRU, ONNX
 *       {@code linear_before_reset=1}, Keras {@code reset_after=True}),
 *       n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)); or, the original formula (ONNX's default,
 *       oneDNN's {@code gru}, Keras {@code reset_after=False}), n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn).</li>
 *   <li>{@link Rnn}, one gate: h' = act(W_ih x + b_ih + W_hh h + b_hh), act tanh or ReLU (PyTorch's
 *       {@code nn.RNN}).</li>
 * </ul>
 */
public sealed interface Cell {

    /**
     * Number of gates G: the weight matrices have G*hidden rows.
     *
     * @return 4, 3 or 1
     */
    int gates();

    /**
     * Whether the cell carries a second state {@code c} beside {@code h} (the LSTM).
     *
     * @return true for the LSTM
     */
    default boolean hasCellState() {
        return false;
    }

    /**
     * The cell's name on the command line and in messages.
     *
     * @return {@code lstm}, {@code gru}, {@code gru-original}, {@code rnn-tanh} or {@code rnn-relu}
     */
    String name();

    /**
     * The LSTM.
     *
     * @return the LSTM cell
     */
    static Cell lstm() {
        return Lstm.INSTANCE;
    }

    /**
     * PyTorch's and cuDNN's GRU: linear before reset.
     *
     * @return the GRU cell
     */
    static Cell gru() {
        return new Gru(true);
    }

    /**
     * The original GRU formula (ONNX's default, oneDNN's {@code gru}).
     *
     * @return the GRU cell that resets before its recurrent product
     */
    static Cell gruOriginal() {
        return new Gru(false);
    }

    /**
     * The Elman RNN with tanh.
     *
     * @return the cell
     */
    static Cell rnnTanh() {
        return new Rnn(Nonlinearity.TANH);
    }

    /**
     * The Elman RNN with ReLU.
     *
     * @return the cell
     */
    static Cell rnnRelu() {
        return new Rnn(Nonlinearity.RELU);
    }

    /**
     * Every cell this library has, each kind with each of its options, in the order of
     * {@link #named}'s message.
     *
     * @return lstm, gru, gru-original, rnn-tanh, rnn-relu
     */
    static List<Cell> all() {
        return List.of(lstm(), gru(), gruOriginal(), rnnTanh(), rnnRelu());
    }

    /**
     * The cell called {@code name} ({@link #name()}), one of {@link #all()}.
     *
     * @param name {@code lstm}, {@code gru}, {@code gru-original}, {@code rnn-tanh} or {@code rnn-relu}
     * @return the cell
     * @throws IllegalArgumentException for another name
     */
    static Cell named(String name) {
        Objects.requireNonNull(name, "name");
        String wanted = name.toLowerCase(Locale.ROOT);
        List<String> names = new ArrayList<>();
        for (Cell c : all()) {
            if (c.name().equals(wanted)) {
                return c;
            }
            names.add(c.name());
        }
        String last = names.remove(names.size() - 1);
        throw new IllegalArgumentException("cell: expected " + String.join(", ", names) + " or " + last + ", got '"
                + name + "'");
    }

    /** Long short-term memory: four gates {@code i, f, g, o}, a hidden and a cell state. */
    record Lstm() implements Cell {
        private static final Lstm INSTANCE = new Lstm();

        @Override
        public int gates() {
            return 4;
        }

        @Override
        public boolean hasCellState() {
            return true;
        }

        @Override
        public String name() {
            return "lstm";
        }

        @Override
        public String toString() {
            return name();
        }
    }

    /**
     * Gated recurrent unit: three gates {@code r, z, n}.
     *
     * @param linearBeforeReset true for PyTorch's and cuDNN's formula, r ⊙ (W_hn h + b_hn); false for
     *                          the original one, W_hn (r ⊙ h) + b_hn
     */
    record Gru(boolean linearBeforeReset) implements Cell {
        @Override
        public int gates() {
            return 3;
        }

        @Override
        public String name() {
            return linearBeforeReset ? "gru" : "gru-original";
        }

        @Override
        public String toString() {
            return name();
        }
    }

    /**
     * The Elman RNN: one gate.
     *
     * @param nonlinearity tanh or ReLU
     */
    record Rnn(Nonlinearity nonlinearity) implements Cell {
        /**
         * Checks the nonlinearity.
         *
         * @throws IllegalArgumentException for null
         */
        public Rnn {
            if (nonlinearity == null) {
                throw new IllegalArgumentException("nonlinearity: expected TANH or RELU, got null");
            }
        }

        @Override
        public int gates() {
            return 1;
        }

        @Override
        public String name() {
            return nonlinearity == Nonlinearity.TANH ? "rnn-tanh" : "rnn-relu";
        }

        @Override
        public String toString() {
            return name();
        }
    }

    /** The Elman RNN's activation. */
    enum Nonlinearity {
        /** tanh, PyTorch's default. */
        TANH,
        /** max(0, x). */
        RELU
    }
}
