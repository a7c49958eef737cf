package io.cellstate;

/**
 * What a backend prepared once for a spec and its weights. Running it allocates nothing on the
 * hot path (the workspace grows once if a call is larger than any before). A plan is used by one
 * thread at a time; it owns every native or device resource it holds, and {@link #close()}
 * (idempotent) releases them all.
 *
 * <p>Every method validates its arguments before anything is written and throws
 * {@link IllegalArgumentException} naming the argument, the expected and the actual value.
 */
public interface RnnPlan extends AutoCloseable {

    RnnSpec spec();

    /** Name of the backend that made this plan. */
    String backend();

    /**
     * Runs the network over {@code in}, writing the output sequence and the final states into
     * {@code out} (same layout as the input; {@code out.cN()} may be null).
     */
    void forward(RnnInput in, RnnOutput out);

    /** Runs the network over {@code in} into newly allocated output tensors. */
    RnnOutput forward(RnnInput in);

    /**
     * One time step for streaming: {@code x} is {@code [B, inputSize]}, {@code state} is updated in
     * place, and {@code y} {@code [B, H]} receives the last layer's new hidden state. A run of steps
     * equals {@link #forward} over the same sequence. Only for {@link Direction#FORWARD}: a reverse
     * direction needs the whole sequence.
     */
    void step(Tensor x, RnnState state, Tensor y);

    /** {@link #step(Tensor, RnnState, Tensor)} into a newly allocated {@code [B, H]} tensor. */
    Tensor step(Tensor x, RnnState state);

    /** A zero state for streaming {@code batch} sequences. */
    default RnnState newState(int batch) {
        return RnnState.zeros(spec(), batch);
    }

    /** Releases everything the plan holds. Idempotent; a closed plan throws {@link IllegalStateException}. */
    @Override
    void close();
}
