package io.cellstate;

/**
 * What {@link RnnPlan#backward} does with the weight gradients already in its {@link RnnWeightGrads}.
 * cuDNN's {@code cudnnRNNBackwardWeights} and oneDNN's backward primitive add to theirs, PyTorch's
 * autograd adds to {@code .grad}; a framework that zeroes its buffers itself wants the sum, one
 * that hands a fresh buffer per step wants it overwritten. Adding over two calls gives the sum of
 * what the two would write alone, up to the rounding of that one float32 addition per element.
 */
public enum WeightGradMode {
    /** Replace every weight gradient with this backward pass's. */
    OVERWRITE,
    /** Add this backward pass's weight gradients to those already there. */
    ACCUMULATE
}
