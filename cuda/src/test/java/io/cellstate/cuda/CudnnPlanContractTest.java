package io.cellstate.cuda;

import io.cellstate.Backend;
import io.cellstate.Backends;
import io.cellstate.conformance.PlanContractSuite;

/**
 * The cuDNN kernel's plans under misuse and concurrency, on a GPU (skipped, saying why, without
 * one; required with {@code -Dcellstate.requireGpu=true}).
 */
class CudnnPlanContractTest extends PlanContractSuite {
    @Override
    protected Backend backend() {
        return Backends.byName("cudnn");
    }

    @Override
    protected boolean required() {
        return Gpu.required();
    }

    /**
     * CUDA and cuDNN objects (buffers, descriptors, events, handles) made and not yet destroyed, once
     * the idle handles of the pool are destroyed too: plans alive at once each borrow a handle, and a
     * plan collected later gives it back to the pool, not to the driver.
     */
    @Override
    protected long heldOutsideHeap() {
        CudnnBackend.releaseIdleHandles();
        return Native.liveObjects();
    }

    /** A plan makes some 20 CUDA objects, a cuDNN handle and a weight upload: fewer plans make the same point. */
    @Override
    protected int plansToDrop() {
        return 300;
    }
}
