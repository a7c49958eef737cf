package io.cellstate;

import io.cellstate.internal.Cleanup;
import java.util.concurrent.CancellationException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

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
 * plan between calls: they keep neither the JVM nor a plan alive. A group is thread-safe.
 *
 * <p>For CPU backends ({@link #team()}): a call runs as a {@link Team}; the calling thread is
 * participant 0 and the helpers it borrowed are 1, 2, ...; they meet at a spinning barrier cheap
 * enough to pass once per time step (a few hundred nanoseconds, where a park/unpark handshake costs
 * tens of microseconds). Idle helpers spin briefly for the next call, so back-to-back calls pay no
 * wake-up, then park. The helper threads see only the group's core, never the group nor a plan, so
 * a group that is no longer referenced is collected, and its cleaner stops the helpers.
 */
public final class WorkerGroup implements AutoCloseable {
    /**
     * Spins before an idle helper parks: back-to-back calls find it awake. A PAUSE costs tens of
     * cycles on current x86 cores (about 65 on Zen 3), so 2^11 of them is some 50 µs.
     */
    private static final int IDLE_SPINS = 1 << 11;
    /**
     * Spins at a barrier before yielding the core (some 10 µs). A step's work is of that order, and
     * when the machine is oversubscribed the thread we wait for may be off its core: spinning longer
     * then only keeps it off.
     */
    private static final int BARRIER_SPINS = 1 << 9;

    private final Core core;
    private final boolean common;
    private final Cleanup.Handle cleanup;

    /** The process-wide group (holder idiom: made on first use, thread-safe without locks). */
    private static final class Common {
        static final WorkerGroup INSTANCE = new WorkerGroup(Runtime.getRuntime().availableProcessors(), true);
    }

    /**
     * The process-wide group: one thread per available processor
     * ({@link Runtime#availableProcessors()}), the calling threads counted. Never closed.
     *
     * @return the common group
     */
    public static WorkerGroup common() {
        return Common.INSTANCE;
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
    public static WorkerGroup create(int size) {
        return new WorkerGroup(size, false);
    }

    /** {@code common}: the process-wide one, which {@link #close()} leaves running. */
    private WorkerGroup(int size, boolean common) {
        if (size < 1) {
            throw new IllegalArgumentException("size: expected >= 1, got " + size);
        }
        this.core = new Core(size, common ? "cellstate-worker-" : "cellstate-group-" + Core.GROUPS.incrementAndGet() + "-");
        this.common = common;
        this.cleanup = common ? null : Cleanup.register(this, core, "worker group");
    }

    /**
     * The most threads that run this group's work at once, calling threads included.
     *
     * @return at least 1
     */
    public int size() {
        return core.size;
    }

    /**
     * Stops the group's helpers once their current call is done; later calls of plans that use the
     * group throw {@link IllegalStateException}. Idempotent. Does nothing to {@link #common()}.
     */
    @Override
    public void close() {
        if (!common) {
            cleanup.close();
        }
    }

    /**
     * Whether {@link #close()} stopped this group.
     *
     * @return true once closed
     */
    public boolean isClosed() {
        return core.stopped;
    }

    /** Helper threads started so far (for tests). */
    int startedHelpers() {
        return core.started;
    }

    @Override
    public String toString() {
        return (common ? "the common worker group" : "worker group " + core.prefix) + " of " + core.size + " threads";
    }

    /**
     * For CPU backends: a plan's way to run its calls on this group, made once per plan and reused by
     * every call, so a call allocates nothing. Used by one thread at a time (the plan's caller).
     *
     * @return a new team
     */
    public Team team() {
        return new Team(this);
    }

    /** What the helper threads share: never refers to a {@link WorkerGroup} or a plan. */
    private static final class Core implements AutoCloseable {
        static final AtomicInteger GROUPS = new AtomicInteger();

        final int size;
        final String prefix;
        final Helper[] helpers;
        /** Threads running this group's work now: each call's caller and the helpers it borrowed. */
        final AtomicInteger busy = new AtomicInteger();
        /** Teams holding the helpers awake between their runs ({@link Team#hold}). */
        final AtomicInteger holds = new AtomicInteger();
        volatile boolean stopped;
        volatile int started;

        Core(int size, String prefix) {
            this.size = size;
            this.prefix = prefix;
            helpers = new Helper[size - 1];
            for (int i = 0; i < helpers.length; i++) {
                helpers[i] = new Helper(this);
            }
        }

        /**
         * Starts helper threads until {@code count} exist: as many as the most threads that ever ran
         * the group's work at once, less one caller, so a large machine whose calls want few threads
         * does not start a thread per core.
         */
        void startHelpers(int count) {
            int wanted = Math.min(count, helpers.length);
            if (started >= wanted) {
                return;
            }
            synchronized (this) {
                for (int i = started; i < wanted && !stopped; i++) {
                    Helper h = helpers[i];
                    h.thread = Thread.ofPlatform().daemon().name(prefix + (i + 1)).unstarted(h);
                    h.thread.start();
                    started = i + 1;
                }
            }
        }

        /**
         * Reserves room for the caller and up to {@code wanted} helpers: returns how many helpers it
         * may borrow, so that callers plus borrowed helpers never pass {@link #size}.
         */
        int reserve(int wanted) {
            while (true) {
                int b = busy.get();
                int helpersAllowed = Math.max(0, Math.min(wanted, size - b - 1));
                if (busy.compareAndSet(b, b + 1 + helpersAllowed)) {
                    return helpersAllowed;
                }
            }
        }

        @Override
        public void close() {
            stopped = true;
            synchronized (this) {
                for (Helper h : helpers) {
                    if (h.thread != null) {
                        LockSupport.unpark(h.thread);
                    }
                }
            }
        }
    }

    /** One helper thread: waits for a team, runs its share, gives itself back. */
    private static final class Helper implements Runnable {
        private final Core core;
        final AtomicBoolean taken = new AtomicBoolean();
        volatile Team team;
        int index;
        Thread thread;

        Helper(Core core) {
            this.core = core;
        }

        @Override
        public void run() {
            while (true) {
                Team t = team;
                if (t == null) {
                    if (core.stopped) {
                        return;
                    }
                    int spins = 0;
                    while (team == null && !core.stopped) {
                        if (spins++ < IDLE_SPINS || core.holds.get() > 0) {
                            Thread.onSpinWait();
                        } else {
                            LockSupport.park(this);
                        }
                    }
                    continue;
                }
                try {
                    t.task.accept(index);
                } catch (Throwable e) {
                    t.fail(e);
                } finally {
                    // free before the caller hears we are done, so its next call can borrow us again
                    team = null;
                    taken.set(false);
                    t.pending.decrementAndGet();
                }
            }
        }
    }

    /**
     * One plan's calls on a group: the helpers lent for the call in flight and the barrier they
     * share. Not thread-safe: the plan's one caller at a time uses it.
     */
    public static final class Team {
        private final WorkerGroup group;
        private final Core core;
        private final Helper[] lent;
        private final AtomicInteger pending = new AtomicInteger();
        private final AtomicInteger arrived = new AtomicInteger();
        private volatile int barrierPhase;
        private volatile Throwable failure;
        private IntConsumer task;
        private int participants = 1;
        private boolean held;

        private Team(WorkerGroup group) {
            this.group = group;
            this.core = group.core;
            this.lent = new Helper[core.helpers.length];
        }

        /**
         * The group this team draws on.
         *
         * @return the group
         */
        public WorkerGroup group() {
            return group;
        }

        /**
         * Runs {@code task.accept(w)} for every participant {@code w} of a team of at most
         * {@code wanted} threads: the calling thread is participant 0, and helpers the group can lend
         * now are 1, 2, .... Returns when all are done; the first exception any of them threw is
         * rethrown. {@link #participants()} tells the task how many there are.
         *
         * @param wanted the most threads the call may use, the caller included
         * @param task   the work of participant {@code w}, for each {@code w}
         * @throws IllegalStateException if the group is closed
         */
        public void run(int wanted, IntConsumer task) {
            if (core.stopped) {
                throw new IllegalStateException(group + " is closed");
            }
            int borrow = wanted > 1 ? core.reserve(wanted - 1) : core.reserve(0);
            int got = 0;
            try {
                if (borrow > 0) {
                    // every thread counted in busy beyond this caller may be a helper
                    core.startHelpers(core.busy.get() - 1);
                    for (Helper h : core.helpers) {
                        if (got == borrow) {
                            break;
                        }
                        if (h.thread != null && h.taken.compareAndSet(false, true)) {
                            lent[got++] = h;
                        }
                    }
                }
                runWith(got, task);
            } finally {
                core.busy.addAndGet(-(1 + borrow));
            }
        }

        private void runWith(int helpers, IntConsumer task) {
            this.task = task;
            this.participants = 1 + helpers;
            this.failure = null;
            arrived.set(0);
            pending.set(helpers);
            for (int i = 0; i < helpers; i++) {
                Helper h = lent[i];
                h.index = i + 1;
                h.team = this; // volatile write: publishes task, participants and index
                LockSupport.unpark(h.thread);
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
            for (int i = 0; i < helpers; i++) {
                lent[i] = null;
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

        /**
         * Keeps the group's idle helpers spinning, not parked, until {@link #release}: for a caller that runs many
         * short tasks with its own work between them (a training pass: a GEMM per time step, the step's pointwise
         * part on the caller), each of which would otherwise find its helpers parked and wait tens to hundreds of
         * microseconds to wake them. Idempotent; release it in a {@code finally}.
         */
        public void hold() {
            if (!held) {
                held = true;
                core.holds.incrementAndGet();
            }
        }

        /** Ends {@link #hold}: idle helpers park again after their usual spin. Idempotent. */
        public void release() {
            if (held) {
                held = false;
                core.holds.decrementAndGet();
            }
        }

        /**
         * Threads in the call in flight, the caller included: the task splits its work by this.
         *
         * @return at least 1
         */
        public int participants() {
            return participants;
        }

        /** Waits until every participant of the call in flight has arrived here. */
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

        private void fail(Throwable t) {
            // the first failure wins; the CancellationExceptions it causes at barriers come after it
            if (failure == null) {
                failure = t;
            }
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
}
