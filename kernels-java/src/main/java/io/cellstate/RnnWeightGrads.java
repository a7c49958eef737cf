package io.cellstate;

import io.cellstate.RnnWeights.Param;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The gradients of a loss with respect to every weight and bias of a network, in the layout of
 * {@link RnnWeights} (PyTorch's shapes and gate orders) and under PyTorch's names: what
 * {@link RnnPlan#backward} writes or adds to ({@link WeightGradMode}). A spec without bias has no
 * bias gradients, as its PyTorch module has no bias parameters. Mutable, held on the heap, and not
 * thread-safe: one backward pass writes it at a time.
 */
public final class RnnWeightGrads {
    private final RnnSpec spec;
    private final Map<String, float[]> grads = new LinkedHashMap<>();

    private RnnWeightGrads(RnnSpec spec) {
        this.spec = spec;
        for (int l = 0; l < spec.layers(); l++) {
            for (int d = 0; d < spec.directions(); d++) {
                for (Param p : Param.values()) {
                    if (p.in(spec)) {
                        grads.put(p.name(l, d), new float[(int) Param.size(p.shape(spec, l))]);
                    }
                }
            }
        }
    }

    /**
     * Zero gradients for every parameter of {@code spec}.
     *
     * @param spec the network
     * @return the gradients, all 0
     */
    public static RnnWeightGrads zeros(RnnSpec spec) {
        return new RnnWeightGrads(Objects.requireNonNull(spec, "spec"));
    }

    /**
     * The network these are the gradients of.
     *
     * @return the spec
     */
    public RnnSpec spec() {
        return spec;
    }

    /**
     * A live view (no copy) of one gradient: writes to it change these gradients.
     *
     * @param param the kind of parameter
     * @param layer the layer, from 0
     * @param dir   the direction: 0 forward, 1 reverse
     * @return a heap tensor of {@link Param#shape}
     * @throws IllegalArgumentException for a bias of a spec without bias, or a layer or direction out of range
     */
    public Tensor get(Param param, int layer, int dir) {
        Objects.requireNonNull(param, "param");
        return Tensor.of(data(param, layer, dir), param.shape(spec, layer));
    }

    /**
     * A live view of the gradient of the parameter PyTorch names {@code name}.
     *
     * @param name e.g. {@code weight_hh_l1_reverse}
     * @return a heap tensor of the parameter's shape
     * @throws IllegalArgumentException for a name the spec has no parameter of
     */
    public Tensor get(String name) {
        float[] g = grads.get(name);
        if (g == null) {
            throw new IllegalArgumentException("name: expected one of " + grads.keySet() + ", got '" + name + "'");
        }
        for (int l = 0; l < spec.layers(); l++) {
            for (int d = 0; d < spec.directions(); d++) {
                for (Param p : Param.values()) {
                    if (p.in(spec) && p.name(l, d).equals(name)) {
                        return get(p, l, d);
                    }
                }
            }
        }
        throw new AssertionError(name);
    }

    /**
     * The array behind one gradient, for a backend's kernels to write in place.
     *
     * @param param the kind of parameter
     * @param layer the layer, from 0
     * @param dir   the direction: 0 forward, 1 reverse
     * @return the live array, row-major, of {@link Param#shape}
     * @throws IllegalArgumentException for a bias of a spec without bias, or a layer or direction out of range
     */
    public float[] data(Param param, int layer, int dir) {
        Objects.requireNonNull(param, "param");
        if (layer < 0 || layer >= spec.layers()) {
            throw new IllegalArgumentException("layer: expected 0 <= layer < " + spec.layers() + ", got " + layer);
        }
        if (dir < 0 || dir >= spec.directions()) {
            throw new IllegalArgumentException("dir: expected 0 <= dir < " + spec.directions() + ", got " + dir);
        }
        if (!param.in(spec)) {
            throw new IllegalArgumentException("param: expected a parameter of the spec, got " + param
                    + " (the spec has bias=false)");
        }
        return grads.get(param.name(layer, dir));
    }

    /**
     * Live views of every gradient by PyTorch name, in the order of the module's {@code state_dict()}.
     *
     * @return the views, e.g. {@code weight_ih_l0 -> [G*H, inputSize]}
     */
    public Map<String, Tensor> toStateDict() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (int l = 0; l < spec.layers(); l++) {
            for (int d = 0; d < spec.directions(); d++) {
                for (Param p : Param.values()) {
                    if (p.in(spec)) {
                        m.put(p.name(l, d), get(p, l, d));
                    }
                }
            }
        }
        return m;
    }

    /**
     * Sets every gradient to 0.
     *
     * @return these gradients
     */
    public RnnWeightGrads zero() {
        for (float[] g : grads.values()) {
            Arrays.fill(g, 0f);
        }
        return this;
    }

    @Override
    public String toString() {
        return "RnnWeightGrads" + Arrays.asList(spec.cell(), spec.layers() + " layer(s)", spec.direction());
    }
}
