package io.cellstate;

import io.cellstate.conformance.GradientConformanceSuite;

/**
 * The oracle's own training plans through the gradient suite: what is not a comparison with itself
 * (PyTorch's gradients, central differences of the forward, the contract, bad input) judges it, and
 * the comparisons with itself check that the plan path (layouts, lengths, states, accumulation)
 * agrees with its arithmetic.
 */
class ScalarGradientConformanceTest extends GradientConformanceSuite {
    @Override
    protected Backend backend() {
        return Backends.byName("scalar");
    }

    @Override
    protected boolean required() {
        return true;
    }

    @Override
    protected boolean allocationFree() {
        return false;
    }
}
