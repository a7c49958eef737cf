package io.cellstate;

/**
 * What a training forward pass keeps for its backward pass: the gate activations and states of
 * every step, and the inputs the weight gradients need (oneDNN's workspace, cuDNN's reserve space).
 * A plan made for {@link ForwardMode#TRAINING} makes them ({@link RnnPlan#newWorkspace()});
 * {@link RnnPlan#forward(RnnInput, RnnOutput, RnnWorkspace)} fills one and
 * {@link RnnPlan#backward} reads it. Each workspace holds one forward pass, so a caller that runs
 * several forward passes before their backward passes (gradient accumulation over micro-batches,
 * truncated backpropagation through time over chunks with carried states) gives each its own
 * workspace. A workspace keeps its memory between passes and grows only for a larger call, so a
 * steady loop allocates nothing; it is backward-able as often as wanted until the next forward into it.
 *
 * <p>It belongs to its plan: only that plan takes it, it is used under the plan's one-caller rule, and
 * it is released by {@link #close()}, by its plan's close, or by a cleaner once unreachable.
 */
public interface RnnWorkspace extends AutoCloseable {

    /**
     * The plan that made this workspace.
     *
     * @return the plan
     */
    RnnPlan plan();

    /**
     * Whether a training forward pass is held, ready for {@link RnnPlan#backward}.
     *
     * @return false before the first forward into it and after {@link #close()}
     */
    boolean holdsForward();

    /**
     * Time steps T of the forward pass held.
     *
     * @return T, or 0 when none is held
     */
    int steps();

    /**
     * Batch size B of the forward pass held.
     *
     * @return B, or 0 when none is held
     */
    int batch();

    /**
     * Bytes the workspace holds now, on the heap, natively or on a device.
     *
     * @return the size
     */
    long bytes();

    /** Releases the workspace's memory. Idempotent; afterwards the plan refuses it. */
    @Override
    void close();
}
