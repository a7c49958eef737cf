package io.cellstate.cuda;

import org.bytedeco.cuda.global.cudart;
import org.bytedeco.cuda.global.cudnn;

/**
 * Turns every {@code cudaError_t} and {@code cudnnStatus_t} into an exception at the call site,
 * with the decoded name and the call that failed. Out of memory becomes
 * {@link CudaOutOfMemoryException}.
 */
final class Status {
    /** {@code cudaSuccess} and {@code CUDNN_STATUS_SUCCESS}. */
    static final int SUCCESS = 0;

    private Status() {
    }

    /** Throws unless {@code status} (a {@code cudaError_t}) is {@code cudaSuccess}. */
    static void cuda(int status, String call) {
        cuda(status, call, "");
    }

    static void cuda(int status, String call, String detail) {
        if (status != cudart.cudaSuccess) {
            String name = cudaName(status);
            if (status == cudart.cudaErrorMemoryAllocation) {
                throw new CudaOutOfMemoryException(call, name, status, detail);
            }
            throw new CudaException(call, name, status, detail);
        }
    }

    /** Throws unless {@code status} (a {@code cudnnStatus_t}) is {@code CUDNN_STATUS_SUCCESS}. */
    static void cudnn(int status, String call) {
        cudnn(status, call, "");
    }

    static void cudnn(int status, String call, String detail) {
        if (status != cudnn.CUDNN_STATUS_SUCCESS) {
            String name = cudnnName(status);
            if (status == cudnn.CUDNN_STATUS_ALLOC_FAILED) {
                throw new CudaOutOfMemoryException(call, name, status, detail);
            }
            throw new CudaException(call, name, status, detail);
        }
    }

    /** Whether a cuDNN status is one of the NOT_SUPPORTED family (3000 to 3999 in cuDNN 9). */
    static boolean notSupported(int status) {
        return status == cudnn.CUDNN_STATUS_NOT_SUPPORTED || status / 1000 == cudnn.CUDNN_STATUS_NOT_SUPPORTED / 1000;
    }

    /** {@code cudaGetErrorName}, e.g. {@code cudaErrorNoDevice}. */
    static String cudaName(int status) {
        return cudart.cudaGetErrorName(status).getString() + " (" + status + ")";
    }

    /** {@code cudnnGetErrorString}, e.g. {@code CUDNN_STATUS_NOT_SUPPORTED}. */
    static String cudnnName(int status) {
        return cudnn.cudnnGetErrorString(status).getString();
    }
}
