package io.cellstate;

import io.cellstate.conformance.RnnConformanceSuite;
import io.cellstate.testing.Reference;

/** The oracle itself, checked against the naive float64 LSTM written inside the tests. */
class ScalarConformanceTest extends RnnConformanceSuite {
    @Override
    protected Backend backend() {
        return Backends.byName("scalar");
    }

    @Override
    protected Reference reference() {
        return Reference.NAIVE;
    }

    @Override
    protected boolean required() {
        return true;
    }
}
