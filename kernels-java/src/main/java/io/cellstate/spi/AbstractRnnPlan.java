package io.cellstate.spi;

import io.cellstate.Cell;
import io.cellstate.Direction;
import io.cellstate.ForwardMode;
import io.cellstate.Layout;
import io.cellstate.PlanOptions;
import io.cellstate.RnnInput;
import io.cellstate.RnnInputGrad;
import io.cellstate.RnnOutput;
import io.cellstate.RnnOutputGrad;
import io.cellstate.RnnPlan;
import io.cellstate.RnnSpec;
import io.cellstate.RnnState;
import io.cellstate.RnnWeightGrads;
import io.cellstate.RnnWeights;
import io.cellstate.RnnWorkspace;
import io.cellstate.Tensor;
import io.cellstate.WeightGradMode;
import io.cellstate.internal.Cleanup;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.Reference;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The base of every backend's plan: it owns the API's contract, so every kernel validates the
 * same way. Arguments are checked here, before anything is written, and reach the kernel as a
 * {@link ForwardCall}; kernels assume valid input.
 *
 * <p>It also owns the plan's two rules of use. <b>One caller at a time:</b> every public method of
 * a plan claims it for the calling thread with one compare-and-set and gives it back on return; a
 * second thread that comes in meanwhile gets an {@link IllegalStateException} naming the plan and
 * the thread that holds it, before anything is read or written, where it would otherwise race on
 * the plan's workspace (wrong numbers, a hang at a barrier, or a native buffer freed twice).
 * <b>Resources have an owner:</b> a subclass hands what it holds outside the Java heap to
 * {@link #releaseWith}; {@link #close()} releases it, and if the plan is dropped unclosed, a
 * {@link java.lang.ref.Cleaner} does once the plan is unreachable.
 */
public abstract class AbstractRnnPlan implements RnnPlan {
    private static final AtomicLong SERIALS = new AtomicLong();
    private static final VarHandle CALLER;

    static {
        try {
            CALLER = MethodHandles.lookup().findVarHandle(AbstractRnnPlan.class, "caller", Thread.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** The network this plan runs. */
    protected final RnnSpec spec;
    private final String backend;
    private final ForwardMode mode;
    /** The workspaces made and not yet closed, released by the plan's close. */
    private final List<WeakReference<TrainingWorkspace>> workspaces = new ArrayList<>();
    private final long serial = SERIALS.incrementAndGet();
    /** The thread inside one of the plan's methods now, or null (see {@link #enter()}). */
    @SuppressWarnings("unused") // through CALLER
    private volatile Thread caller;
    private volatile boolean closed;
    private Cleanup.Handle resources;

    /**
     * Checks the arguments as {@link #checkPlan(String, RnnSpec, RnnWeights, PlanOptions)} does.
     *
     * @param backend the backend's name, for messages
     * @param spec    the network
     * @param weights its parameters
     * @param options the plan's options
     */
    protected AbstractRnnPlan(String backend, RnnSpec spec, RnnWeights weights, PlanOptions options) {
        checkPlan(backend, spec, weights, options);
        this.backend = backend;
        this.spec = spec;
        this.mode = options.mode();
    }

    /**
     * The checks every plan makes of its arguments: non-null, and weights of this spec.
     *
     * @param backend the backend's name, for messages
     * @param spec    the network
     * @param weights its parameters
     * @param options the plan's options
     * @throws IllegalArgumentException for a null argument or weights of another spec
     */
    public static void checkPlan(String backend, RnnSpec spec, RnnWeights weights, PlanOptions options) {
        if (spec == null) {
            throw new IllegalArgumentException("spec: expected an RnnSpec, got null");
        }
        if (weights == null) {
            throw new IllegalArgumentException("weights: expected RnnWeights of " + spec + ", got null");
        }
        if (options == null) {
            throw new IllegalArgumentException("options: expected PlanOptions, got null");
        }
        if (!weights.spec().equals(spec)) {
            throw new IllegalArgumentException("weights: expected weights of " + spec + ", got weights of " + weights.spec());
        }
    }

    /**
     * {@link #checkPlan(String, RnnSpec, RnnWeights, PlanOptions)}, then: a backend that is
     * unavailable here throws {@link IllegalStateException} with its reason, and one that lacks
     * something the request needs ({@link io.cellstate.Backend#unsupported(RnnSpec, PlanOptions)})
     * throws {@link UnsupportedOperationException} naming it. The start of every {@code Backend.plan}.
     *
     * @param backend the backend making the plan
     * @param spec    the network
     * @param weights its parameters
     * @param options the plan's options
     * @throws IllegalArgumentException      for a null argument or weights of another spec
     * @throws UnsupportedOperationException for a feature no backend has yet
     * @throws IllegalStateException         if the backend is unavailable here
     */
    public static void checkPlan(io.cellstate.Backend backend, RnnSpec spec, RnnWeights weights, PlanOptions options) {
        checkPlan(backend.name(), spec, weights, options);
        io.cellstate.Backends.requireRunnable(backend, spec, options);
    }

    /**
     * What a backend that runs {@code cells} lacks for a request: the common part of
     * {@code Backend.unsupported}.
     *
     * @param spec    the network
     * @param options the plan options
     * @param cells   the cells the backend runs, as a test of the spec's cell
     * @param trains  whether the backend has a backward pass for them
     * @return empty, or the cell or mode it lacks
     */
    public static String supportOf(RnnSpec spec, PlanOptions options, java.util.function.Predicate<Cell> cells,
                                   boolean trains) {
        if (!cells.test(spec.cell())) {
            return "cell " + spec.cell() + " is not supported yet";
        }
        if (options.mode() == ForwardMode.TRAINING && !trains) {
            return "mode TRAINING is not supported by this backend (it has no backward pass; use INFERENCE)";
        }
        return "";
    }

    @Override
    public final RnnSpec spec() {
        return spec;
    }

    @Override
    public final String backend() {
        return backend;
    }

    @Override
    public final void forward(RnnInput in, RnnOutput out) {
        enter();
        try {
            checkInput(in);
            checkOutput(in, out);
            dispatch(in, out);
        } finally {
            exit();
        }
    }

    @Override
    public final RnnOutput forward(RnnInput in) {
        enter();
        try {
            checkInput(in);
            // made to the input's measure, apart from it: nothing of it to check
            RnnOutput out = RnnOutput.allocate(spec, in.layout(), in.steps(), in.batch());
            dispatch(in, out);
            return out;
        } finally {
            exit();
        }
    }

    @Override
    public final RnnWorkspace newWorkspace() {
        enter();
        try {
            requireTraining("newWorkspace");
            TrainingWorkspace ws = createWorkspace();
            workspaces.removeIf(r -> r.refersTo(null) || r.get().isClosed());
            workspaces.add(new WeakReference<>(ws));
            return ws;
        } finally {
            exit();
        }
    }

    @Override
    public final void forward(RnnInput in, RnnOutput out, RnnWorkspace workspace) {
        enter();
        try {
            requireTraining("forward with a workspace");
            checkInput(in);
            checkOutput(in, out);
            TrainingWorkspace ws = checkWorkspace(workspace, false);
            ws.clear();
            int[] lengths = in.lengths() == null ? null : in.lengths().clone();
            runTraining(new ForwardCall(in.x(), in.layout(), in.steps(), in.batch(), lengths, in.h0(), in.c0(), out.y(),
                    out.hN(), out.cN()), ws);
            ws.record(in.steps(), in.batch(), in.layout(), lengths);
        } finally {
            exit();
        }
    }

    @Override
    public final void backward(RnnWorkspace workspace, RnnOutputGrad gradOut, RnnInputGrad gradIn,
                               RnnWeightGrads weightGrads, WeightGradMode mode) {
        enter();
        try {
            requireTraining("backward");
            TrainingWorkspace ws = checkWorkspace(workspace, true);
            int steps = ws.steps();
            int batch = ws.batch();
            Layout layout = ws.layout();
            if (gradOut == null) {
                throw new IllegalArgumentException("gradOut: expected an RnnOutputGrad (its tensors may be null), got null");
            }
            if (gradIn == null) {
                throw new IllegalArgumentException("gradIn: expected an RnnInputGrad (RnnInputGrad.none() for weight"
                        + " gradients alone), got null");
            }
            checkWeightGrads(weightGrads, mode);
            String ySeq = layout.describe().replace("F", "D*H") + " of the forward held (T = " + steps + ", B = " + batch + ")";
            String xSeq = layout.describe().replace("F", "inputSize") + " of the forward held (T = " + steps + ", B = "
                    + batch + ")";
            String state = "[layers*directions, B, H_out]";
            optional("gradOut.dy", gradOut.dy(), layout.shape(steps, batch, spec.outputSize()), ySeq);
            optional("gradOut.dhN", gradOut.dhN(), stateShape(batch), state);
            optionalCell("gradOut.dcN", gradOut.dcN(), batch);
            optional("gradIn.dx", gradIn.dx(), layout.shape(steps, batch, spec.inputSize()), xSeq);
            optional("gradIn.dh0", gradIn.dh0(), stateShape(batch), state);
            optionalCell("gradIn.dc0", gradIn.dc0(), batch);
            String[] readNames = {"gradOut.dy", "gradOut.dhN", "gradOut.dcN"};
            Tensor[] read = {gradOut.dy(), gradOut.dhN(), gradOut.dcN()};
            String[] writeNames = {"gradIn.dx", "gradIn.dh0", "gradIn.dc0"};
            Tensor[] written = {gradIn.dx(), gradIn.dh0(), gradIn.dc0()};
            for (int i = 0; i < written.length; i++) {
                for (int j = 0; j < written.length; j++) {
                    if (written[i] != null && (j < i && written[j] != null && overlap(written[i], written[j]))) {
                        throw new IllegalArgumentException(writeNames[i] + ": expected memory apart from " + writeNames[j]
                                + ", got an overlapping tensor");
                    }
                    if (written[i] != null && read[j] != null && overlap(written[i], read[j])) {
                        throw new IllegalArgumentException(writeNames[i] + ": expected memory apart from " + readNames[j]
                                + ", got an overlapping tensor");
                    }
                }
            }
            runBackward(new BackwardCall(ws, layout, steps, batch, ws.lengths(), gradOut.dy(), gradOut.dhN(),
                    gradOut.dcN(), gradIn.dx(), gradIn.dh0(), gradIn.dc0(), weightGrads,
                    mode == WeightGradMode.ACCUMULATE));
        } finally {
            exit();
        }
    }

    @Override
    public final void setWeights(RnnWeights weights) {
        enter();
        try {
            if (weights == null) {
                throw new IllegalArgumentException("weights: expected RnnWeights of " + spec + ", got null");
            }
            if (!weights.spec().equals(spec)) {
                throw new IllegalArgumentException("weights: expected weights of " + spec + ", got weights of "
                        + weights.spec());
            }
            reload(weights);
        } finally {
            exit();
        }
    }

    /**
     * Refuses a training call on a plan made for inference; for a subclass's own training entry
     * points (a device-tensor path), as every training call here does.
     *
     * @param what the call, for the message
     * @throws IllegalStateException unless the plan was made with {@link ForwardMode#TRAINING}
     */
    protected final void requireTraining(String what) {
        if (mode != ForwardMode.TRAINING) {
            throw new IllegalStateException(what + ": " + this + " was made for " + mode + "; a training pass needs a"
                    + " plan made with PlanOptions.withMode(ForwardMode.TRAINING)");
        }
    }

    /**
     * {@code workspace} as one of this plan's open workspaces, the checks of every training call; for a
     * subclass's own training entry points, which may cast the result to the type its
     * {@link #createWorkspace()} makes.
     *
     * @param workspace the caller's argument
     * @param mustHold  whether it must hold a training forward pass (a backward)
     * @return the workspace, made by this plan
     * @throws IllegalArgumentException for null, another plan's, a closed, or (with {@code mustHold}) an empty workspace
     */
    protected final TrainingWorkspace checkWorkspace(RnnWorkspace workspace, boolean mustHold) {
        if (workspace == null) {
            throw new IllegalArgumentException("workspace: expected a workspace of " + this + " (newWorkspace()), got null");
        }
        if (!(workspace instanceof TrainingWorkspace ws) || ws.owner() != this) {
            throw new IllegalArgumentException("workspace: expected a workspace of " + this + ", got one of "
                    + workspace.plan());
        }
        if (ws.isClosed()) {
            throw new IllegalArgumentException("workspace: expected an open workspace, got a closed one");
        }
        if (mustHold && !ws.holdsForward()) {
            throw new IllegalArgumentException("workspace: expected one holding a training forward pass, got an empty one"
                    + " (run a training forward into it first; a forward that threw leaves it empty)");
        }
        return ws;
    }

    /**
     * The checks of a backward call's weight gradients and mode; for a subclass's own backward entry
     * points, as {@link #backward(RnnWorkspace, RnnOutputGrad, RnnInputGrad, RnnWeightGrads, WeightGradMode)} does.
     *
     * @param weightGrads the gradients to write, or null for none
     * @param mode        how to write them
     * @throws IllegalArgumentException for a null mode or gradients of another spec
     */
    protected final void checkWeightGrads(RnnWeightGrads weightGrads, WeightGradMode mode) {
        if (mode == null) {
            throw new IllegalArgumentException("mode: expected OVERWRITE or ACCUMULATE, got null");
        }
        if (weightGrads != null && !weightGrads.spec().equals(spec)) {
            throw new IllegalArgumentException("weightGrads: expected gradients of " + spec + ", got gradients of "
                    + weightGrads.spec());
        }
    }

    private static void optional(String name, Tensor t, int[] shape, String meaning) {
        if (t != null) {
            expectShape(name, t, shape, meaning);
            expectAlive(name, t);
        }
    }

    private void optionalCell(String name, Tensor t, int batch) {
        if (t == null) {
            return;
        }
        if (!spec.cell().hasCellState()) {
            throw new IllegalArgumentException(name + ": expected null (" + spec.cell() + " has no cell state), got "
                    + Arrays.toString(t.shape()));
        }
        optional(name, t, cellShape(batch), "[layers*directions, B, H]");
    }

    private static boolean overlap(Tensor a, Tensor b) {
        return a == b || a.segment().asOverlappingSlice(b.segment()).isPresent();
    }

    /** Releases a workspace under the one-caller rule: {@link TrainingWorkspace#close()}. */
    final void closeWorkspace(TrainingWorkspace ws) {
        Thread me = Thread.currentThread();
        Thread other = (Thread) CALLER.compareAndExchange(this, (Thread) null, me);
        if (other != null) {
            throw new IllegalStateException("cannot close " + ws + ": thread '" + other.getName() + "' is using the plan;"
                    + " close it once that call has returned");
        }
        try {
            ws.release();
        } finally {
            exit();
        }
    }

    /** Checks a caller's output for a checked input: shapes, live memory, no overlap with the input. */
    private void checkOutput(RnnInput in, RnnOutput out) {
        if (out == null) {
            throw new IllegalArgumentException("out: expected an RnnOutput, got null");
        }
        int steps = in.steps();
        int batch = in.batch();
        expectShape("out.y", out.y(), in.layout().shape(steps, batch, spec.outputSize()),
                in.layout().describe().replace("F", "D*H"));
        expectShape("out.hN", out.hN(), stateShape(batch), "[layers*directions, B, H_out]");
        expectAlive("out.y", out.y());
        expectAlive("out.hN", out.hN());
        if (out.cN() != null) {
            if (!spec.cell().hasCellState()) {
                throw new IllegalArgumentException("out.cN: expected null (" + spec.cell() + " has no cell state), got "
                        + Arrays.toString(out.cN().shape()));
            }
            expectShape("out.cN", out.cN(), cellShape(batch), "[layers*directions, B, H]");
            expectAlive("out.cN", out.cN());
        }
        if (out.y() == in.x() || out.y().segment().asOverlappingSlice(in.x().segment()).isPresent()) {
            throw new IllegalArgumentException("out.y: expected memory apart from in.x, got an overlapping tensor");
        }
    }

    /** Runs the kernel on checked arguments (the lengths copied, so the caller cannot change them mid-call). */
    private void dispatch(RnnInput in, RnnOutput out) {
        run(new ForwardCall(in.x(), in.layout(), in.steps(), in.batch(), in.lengths() == null ? null : in.lengths().clone(),
                in.h0(), in.c0(), out.y(), out.hN(), out.cN()));
    }

    private void checkInput(RnnInput in) {
        if (in == null) {
            throw new IllegalArgumentException("in: expected an RnnInput, got null");
        }
        if (in.layout() == null) {
            throw new IllegalArgumentException("in.layout: expected SEQUENCE_MAJOR or BATCH_MAJOR, got null");
        }
        Tensor x = in.x();
        String xDesc = in.layout().describe().replace("F", "inputSize");
        if (x == null) {
            throw new IllegalArgumentException("in.x: expected a tensor " + xDesc + ", got null");
        }
        if (x.rank() != 3 || x.dim(2) != spec.inputSize() || x.dim(0) < 1 || x.dim(1) < 1) {
            throw new IllegalArgumentException("in.x: expected shape " + in.layout().describe()
                    + " with T >= 1, B >= 1, F = inputSize = " + spec.inputSize() + ", got " + Arrays.toString(x.shape()));
        }
        expectAlive("in.x", x);
        int steps = in.steps();
        int batch = in.batch();
        checkLengths("in.lengths", in.lengths(), batch, steps);
        if (in.h0() != null) {
            expectShape("in.h0", in.h0(), stateShape(batch), "[layers*directions, B, H_out]");
            expectAlive("in.h0", in.h0());
        }
        if (in.c0() != null) {
            if (!spec.cell().hasCellState()) {
                throw new IllegalArgumentException("in.c0: expected null (" + spec.cell() + " has no cell state), got "
                        + Arrays.toString(in.c0().shape()));
            }
            expectShape("in.c0", in.c0(), cellShape(batch), "[layers*directions, B, H]");
            expectAlive("in.c0", in.c0());
        }
    }

    @Override
    public final void step(Tensor x, RnnState state, Tensor y) {
        enter();
        try {
            checkStep(x, state);
            expectShape("y", y, state.h().dim(1), spec.outputHiddenSize(), "[B, H_out]");
            expectAlive("y", y);
            runStep(x, state, y);
        } finally {
            exit();
        }
    }

    @Override
    public final Tensor step(Tensor x, RnnState state) {
        enter();
        try {
            checkStep(x, state);
            Tensor y = Tensor.zeros(state.h().dim(1), spec.outputHiddenSize());
            runStep(x, state, y);
            return y;
        } finally {
            exit();
        }
    }

    private void checkStep(Tensor x, RnnState state) {
        if (spec.direction() != Direction.FORWARD) {
            throw new UnsupportedOperationException("step: streaming needs direction FORWARD, the spec has "
                    + spec.direction() + " (a reverse direction needs the whole sequence: use forward)");
        }
        if (state == null) {
            throw new IllegalArgumentException("state: expected an RnnState, got null");
        }
        Tensor h = state.h();
        if (h.rank() != 3 || h.dim(0) != spec.layers() || h.dim(2) != spec.outputHiddenSize() || h.dim(1) < 1) {
            throw new IllegalArgumentException("state.h: expected shape [layers = " + spec.layers() + ", B >= 1, H_out = "
                    + spec.outputHiddenSize() + "], got " + Arrays.toString(h.shape()));
        }
        int batch = h.dim(1);
        if (spec.cell().hasCellState()) {
            expectShape("state.c", state.c(), spec.layers(), batch, spec.hiddenSize(), "[layers, B, H]");
        }
        expectShape("x", x, batch, spec.inputSize(), "[B, inputSize]");
        expectAlive("x", x);
        expectAlive("state.h", h);
        if (state.c() != null) {
            expectAlive("state.c", state.c());
        }
    }

    /** The shape of h0, hN and their gradients: H_out columns (an LSTM's projection, else H). */
    private int[] stateShape(int batch) {
        return new int[] {spec.stateCount(), batch, spec.outputHiddenSize()};
    }

    /** The shape of c0, cN and their gradients: H columns. */
    private int[] cellShape(int batch) {
        return new int[] {spec.stateCount(), batch, spec.hiddenSize()};
    }

    /**
     * Checks per-sequence lengths (null: every sequence has length T): one per batch entry, each in
     * [1, T].
     *
     * @param name    the argument's name in the message
     * @param lengths the lengths, or null
     * @param batch   B
     * @param steps   T
     * @throws IllegalArgumentException naming the first bad length
     */
    protected static void checkLengths(String name, int[] lengths, int batch, int steps) {
        if (lengths == null) {
            return;
        }
        if (lengths.length != batch) {
            throw new IllegalArgumentException(name + ": expected one length per batch entry, B = " + batch
                    + ", got " + lengths.length);
        }
        for (int b = 0; b < batch; b++) {
            if (lengths[b] < 1 || lengths[b] > steps) {
                throw new IllegalArgumentException(name + "[" + b + "]: expected 1 <= length <= T = " + steps
                        + ", got " + lengths[b]);
            }
        }
    }

    /**
     * {@link #expectShape(String, Tensor, int[], String)} for a matrix, allocating nothing unless it throws:
     * the streaming step checks its arguments on every call.
     */
    private static void expectShape(String name, Tensor t, int d0, int d1, String meaning) {
        if (t == null || t.rank() != 2 || t.dim(0) != d0 || t.dim(1) != d1) {
            expectShape(name, t, new int[] {d0, d1}, meaning);
        }
    }

    /** The same for a rank-3 tensor. */
    private static void expectShape(String name, Tensor t, int d0, int d1, int d2, String meaning) {
        if (t == null || t.rank() != 3 || t.dim(0) != d0 || t.dim(1) != d1 || t.dim(2) != d2) {
            expectShape(name, t, new int[] {d0, d1, d2}, meaning);
        }
    }

    private static void expectShape(String name, Tensor t, int[] expected, String meaning) {
        if (t == null) {
            throw new IllegalArgumentException(name + ": expected a tensor of shape " + Arrays.toString(expected)
                    + " " + meaning + ", got null");
        }
        if (!t.hasShape(expected)) {
            throw new IllegalArgumentException(name + ": expected shape " + Arrays.toString(expected) + " " + meaning
                    + ", got " + Arrays.toString(t.shape()));
        }
    }

    /**
     * Memory a kernel may hand to native code by address must still exist: a tensor over a segment
     * whose arena was closed is refused here, where native code would read freed memory.
     */
    private static void expectAlive(String name, Tensor t) {
        MemorySegment s = t.segment();
        if (!s.scope().isAlive()) {
            throw new IllegalArgumentException(name + ": expected a tensor over live memory, got one whose memory was"
                    + " freed (its Arena is closed)");
        }
    }

    /**
     * Claims the plan for the calling thread, for one public method's work: throws
     * {@link IllegalStateException} if another thread is inside the plan now, or if it is closed.
     * Every public method of a plan starts with it and ends with {@link #exit()} in a
     * {@code finally}; the ones of this class do so already.
     */
    protected final void enter() {
        Thread me = Thread.currentThread();
        Thread other = (Thread) CALLER.compareAndExchange(this, (Thread) null, me);
        if (other != null) {
            throw new IllegalStateException(this + " is in use by thread '" + other.getName() + "'"
                    + (other == me ? " (this thread, re-entering it)" : "")
                    + ": a plan serves one caller at a time; give each thread a plan of its own (plans may share one"
                    + " RnnWeights) or take plans from a pool");
        }
        if (closed) {
            caller = null;
            throw new IllegalStateException(this + " is closed");
        }
    }

    /** Gives the plan back after {@link #enter()}. */
    protected final void exit() {
        caller = null;
        // the plan stays reachable to here, so its cleaner cannot release what the call still uses
        Reference.reachabilityFence(this);
    }

    /**
     * Hands the plan's resources outside the Java heap (native or device memory, handles) to its
     * owner: {@link #close()} closes {@code held}, and if the plan becomes unreachable unclosed, a
     * cleaner does. {@code held} must not refer to the plan. Called once, at the end of a
     * subclass's constructor; everything it holds must be released by its {@code close()}.
     *
     * @param held what the plan holds outside the Java heap
     * @throws IllegalStateException on a second call
     */
    protected final void releaseWith(AutoCloseable held) {
        if (resources != null) {
            throw new IllegalStateException("releaseWith: expected one call per plan, got a second");
        }
        resources = Cleanup.register(this, held, backend + " plan");
    }

    /**
     * The forward pass proper, on validated arguments.
     *
     * @param call the call, every shape checked against the spec
     */
    protected abstract void run(ForwardCall call);

    /**
     * One streaming step on validated arguments (FORWARD only).
     *
     * @param x     {@code [B, inputSize]}
     * @param state {@code [layers, B, H]} each, updated in place
     * @param y     receives the last layer's new h, {@code [B, H]}
     */
    protected abstract void runStep(Tensor x, RnnState state, Tensor y);

    /**
     * A new, empty workspace for this plan's training passes. Called only on a plan made for
     * {@link ForwardMode#TRAINING}, by a backend whose {@code unsupported} admits training.
     *
     * @return the workspace
     */
    protected TrainingWorkspace createWorkspace() {
        throw new UnsupportedOperationException(backend + ": training is not implemented");
    }

    /**
     * A training forward pass on validated arguments: what {@link #run} does, keeping in {@code ws}
     * what {@link #runBackward} needs.
     *
     * @param call the call, every shape checked against the spec
     * @param ws   one of this plan's workspaces, open
     */
    protected void runTraining(ForwardCall call, TrainingWorkspace ws) {
        throw new UnsupportedOperationException(backend + ": training is not implemented");
    }

    /**
     * The backward pass on validated arguments, from the forward pass {@code call.workspace()} holds.
     *
     * @param call the call, every shape checked against the spec and that forward
     */
    protected void runBackward(BackwardCall call) {
        throw new UnsupportedOperationException(backend + ": training is not implemented");
    }

    /**
     * Replaces the weights the plan runs with, on a validated argument of the plan's spec.
     *
     * @param weights the new weights
     */
    protected abstract void reload(RnnWeights weights);

    /**
     * Releases what the plan holds. Idempotent; refused with {@link IllegalStateException} while
     * another thread is inside the plan (closing would free what that call uses).
     */
    @Override
    public final void close() {
        Thread me = Thread.currentThread();
        Thread other = (Thread) CALLER.compareAndExchange(this, (Thread) null, me);
        if (other != null) {
            throw new IllegalStateException("cannot close " + this + ": thread '" + other.getName() + "' is using it;"
                    + " close it once that call has returned");
        }
        try {
            if (!closed) {
                closed = true;
                for (WeakReference<TrainingWorkspace> r : workspaces) {
                    TrainingWorkspace ws = r.get();
                    if (ws != null) {
                        ws.release();
                    }
                }
                workspaces.clear();
                if (resources != null) {
                    resources.close();
                }
            }
        } finally {
            exit();
        }
    }

    /** The backend, a serial number unique in the process, and the spec: how messages name the plan. */
    @Override
    public String toString() {
        return backend + " plan #" + serial + " (" + spec + ")";
    }
}
