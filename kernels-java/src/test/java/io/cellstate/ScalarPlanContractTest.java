package io.cellstate;

import io.cellstate.conformance.PlanContractSuite;

/** The oracle keeps the plan contract too: one caller at a time, nothing left behind. */
class ScalarPlanContractTest extends PlanContractSuite {
    @Override
    protected Backend backend() {
        return Backends.byName("scalar");
    }

    @Override
    protected boolean required() {
        return true;
    }

    /** The oracle is slow: fewer plans make the same point. */
    @Override
    protected int plansToDrop() {
        return 500;
    }
}
