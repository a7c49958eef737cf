package io.cellstate;

/**
 * How a plan is prepared.
 *
 * @param threads  the most CPU threads one call may use, the calling thread included; 0 means as many
 *                 as the plan's worker group has. For {@code vector} these are the caller and helpers
 *                 borrowed from {@code workers} for the call: fewer when the group is busy with other
 *                 calls, and fewer where the work is too small to pay for the synchronisation. For
 *                 {@code blas} it is OpenBLAS's thread count for the plan's calls (0: every available
 *                 processor). {@code scalar} and {@code cudnn} ignore it.
 * @param maxBatch batch size to size the workspace for up front (0: sized on first use; a later,
 *                 larger call grows it once)
 * @param maxSteps sequence length to size the workspace for up front (0: sized on first use)
 * @param mode     inference, or training (the plan also runs training passes and backward)
 * @param workers  the threads the plan's calls share with other plans' ({@link WorkerGroup}); null
 *                 means {@link WorkerGroup#common()}
 */
public record PlanOptions(int threads, int maxBatch, int maxSteps, ForwardMode mode, WorkerGroup workers) {

    /**
     * Checks every component.
     *
     * @throws IllegalArgumentException for a negative count or a null mode
     */
    public PlanOptions {
        nonNegative("threads", threads);
        nonNegative("maxBatch", maxBatch);
        nonNegative("maxSteps", maxSteps);
        if (mode == null) {
            throw new IllegalArgumentException("mode: expected INFERENCE or TRAINING, got null");
        }
    }

    /**
     * As many threads as the common worker group has, workspace sized on first use, inference.
     *
     * @return the defaults
     */
    public static PlanOptions defaults() {
        return new PlanOptions(0, 0, 0, ForwardMode.INFERENCE, null);
    }

    /**
     * These options with another thread count.
     *
     * @param threads the most threads a call may use; 0 for the whole worker group
     * @return the new options
     */
    public PlanOptions withThreads(int threads) {
        return new PlanOptions(threads, maxBatch, maxSteps, mode, workers);
    }

    /**
     * These options with the workspace sized up front.
     *
     * @param maxBatch the largest batch to expect
     * @param maxSteps the longest sequence to expect
     * @return the new options
     */
    public PlanOptions withCapacity(int maxBatch, int maxSteps) {
        return new PlanOptions(threads, maxBatch, maxSteps, mode, workers);
    }

    /**
     * These options with another mode.
     *
     * @param mode inference or training
     * @return the new options
     */
    public PlanOptions withMode(ForwardMode mode) {
        return new PlanOptions(threads, maxBatch, maxSteps, mode, workers);
    }

    /**
     * These options with another worker group.
     *
     * @param workers the group to borrow threads from; null for {@link WorkerGroup#common()}
     * @return the new options
     */
    public PlanOptions withWorkers(WorkerGroup workers) {
        return new PlanOptions(threads, maxBatch, maxSteps, mode, workers);
    }

    /**
     * The thread count to use: {@link #threads()}, or the available processors when it is 0.
     *
     * @return at least 1
     */
    public int resolvedThreads() {
        return threads == 0 ? Runtime.getRuntime().availableProcessors() : threads;
    }

    private static void nonNegative(String name, int v) {
        if (v < 0) {
            throw new IllegalArgumentException(name + ": expected >= 0, got " + v);
        }
    }
}
