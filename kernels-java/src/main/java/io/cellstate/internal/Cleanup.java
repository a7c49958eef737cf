package io.cellstate.internal;

import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The safety net for what a caller forgot to close: one {@link Cleaner} for the process, started on
 * first use (holder idiom), that closes the resources of a plan or worker group that became
 * unreachable without {@code close()}. {@code close()} stays the way to release promptly; the
 * garbage collector decides when this net catches anything.
 */
public final class Cleanup {
    private static final System.Logger LOG = System.getLogger("io.cellstate");
    private static final AtomicBoolean WARNED = new AtomicBoolean();

    private Cleanup() {
    }

    private static final class Holder {
        static final Cleaner CLEANER = Cleaner.create();
    }

    /**
     * What {@link #register} returns: {@link #close()} releases the resources now (once, idempotent),
     * and unregisters them from the cleaner.
     */
    public static final class Handle implements AutoCloseable {
        private final Cleaner.Cleanable cleanable;
        private final Action action;

        private Handle(Cleaner.Cleanable cleanable, Action action) {
            this.cleanable = cleanable;
            this.action = action;
        }

        /** Releases the resources now, on this thread; a failure to release is thrown here. */
        @Override
        public void close() {
            action.explicit = true;
            cleanable.clean();
            RuntimeException failure = action.failure;
            if (failure != null) {
                action.failure = null;
                throw failure;
            }
        }
    }

    /**
     * Closes {@code resources} when {@code owner} becomes unreachable, unless the returned handle
     * closed them first. {@code resources} must not refer to {@code owner}, or the owner never
     * becomes unreachable. {@code what} names the owner in the warning logged (once per process) when
     * the net catches something.
     */
    public static Handle register(Object owner, AutoCloseable resources, String what) {
        Action action = new Action(resources, what);
        return new Handle(Holder.CLEANER.register(owner, action), action);
    }

    private static final class Action implements Runnable {
        private final AutoCloseable resources;
        private final String what;
        volatile boolean explicit;
        volatile RuntimeException failure;

        Action(AutoCloseable resources, String what) {
            this.resources = resources;
            this.what = what;
        }

        @Override
        public void run() {
            try {
                resources.close();
            } catch (Exception e) {
                RuntimeException r = e instanceof RuntimeException re ? re : new IllegalStateException(e);
                if (explicit) {
                    failure = r;
                    return;
                }
                LOG.log(System.Logger.Level.WARNING, "releasing the resources of an unreachable " + what + " failed", r);
            }
            if (!explicit && WARNED.compareAndSet(false, true)) {
                LOG.log(System.Logger.Level.WARNING, "a " + what + " became unreachable without close(); the garbage"
                        + " collector's cleaner released its resources. Close plans and worker groups (try-with-resources)"
                        + " to release them promptly. (Said once per process.)");
            }
        }
    }
}
