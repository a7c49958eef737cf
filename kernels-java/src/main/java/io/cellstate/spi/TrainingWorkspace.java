package io.cellstate.spi;

import io.cellstate.Layout;
import io.cellstate.RnnPlan;
import io.cellstate.RnnWorkspace;
import io.cellstate.internal.Cleanup;

/**
 * The base of every backend's {@link RnnWorkspace}: it records which forward pass it holds (the
 * sizes, layout and lengths the backward call is checked against) and owns the rules of use. A
 * backend keeps what its backward pass needs in a subclass; what that holds outside the Java heap it
 * hands to {@link #releaseWith}. {@link AbstractRnnPlan} marks the workspace empty before a
 * training forward and full after one that returned, so a forward that threw leaves nothing to
 * run backward from.
 */
public abstract class TrainingWorkspace implements RnnWorkspace {
    private final AbstractRnnPlan plan;
    private boolean holds;
    private volatile boolean closed;
    private int steps;
    private int batch;
    private Layout layout;
    private int[] lengths;
    private Cleanup.Handle resources;

    /**
     * An empty workspace of {@code plan}.
     *
     * @param plan the plan that makes it
     */
    protected TrainingWorkspace(AbstractRnnPlan plan) {
        this.plan = plan;
    }

    @Override
    public final RnnPlan plan() {
        return plan;
    }

    final AbstractRnnPlan owner() {
        return plan;
    }

    @Override
    public final boolean holdsForward() {
        return holds && !closed;
    }

    @Override
    public final int steps() {
        return holdsForward() ? steps : 0;
    }

    @Override
    public final int batch() {
        return holdsForward() ? batch : 0;
    }

    /**
     * Layout of the forward pass held.
     *
     * @return the layout, or null when none is held
     */
    public final Layout layout() {
        return holdsForward() ? layout : null;
    }

    /**
     * Lengths of the forward pass held (the workspace's own copy).
     *
     * @return the lengths, or null when every sequence had length T
     */
    public final int[] lengths() {
        return lengths;
    }

    /**
     * Whether {@link #close()} has run.
     *
     * @return true once closed
     */
    public final boolean isClosed() {
        return closed;
    }

    /**
     * Marks the workspace empty: the start of every training forward into it, so one that throws
     * leaves nothing to run backward from. {@link AbstractRnnPlan} calls it around the forward it
     * dispatches; a backend calls it only around a training forward of its own entry points (a GPU
     * backend's forward on device-resident tensors), under the plan's one-caller rule.
     */
    protected final void clear() {
        holds = false;
    }

    /**
     * Marks the workspace as holding a forward pass of these sizes: the end of every training forward
     * that returned (see {@link #clear()}).
     *
     * @param steps   T
     * @param batch   B
     * @param layout  layout of that forward's x and y
     * @param lengths its lengths, a copy the workspace keeps, or null when every sequence had length T
     */
    protected final void record(int steps, int batch, Layout layout, int[] lengths) {
        this.steps = steps;
        this.batch = batch;
        this.layout = layout;
        this.lengths = lengths;
        this.holds = true;
    }

    /**
     * Hands what the workspace holds outside the Java heap to its owner: {@link #close()} closes
     * {@code held}, and a cleaner does if the workspace becomes unreachable unclosed. {@code held}
     * must not refer to the workspace. At most one call, whenever the workspace first holds such memory.
     *
     * @param held native or device memory, handles
     * @throws IllegalStateException on a second call
     */
    protected final void releaseWith(AutoCloseable held) {
        if (resources != null) {
            throw new IllegalStateException("releaseWith: expected one call per workspace, got a second");
        }
        resources = Cleanup.register(this, held, plan.backend() + " workspace");
    }

    /** Closes under the plan's one-caller rule (refused while another thread is inside the plan). */
    @Override
    public final void close() {
        plan.closeWorkspace(this);
    }

    /** What {@link #close()} does once the plan is claimed: idempotent. */
    final void release() {
        if (!closed) {
            closed = true;
            holds = false;
            if (resources != null) {
                resources.close();
            }
            released();
        }
    }

    /** Drops what the workspace holds on the heap, so a closed workspace keeps nothing alive; by default nothing. */
    protected void released() {
    }

    @Override
    public String toString() {
        return "workspace of " + plan + (closed ? " (closed)" : holds ? " (holding T=" + steps + ", B=" + batch + ")"
                : " (empty)");
    }
}
