package io.cellstate.bench;

import io.cellstate.Cell;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeightGrads;
import io.cellstate.RnnWeights;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Our canonical weights (PyTorch's shapes and gate orders) in oneDNN's user layouts and back: the
 * one place that knows how the two differ, used by the forward peer ({@link OneDnnRnn}) and the
 * training peer ({@link OneDnnTraining}) alike.
 *
 * <p>oneDNN's LSTM gate order {@code i, f, c~, o} is ours ({@code i, f, g, o}); its GRU order
 * {@code u, r, o} is ours {@code z, r, n} permuted (u is the update gate z). {@code W_ih [G*H x in]}
 * and {@code W_hh [G*H x H_out]} become {@code ldigo [layers, dirs, in or H_out, G, H]}: transposed,
 * gate blocks permuted. The bias {@code ldgo [layers, dirs, G, H]} is {@code b_ih + b_hh}; for
 * {@code lbr_gru} it has a fourth gate, {@code u'}, the recurrent n-bias {@code b_hn} that sits inside
 * the product by r, and {@code o} holds {@code b_in} alone.
 *
 * <p>The LSTM's options: the projection {@code W_hr [P x H]} becomes {@code weights_projection}
 * {@code ldio [layers, dirs, H, P]} (transposed: oneDNN computes {@code h = (o ⊙ tanh(c)) R} with
 * R of H rows and P columns), and the peepholes {@code [3H]} (i, f, o) are {@code weights_peephole}
 * {@code ldgo [layers, dirs, 3, H]} in the same order, as they are. Gradients come back the same
 * ways in reverse: a summed bias's gradient is the gradient of each of its two addends.
 *
 * @param spec      the network
 * @param gates     G, the cell's gates
 * @param biasGates gates of oneDNN's bias: G, or 4 for {@code lbr_gru}
 * @param ourGate   oneDNN's gate q is our gate {@code ourGate[q]}
 */
record OneDnnLayout(RnnSpec spec, int gates, int biasGates, int[] ourGate) {

    /** The weights tensors of oneDNN's RNN primitives, each with its user format. */
    enum Kind {
        /** {@code weights_layer}, ldigo: W_ih. */
        LAYER,
        /** {@code weights_iter}, ldigo: W_hh. */
        ITER,
        /** {@code bias}, ldgo: b_ih + b_hh (and lbr_gru's b_hn). */
        BIAS,
        /** {@code weights_peephole}, ldgo [L, D, 3, H]: the LSTM's peepholes. */
        PEEPHOLE,
        /** {@code weights_projection}, ldio [L, D, H, P]: the LSTM's W_hr, transposed. */
        PROJECTION
    }

    /** The layout of {@code spec}, whose cell oneDNN has ({@link #unsupported} is empty). */
    static OneDnnLayout of(RnnSpec spec) {
        int gates = spec.gates();
        boolean lbr = spec.cell() instanceof Cell.Gru gru && gru.linearBeforeReset();
        int[] order = spec.cell() instanceof Cell.Gru ? new int[] {1, 0, 2} : gates == 4 ? new int[] {0, 1, 2, 3}
                : new int[] {0};
        return new OneDnnLayout(spec, gates, lbr ? 4 : gates, order);
    }

    /**
     * What oneDNN lacks to run {@code cell}, or "" where it has it: of the LSTM's options it has the
     * projection and the peepholes, not ONNX's clip, the coupled gates or other activations; the GRU
     * and the RNN only with their default activations (tanh or ReLU for the RNN).
     */
    static String unsupported(Cell cell) {
        if (cell instanceof Cell.Lstm lstm) {
            return lstm.withProjection(0).withPeepholes(false).isPlain() ? ""
                    : "its lstm primitive has a projection and peepholes but no clip, coupled gates or other activations";
        }
        return cell.isPlain() ? "" : "its primitives have their default activations only";
    }

    /** Whether oneDNN's bias has the fourth, recurrent n-bias gate of {@code lbr_gru}. */
    private boolean lbr() {
        return biasGates == 4 && gates == 3;
    }

    /** The weights tensors of this spec's primitives: layer, iter and bias, then the LSTM's peepholes and projection where it has them. */
    List<Kind> kinds() {
        List<Kind> k = new ArrayList<>(List.of(Kind.LAYER, Kind.ITER, Kind.BIAS));
        if (RnnWeights.Param.PEEPHOLE.in(spec)) {
            k.add(Kind.PEEPHOLE);
        }
        if (RnnWeights.Param.WEIGHT_HR.in(spec)) {
            k.add(Kind.PROJECTION);
        }
        return List.copyOf(k);
    }

    /**
     * The dimensions of {@code kind}'s tensor over {@code layers} layers from {@code first}, in oneDNN's
     * order ({@code ldigo}, {@code ldgo}, {@code ldio}).
     */
    long[] dims(Kind kind, int first, int layers) {
        long d = spec.directions();
        long h = spec.hiddenSize();
        return switch (kind) {
            case LAYER -> new long[] {layers, d, spec.layerInputSize(first), gates, h};
            case ITER -> new long[] {layers, d, spec.outputHiddenSize(), gates, h};
            case BIAS -> new long[] {layers, d, biasGates, h};
            case PEEPHOLE -> new long[] {layers, d, 3, h};
            case PROJECTION -> new long[] {layers, d, h, spec.projectionSize()};
        };
    }

    /** Our weights of {@code kind} for layers {@code [first, first + layers)} in oneDNN's user layout, in a buffer of {@code into}. */
    MemorySegment user(Kind kind, RnnWeights w, int first, int layers, Arena into) {
        return switch (kind) {
            case LAYER -> ldigo(w, first, layers, false, into);
            case ITER -> ldigo(w, first, layers, true, into);
            case BIAS -> ldgo(w, first, layers, into);
            case PEEPHOLE -> peepholes(w, first, layers, into);
            case PROJECTION -> ldio(w, first, layers, into);
        };
    }

    /** Columns of layer {@code layer}'s W_ih (its input), or of W_hh when {@code recurrent} (H_out). */
    private int cols(int layer, boolean recurrent) {
        return recurrent ? spec.outputHiddenSize() : spec.layerInputSize(layer);
    }

    /** Our row of oneDNN's row {@code r} (gate-major, {@code q * H + j}). */
    private int ourRow(int r) {
        int hidden = spec.hiddenSize();
        return ourGate[r / hidden] * hidden + r % hidden;
    }

    /**
     * W_ih (or W_hh) of layers {@code [first, first + layers)} as {@code ldigo}: each [G*H x cols]
     * transposed to [cols x G*H], its gate blocks in oneDNN's order, in a buffer of {@code into}.
     */
    private MemorySegment ldigo(RnnWeights w, int first, int layers, boolean recurrent, Arena into) {
        int rows = gates * spec.hiddenSize();
        int cols = cols(first, recurrent);
        long block = (long) cols * rows;
        MemorySegment out = into.allocate(layers * spec.directions() * block * Float.BYTES, 64);
        for (int l = 0; l < layers; l++) {
            for (int d = 0; d < spec.directions(); d++) {
                float[] m = w.array(recurrent ? RnnWeights.Param.WEIGHT_HH : RnnWeights.Param.WEIGHT_IH, first + l, d);
                long base = ((long) l * spec.directions() + d) * block;
                for (int r = 0; r < rows; r++) {
                    int ours = ourRow(r);
                    for (int c = 0; c < cols; c++) {
                        out.setAtIndex(ValueLayout.JAVA_FLOAT, base + (long) c * rows + r, m[ours * cols + c]);
                    }
                }
            }
        }
        return out;
    }

    /**
     * {@code b_ih + b_hh} of layers {@code [first, first + layers)} as {@code ldgo} (zeros without bias),
     * in oneDNN's gate order; for {@code lbr_gru}, gate o holds {@code b_in} and a fourth gate {@code b_hn}.
     */
    private MemorySegment ldgo(RnnWeights w, int first, int layers, Arena into) {
        int hidden = spec.hiddenSize();
        int rows = biasGates * hidden;
        MemorySegment out = into.allocate((long) layers * spec.directions() * rows * Float.BYTES, 64);
        if (!spec.bias()) {
            return out;
        }
        for (int l = 0; l < layers; l++) {
            for (int d = 0; d < spec.directions(); d++) {
                float[] bi = w.array(RnnWeights.Param.BIAS_IH, first + l, d);
                float[] bh = w.array(RnnWeights.Param.BIAS_HH, first + l, d);
                long base = ((long) l * spec.directions() + d) * rows;
                for (int r = 0; r < rows; r++) {
                    int q = r / hidden;
                    int j = r % hidden;
                    float v;
                    if (lbr() && q >= 2) {
                        // lbr_gru: o = b_in (outside r), u' = b_hn (inside r)
                        v = q == 2 ? bi[2 * hidden + j] : bh[2 * hidden + j];
                    } else {
                        int ours = ourRow(r);
                        v = bi[ours] + bh[ours];
                    }
                    out.setAtIndex(ValueLayout.JAVA_FLOAT, base + r, v);
                }
            }
        }
        return out;
    }

    /** The peepholes [3H] (i, f, o) of layers {@code [first, first + layers)} as {@code ldgo [L, D, 3, H]}: the same order, copied. */
    private MemorySegment peepholes(RnnWeights w, int first, int layers, Arena into) {
        long block = 3L * spec.hiddenSize();
        MemorySegment out = into.allocate(layers * spec.directions() * block * Float.BYTES, 64);
        for (int l = 0; l < layers; l++) {
            for (int d = 0; d < spec.directions(); d++) {
                float[] p = w.array(RnnWeights.Param.PEEPHOLE, first + l, d);
                MemorySegment.copy(p, 0, out, ValueLayout.JAVA_FLOAT, ((long) l * spec.directions() + d) * block * Float.BYTES,
                        p.length);
            }
        }
        return out;
    }

    /** W_hr [P x H] of layers {@code [first, first + layers)} as {@code ldio [L, D, H, P]}: transposed. */
    private MemorySegment ldio(RnnWeights w, int first, int layers, Arena into) {
        int hidden = spec.hiddenSize();
        int p = spec.projectionSize();
        long block = (long) hidden * p;
        MemorySegment out = into.allocate(layers * spec.directions() * block * Float.BYTES, 64);
        for (int l = 0; l < layers; l++) {
            for (int d = 0; d < spec.directions(); d++) {
                float[] m = w.array(RnnWeights.Param.WEIGHT_HR, first + l, d);
                long base = ((long) l * spec.directions() + d) * block;
                for (int row = 0; row < p; row++) {
                    for (int j = 0; j < hidden; j++) {
                        out.setAtIndex(ValueLayout.JAVA_FLOAT, base + (long) j * p + row, m[row * hidden + j]);
                    }
                }
            }
        }
        return out;
    }

    /**
     * Writes oneDNN's weight gradients of layers {@code [first, first + layers)}, one user-layout
     * tensor per kind of {@link #kinds()} (as {@link #user} lays them out), into {@code grads} in our layout.
     */
    void toGrads(Map<Kind, MemorySegment> user, int first, int layers, RnnWeightGrads grads) {
        int hidden = spec.hiddenSize();
        int rows = gates * hidden;
        for (int l = 0; l < layers; l++) {
            for (int d = 0; d < spec.directions(); d++) {
                long ld = (long) l * spec.directions() + d;
                for (boolean recurrent : new boolean[] {false, true}) {
                    int cols = cols(first + l, recurrent);
                    long base = ld * cols * rows;
                    float[] m = grads.data(recurrent ? RnnWeights.Param.WEIGHT_HH : RnnWeights.Param.WEIGHT_IH,
                            first + l, d);
                    MemorySegment src = user.get(recurrent ? Kind.ITER : Kind.LAYER);
                    for (int r = 0; r < rows; r++) {
                        int ours = ourRow(r);
                        for (int c = 0; c < cols; c++) {
                            m[ours * cols + c] = src.getAtIndex(ValueLayout.JAVA_FLOAT, base + (long) c * rows + r);
                        }
                    }
                }
                if (spec.bias()) {
                    biasGrads(user.get(Kind.BIAS), ld, grads.data(RnnWeights.Param.BIAS_IH, first + l, d),
                            grads.data(RnnWeights.Param.BIAS_HH, first + l, d));
                }
                if (user.containsKey(Kind.PEEPHOLE)) {
                    float[] p = grads.data(RnnWeights.Param.PEEPHOLE, first + l, d);
                    MemorySegment.copy(user.get(Kind.PEEPHOLE), ValueLayout.JAVA_FLOAT, ld * p.length * Float.BYTES, p, 0,
                            p.length);
                }
                if (user.containsKey(Kind.PROJECTION)) {
                    int p = spec.projectionSize();
                    float[] m = grads.data(RnnWeights.Param.WEIGHT_HR, first + l, d);
                    MemorySegment src = user.get(Kind.PROJECTION);
                    long base = ld * hidden * p;
                    for (int row = 0; row < p; row++) {
                        for (int j = 0; j < hidden; j++) {
                            m[row * hidden + j] = src.getAtIndex(ValueLayout.JAVA_FLOAT, base + (long) j * p + row);
                        }
                    }
                }
            }
        }
    }

    /** One layer and direction's bias gradient, block {@code ld} of {@code ldgo}, into b_ih's and b_hh's. */
    private void biasGrads(MemorySegment ldgo, long ld, float[] bi, float[] bh) {
        int hidden = spec.hiddenSize();
        long base = ld * biasGates * hidden;
        for (int r = 0; r < biasGates * hidden; r++) {
            float g = ldgo.getAtIndex(ValueLayout.JAVA_FLOAT, base + r);
            int q = r / hidden;
            int j = r % hidden;
            if (lbr() && q >= 2) {
                (q == 2 ? bi : bh)[2 * hidden + j] = g;
            } else {
                bi[ourRow(r)] = g;
                bh[ourRow(r)] = g;
            }
        }
    }
}
