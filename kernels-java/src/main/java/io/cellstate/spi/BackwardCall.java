package io.cellstate.spi;

import io.cellstate.Layout;
import io.cellstate.RnnWeightGrads;
import io.cellstate.Tensor;

/**
 * One validated backward call, as a backend receives it: every shape has been checked against the
 * plan's spec and against the forward pass the workspace holds, whose sizes it repeats.
 *
 * @param workspace  the plan's own workspace, holding the forward pass
 * @param layout     layout of that forward's x and y, and so of dy and dx
 * @param steps      T
 * @param batch      B
 * @param lengths    one length per batch entry in [1, T], or null when all are T
 * @param dy         {@code layout.shape(T, B, D*H)}, or null (zero)
 * @param dhN        [layers*D, B, H] or null (zero)
 * @param dcN        [layers*D, B, H] or null (zero)
 * @param dx         {@code layout.shape(T, B, inputSize)}, or null (not wanted)
 * @param dh0        [layers*D, B, H] or null (not wanted)
 * @param dc0        [layers*D, B, H] or null (not wanted)
 * @param weights    the weight gradients, or null (not wanted)
 * @param accumulate add to {@code weights}, else overwrite them
 */
public record BackwardCall(TrainingWorkspace workspace, Layout layout, int steps, int batch, int[] lengths,
                           Tensor dy, Tensor dhN, Tensor dcN, Tensor dx, Tensor dh0, Tensor dc0,
                           RnnWeightGrads weights, boolean accumulate) {

    /**
     * Length of sequence {@code b}.
     *
     * @param b the sequence, from 0
     * @return its length, T when no lengths were given
     */
    public int length(int b) {
        return lengths == null ? steps : lengths[b];
    }
}
