package io.cellstate.cuda;

import io.cellstate.Backend;
import io.cellstate.Backends;
import io.cellstate.conformance.RnnConformanceSuite;

/**
 * The cuDNN kernel as Backends finds it (AUTO, see CudnnOptions#defaults) through the shared conformance suite, in exact float32 ({@code CUDNN_FMA_MATH})
 * with the CPU backends' tolerance. Without a GPU every test skips with the backend's reason; with
 * {@code -Dcellstate.requireGpu=true} unavailability fails instead.
 */
class CudnnConformanceTest extends RnnConformanceSuite {
    @Override
    protected Backend backend() {
        return Backends.byName("cudnn");
    }

    @Override
    protected boolean required() {
        return Gpu.required();
    }
}
