package io.cellstate.blas;

import io.cellstate.Backend;
import io.cellstate.Backends;
import io.cellstate.conformance.GradientConformanceSuite;

/**
 * The OpenBLAS backend's training (the CPU training engine on {@link BlasGemm}) through the shared
 * gradient suite. OpenBLAS is a declared dependency, so here it must load: unavailability fails.
 */
class BlasGradientConformanceTest extends GradientConformanceSuite {
    @Override
    protected Backend backend() {
        return Backends.byName("blas");
    }

    @Override
    protected boolean required() {
        return true;
    }
}
