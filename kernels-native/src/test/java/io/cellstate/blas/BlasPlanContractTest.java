package io.cellstate.blas;

import io.cellstate.Backend;
import io.cellstate.Backends;
import io.cellstate.conformance.PlanContractSuite;

/**
 * The OpenBLAS kernel's plans under misuse and concurrency: a plan shared between threads used to
 * free native buffers twice and crash the JVM, and plans of different thread counts changed each
 * other's OpenBLAS setting mid-call (and so their last bits).
 */
class BlasPlanContractTest extends PlanContractSuite {
    @Override
    protected Backend backend() {
        return Backends.byName("blas");
    }

    @Override
    protected boolean usesWorkerGroup() {
        return true;
    }

    @Override
    protected boolean required() {
        return true;
    }

    /** Native bytes the kernels allocated and have not freed (our count: JavaCPP's own collector would not lower it). */
    @Override
    protected long heldOutsideHeap() {
        return BlasKernel.liveBytes();
    }
}
