package io.cellstate;

import java.util.ArrayList;
import java.util.Arrays;
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
     * The activation functions of the cell's roles, ONNX's {@code activations}: the LSTM's f (gates i, f,
     * o), g (the candidate) and h (the cell state's, into h'); the GRU's f (r, z) and g (n); the RNN's f.
     * Either one function per role, for every direction, or (for a bidirectional network) one per role
     * and direction, the forward direction's first.
     *
     * @return {@link #roles()} or twice as many activations
     */
    List<Activation> activations();

    /**
     * How many activation roles the cell has.
     *
     * @return 3 for the LSTM, 2 for the GRU, 1 for the RNN
     */
    int roles();

    /**
     * The activation of one role in one direction.
     *
     * @param role      from 0 to {@link #roles()} - 1
     * @param direction 0 forward, 1 reverse
     * @return the activation
     */
    default Activation activation(int role, int direction) {
        List<Activation> a = activations();
        return a.size() == roles() ? a.get(role) : a.get(direction * roles() + role);
    }

    /**
     * Whether this is one of {@link #all()}, with none of the options beyond them (projection,
     * peepholes, clipping, coupled gates, other activations): what every backend's fast path runs.
     *
     * @return true for the cells of {@link #all()}
     */
    boolean isPlain();

    /**
     * The LSTM.
     *
     * @return the LSTM cell
     */
    static Cell.Lstm lstm() {
        return Lstm.PLAIN;
    }

    /**
     * PyTorch's and cuDNN's GRU: linear before reset.
     *
     * @return the GRU cell
     */
    static Cell.Gru gru() {
        return new Gru(true);
    }

    /**
     * The original GRU formula (ONNX's default, oneDNN's {@code gru}).
     *
     * @return the GRU cell that resets before its recurrent product
     */
    static Cell.Gru gruOriginal() {
        return new Gru(false);
    }

    /**
     * The Elman RNN with tanh.
     *
     * @return the cell
     */
    static Cell.Rnn rnnTanh() {
        return new Rnn(Nonlinearity.TANH);
    }

    /**
     * The Elman RNN with ReLU.
     *
     * @return the cell
     */
    static Cell.Rnn rnnRelu() {
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
     * The cell called {@code name}: what {@link #name()} gives, for every cell. One of {@link #all()} (in any
     * case), or a cell with options, {@code lstm[projection=4, peepholes, clip=0.3, input_forget,
     * activations=[HardSigmoid(0.2, 0.5), Tanh, Tanh]]}, {@code gru[activations=[Sigmoid, Softsign]]},
     * {@code rnn[activations=[LeakyRelu(0.1)]]}; {@code named(c.name()).equals(c)} for every cell.
     *
     * @param name {@code lstm}, {@code gru}, {@code gru-original}, {@code rnn-tanh} or {@code rnn-relu}, or one of
     *             them with its options in brackets
     * @return the cell
     * @throws IllegalArgumentException for another name, saying what was expected where
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
        if (name.indexOf('[') >= 0) {
            return CellNames.parse(name);
        }
        String last = names.remove(names.size() - 1);
        throw new IllegalArgumentException("cell: expected " + String.join(", ", names) + " or " + last + ", got '"
                + name + "'");
    }

    /**
     * The activations as given, checked and normalised: null or empty is {@code defaults}; a list of
     * twice the roles whose halves agree is one half (so equal cells are equal records).
     */
    private static List<Activation> activations(String cell, List<Activation> given, List<Activation> defaults) {
        if (given == null || given.isEmpty()) {
            return defaults;
        }
        int roles = defaults.size();
        if (given.size() != roles && given.size() != 2 * roles) {
            throw new IllegalArgumentException(cell + " activations: expected " + roles + " (one per role) or " + 2 * roles
                    + " (per direction, forward first), got " + given.size() + " " + given);
        }
        for (int i = 0; i < given.size(); i++) {
            if (given.get(i) == null) {
                throw new IllegalArgumentException(cell + " activations: expected no null, got one at " + i);
            }
        }
        List<Activation> a = List.copyOf(given);
        if (a.size() == 2 * roles && a.subList(0, roles).equals(a.subList(roles, 2 * roles))) {
            a = a.subList(0, roles);
            a = List.copyOf(a);
        }
        return a;
    }

    /**
     * Long short-term memory: four gates {@code i, f, g, o}, a hidden and a cell state, with the options
     * of ONNX's, PyTorch's, cuDNN's and oneDNN's LSTMs together. With f, g, h the {@link #activations()}
     * (σ, tanh, tanh by default), per step:
     * <pre>
     *   a = W_ih x + b_ih + W_hh h + b_hh                                  (pre-activations of i, f, g, o)
     *   a_i += p_i ⊙ c,  a_f += p_f ⊙ c                                      (peepholes)
     *   a_i, a_f, a_g clipped to [−clip, clip]                                (clip)
     *   i = f(a_i),  f = 1 − i (input_forget) or f(a_f),  g = g(a_g)
     *   c' = f ⊙ c + i ⊙ g
     *   a_o += p_o ⊙ c'  and clipped;  o = f(a_o)
     *   h' = o ⊙ h(c'),  or W_hr (o ⊙ h(c')) with a projection
     * </pre>
     * ONNX's clip: the pre-activations of the gates (bias and peepholes included) are clipped, as ONNX
     * Runtime does; the cell state is not. With a projection of size P, h (the output, h0, hN) has P
     * columns, {@code W_hh} is [4H x P] and {@code W_hr} [P x H] (PyTorch's {@code proj_size}); c keeps H.
     * The peephole weights are a [3H] vector per layer and direction in the order i, f, o (oneDNN's;
     * ONNX's {@code P} is i, o, f).
     *
     * @param projectionSize P, from 1 to H - 1; 0 for none
     * @param peepholes      whether the gates see the cell state
     * @param clip           the bound of the pre-activations; {@link Float#POSITIVE_INFINITY} for none
     * @param inputForget    whether the input and forget gates are coupled, f = 1 − i (ONNX's
     *                       {@code input_forget}; the forget gate's weights are then unused)
     * @param activations    f, g, h (per direction where six); null or empty for σ, tanh, tanh
     */
    record Lstm(int projectionSize, boolean peepholes, float clip, boolean inputForget, List<Activation> activations)
            implements Cell {
        private static final List<Activation> DEFAULTS = List.of(Activation.sigmoid(), Activation.tanh(), Activation.tanh());
        private static final Lstm PLAIN = new Lstm(0, false, Float.POSITIVE_INFINITY, false, DEFAULTS);

        /**
         * Checks and normalises the options.
         *
         * @throws IllegalArgumentException for a negative projection, a clip that is not positive, or a
         *                                  wrong number of activations
         */
        public Lstm {
            if (projectionSize < 0) {
                throw new IllegalArgumentException("projectionSize: expected 0 (none) or a size >= 1, got " + projectionSize);
            }
            if (!(clip > 0)) {
                throw new IllegalArgumentException("clip: expected a bound > 0 (Infinity for none), got " + clip);
            }
            activations = Cell.activations("lstm", activations, DEFAULTS);
        }

        /**
         * The plain LSTM.
         */
        public Lstm() {
            this(0, false, Float.POSITIVE_INFINITY, false, DEFAULTS);
        }

        /**
         * This LSTM with a projection of size P (PyTorch's {@code proj_size}).
         *
         * @param projectionSize P, from 1 to H - 1; 0 for none
         * @return the cell
         */
        public Lstm withProjection(int projectionSize) {
            return new Lstm(projectionSize, peepholes, clip, inputForget, activations);
        }

        /**
         * This LSTM with or without peepholes.
         *
         * @param peepholes whether the gates see the cell state
         * @return the cell
         */
        public Lstm withPeepholes(boolean peepholes) {
            return new Lstm(projectionSize, peepholes, clip, inputForget, activations);
        }

        /**
         * This LSTM with ONNX's clip.
         *
         * @param clip the bound, > 0; {@link Float#POSITIVE_INFINITY} for none
         * @return the cell
         */
        public Lstm withClip(float clip) {
            return new Lstm(projectionSize, peepholes, clip, inputForget, activations);
        }

        /**
         * This LSTM with coupled input and forget gates, or without.
         *
         * @param inputForget f = 1 − i
         * @return the cell
         */
        public Lstm withInputForget(boolean inputForget) {
            return new Lstm(projectionSize, peepholes, clip, inputForget, activations);
        }

        /**
         * This LSTM with other activations.
         *
         * @param activations f, g, h, or six (forward, then reverse)
         * @return the cell
         */
        public Lstm withActivations(Activation... activations) {
            return new Lstm(projectionSize, peepholes, clip, inputForget, Arrays.asList(activations));
        }

        /**
         * Whether the pre-activations are clipped.
         *
         * @return false for an infinite clip
         */
        public boolean hasClip() {
            return clip != Float.POSITIVE_INFINITY;
        }

        @Override
        public int gates() {
            return 4;
        }

        @Override
        public int roles() {
            return 3;
        }

        @Override
        public boolean hasCellState() {
            return true;
        }

        @Override
        public boolean isPlain() {
            return equals(PLAIN);
        }

        @Override
        public String name() {
            if (isPlain()) {
                return "lstm";
            }
            List<String> o = new ArrayList<>();
            if (projectionSize > 0) {
                o.add("projection=" + projectionSize);
            }
            if (peepholes) {
                o.add("peepholes");
            }
            if (hasClip()) {
                o.add("clip=" + clip);
            }
            if (inputForget) {
                o.add("input_forget");
            }
            if (!activations.equals(DEFAULTS)) {
                o.add("activations=" + activations);
            }
            return "lstm" + o;
        }

        @Override
        public String toString() {
            return name();
        }
    }

    /**
     * Gated recurrent unit: three gates {@code r, z, n}, with activations f (r, z) and g (n), σ and tanh
     * by default.
     *
     * @param linearBeforeReset true for PyTorch's and cuDNN's formula, r ⊙ (W_hn h + b_hn); false for
     *                          the original one, W_hn (r ⊙ h) + b_hn
     * @param activations       f, g (per direction where four); null or empty for σ, tanh
     */
    record Gru(boolean linearBeforeReset, List<Activation> activations) implements Cell {
        private static final List<Activation> DEFAULTS = List.of(Activation.sigmoid(), Activation.tanh());

        /**
         * Checks and normalises the activations.
         *
         * @throws IllegalArgumentException for a wrong number of activations
         */
        public Gru {
            activations = Cell.activations("gru", activations, DEFAULTS);
        }

        /**
         * The GRU with σ and tanh.
         *
         * @param linearBeforeReset which formula
         */
        public Gru(boolean linearBeforeReset) {
            this(linearBeforeReset, DEFAULTS);
        }

        /**
         * This GRU with other activations.
         *
         * @param activations f, g, or four (forward, then reverse)
         * @return the cell
         */
        public Gru withActivations(Activation... activations) {
            return new Gru(linearBeforeReset, Arrays.asList(activations));
        }

        @Override
        public int gates() {
            return 3;
        }

        @Override
        public int roles() {
            return 2;
        }

        @Override
        public boolean isPlain() {
            return activations.equals(DEFAULTS);
        }

        @Override
        public String name() {
            String base = linearBeforeReset ? "gru" : "gru-original";
            return isPlain() ? base : base + "[activations=" + activations + "]";
        }

        @Override
        public String toString() {
            return name();
        }
    }

    /**
     * The Elman RNN: one gate, h' = f(W_ih x + b_ih + W_hh h + b_hh); f is tanh or ReLU in PyTorch, any
     * of ONNX's functions here.
     *
     * @param activations f, or two (forward, then reverse)
     */
    record Rnn(List<Activation> activations) implements Cell {
        /**
         * Checks and normalises the activations.
         *
         * @throws IllegalArgumentException for null, empty, or more than two activations
         */
        public Rnn {
            if (activations == null || activations.isEmpty()) {
                throw new IllegalArgumentException("rnn activations: expected 1 or 2 activations, got "
                        + (activations == null ? "null" : "none"));
            }
            activations = Cell.activations("rnn", activations, List.of(activations.get(0)));
        }

        /**
         * PyTorch's RNN.
         *
         * @param nonlinearity tanh or ReLU
         * @throws IllegalArgumentException for null
         */
        public Rnn(Nonlinearity nonlinearity) {
            this(List.of(activation(nonlinearity)));
        }

        private static Activation activation(Nonlinearity nonlinearity) {
            if (nonlinearity == null) {
                throw new IllegalArgumentException("nonlinearity: expected TANH or RELU, got null");
            }
            return nonlinearity == Nonlinearity.TANH ? Activation.tanh() : Activation.relu();
        }

        /**
         * PyTorch's nonlinearity, where the cell is one of PyTorch's.
         *
         * @return TANH or RELU for a plain cell; null where the activations are others
         */
        public Nonlinearity nonlinearity() {
            if (activations.equals(List.of(Activation.tanh()))) {
                return Nonlinearity.TANH;
            }
            return activations.equals(List.of(Activation.relu())) ? Nonlinearity.RELU : null;
        }

        @Override
        public int gates() {
            return 1;
        }

        @Override
        public int roles() {
            return 1;
        }

        @Override
        public boolean isPlain() {
            return nonlinearity() != null;
        }

        @Override
        public String name() {
            Nonlinearity n = nonlinearity();
            if (n != null) {
                return n == Nonlinearity.TANH ? "rnn-tanh" : "rnn-relu";
            }
            return "rnn[activations=" + activations + "]";
        }

        @Override
        public String toString() {
            return name();
        }
    }

    /** The Elman RNN's activation in PyTorch. */
    enum Nonlinearity {
        /** tanh, PyTorch's default. */
        TANH,
        /** max(0, x). */
        RELU
    }
}
