package io.cellstate.cuda;

import io.cellstate.Backend;
import io.cellstate.Backends;
import io.cellstate.conformance.GradientConformanceSuite;

/**
 * The cuDNN kernel's training ({@code cudnnRNNForward} in training mode, {@code cudnnRNNBackwardData_v8},
 * {@code cudnnRNNBackwardWeights_v8}) on the host path through the shared gradient suite, with the
 * backend as Backends finds it: AUTO, whose training passes run STANDARD ({@link CudnnOptions.Algorithm#AUTO}),
 * in exact float32 ({@code CUDNN_FMA_MATH}). {@link CudnnGradientTest} keeps what is cuDNN's own: the
 * device path, the fixed algorithms, the workspaces' device memory. Without a GPU every test skips with
 * the backend's reason; with {@code -Dcellstate.requireGpu=true} unavailability fails instead.
 *
 * <p>No tolerance factor: STANDARD in {@code CUDNN_FMA_MATH} is float32 arithmetic with other sum orders,
 * the case the suite's tolerance is derived for (its forward pass was 6e-8 to 4e-7 off the oracle on an
 * H100, within the CPU tolerance). The suite prints the worst error / tolerance it sees. It also compares
 * training calls bit for bit (repeats, OVERWRITE against a fresh call, two workspaces, setWeights against a
 * fresh plan): cuDNN documents its routines as bitwise reproducible on one architecture, the RNN ones not
 * among its exceptions; the first GPU run settles it (cuda/GPU.md).
 */
class CudnnGradientConformanceTest extends GradientConformanceSuite {
    @Override
    protected Backend backend() {
        return Backends.byName("cudnn");
    }

    @Override
    protected boolean required() {
        return Gpu.required();
    }

    /** A cudnn plan runs on its CUDA stream; the options' thread count does not apply. */
    @Override
    protected boolean usesThreads() {
        return false;
    }

    /** The plans' buffers are device and pinned memory, which the suite's heap measurement does not see. */
    @Override
    protected long nativeObjectsCreated() {
        return Native.createdObjects();
    }
}
