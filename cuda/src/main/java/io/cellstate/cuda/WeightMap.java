package io.cellstate.cuda;

import io.cellstate.RnnSpec;
import io.cellstate.RnnWeightGrads;
import io.cellstate.RnnWeights;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Where each piece of our canonical weights goes in cuDNN's weight space: the pure-Java half of
 * the upload, testable without a GPU.
 *
 * <p>cuDNN addresses its weights by (pseudo-layer, linLayerID). Pseudo-layer {@code l * D + d}
 * is layer {@code l}, direction {@code d} (forward first). For a cell of G gates, linLayerID 0 to G-1
 * are the matrices applied to the layer's input, G to 2G-1 the recurrent ones, in cuDNN's gate order,
 * which is ours (cuDNN's {@code cudnnGetRNNWeightParams}): LSTM i, f, g ("new memory"), o; GRU r, z,
 * n ("reset", "update", "new"); the RNN's one gate. With {@code CUDNN_RNN_DOUBLE_BIAS} the bias of
 * linLayerID k is {@code b_ih}'s gate k for k &lt; G and {@code b_hh}'s gate k - G otherwise. Our gate k of {@code W_ih} is rows {@code k*H .. k*H+H-1},
 * a row-major {@code [H x in]} block, which is the row-major matrix cuDNN reports; the offsets are
 * always those cuDNN returns, never computed.
 *
 * <p>The weight-gradient space cuDNN's backward pass fills has the weight space's layout, so
 * {@link #gather} reads gradients back into PyTorch's layout through the same locations.
 */
final class WeightMap {
    private WeightMap() {
    }

    /**
     * One matrix or bias vector: gate {@code gate} of {@code source} of layer {@code layer},
     * direction {@code dir}, which cuDNN calls (pseudoLayer, linLayerId); {@code rows x cols}
     * floats ({@code cols == 1} for a bias), starting at float {@code sourceOffset} of the source.
     */
    record Piece(int layer, int dir, int pseudoLayer, int linLayerId, RnnWeights.Param source, int gate, char gateName,
                 int rows, int cols) {
        long floats() {
            return (long) rows * cols;
        }

        long sourceOffset() {
            return (long) gate * rows * cols;
        }

        /** The piece's floats from the canonical weights. */
        MemorySegment from(RnnWeights w) {
            return w.tensor(source, layer, dir).asSlice(sourceOffset() * Float.BYTES, floats() * Float.BYTES);
        }

        String describe() {
            return source.name(layer, dir) + " gate " + gateName + " (pseudoLayer " + pseudoLayer + ", linLayerID "
                    + linLayerId + (source.isBias() ? ", bias" : ", matrix") + ")";
        }
    }

    /** The gates' letters in order: {@code ifgo}, {@code rzn}, or {@code h} for the RNN's one. */
    private static String gateNames(RnnSpec spec) {
        return switch (spec.cell()) {
            case io.cellstate.Cell.Lstm l -> "ifgo";
            case io.cellstate.Cell.Gru g -> "rzn";
            case io.cellstate.Cell.Rnn r -> "h";
        };
    }

    /** Every matrix (and, with bias, every bias vector) of {@code spec}, each exactly once. */
    static List<Piece> pieces(RnnSpec spec) {
        int h = spec.hiddenSize();
        int dirs = spec.directions();
        List<Piece> out = new ArrayList<>();
        for (int l = 0; l < spec.layers(); l++) {
            for (int d = 0; d < dirs; d++) {
                int pseudo = l * dirs + d;
                for (int id = 0; id < 2 * spec.gates(); id++) {
                    boolean input = id < spec.gates();
                    int gate = id % spec.gates();
                    char name = gateNames(spec).charAt(gate);
                    out.add(new Piece(l, d, pseudo, id, input ? RnnWeights.Param.WEIGHT_IH : RnnWeights.Param.WEIGHT_HH,
                            gate, name, h, input ? spec.layerInputSize(l) : spec.outputHiddenSize()));
                    if (spec.bias()) {
                        out.add(new Piece(l, d, pseudo, id, input ? RnnWeights.Param.BIAS_IH : RnnWeights.Param.BIAS_HH,
                                gate, name, h, 1));
                    }
                }
                if (spec.projectionSize() > 0) {
                    // cuDNN's recurrent projection: linLayerID 8 of an LSTM, [P x H], no bias
                    out.add(new Piece(l, d, pseudo, 2 * spec.gates(), RnnWeights.Param.WEIGHT_HR, 0, 'p',
                            spec.projectionSize(), h));
                }
            }
        }
        return out;
    }

    /** Where cuDNN says a piece lies: a byte offset into the weight space and the dimensions it reports. */
    record Location(long offsetBytes, int[] dims) {
        long floats() {
            long n = 1;
            for (int v : dims) {
                n *= v;
            }
            return n;
        }
    }

    /** cuDNN's answer for one piece ({@code cudnnGetRNNWeightParams} on the GPU; a table in tests). */
    interface Locator {
        /** The location of {@code p}, or null if cuDNN has no such parameter. */
        Location locate(Piece p);
    }

    /**
     * Writes every piece of {@code weights} where {@code locator} says into {@code image}, a host copy
     * of the weight space, after checking that each location has the piece's size, lies inside the
     * space and overlaps no other piece.
     *
     * @throws IllegalStateException if cuDNN's answer does not fit the canonical weights
     */
    static void fill(RnnSpec spec, RnnWeights weights, MemorySegment image, Locator locator) {
        fill(spec, weights, image, locator, false);
    }

    /**
     * As {@link #fill(RnnSpec, RnnWeights, MemorySegment, Locator)}, with the weight space holding
     * bfloat16 values when {@code bf16} (each float rounded to nearest, see {@link Bf16}).
     */
    static void fill(RnnSpec spec, RnnWeights weights, MemorySegment image, Locator locator, boolean bf16) {
        List<Piece> pieces = pieces(spec);
        copyIn(pieces, locate(pieces, image.byteSize(), locator, bf16 ? 2 : Float.BYTES), weights, image, bf16);
    }

    /**
     * The copying half of {@link #fill(RnnSpec, RnnWeights, MemorySegment, Locator, boolean)}, with
     * the locations {@link #locate} checked already: what a plan runs again when its weights change.
     */
    static void copyIn(List<Piece> pieces, List<Location> where, RnnWeights weights, MemorySegment image, boolean bf16) {
        for (int i = 0; i < pieces.size(); i++) {
            Piece p = pieces.get(i);
            long at = where.get(i).offsetBytes();
            if (bf16) {
                Bf16.encode(p.from(weights), image, at, p.floats());
            } else {
                MemorySegment.copy(p.from(weights), 0, image, at, p.floats() * Float.BYTES);
            }
        }
    }

    /**
     * The inverse of {@link #fill(RnnSpec, RnnWeights, MemorySegment, Locator)}: reads every piece of
     * {@code image}, a host copy of a float32 weight space (cuDNN's weight-gradient space after
     * {@code cudnnRNNBackwardWeights_v8}, which has the weight space's layout), where {@code locator}
     * says, and writes it into the piece's rows of {@code grads}, PyTorch's layout, or adds it there
     * when {@code accumulate}. The same checks of cuDNN's answer as the fill, before anything is written.
     *
     * @throws IllegalStateException if cuDNN's answer does not fit the canonical weights
     */
    static void gather(RnnSpec spec, MemorySegment image, Locator locator, RnnWeightGrads grads, boolean accumulate) {
        List<Piece> pieces = pieces(spec);
        copyOut(pieces, locate(pieces, image.byteSize(), locator, Float.BYTES), image, grads, accumulate);
    }

    /**
     * The copying half of {@link #gather}, with the locations {@link #locate} checked already: what a
     * plan runs on each backward pass.
     */
    static void copyOut(List<Piece> pieces, List<Location> where, MemorySegment image, RnnWeightGrads grads,
                        boolean accumulate) {
        for (int i = 0; i < pieces.size(); i++) {
            Piece p = pieces.get(i);
            float[] target = grads.data(p.source(), p.layer(), p.dir());
            int from = Math.toIntExact(p.sourceOffset());
            int n = Math.toIntExact(p.floats());
            long at = where.get(i).offsetBytes();
            if (accumulate) {
                for (int k = 0; k < n; k++) {
                    target[from + k] += image.get(ValueLayout.JAVA_FLOAT_UNALIGNED, at + (long) k * Float.BYTES);
                }
            } else {
                MemorySegment.copy(image, ValueLayout.JAVA_FLOAT_UNALIGNED, at, target, from, n);
            }
        }
    }

    /**
     * Asks {@code locator} for every piece and checks its answers: a place for each, of the piece's
     * size, inside a space of {@code spaceBytes} and aligned to {@code element} bytes, no two
     * overlapping.
     *
     * @return the locations, in the order of {@code pieces}
     * @throws IllegalStateException naming the first answer that does not fit
     */
    static List<Location> locate(List<Piece> pieces, long spaceBytes, Locator locator, int element) {
        List<Location> out = new ArrayList<>(pieces.size());
        long[][] ranges = new long[pieces.size()][];
        int i = 0;
        for (Piece p : pieces) {
            Location loc = locator.locate(p);
            if (loc == null) {
                throw new IllegalStateException("cuDNN has no place for " + p.describe());
            }
            if (loc.floats() != p.floats()) {
                throw new IllegalStateException("cuDNN reports " + Arrays.toString(loc.dims()) + " = " + loc.floats()
                        + " floats for " + p.describe() + ", expected " + p.rows() + " x " + p.cols());
            }
            long bytes = p.floats() * element;
            if (loc.offsetBytes() < 0 || loc.offsetBytes() % element != 0 || loc.offsetBytes() + bytes > spaceBytes) {
                throw new IllegalStateException("cuDNN places " + p.describe() + " at byte " + loc.offsetBytes()
                        + ", outside the weight space of " + spaceBytes + " bytes (or misaligned)");
            }
            ranges[i++] = new long[] {loc.offsetBytes(), loc.offsetBytes() + bytes};
            out.add(loc);
        }
        Arrays.sort(ranges, (a, b) -> Long.compare(a[0], b[0]));
        for (int k = 1; k < ranges.length; k++) {
            if (ranges[k][0] < ranges[k - 1][1]) {
                throw new IllegalStateException("cuDNN's weight locations overlap at byte " + ranges[k][0]);
            }
        }
        return out;
    }

    /** Reads the floats of one piece back out of an image (for tests and checks). */
    static float[] read(MemorySegment image, Location loc) {
        return image.asSlice(loc.offsetBytes(), loc.floats() * Float.BYTES).toArray(ValueLayout.JAVA_FLOAT);
    }
}
