package io.cellstate;

/**
 * How a plan is prepared.
 *
 * @param threads  CPU threads a plan may use; 0 means all available processors. A kernel uses
 *                 fewer where the work is too small to pay for the synchronisation.
 * @param maxBatch batch size to size the workspace for up front (0: sized on first use; a later,
 *                 larger call grows it once)
 * @param maxSteps sequence length to size the workspace for up front (0: sized on first use)
 * @param mode     inference, or training (keeps what backward needs; not implemented yet)
 */
public record PlanOptions(int threads, int maxBatch, int maxSteps, ForwardMode mode) {

    public PlanOptions {
        nonNegative("threads", threads);
        nonNegative("maxBatch", maxBatch);
        nonNegative("maxSteps", maxSteps);
        if (mode == null) {
            throw new IllegalArgumentException("mode: expected INFERENCE or TRAINING, got null");
        }
    }

    /** All cores, workspace sized on first use, inference. */
    public static PlanOptions defaults() {
        return new PlanOptions(0, 0, 0, ForwardMode.INFERENCE);
    }

    public PlanOptions withThreads(int threads) {
        return new PlanOptions(threads, maxBatch, maxSteps, mode);
    }

    public PlanOptions withCapacity(int maxBatch, int maxSteps) {
        return new PlanOptions(threads, maxBatch, maxSteps, mode);
    }

    public PlanOptions withMode(ForwardMode mode) {
        return new PlanOptions(threads, maxBatch, maxSteps, mode);
    }

    /** The thread count to use: {@link #threads()}, or the available processors when it is 0. */
    public int resolvedThreads() {
        return threads == 0 ? Runtime.getRuntime().availableProcessors() : threads;
    }

    private static void nonNegative(String name, int v) {
        if (v < 0) {
            throw new IllegalArgumentException(name + ": expected >= 0, got " + v);
        }
    }
}
