package io.cellstate.bench;

import io.cellstate.Cell;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeightGrads;
import io.cellstate.RnnWeights;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Our canonical weights (PyTorch's shapes and gate orders) in oneDNN's user layouts and back: the
 * one place that knows how the two differ, used by the forward peer ({@link OneDnnRnn}) and the
 * training peer ({@link OneDnnTraining}) alike.
 *
 * <p>oneDNN's LSTM gate order {@code i, f, c~, o} is ours ({@code i, f, g, o}); its GRU order
 * {@code u, r, o} is ours {@code z, r, n} permuted (u is the update gate z). {@code W_ih [G*H x in]}
 * and {@code W_hh [G*H x H]} become {@code ldigo [layers, dirs, in, G, H]}: transposed, gate blocks
 * permuted. The bias {@code ldgo [layers, dirs, G, H]} is {@code b_ih + b_hh}; for {@code lbr_gru} it
 * has a fourth gate, {@code u'}, the recurrent n-bias {@code b_hn} that sits inside the product by r,
 * and {@code o} holds {@code b_in} alone. Gradients come back the same way in reverse: a summed
 * bias's gradient is the gradient of each of its two addends.
 *
 * @param spec      the network
 * @param gates     G, the cell's gates
 * @param biasGates gates of oneDNN's bias: G, or 4 for {@code lbr_gru}
 * @param ourGate   oneDNN's gate q is our gate {@code ourGate[q]}
 */
record OneDnnLayout(RnnSpec spec, int gates, int biasGates, int[] ourGate) {

    static OneDnnLayout of(RnnSpec spec) {
        int gates = spec.gates();
        boolean lbr = spec.cell() instanceof Cell.Gru gru && gru.linearBeforeReset();
        int[] order = spec.cell() instanceof Cell.Gru ? new int[] {1, 0, 2} : gates == 4 ? new int[] {0, 1, 2, 3}
                : new int[] {0};
        return new OneDnnLayout(spec, gates, lbr ? 4 : gates, order);
    }

    /** Whether oneDNN's bias has the fourth, recurrent n-bias gate of {@code lbr_gru}. */
    private boolean lbr() {
        return biasGates == 4 && gates == 3;
    }

    /** Rows {@code G*H} and columns (layer input, or H when {@code recurrent}) of layer {@code layer}'s matrix. */
    private int cols(int layer, boolean recurrent) {
        return recurrent ? spec.hiddenSize() : spec.layerInputSize(layer);
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
    MemorySegment ldigo(RnnWeights w, int first, int layers, boolean recurrent, Arena into) {
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
    MemorySegment ldgo(RnnWeights w, int first, int layers, Arena into) {
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

    /**
     * Writes oneDNN's weight gradients of layers {@code [first, first + layers)}, {@code ldigo} and
     * {@code ldgo} as {@link #ldigo} and {@link #ldgo} lay them out, into {@code grads} in our layout.
     */
    void toGrads(MemorySegment layerLdigo, MemorySegment iterLdigo, MemorySegment biasLdgo, int first, int layers,
                 RnnWeightGrads grads) {
        int hidden = spec.hiddenSize();
        int rows = gates * hidden;
        for (int l = 0; l < layers; l++) {
            for (int d = 0; d < spec.directions(); d++) {
                for (boolean recurrent : new boolean[] {false, true}) {
                    int cols = cols(first + l, recurrent);
                    long base = ((long) l * spec.directions() + d) * cols * rows;
                    float[] m = grads.data(recurrent ? RnnWeights.Param.WEIGHT_HH : RnnWeights.Param.WEIGHT_IH,
                            first + l, d);
                    MemorySegment src = recurrent ? iterLdigo : layerLdigo;
                    for (int r = 0; r < rows; r++) {
                        int ours = ourRow(r);
                        for (int c = 0; c < cols; c++) {
                            m[ours * cols + c] = src.getAtIndex(ValueLayout.JAVA_FLOAT, base + (long) c * rows + r);
                        }
                    }
                }
                if (!spec.bias()) {
                    continue;
                }
                float[] bi = grads.data(RnnWeights.Param.BIAS_IH, first + l, d);
                float[] bh = grads.data(RnnWeights.Param.BIAS_HH, first + l, d);
                long base = ((long) l * spec.directions() + d) * biasGates * hidden;
                for (int r = 0; r < biasGates * hidden; r++) {
                    float g = biasLdgo.getAtIndex(ValueLayout.JAVA_FLOAT, base + r);
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
    }
}
