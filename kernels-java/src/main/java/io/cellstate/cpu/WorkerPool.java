package io.cellstate.cpu;

import java.util.concurrent.CancellationException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * A fixed set of threads that run one task together, with a spinning barrier cheap enough to
 * pass once per time step (a few hundred nanoseconds, where a park/unpark handshake costs tens of
 * microseconds). The calling thread is worker 0. Idle workers spin briefly for the next run, so
 * back-to-back calls pay no wake-up, then park.
 *
 * <p>Not for general use: one run at a time, started by the plan's owning thread.
 */
public final class WorkerPool implements AutoCloseable {
    /**
     * Spins before an idle worker parks: back-to-back calls find it awake. A PAUSE costs tens of
     * cycles on current x86 cores (about 65 on Zen 3), so 2^11 of them is some 50 µs.
     */
    private static final int IDLE_SPINS = 1 << 11;
    /**
     * Spins at a barrier before yielding the core (some 10 µs). A step's work is of that order, and
     * when the machine is oversubscribed the worker we wait for may be off its core: spinning longer
     * then only keeps it off.
     */
    private static final int BARRIER_SPINS = 1 << 9;

    private final Thread[] workers;
    private final AtomicInteger pending = new AtomicInteger();
    private final AtomicInteger arrived = new AtomicInteger();
    private volatile int generation;
    private volatile int barrierPhase;
    private volatile boolean stopped;
    private volatile Throwable failure;
    private IntConsumer task;
    private int participants;

    /** A pool of {@code size} threads in all, the caller included. */
    public WorkerPool(int size, String name) {
        if (size < 1) {
            throw new IllegalArgumentException("size: expected >= 1, got " + size);
        }
        workers = new Thread[size - 1];
        for (int i = 0; i < workers.length; i++) {
            int index = i + 1;
            workers[i] = Thread.ofPlatform().daemon().name(name + "-" + index).unstarted(() -> work(index));
            workers[i].start();
        }
    }

    /** Threads in all, the caller included. */
    public int size() {
        return workers.length + 1;
    }

    /**
     * Runs {@code task.accept(w)} for {@code w} in {@code [0, threads)}, worker 0 on the calling
     * thread, and returns when all are done. The first exception thrown by any of them is rethrown.
     */
    public void run(int threads, IntConsumer task) {
        if (threads < 1 || threads > size()) {
            throw new IllegalArgumentException("threads: expected 1 <= threads <= " + size() + ", got " + threads);
        }
        if (stopped) {
            throw new IllegalStateException("worker pool is closed");
        }
        this.task = task;
        this.participants = threads;
        this.failure = null;
        arrived.set(0);
        pending.set(threads - 1);
        generation++; // volatile write: publishes task and participants
        for (int i = 0; i < threads - 1; i++) {
            LockSupport.unpark(workers[i]);
        }
        try {
            task.accept(0);
        } catch (Throwable t) {
            fail(t);
        }
        int spins = 0;
        while (pending.get() != 0) {
            spins = pause(spins);
        }
        this.task = null;
        Throwable t = failure;
        if (t != null) {
            failure = null;
            if (t instanceof RuntimeException e) {
                throw e;
            }
            if (t instanceof Error e) {
                throw e;
            }
            throw new IllegalStateException(t);
        }
    }

    /** Waits until every participant of the current run has arrived here. */
    public void barrier() {
        int n = participants;
        if (n == 1) {
            return;
        }
        int phase = barrierPhase;
        if (arrived.incrementAndGet() == n) {
            arrived.set(0);
            barrierPhase = phase + 1;
            return;
        }
        int spins = 0;
        while (barrierPhase == phase) {
            if (failure != null) {
                throw new CancellationException("another worker failed");
            }
            spins = pause(spins);
        }
    }

    private static int pause(int spins) {
        if (spins < BARRIER_SPINS) {
            Thread.onSpinWait();
        } else {
            Thread.yield();
        }
        return spins + 1;
    }

    private void fail(Throwable t) {
        // the first failure wins; the CancellationExceptions it causes at barriers come after it
        if (failure == null) {
            failure = t;
        }
    }

    private void work(int index) {
        int seen = 0;
        while (!stopped) {
            int g = generation;
            if (g == seen) {
                int spins = 0;
                while (generation == seen && !stopped) {
                    if (spins++ < IDLE_SPINS) {
                        Thread.onSpinWait();
                    } else {
                        LockSupport.park(this);
                    }
                }
                continue;
            }
            seen = g;
            if (index < participants) {
                try {
                    task.accept(index);
                } catch (Throwable t) {
                    fail(t);
                } finally {
                    pending.decrementAndGet();
                }
            }
        }
    }

    /** Stops the threads (they exit when idle). Idempotent. */
    @Override
    public void close() {
        stopped = true;
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
    }
}
