package io.cellstate.cuda;

/**
 * A CUDA or cuDNN call returned an error status. The message names the call and the decoded
 * status ({@code "cudnnRNNForward: CUDNN_STATUS_NOT_SUPPORTED"}); {@link #status()} is the raw code.
 */
public class CudaException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final String call;
    private final String statusName;
    private final int status;

    public CudaException(String call, String statusName, int status, String detail) {
        super(call + ": " + statusName + (detail.isEmpty() ? "" : " (" + detail + ")"));
        this.call = call;
        this.statusName = statusName;
        this.status = status;
    }

    /** The function that failed, e.g. {@code cudnnRNNForward}. */
    public String call() {
        return call;
    }

    /** The decoded status, e.g. {@code CUDNN_STATUS_NOT_SUPPORTED} or {@code cudaErrorMemoryAllocation}. */
    public String statusName() {
        return statusName;
    }

    /** The raw {@code cudaError_t} or {@code cudnnStatus_t}. */
    public int status() {
        return status;
    }
}
