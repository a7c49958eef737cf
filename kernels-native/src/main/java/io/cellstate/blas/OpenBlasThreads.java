package io.cellstate.blas;

import org.bytedeco.openblas.global.openblas_full;

/**
 * OpenBLAS's thread count, held for a whole call. OpenBLAS has one process-wide setting
 * ({@code openblas_set_num_threads}; its {@code _local} variant sets the same global in the
 * pthreads build), and its results depend on it: the threaded GEMM driver splits the inner
 * dimension K into other blocks than the single-threaded one, so the sums round differently.
 * When plans with different thread counts set it around their own GEMMs, one plan's GEMM runs with
 * another's count and the last bits of its output depend on what else runs.
 *
 * <p>So a call holds the setting from its first GEMM to its last: calls that want the same count
 * run at once, and a call that wants another count waits until those in flight are done (and
 * while anyone waits, newcomers queue behind them, so no count starves). When the last holder
 * leaves, the count found before the first one entered is put back, for other OpenBLAS users in
 * the process between our calls. Code outside Cellstate that changes the setting during one of
 * our calls can still change our last bits: that, OpenBLAS gives no way to prevent.
 */
final class OpenBlasThreads {
    private static final Object LOCK = new Object();
    /** Calls holding the setting now. */
    private static int holders;
    /** The count they hold. */
    private static int current;
    /** The count found before the first holder came in, put back when the last leaves. */
    private static int outside;
    /** Calls waiting for their count. */
    private static int waiting;

    private OpenBlasThreads() {
    }

    /** Waits until OpenBLAS runs with {@code threads} threads for this call, and holds that. */
    static void enter(int threads) {
        synchronized (LOCK) {
            if (holders > 0 && (current != threads || waiting > 0)) {
                waiting++;
                boolean interrupted = false;
                try {
                    while (holders > 0) {
                        try {
                            LOCK.wait();
                        } catch (InterruptedException e) {
                            interrupted = true;
                        }
                        if (holders > 0 && current == threads) {
                            break; // another waiter of our count got in first: join it
                        }
                    }
                } finally {
                    waiting--;
                    if (interrupted) {
                        Thread.currentThread().interrupt();
                    }
                }
            }
            if (holders == 0) {
                outside = openblas_full.openblas_get_num_threads();
                if (outside != threads) {
                    openblas_full.openblas_set_num_threads(threads);
                }
                current = threads;
            }
            holders++;
        }
    }

    /** Ends the hold of {@link #enter}. */
    static void leave() {
        synchronized (LOCK) {
            if (--holders == 0) {
                if (outside != current) {
                    openblas_full.openblas_set_num_threads(outside);
                }
                LOCK.notifyAll();
            }
        }
    }
}
