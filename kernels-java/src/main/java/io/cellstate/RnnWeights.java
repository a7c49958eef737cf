package io.cellstate;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The parameters of a network in the canonical layout: immutable, float32, shareable across
 * threads and plans.
 *
 * <p>Per layer {@code l} and direction {@code d} (0 forward, 1 reverse), with G gates in the
 * cell's order (LSTM {@code i, f, g, o}, GRU {@code r, z, n}, RNN one), H hidden units and {@code in_l} input features
 * ({@link RnnSpec#layerInputSize}), row-major:
 * <pre>
 *   W_ih  [G*H x in_l]   PyTorch weight_ih_l{l}[_reverse]   rows g*H .. g*H+H-1 belong to gate g
 *   W_hh  [G*H x H_out]  PyTorch weight_hh_l{l}[_reverse]   H_out = P for a projected LSTM, else H
 *   b_ih  [G*H]          PyTorch bias_ih_l{l}[_reverse]     (absent, i.e. zero, when bias is off)
 *   b_hh  [G*H]          PyTorch bias_hh_l{l}[_reverse]
 *   W_hr  [P x H]        PyTorch weight_hr_l{l}[_reverse]   only for an LSTM with a projection
 *   p     [3H]           weight_peephole_l{l}[_reverse]     only for an LSTM with peepholes: p_i, p_f, p_o
 * </pre>
 * Exactly the shapes and order of PyTorch's {@code state_dict()}, so its tensors load as they are;
 * {@link Param} names the kinds, and every kind is reached through {@link #tensor} and
 * {@link Builder#put(Param, int, int, float[])}.
 * A framework with one bias vector sets {@code b_hh} to zero. Foreign gate orders (ONNX
 * {@code i, o, f, c}, Keras {@code i, f, c, o}) must be permuted by the importer.
 */
public final class RnnWeights {
    /** PyTorch's names of a recurrent module's tensors. */
    private static final Pattern NAME = Pattern.compile("(" + Param.NAMES + ")_l(\\d+)(_reverse)?");

    private final RnnSpec spec;
    /** Every tensor of the spec, keyed by PyTorch name; absent biases are zeros here. */
    private final Map<String, float[]> tensors;

    private RnnWeights(RnnSpec spec, Map<String, float[]> tensors) {
        this.spec = spec;
        this.tensors = tensors;
    }

    /**
     * The kinds of parameter a layer and direction has, each with PyTorch's name and a shape the
     * spec derives. A cell's further tensors (the LSTM's projection and peepholes) are further kinds.
     */
    public enum Param {
        /** {@code W_ih} [G*H x in_l]. */
        WEIGHT_IH("weight_ih"),
        /** {@code W_hh} [G*H x H]. */
        WEIGHT_HH("weight_hh"),
        /** {@code b_ih} [G*H], only where the spec has bias. */
        BIAS_IH("bias_ih"),
        /** {@code b_hh} [G*H], only where the spec has bias. */
        BIAS_HH("bias_hh"),
        /** {@code W_hr} [P x H], the LSTM's projection, only where it has one (PyTorch's {@code proj_size}). */
        WEIGHT_HR("weight_hr"),
        /**
         * The LSTM's peephole weights [3H] in the order i, f, o (oneDNN's; ONNX's {@code P} is i, o, f), only
         * where it has peepholes. PyTorch has none; the name follows its pattern.
         */
        PEEPHOLE("weight_peephole");

        /** The names, as a regular expression alternative. */
        static final String NAMES = String.join("|", Arrays.stream(values()).map(Param::pytorchName).toList());

        private final String pytorchName;

        Param(String pytorchName) {
            this.pytorchName = pytorchName;
        }

        /**
         * PyTorch's name of this kind, without layer and direction.
         *
         * @return {@code weight_ih}, {@code weight_hh}, {@code bias_ih} or {@code bias_hh}
         */
        public String pytorchName() {
            return pytorchName;
        }

        /**
         * PyTorch's name of the tensor of this kind for one layer and direction.
         *
         * @param layer the layer, from 0
         * @param dir   the direction: 0 forward, 1 reverse
         * @return e.g. {@code weight_ih_l1_reverse}
         */
        public String name(int layer, int dir) {
            return pytorchName + "_l" + layer + (dir == 1 ? "_reverse" : "");
        }

        /**
         * Whether a network of {@code spec} has this kind of parameter.
         *
         * @param spec the network
         * @return false for a bias of a spec without bias
         */
        public boolean in(RnnSpec spec) {
            return switch (this) {
                case WEIGHT_IH, WEIGHT_HH -> true;
                case BIAS_IH, BIAS_HH -> spec.bias();
                case WEIGHT_HR -> spec.projectionSize() > 0;
                case PEEPHOLE -> spec.cell() instanceof Cell.Lstm lstm && lstm.peepholes();
            };
        }

        /** Why a network of {@code spec} has no tensor of this kind, for messages. */
        String absentBecause(RnnSpec spec) {
            return switch (this) {
                case WEIGHT_IH, WEIGHT_HH -> "";
                case BIAS_IH, BIAS_HH -> "the spec has bias=false";
                case WEIGHT_HR -> "the cell " + spec.cell() + " has no projection";
                case PEEPHOLE -> "the cell " + spec.cell() + " has no peepholes";
            };
        }

        /**
         * Whether this is a bias vector.
         *
         * @return true for the biases
         */
        public boolean isBias() {
            return this == BIAS_IH || this == BIAS_HH;
        }

        /**
         * The shape of this kind's tensor in layer {@code layer} of {@code spec}.
         *
         * @param spec  the network
         * @param layer the layer, from 0
         * @return {@code [rows, cols]} for a matrix, {@code [n]} for a vector
         */
        public int[] shape(RnnSpec spec, int layer) {
            int rows = spec.gates() * spec.hiddenSize();
            return switch (this) {
                case WEIGHT_IH -> new int[] {rows, spec.layerInputSize(layer)};
                case WEIGHT_HH -> new int[] {rows, spec.outputHiddenSize()};
                case BIAS_IH, BIAS_HH -> new int[] {rows};
                case WEIGHT_HR -> new int[] {spec.projectionSize(), spec.hiddenSize()};
                case PEEPHOLE -> new int[] {3 * spec.hiddenSize()};
            };
        }

        static Param of(String pytorchName) {
            for (Param p : values()) {
                if (p.pytorchName.equals(pytorchName)) {
                    return p;
                }
            }
            throw new IllegalArgumentException("param: expected one of " + NAMES + ", got " + pytorchName);
        }

        static long size(int[] shape) {
            long n = 1;
            for (int d : shape) {
                n *= d;
            }
            return n;
        }
    }

    /**
     * PyTorch's default initialisation: every weight and bias drawn from U(-k, k) with
     * k = 1/sqrt(hiddenSize), from a seeded generator (not PyTorch's generator: same law, other numbers).
     *
     * @param spec the network
     * @param seed the generator's seed: the same seed gives the same weights
     * @return the weights
     */
    public static RnnWeights random(RnnSpec spec, long seed) {
        Objects.requireNonNull(spec, "spec");
        double k = 1.0 / Math.sqrt(spec.hiddenSize());
        SplittableRandom rng = new SplittableRandom(seed);
        Builder b = builder(spec);
        for (int l = 0; l < spec.layers(); l++) {
            for (int d = 0; d < spec.directions(); d++) {
                for (Param p : Param.values()) {
                    if (p.in(spec)) {
                        b.put(p, l, d, uniform(rng, (int) Param.size(p.shape(spec, l)), k));
                    }
                }
            }
        }
        return b.build();
    }

    private static float[] uniform(SplittableRandom rng, int n, double k) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) rng.nextDouble(-k, k);
        }
        return a;
    }

    /**
     * A builder that collects the tensors of {@code spec}, each checked against its shape.
     *
     * @param spec the network
     * @return a new builder
     */
    public static Builder builder(RnnSpec spec) {
        return new Builder(spec);
    }

    /**
     * The network these are the weights of.
     *
     * @return the spec
     */
    public RnnSpec spec() {
        return spec;
    }

    /**
     * A read-only view (no copy) of one tensor.
     *
     * @param param the kind of parameter
     * @param layer the layer, from 0
     * @param dir   the direction: 0 forward, 1 reverse
     * @return its floats, row-major, of {@link Param#shape}; zeros for a bias of a spec without bias
     */
    public MemorySegment tensor(Param param, int layer, int dir) {
        return MemorySegment.ofArray(get(param, layer, dir)).asReadOnly();
    }

    /**
     * A copy of one tensor as an array.
     *
     * @param param the kind of parameter
     * @param layer the layer, from 0
     * @param dir   the direction: 0 forward, 1 reverse
     * @return its floats, row-major, of {@link Param#shape}; zeros for a bias of a spec without bias
     */
    public float[] array(Param param, int layer, int dir) {
        return get(param, layer, dir).clone();
    }

    private float[] get(Param param, int layer, int dir) {
        Objects.requireNonNull(param, "param");
        Objects.checkIndex(layer, spec.layers());
        Objects.checkIndex(dir, spec.directions());
        return tensors.get(param.name(layer, dir));
    }

    /**
     * {@link #tensor} of {@code W_ih}.
     *
     * @param layer the layer, from 0
     * @param dir   the direction: 0 forward, 1 reverse
     * @return {@code [G*H x in_l]} floats, row-major
     */
    public MemorySegment weightIh(int layer, int dir) {
        return tensor(Param.WEIGHT_IH, layer, dir);
    }

    /**
     * {@link #tensor} of {@code W_hh}.
     *
     * @param layer the layer, from 0
     * @param dir   the direction: 0 forward, 1 reverse
     * @return {@code [G*H x H]} floats, row-major
     */
    public MemorySegment weightHh(int layer, int dir) {
        return tensor(Param.WEIGHT_HH, layer, dir);
    }

    /**
     * {@link #tensor} of {@code b_ih}.
     *
     * @param layer the layer, from 0
     * @param dir   the direction: 0 forward, 1 reverse
     * @return {@code [G*H]} floats; zeros when the spec has no bias
     */
    public MemorySegment biasIh(int layer, int dir) {
        return tensor(Param.BIAS_IH, layer, dir);
    }

    /**
     * {@link #tensor} of {@code b_hh}.
     *
     * @param layer the layer, from 0
     * @param dir   the direction: 0 forward, 1 reverse
     * @return {@code [G*H]} floats; zeros when the spec has no bias
     */
    public MemorySegment biasHh(int layer, int dir) {
        return tensor(Param.BIAS_HH, layer, dir);
    }

    /**
     * Every tensor under its PyTorch name, in {@code state_dict()} order.
     *
     * @return copies of the tensors, by name
     */
    public Map<String, float[]> toPyTorch() {
        Map<String, float[]> m = new LinkedHashMap<>();
        for (int l = 0; l < spec.layers(); l++) {
            for (int d = 0; d < spec.directions(); d++) {
                for (Param p : Param.values()) {
                    if (p.in(spec)) {
                        m.put(p.name(l, d), array(p, l, d));
                    }
                }
            }
        }
        return m;
    }

    /** Collects the tensors of every layer and direction, each checked against its shape. */
    public static final class Builder {
        private final RnnSpec spec;
        private final Map<String, float[]> tensors = new LinkedHashMap<>();

        private Builder(RnnSpec spec) {
            this.spec = Objects.requireNonNull(spec, "spec");
        }

        /**
         * Sets one tensor (copied).
         *
         * @param param the kind of parameter
         * @param layer the layer, from 0
         * @param dir   the direction: 0 forward, 1 reverse
         * @param data  its floats, row-major, of {@link Param#shape}
         * @return this builder
         * @throws IllegalArgumentException for a bad layer, direction or size, a bias of a spec without
         *                                  bias, or a tensor set before
         */
        public Builder put(Param param, int layer, int dir, float[] data) {
            Objects.requireNonNull(param, "param");
            if (layer < 0 || layer >= spec.layers()) {
                throw new IllegalArgumentException("layer: expected 0 <= layer < " + spec.layers() + ", got " + layer);
            }
            if (dir < 0 || dir >= spec.directions()) {
                throw new IllegalArgumentException(param.pytorchName() + " direction: expected 0 <= dir < "
                        + spec.directions() + " (" + spec.direction() + "), got " + dir);
            }
            return set(param, layer, dir, data, param.name(layer, dir));
        }

        /**
         * Same as {@link #put(Param, int, int, float[])}, from a segment of floats (copied).
         *
         * @param param the kind of parameter
         * @param layer the layer, from 0
         * @param dir   the direction: 0 forward, 1 reverse
         * @param data  its floats, row-major
         * @return this builder
         */
        public Builder put(Param param, int layer, int dir, MemorySegment data) {
            return put(param, layer, dir, floats(param.pytorchName(), data));
        }

        /**
         * Sets {@code W_ih} [G*H x in_l] (copied).
         *
         * @param layer the layer, from 0
         * @param dir   the direction: 0 forward, 1 reverse
         * @param w     the weights, row-major
         * @return this builder
         * @throws IllegalArgumentException for a bad layer, direction or size, or a tensor set before
         */
        public Builder weightIh(int layer, int dir, float[] w) {
            return put(Param.WEIGHT_IH, layer, dir, w);
        }

        /**
         * Sets {@code W_hh} [G*H x H] (copied).
         *
         * @param layer the layer, from 0
         * @param dir   the direction: 0 forward, 1 reverse
         * @param w     the weights, row-major
         * @return this builder
         * @throws IllegalArgumentException for a bad layer, direction or size, or a tensor set before
         */
        public Builder weightHh(int layer, int dir, float[] w) {
            return put(Param.WEIGHT_HH, layer, dir, w);
        }

        /**
         * Sets {@code b_ih} [G*H] (copied); only when the spec has bias.
         *
         * @param layer the layer, from 0
         * @param dir   the direction: 0 forward, 1 reverse
         * @param b     the bias
         * @return this builder
         * @throws IllegalArgumentException for a spec without bias, a bad layer, direction or size, or a
         *                                  tensor set before
         */
        public Builder biasIh(int layer, int dir, float[] b) {
            return put(Param.BIAS_IH, layer, dir, b);
        }

        /**
         * Sets {@code b_hh} [G*H] (copied); only when the spec has bias.
         *
         * @param layer the layer, from 0
         * @param dir   the direction: 0 forward, 1 reverse
         * @param b     the bias
         * @return this builder
         * @throws IllegalArgumentException for a spec without bias, a bad layer, direction or size, or a
         *                                  tensor set before
         */
        public Builder biasHh(int layer, int dir, float[] b) {
            return put(Param.BIAS_HH, layer, dir, b);
        }

        /**
         * Sets one tensor by its PyTorch name ({@code weight_ih_l0}, {@code bias_hh_l1_reverse}, ...).
         *
         * @param name the tensor's name in an {@code nn.LSTM}'s (GRU's, RNN's) own {@code state_dict()}
         * @param data the tensor, row-major (copied)
         * @return this builder
         * @throws IllegalArgumentException for a name that is not one of the spec's tensors (a name with a
         *                                  module prefix, {@code lstm.weight_ih_l0}, is pointed to
         *                                  {@link #putAll(Map, String)}), a tensor of the wrong size, or a
         *                                  tensor set before
         */
        public Builder put(String name, float[] data) {
            Objects.requireNonNull(name, "name");
            return put(name, name, data);
        }

        /** {@link #put(String, float[])} of {@code name}, with {@code shown} (the key the caller gave) in messages. */
        private Builder put(String shown, String name, float[] data) {
            Matcher m = NAME.matcher(name);
            if (!m.matches()) {
                String hint = "";
                int dot = shown.lastIndexOf('.');
                if (dot > 0 && NAME.matcher(shown.substring(dot + 1)).matches()) {
                    hint = " (a state_dict key with a module prefix: load it with putAll(stateDict, \""
                            + shown.substring(0, dot + 1) + "\"))";
                }
                throw new IllegalArgumentException("name: expected " + Param.NAMES + " + _l<layer> [+ _reverse], got '"
                        + shown + "'" + hint);
            }
            int layer = Integer.parseInt(m.group(2));
            int dir = m.group(3) != null ? 1 : 0;
            Param param = Param.of(m.group(1));
            if (layer >= spec.layers()) {
                throw new IllegalArgumentException(shown + ": expected a layer below " + spec.layers()
                        + " (the spec's layers), got layer " + layer);
            }
            if (dir >= spec.directions()) {
                throw new IllegalArgumentException(shown + ": expected no _reverse tensor (the spec's direction is "
                        + spec.direction() + "), got one");
            }
            return set(param, layer, dir, data, shown);
        }

        /**
         * Sets every tensor of an {@code nn.LSTM}'s (GRU's, RNN's) own {@code state_dict()}: every key must name one of
         * the spec's tensors.
         *
         * @param tensors the tensors by PyTorch name
         * @return this builder
         * @throws IllegalArgumentException as {@link #put(String, float[])}, for the first bad key
         */
        public Builder putAll(Map<String, float[]> tensors) {
            return putAll(tensors, "");
        }

        /**
         * Sets the tensors of the recurrent module found under {@code prefix} in the
         * {@code state_dict()} of a larger model: {@code putAll(stateDict, "lstm.")} takes
         * {@code lstm.weight_ih_l0} as {@code weight_ih_l0}, and {@code "encoder.rnn."} the LSTM at
         * {@code model.encoder.rnn}. Keys outside the prefix belong to the model's other modules and are
         * skipped; every key under it must name one of the spec's tensors.
         *
         * @param tensors the model's tensors by name
         * @param prefix  the module's path with its trailing dot, as PyTorch writes it; "" for an
         *                {@code nn.LSTM}'s own state_dict
         * @return this builder
         * @throws IllegalArgumentException if no key has the prefix, or as {@link #put(String, float[])}
         *                                  for the first bad key under it
         */
        public Builder putAll(Map<String, float[]> tensors, String prefix) {
            Objects.requireNonNull(tensors, "tensors");
            Objects.requireNonNull(prefix, "prefix");
            int taken = 0;
            for (Map.Entry<String, float[]> e : tensors.entrySet()) {
                String key = e.getKey();
                if (key != null && key.startsWith(prefix)) {
                    put(key, key.substring(prefix.length()), e.getValue());
                    taken++;
                }
            }
            if (taken == 0 && !tensors.isEmpty()) {
                throw new IllegalArgumentException("prefix: expected keys starting with '" + prefix + "', got none among "
                        + tensors.size() + " (" + String.join(", ", tensors.keySet().stream().limit(6).toList())
                        + (tensors.size() > 6 ? ", ..." : "") + ")");
            }
            return this;
        }

        /**
         * Checks that every tensor is present and builds the immutable weights.
         *
         * @return the weights
         * @throws IllegalArgumentException naming the first tensor missing
         */
        public RnnWeights build() {
            Map<String, float[]> all = new LinkedHashMap<>();
            for (int l = 0; l < spec.layers(); l++) {
                for (int d = 0; d < spec.directions(); d++) {
                    for (Param p : Param.values()) {
                        String name = p.name(l, d);
                        float[] t = tensors.get(name);
                        if (t == null && p.in(spec)) {
                            throw new IllegalArgumentException(name + ": expected a tensor, got none (the spec has "
                                    + spec.layers() + " layer(s), " + spec.directions() + " direction(s)"
                                    + (spec.bias() ? ", bias" : "") + ", cell " + spec.cell() + ")");
                        }
                        all.put(name, t != null ? t : new float[(int) Param.size(p.shape(spec, l))]);
                    }
                }
            }
            return new RnnWeights(spec, all);
        }

        private Builder set(Param param, int layer, int dir, float[] data, String name) {
            if (!param.in(spec)) {
                throw new IllegalArgumentException(name + ": expected no such tensor (" + param.absentBecause(spec)
                        + "), got one");
            }
            int[] shape = param.shape(spec, layer);
            long expected = Param.size(shape);
            String dims = shape.length == 2 ? "[" + shape[0] + " x " + shape[1] + "]" : "[" + shape[0] + "]";
            if (data == null) {
                throw new IllegalArgumentException(name + ": expected a float" + dims + ", got null");
            }
            if (data.length != expected) {
                throw new IllegalArgumentException(name + ": expected " + dims
                        + (shape.length == 2 ? " = " + expected : "") + " floats, got " + data.length);
            }
            // a name given twice is a mistake, never meant as an update
            if (tensors.containsKey(param.name(layer, dir))) {
                throw new IllegalArgumentException(name + ": expected each tensor once, got it a second time");
            }
            tensors.put(param.name(layer, dir), data.clone());
            return this;
        }

        private static float[] floats(String kind, MemorySegment s) {
            Objects.requireNonNull(s, kind);
            if (s.byteSize() % Float.BYTES != 0) {
                throw new IllegalArgumentException(kind + ": expected a whole number of floats, got " + s.byteSize() + " bytes");
            }
            return s.toArray(ValueLayout.JAVA_FLOAT);
        }
    }

    @Override
    public String toString() {
        return "RnnWeights" + Arrays.asList(spec.cell(), spec.layers() + " layer(s)", spec.direction());
    }
}
