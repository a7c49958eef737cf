package io.cellstate;

import io.cellstate.conformance.PlanContractSuite;

/**
 * The vector kernel's plans under misuse and concurrency. Its calls borrow helpers from the common
 * worker group, so concurrent plans get fewer helpers than they ask for: the outputs must not change.
 */
class VectorPlanContractTest extends PlanContractSuite {
    @Override
    protected Backend backend() {
        return Backends.byName("vector");
    }

    @Override
    protected boolean usesWorkerGroup() {
        return true;
    }

    @Override
    protected boolean required() {
        return !"false".equals(System.getProperty("cellstate.expectVectorModule"));
    }
}
