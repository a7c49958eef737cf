package io.cellstate.blas;

import io.cellstate.Backend;
import io.cellstate.Backends;
import io.cellstate.conformance.RnnConformanceSuite;

/**
 * The OpenBLAS kernel through the shared conformance suite, against the scalar oracle. OpenBLAS is a
 * declared dependency with its Linux x86-64 natives, so here it must load: unavailability fails.
 */
class BlasConformanceTest extends RnnConformanceSuite {
    @Override
    protected Backend backend() {
        return Backends.byName("blas");
    }

    @Override
    protected boolean required() {
        return true;
    }
}
