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
 * cell's order (LSTM {@code i, f, g, o}), H hidden units and {@code in_l} input features
 * ({@link RnnSpec#layerInputSize}), row-major:
 * <pre>
 *   W_ih  [G*H x in_l]   PyTorch weight_ih_l{l}[_reverse]   rows g*H .. g*H+H-1 belong to gate g
 *   W_hh  [G*H x H]      PyTorch weight_hh_l{l}[_reverse]
 *   b_ih  [G*H]          PyTorch bias_ih_l{l}[_reverse]     (absent, i.e. zero, when bias is off)
 *   b_hh  [G*H]          PyTorch bias_hh_l{l}[_reverse]
 * </pre>
 * Exactly the shapes and order of PyTorch's {@code state_dict()}, so its tensors load as they are.
 * A framework with one bias vector sets {@code b_hh} to zero. Foreign gate orders (ONNX
 * {@code i, o, f, c}, Keras {@code i, f, c, o}) must be permuted by the importer.
 */
public final class RnnWeights {
    /** PyTorch's names of an {@code nn.LSTM}'s tensors. */
    private static final Pattern NAME = Pattern.compile("(weight_ih|weight_hh|bias_ih|bias_hh)_l(\\d+)(_reverse)?");

    private final RnnSpec spec;
    private final float[][] wIh;
    private final float[][] wHh;
    private final float[][] bIh;
    private final float[][] bHh;

    private RnnWeights(RnnSpec spec, float[][] wIh, float[][] wHh, float[][] bIh, float[][] bHh) {
        this.spec = spec;
        this.wIh = wIh;
        this.wHh = wHh;
        this.bIh = bIh;
        this.bHh = bHh;
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
                b.weightIh(l, d, uniform(rng, spec.gates() * spec.hiddenSize() * spec.layerInputSize(l), k));
                b.weightHh(l, d, uniform(rng, spec.gates() * spec.hiddenSize() * spec.hiddenSize(), k));
                if (spec.bias()) {
                    b.biasIh(l, d, uniform(rng, spec.gates() * spec.hiddenSize(), k));
                    b.biasHh(l, d, uniform(rng, spec.gates() * spec.hiddenSize(), k));
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
     * A read-only view (no copy) of {@code W_ih} of layer {@code layer}, direction {@code dir}.
     *
     * @param layer the layer, from 0
     * @param dir   the direction: 0 forward, 1 reverse
     * @return {@code [G*H x in_l]} floats, row-major
     */
    public MemorySegment weightIh(int layer, int dir) {
        return view(wIh, layer, dir);
    }

    /**
     * A read-only view (no copy) of {@code W_hh}.
     *
     * @param layer the layer, from 0
     * @param dir   the direction: 0 forward, 1 reverse
     * @return {@code [G*H x H]} floats, row-major
     */
    public MemorySegment weightHh(int layer, int dir) {
        return view(wHh, layer, dir);
    }

    /**
     * A read-only view of {@code b_ih}.
     *
     * @param layer the layer, from 0
     * @param dir   the direction: 0 forward, 1 reverse
     * @return {@code [G*H]} floats; all zeros when the spec has no bias
     */
    public MemorySegment biasIh(int layer, int dir) {
        return view(bIh, layer, dir);
    }

    /**
     * A read-only view of {@code b_hh}.
     *
     * @param layer the layer, from 0
     * @param dir   the direction: 0 forward, 1 reverse
     * @return {@code [G*H]} floats; all zeros when the spec has no bias
     */
    public MemorySegment biasHh(int layer, int dir) {
        return view(bHh, layer, dir);
    }

    /**
     * A copy of {@code W_ih} as an array.
     *
     * @param layer the layer, from 0
     * @param dir   the direction: 0 forward, 1 reverse
     * @return {@code [G*H x in_l]} floats, row-major
     */
    public float[] weightIhArray(int layer, int dir) {
        return wIh[index(layer, dir)].clone();
    }

    /**
     * A copy of {@code W_hh} as an array.
     *
     * @param layer the layer, from 0
     * @param dir   the direction: 0 forward, 1 reverse
     * @return {@code [G*H x H]} floats, row-major
     */
    public float[] weightHhArray(int layer, int dir) {
        return wHh[index(layer, dir)].clone();
    }

    /**
     * A copy of {@code b_ih} as an array.
     *
     * @param layer the layer, from 0
     * @param dir   the direction: 0 forward, 1 reverse
     * @return {@code [G*H]} floats; zeros when the spec has no bias
     */
    public float[] biasIhArray(int layer, int dir) {
        return bIh[index(layer, dir)].clone();
    }

    /**
     * A copy of {@code b_hh} as an array.
     *
     * @param layer the layer, from 0
     * @param dir   the direction: 0 forward, 1 reverse
     * @return {@code [G*H]} floats; zeros when the spec has no bias
     */
    public float[] biasHhArray(int layer, int dir) {
        return bHh[index(layer, dir)].clone();
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
                m.put(name("weight_ih", l, d), weightIhArray(l, d));
                m.put(name("weight_hh", l, d), weightHhArray(l, d));
                if (spec.bias()) {
                    m.put(name("bias_ih", l, d), biasIhArray(l, d));
                    m.put(name("bias_hh", l, d), biasHhArray(l, d));
                }
            }
        }
        return m;
    }

    /**
     * PyTorch's name of a tensor: {@code weight_ih_l1_reverse} for kind "weight_ih", layer 1, direction 1.
     *
     * @param kind  {@code weight_ih}, {@code weight_hh}, {@code bias_ih} or {@code bias_hh}
     * @param layer the layer, from 0
     * @param dir   the direction: 0 forward, 1 reverse
     * @return the name
     */
    public static String name(String kind, int layer, int dir) {
        return kind + "_l" + layer + (dir == 1 ? "_reverse" : "");
    }

    private MemorySegment view(float[][] t, int layer, int dir) {
        return MemorySegment.ofArray(t[index(layer, dir)]).asReadOnly();
    }

    private int index(int layer, int dir) {
        Objects.checkIndex(layer, spec.layers());
        Objects.checkIndex(dir, spec.directions());
        return layer * spec.directions() + dir;
    }

    /** Collects the tensors of every layer and direction, each checked against its shape. */
    public static final class Builder {
        private final RnnSpec spec;
        private final float[][] wIh;
        private final float[][] wHh;
        private final float[][] bIh;
        private final float[][] bHh;

        private Builder(RnnSpec spec) {
            this.spec = Objects.requireNonNull(spec, "spec");
            int n = spec.stateCount();
            wIh = new float[n][];
            wHh = new float[n][];
            bIh = new float[n][];
            bHh = new float[n][];
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
            return put(wIh, "weight_ih", layer, dir, w, spec.layerInputSize(checkLayer(layer)), null);
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
            return put(wHh, "weight_hh", layer, dir, w, spec.hiddenSize(), null);
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
            return putBias(bIh, "bias_ih", layer, dir, b, null);
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
            return putBias(bHh, "bias_hh", layer, dir, b, null);
        }

        /**
         * Same as {@link #weightIh(int, int, float[])}, from a segment of floats (copied).
         *
         * @param layer the layer, from 0
         * @param dir   the direction: 0 forward, 1 reverse
         * @param w     the weights, row-major
         * @return this builder
         */
        public Builder weightIh(int layer, int dir, MemorySegment w) {
            return weightIh(layer, dir, floats("weight_ih", w));
        }

        /**
         * Same as {@link #weightHh(int, int, float[])}, from a segment of floats (copied).
         *
         * @param layer the layer, from 0
         * @param dir   the direction: 0 forward, 1 reverse
         * @param w     the weights, row-major
         * @return this builder
         */
        public Builder weightHh(int layer, int dir, MemorySegment w) {
            return weightHh(layer, dir, floats("weight_hh", w));
        }

        /**
         * Same as {@link #biasIh(int, int, float[])}, from a segment of floats (copied).
         *
         * @param layer the layer, from 0
         * @param dir   the direction: 0 forward, 1 reverse
         * @param b     the bias
         * @return this builder
         */
        public Builder biasIh(int layer, int dir, MemorySegment b) {
            return biasIh(layer, dir, floats("bias_ih", b));
        }

        /**
         * Same as {@link #biasHh(int, int, float[])}, from a segment of floats (copied).
         *
         * @param layer the layer, from 0
         * @param dir   the direction: 0 forward, 1 reverse
         * @param b     the bias
         * @return this builder
         */
        public Builder biasHh(int layer, int dir, MemorySegment b) {
            return biasHh(layer, dir, floats("bias_hh", b));
        }

        /**
         * Sets one tensor by its PyTorch name ({@code weight_ih_l0}, {@code bias_hh_l1_reverse}, ...).
         *
         * @param name the tensor's name in an {@code nn.LSTM}'s own {@code state_dict()}
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
                throw new IllegalArgumentException("name: expected weight_ih|weight_hh|bias_ih|bias_hh + _l<layer>"
                        + " [+ _reverse], got '" + shown + "'" + hint);
            }
            int layer = Integer.parseInt(m.group(2));
            int dir = m.group(3) != null ? 1 : 0;
            String kind = m.group(1);
            if (layer >= spec.layers()) {
                throw new IllegalArgumentException(shown + ": expected a layer below " + spec.layers()
                        + " (the spec's layers), got layer " + layer);
            }
            if (dir >= spec.directions()) {
                throw new IllegalArgumentException(shown + ": expected no _reverse tensor (the spec's direction is "
                        + spec.direction() + "), got one");
            }
            return switch (kind) {
                case "weight_ih" -> put(wIh, kind, layer, dir, data, spec.layerInputSize(layer), shown);
                case "weight_hh" -> put(wHh, kind, layer, dir, data, spec.hiddenSize(), shown);
                case "bias_ih" -> putBias(bIh, kind, layer, dir, data, shown);
                default -> putBias(bHh, kind, layer, dir, data, shown);
            };
        }

        /**
         * Sets every tensor of an {@code nn.LSTM}'s own {@code state_dict()}: every key must name one of
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
            int gh = spec.gates() * spec.hiddenSize();
            for (int l = 0; l < spec.layers(); l++) {
                for (int d = 0; d < spec.directions(); d++) {
                    int i = l * spec.directions() + d;
                    require(wIh[i], "weight_ih", l, d);
                    require(wHh[i], "weight_hh", l, d);
                    if (spec.bias()) {
                        require(bIh[i], "bias_ih", l, d);
                        require(bHh[i], "bias_hh", l, d);
                    }
                }
            }
            float[][] zb = new float[spec.stateCount()][];
            float[][] zh = new float[spec.stateCount()][];
            for (int i = 0; i < zb.length; i++) {
                zb[i] = bIh[i] != null ? bIh[i] : new float[gh];
                zh[i] = bHh[i] != null ? bHh[i] : new float[gh];
            }
            return new RnnWeights(spec, wIh.clone(), wHh.clone(), zb, zh);
        }

        private void require(float[] t, String kind, int l, int d) {
            if (t == null) {
                throw new IllegalArgumentException(name(kind, l, d) + ": expected a tensor, got none (the spec has "
                        + spec.layers() + " layer(s), " + spec.directions() + " direction(s)"
                        + (spec.bias() ? ", bias" : "") + ")");
            }
        }

        private int checkLayer(int layer) {
            if (layer < 0 || layer >= spec.layers()) {
                throw new IllegalArgumentException("layer: expected 0 <= layer < " + spec.layers() + ", got " + layer);
            }
            return layer;
        }

        private int slot(String kind, int layer, int dir) {
            checkLayer(layer);
            if (dir < 0 || dir >= spec.directions()) {
                throw new IllegalArgumentException(kind + " direction: expected 0 <= dir < " + spec.directions()
                        + " (" + spec.direction() + "), got " + dir);
            }
            return layer * spec.directions() + dir;
        }

        private Builder put(float[][] into, String kind, int layer, int dir, float[] w, int cols, String shown) {
            int slot = slot(kind, layer, dir);
            String name = shown != null ? shown : name(kind, layer, dir);
            if (w == null) {
                throw new IllegalArgumentException(name + ": expected a float[" + spec.gates() * spec.hiddenSize()
                        + " x " + cols + "], got null");
            }
            long expected = (long) spec.gates() * spec.hiddenSize() * cols;
            if (w.length != expected) {
                throw new IllegalArgumentException(name + ": expected [" + spec.gates() * spec.hiddenSize() + " x " + cols
                        + "] = " + expected + " floats, got " + w.length);
            }
            once(into, slot, name);
            into[slot] = w.clone();
            return this;
        }

        /** Refuses a tensor set before: two entries for one name are a mistake, never meant as an update. */
        private static void once(float[][] into, int slot, String name) {
            if (into[slot] != null) {
                throw new IllegalArgumentException(name + ": expected each tensor once, got it a second time");
            }
        }

        private Builder putBias(float[][] into, String kind, int layer, int dir, float[] b, String shown) {
            String name = shown != null ? shown : name(kind, layer, dir);
            if (!spec.bias()) {
                throw new IllegalArgumentException(name + ": expected no bias (the spec has bias=false), got a tensor");
            }
            int slot = slot(kind, layer, dir);
            int expected = spec.gates() * spec.hiddenSize();
            if (b == null) {
                throw new IllegalArgumentException(name + ": expected a float[" + expected + "], got null");
            }
            if (b.length != expected) {
                throw new IllegalArgumentException(name + ": expected [" + expected + "] floats, got " + b.length);
            }
            once(into, slot, name);
            into[slot] = b.clone();
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
