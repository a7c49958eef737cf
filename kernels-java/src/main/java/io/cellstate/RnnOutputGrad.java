package io.cellstate;

/**
 * The gradients of a loss with respect to a training forward pass's outputs: what
 * {@link RnnPlan#backward} starts from (PyTorch's {@code grad_output}). Each is optional: null
 * means the loss does not depend on that output (a zero gradient).
 *
 * @param dy  d loss / d y, of y's shape ({@code [T, B, D*H]}, or {@code [B, T, D*H]} batch-major), or null;
 *            entries past a sequence's length are ignored (y is 0 there whatever the weights)
 * @param dhN d loss / d hN, {@code [layers*D, B, H]}, or null
 * @param dcN d loss / d cN, {@code [layers*D, B, H]} (LSTM), or null
 */
public record RnnOutputGrad(Tensor dy, Tensor dhN, Tensor dcN) {

    /**
     * A loss on the output sequence alone.
     *
     * @param dy d loss / d y
     * @return the gradient, with no part through the final states
     */
    public static RnnOutputGrad of(Tensor dy) {
        return new RnnOutputGrad(dy, null, null);
    }
}
