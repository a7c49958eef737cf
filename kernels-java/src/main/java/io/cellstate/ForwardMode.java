package io.cellstate;

/**
 * What a forward pass must keep. Training needs the gate activations of every step for the
 * backward pass (cuDNN's reserve space, oneDNN's workspace); inference keeps nothing.
 */
public enum ForwardMode {
    /** Keep nothing beyond the outputs and final states. */
    INFERENCE,
    /**
     * A plan that can also run training passes: {@link RnnPlan#forward(RnnInput, RnnOutput, RnnWorkspace)}
     * keeps what {@link RnnPlan#backward} needs in a workspace. Its inference calls run as an
     * inference plan's do.
     */
    TRAINING
}
