package io.cellstate.blas;

import io.cellstate.Backend;
import io.cellstate.conformance.RnnConformanceSuite;

/**
 * The OpenBLAS kernel with the plain-Java pointwise pass, which it runs where the Vector API is not
 * readable: tested here too, on a machine where the Vector API runs and the default plans take its pass.
 */
class BlasScalarPointwiseConformanceTest extends RnnConformanceSuite {
    private final Backend blas = new BlasBackend(false);

    @Override
    protected Backend backend() {
        return blas;
    }

    @Override
    protected boolean required() {
        return true;
    }
}
