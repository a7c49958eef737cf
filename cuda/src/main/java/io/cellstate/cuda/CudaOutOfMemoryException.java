package io.cellstate.cuda;

/**
 * The GPU ran out of memory ({@code cudaErrorMemoryAllocation} or {@code CUDNN_STATUS_ALLOC_FAILED}).
 * What the failing call would have allocated was not; the plan that made the call stays usable for
 * calls that fit, and closes cleanly.
 */
public final class CudaOutOfMemoryException extends CudaException {
    private static final long serialVersionUID = 1L;

    /**
     * An out-of-memory status of a call.
     *
     * @param call       the function that failed
     * @param statusName the decoded status
     * @param status     the raw status
     * @param detail     what the call was allocating, or empty
     */
    public CudaOutOfMemoryException(String call, String statusName, int status, String detail) {
        super(call, statusName, status, "out of GPU memory" + (detail.isEmpty() ? "" : ": " + detail)
                + "; use a smaller batch or sequence, or free device memory held elsewhere");
    }
}
