package io.cellstate;

/**
 * Where {@link RnnPlan#backward} writes the gradients of the loss with respect to a forward pass's
 * inputs (PyTorch's {@code grad_input}). Each is optional: null means not wanted, and its work is
 * skipped where a backend can. They are overwritten, never accumulated (a framework that sums them
 * over several uses of an input adds them itself, as autograd does).
 *
 * @param dx  d loss / d x, of x's shape ({@code [T, B, inputSize]}, or {@code [B, T, inputSize]}
 *            batch-major), or null; 0 past a sequence's length
 * @param dh0 d loss / d h0, {@code [layers*D, B, H]}, or null (given also where the forward ran from
 *            zeros: it is then the gradient with respect to that zero state)
 * @param dc0 d loss / d c0, {@code [layers*D, B, H]} (LSTM), or null
 */
public record RnnInputGrad(Tensor dx, Tensor dh0, Tensor dc0) {

    /**
     * Fresh heap tensors for every gradient a forward of these sizes has.
     *
     * @param spec   the network
     * @param layout the input's layout
     * @param steps  T
     * @param batch  B
     * @return dx, dh0, and dc0 for an LSTM
     */
    public static RnnInputGrad allocate(RnnSpec spec, Layout layout, int steps, int batch) {
        return new RnnInputGrad(
                Tensor.zeros(layout.shape(steps, batch, spec.inputSize())),
                Tensor.zeros(spec.stateCount(), batch, spec.outputHiddenSize()),
                spec.cell().hasCellState() ? Tensor.zeros(spec.stateCount(), batch, spec.hiddenSize()) : null);
    }

    /**
     * Nothing wanted but the weight gradients.
     *
     * @return a gradient with every tensor null
     */
    public static RnnInputGrad none() {
        return new RnnInputGrad(null, null, null);
    }
}
