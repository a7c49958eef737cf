package io.cellstate.cuda;

import io.cellstate.Backend;
import io.cellstate.Backends;
import io.cellstate.conformance.PlanContractSuite;

/**
 * The cuDNN kernel's plans under misuse and concurrency, on a GPU (skipped, saying why, without
 * one; required with {@code -Dcellstate.requireGpu=true}). With {@link CudnnOptions.Algorithm#STANDARD}:
 * the suite compares calls bit for bit, and AUTO may run another algorithm on the call that measures
 * than on the calls after it, and choose differently in two plans.
 */
class CudnnPlanContractTest extends PlanContractSuite {
    @Override
    protected Backend backend() {
        return ((CudnnBackend) Backends.byName("cudnn"))
                .withOptions(CudnnOptions.defaults().withAlgorithm(CudnnOptions.Algorithm.STANDARD));
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
