package io.cellstate;

import io.cellstate.cpu.Workers;

/**
 * Threads that CPU plans share, with a bound on how many run at once. A call of a plan runs on
 * its calling thread and borrows helpers from the plan's group for that call; at most
 * {@link #size()} threads run a group's work at any moment, the calling threads counted. So when
 * several threads of a framework each run a plan of their own, they do not pile helper threads on
 * top of each other: a call that finds the group busy borrows fewer helpers, or none, and runs on
 * its own thread (results stay bitwise the same: see the README's section on determinism).
 *
 * <p>Plans use {@link #common()} unless {@link PlanOptions#withWorkers} names another group.
 * A group of one's own isolates a set of plans from the rest of the process (a server's
 * latency-critical model beside batch jobs, say), or sets a bound below the core count. The
 * {@code vector} backend draws on its group; {@code scalar} runs on the calling thread, {@code blas}
 * on OpenBLAS's own threads and {@code cudnn} on the GPU.
 *
 * <p>Helpers are daemon threads, started on the first call that wants one, and keep nothing of a
 * plan between calls: they keep neither the JVM nor a plan alive. A group is thread-safe. Groups
 * come from {@link #common()} and {@link #create(int)} only: not for implementing elsewhere (a plan
 * refuses a group of another class).
 */
public interface WorkerGroup extends AutoCloseable {

    /**
     * The process-wide group: one thread per available processor
     * ({@link Runtime#availableProcessors()}), the calling threads counted. Never closed.
     *
     * @return the common group
     */
    static WorkerGroup common() {
        return Workers.common();
    }

    /**
     * A new group of {@code size} threads in all, the calling threads counted ({@code size - 1}
     * helpers). Close it when its plans are done with it; an unreachable group's helpers are also
     * stopped by a cleaner.
     *
     * @param size at least 1; 1 means every call runs on its calling thread alone
     * @return the new group
     * @throws IllegalArgumentException if {@code size < 1}
     */
    static WorkerGroup create(int size) {
        return new Workers(size, false);
    }

    /**
     * The most threads that run this group's work at once, calling threads included.
     *
     * @return at least 1
     */
    int size();

    /**
     * Stops the group's helpers once their current call is done; later calls of plans that use the
     * group throw {@link IllegalStateException}. Idempotent. Does nothing to {@link #common()}.
     */
    @Override
    void close();
}
