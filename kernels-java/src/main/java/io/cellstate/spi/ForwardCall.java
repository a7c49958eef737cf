package io.cellstate.spi;

import io.cellstate.Layout;
import io.cellstate.Tensor;

/**
 * One validated forward call, as a backend receives it: every shape has been checked against the
 * plan's spec, so a kernel may assume valid input.
 *
 * @param x       input, {@code layout.shape(steps, batch, inputSize)}
 * @param layout  layout of {@code x} and {@code y}
 * @param steps   T
 * @param batch   B
 * @param lengths one length per batch entry in [1, T], or null when all are T
 * @param h0      [layers*D, B, H] or null (zeros)
 * @param c0      [layers*D, B, H] or null (zeros)
 * @param y       output, {@code layout.shape(steps, batch, D*H)}
 * @param hN      [layers*D, B, H]
 * @param cN      [layers*D, B, H] or null (not wanted)
 */
public record ForwardCall(Tensor x, Layout layout, int steps, int batch, int[] lengths,
                          Tensor h0, Tensor c0, Tensor y, Tensor hN, Tensor cN) {

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
