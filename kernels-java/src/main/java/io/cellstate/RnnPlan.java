package io.cellstate;

/**
 * What a backend prepared once for a spec and its weights. Running it allocates nothing on the
 * hot path (the workspace grows once if a call is larger than any before). It owns every native or
 * device resource it holds, and {@link #close()} (idempotent) releases them all.
 *
 * <p><b>Threads.</b> What is thread-safe: {@link RnnSpec} and {@link RnnWeights} (immutable: share
 * one set of weights among any number of plans and threads), {@link Backends}, {@link WorkerGroup}.
 * What is not: a plan, which holds the workspace of the call in flight, so it serves <em>one caller
 * at a time</em>. It may move between threads from call to call, but a thread that calls it, or
 * closes it, while another is inside gets an {@link IllegalStateException} naming the plan and the
 * other thread, before anything is read or written. A framework that runs a model from several
 * threads gives each thread a plan of its own (plans are cheap beside their weights, which they
 * share), or keeps a pool of plans and lends one per request. Concurrent plans on the CPU share the
 * threads of their {@link WorkerGroup}, so they do not oversubscribe the machine.
 *
 * <p><b>Lifetime.</b> Close a plan when done (try-with-resources). A plan that becomes unreachable
 * without {@code close()} has its native and device memory released by a cleaner once the garbage
 * collector finds it (and a warning is logged once per process through {@link System.Logger}
 * {@code io.cellstate}): a safety net, whose timing the collector decides.
 *
 * <p>Every method validates its arguments before anything is written and throws
 * {@link IllegalArgumentException} naming the argument, the expected and the actual value.
 */
public interface RnnPlan extends AutoCloseable {

    /**
     * The network this plan runs.
     *
     * @return the spec the plan was made for
     */
    RnnSpec spec();

    /**
     * Name of the backend that made this plan.
     *
     * @return {@code scalar}, {@code vector}, {@code blas}, {@code cudnn}, ...
     */
    String backend();

    /**
     * Runs the network over {@code in}, writing the output sequence and the final states into
     * {@code out} (same layout as the input; {@code out.cN()} may be null). Allocates nothing once
     * the plan's workspace has grown to the call's size.
     *
     * @param in  the input sequence, its layout, lengths and initial states
     * @param out where the output sequence and the final states go; memory apart from {@code in.x()}
     * @throws IllegalArgumentException for a bad argument, before anything is written
     * @throws IllegalStateException    if the plan is closed or another thread is inside it
     */
    void forward(RnnInput in, RnnOutput out);

    /**
     * Runs the network over {@code in} into newly allocated output tensors.
     *
     * @param in the input sequence, its layout, lengths and initial states
     * @return the output sequence and the final states
     * @throws IllegalArgumentException for a bad argument
     * @throws IllegalStateException    if the plan is closed or another thread is inside it
     */
    RnnOutput forward(RnnInput in);

    /**
     * One time step for streaming: {@code x} is {@code [B, inputSize]}, {@code state} is updated in
     * place, and {@code y} {@code [B, H]} receives the last layer's new hidden state. A run of steps
     * equals {@link #forward} over the same sequence. Only for {@link Direction#FORWARD}: a reverse
     * direction needs the whole sequence.
     *
     * @param x     the inputs of this step, {@code [B, inputSize]}
     * @param state the carried state, {@code [layers, B, H]} each, updated in place
     * @param y     receives the last layer's new hidden state, {@code [B, H]}
     * @throws IllegalArgumentException      for a bad argument, before anything is written
     * @throws UnsupportedOperationException for a spec that is not {@link Direction#FORWARD}
     * @throws IllegalStateException         if the plan is closed or another thread is inside it
     */
    void step(Tensor x, RnnState state, Tensor y);

    /**
     * {@link #step(Tensor, RnnState, Tensor)} into a newly allocated {@code [B, H]} tensor.
     *
     * @param x     the inputs of this step, {@code [B, inputSize]}
     * @param state the carried state, updated in place
     * @return the last layer's new hidden state, {@code [B, H]}
     * @throws IllegalArgumentException      for a bad argument, before anything is written
     * @throws UnsupportedOperationException for a spec that is not {@link Direction#FORWARD}
     * @throws IllegalStateException         if the plan is closed or another thread is inside it
     */
    Tensor step(Tensor x, RnnState state);

    /**
     * A new workspace for one training forward pass and its backward passes (see {@link RnnWorkspace}):
     * empty until {@link #forward(RnnInput, RnnOutput, RnnWorkspace)} fills it.
     *
     * @return the workspace, belonging to this plan
     * @throws IllegalStateException if the plan was not made for {@link ForwardMode#TRAINING}, is
     *                               closed, or another thread is inside it
     */
    RnnWorkspace newWorkspace();

    /**
     * A training forward pass: {@link #forward(RnnInput, RnnOutput)}, keeping in {@code workspace}
     * what {@link #backward} needs (and replacing what it held). The outputs are those of an
     * inference pass up to float32 rounding (kernels may order the sums otherwise).
     *
     * @param in        the input sequence, its layout, lengths and initial states
     * @param out       where the output sequence and the final states go
     * @param workspace one of this plan's workspaces
     * @throws IllegalArgumentException for a bad argument, before anything is written
     * @throws IllegalStateException    if the plan was not made for training, is closed, or another thread is inside it
     */
    void forward(RnnInput in, RnnOutput out, RnnWorkspace workspace);

    /**
     * Backpropagation through time of the forward pass {@code workspace} holds: from the gradients
     * of a loss with respect to its outputs, the gradients with respect to its inputs and initial
     * states (written into {@code gradIn}) and to every weight and bias (written into or added to
     * {@code weightGrads}, as {@code mode} says). No gradient flows past a sequence's end. The
     * workspace still holds its forward afterwards.
     *
     * @param workspace   a workspace of this plan holding a training forward pass
     * @param gradOut     d loss / d (y, hN, cN), each optional; shapes of that forward's outputs
     * @param gradIn      where d loss / d (x, h0, c0) go, each optional
     * @param weightGrads where d loss / d weights go, or null when not wanted
     * @param mode        overwrite the weight gradients, or add to them
     * @throws IllegalArgumentException for a bad argument, before anything is written
     * @throws IllegalStateException    if the plan was not made for training, is closed, or another thread is inside it
     */
    void backward(RnnWorkspace workspace, RnnOutputGrad gradOut, RnnInputGrad gradIn, RnnWeightGrads weightGrads,
                  WeightGradMode mode);

    /**
     * Replaces the weights the plan runs with (after an optimiser's step), keeping its workspace and
     * options. The plan packs its own copy, so {@code weights} may be reused; this may allocate the
     * packed copy anew, and a workspace filled before holds a forward pass of the old weights.
     *
     * @param weights the new weights, of this plan's spec
     * @throws IllegalArgumentException for weights of another spec
     * @throws IllegalStateException    if the plan is closed or another thread is inside it
     */
    void setWeights(RnnWeights weights);

    /**
     * A zero state for streaming {@code batch} sequences.
     *
     * @param batch the number of sequences, at least 1
     * @return zero {@code h} (and {@code c}) of {@code [layers, batch, H]}
     */
    default RnnState newState(int batch) {
        return RnnState.zeros(spec(), batch);
    }

    /**
     * Releases everything the plan holds. Idempotent; afterwards every other method throws
     * {@link IllegalStateException}. Refused with {@link IllegalStateException} while another thread
     * is inside the plan.
     */
    @Override
    void close();
}
