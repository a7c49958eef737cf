package io.cellstate.cuda;

import io.cellstate.Backend;
import io.cellstate.Backends;
import io.cellstate.conformance.RnnConformanceSuite;
import io.cellstate.cuda.CudnnOptions.Algorithm;

/**
 * The shared conformance suite once more, with cuDNN's STANDARD algorithm fixed instead of AUTO
 * and without CUDA graphs: the algorithm PyTorch uses for float32 and the one AUTO falls back to,
 * called directly, checked on every case whatever AUTO picks for it ({@link CudnnConformanceTest}
 * runs the defaults: AUTO, graphs).
 */
class CudnnStandardConformanceTest extends RnnConformanceSuite {
    @Override
    protected Backend backend() {
        CudnnBackend cudnn = (CudnnBackend) Backends.byName("cudnn");
        return cudnn.withOptions(cudnn.options().withAlgorithm(Algorithm.STANDARD).withGraphs(false));
    }

    @Override
    protected boolean required() {
        return Gpu.required();
    }
}
