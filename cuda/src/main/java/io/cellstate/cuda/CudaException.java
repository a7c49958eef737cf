package io.cellstate.cuda;

/**
 * A CUDA or cuDNN call returned an error status. The message names the call and the decoded
 * status ({@code "cudnnRNNForward: CUDNN_STATUS_NOT_SUPPORTED"}); {@link #status()} is the raw code.
 */
public class CudaException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    /** The function that failed. */
    private final String call;
    /** The decoded status. */
    private final String statusName;
    /** The raw status. */
    private final int status;

    /**
     * An error status of a call.
     *
     * @param call       the function that failed
     * @param statusName the decoded status
     * @param status     the raw status
     * @param detail     what the call was doing, or empty
     */
    public CudaException(String call, String statusName, int status, String detail) {
        super(call + ": " + statusName + (detail.isEmpty() ? "" : " (" + detail + ")"));
        this.call = call;
        this.statusName = statusName;
        this.status = status;
    }

    /**
     * The function that failed.
     *
     * @return e.g. {@code cudnnRNNForward}
     */
    public String call() {
        return call;
    }

    /**
     * The decoded status.
     *
     * @return e.g. {@code CUDNN_STATUS_NOT_SUPPORTED} or {@code cudaErrorMemoryAllocation}
     */
    public String statusName() {
        return statusName;
    }

    /**
     * The raw status.
     *
     * @return the {@code cudaError_t} or {@code cudnnStatus_t}
     */
    public int status() {
        return status;
    }
}
