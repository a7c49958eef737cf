package io.cellstate;

/**
 * What a forward pass must keep. Training needs the gate activations of every step for the
 * backward pass (cuDNN's reserve space, oneDNN's workspace); inference keeps nothing.
 */
public enum ForwardMode {
    /** Keep nothing beyond the outputs and final states. */
    INFERENCE,
    /**
     * Keep what backward needs. No backend implements training yet: asking for a plan in this
     * mode throws {@link UnsupportedOperationException}.
     */
    TRAINING
}
