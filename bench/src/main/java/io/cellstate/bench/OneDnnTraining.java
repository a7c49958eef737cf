package io.cellstate.bench;

import static io.cellstate.bench.OneDnnSession.address;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_DST_ITER;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_DST_ITER_C;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_DST_LAYER;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_SRC_ITER;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_SRC_ITER_C;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_SRC_LAYER;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST_ITER;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST_ITER_C;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST_LAYER;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SCRATCHPAD;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC_ITER;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC_ITER_C;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC_LAYER;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_WORKSPACE;
import static org.bytedeco.dnnl.global.dnnl.dnnl_forward_training;

import io.cellstate.RnnInputGrad;
import io.cellstate.RnnOutputGrad;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeightGrads;
import io.cellstate.RnnWeights;
import io.cellstate.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.dnnl.dnnl_primitive;
import org.bytedeco.dnnl.dnnl_primitive_desc;

/**
 * The training benchmark's peer: oneDNN's RNN primitive of a cell in {@code forward_training}, which
 * keeps its workspace, then its {@code backward} primitive ({@code lstm}, with its projection and
 * peepholes where the cell has them, {@code lbr_gru}, {@code gru}, {@code vanilla_rnn}), f32 on the CPU
 * engine, over the same weights and tensors as our plans.
 * One instance is one workspace: {@link #backward} differentiates the last {@link #forward}.
 *
 * <p><b>Weights.</b> Our weights go into oneDNN's user layouts as {@link OneDnnLayout} says, then are
 * reordered once into the format each primitive picks (the backward primitive picks its own, a
 * transposed one on x86). oneDNN's backward <em>adds</em> to its weight gradients, as cuDNN's does;
 * {@link #backward} zeroes them first (a {@code memset} of the weights' size, inside the call), which
 * is what a framework's {@code zero_grad} does and gives what our {@code WeightGradMode.OVERWRITE}
 * gives. They stay in oneDNN's format: a framework running oneDNN keeps them so for its optimiser;
 * {@link #weightGrads} converts them to ours, outside any timed region.
 *
 * <p><b>No copies.</b> Every tensor must be off-heap ({@link Tensor#allocate}); oneDNN's memory
 * objects are pointed at their addresses per call. {@link #backward} reads the forward's x, initial
 * states, y and final states in place: keep them alive and unchanged in between. Zero gradients for
 * null {@code dy}/{@code dhN}/{@code dcN}, sinks for unwanted {@code dx}/{@code dh0}/{@code dc0}, the
 * workspace, both scratchpads (user mode) and the weight gradients are allocated once, here.
 *
 * <p><b>Specs.</b> Those that run in one oneDNN primitive ({@link OneDnnRnn#layerRanges}): one layer
 * in any direction, or several unidirectional layers with {@code inputSize == H_out}. Chaining the
 * backward passes of several primitives is left out: the benchmarks time one layer.
 *
 * <p><b>Threads</b> as in {@link OneDnnRnn}: with {@code threads > 0}, every call sets OpenMP's thread
 * count on the calling thread and restores it afterwards. One thread at a time; {@link #close()}
 * releases every oneDNN object once.
 */
public final class OneDnnTraining implements AutoCloseable {
    /** The engine, stream, buffers, handles and thread count of this instance; closed once. */
    private final OneDnnSession session;
    private final dnnl_primitive forwardPrimitive;
    private final dnnl_primitive backwardPrimitive;
    private final OneDnnSession.ExecArgs forwardArgs;
    private final OneDnnSession.ExecArgs backwardArgs;
    private final String implementation;
    /** The forward's tensors, pointed at by forward and read in place by backward. */
    private final OneDnnSession.Memories data;
    /** The gradients of the data, pointed at by backward: d(src) are dx, dh0, dc0, d(dst) are dy, dhN, dcN. */
    private final OneDnnSession.Memories diff;
    /** The weight gradients in the backward primitive's formats, one per kind of weights; zeroed by each backward. */
    private final Map<OneDnnLayout.Kind, OneDnnSession.Buffer> diffWeights;
    private final MemorySegment zeroSequence;
    private final MemorySegment sinkDx;
    private final MemorySegment sinkDh0;
    private final MemorySegment sinkDc0;
    private boolean holdsForward;

    /**
     * Creates the forward-training and backward primitives for exactly {@code steps} steps of
     * {@code batch} sequences, and reorders the weights into each one's format.
     *
     * @param threads OpenMP threads for this instance's calls, or 0 to leave the calling thread's setting
     * @throws IllegalArgumentException      for weights of another spec or sizes below 1
     * @throws UnsupportedOperationException for a spec that needs more than one oneDNN primitive, a cell
     *                                       with an option oneDNN lacks (naming it), or threads > 0 where
     *                                       oneDNN's CPU runtime is not OpenMP
     * @throws IllegalStateException         if oneDNN cannot be loaded or a oneDNN call fails (naming it)
     */
    public OneDnnTraining(RnnSpec spec, RnnWeights weights, int steps, int batch, int threads) {
        OneDnnSession.checkArguments(spec, weights, steps, batch, threads);
        if (OneDnnRnn.layerRanges(spec).size() != 1) {
            throw new UnsupportedOperationException("spec: oneDNN runs " + spec + " as "
                    + OneDnnRnn.layerRanges(spec).size() + " primitives, and OneDnnTraining runs one (one layer, or"
                    + " unidirectional layers with inputSize == hiddenSize)");
        }
        session = new OneDnnSession(spec, steps, batch, threads);
        int previous = session.enterThreads();
        try (Arena staging = Arena.ofConfined(); OneDnnHandles temp = new OneDnnHandles()) {
            OneDnnHandles.RnnMds dataMds = session.mds(temp, 0, spec.layers(), false);
            dnnl_primitive_desc fwd = temp.rnnForward(session.engine(), spec.cell(), dnnl_forward_training,
                    session.direction(), dataMds, temp.userScratchpadAttr());
            OneDnnHandles.RnnMds diffMds = session.mds(temp, 0, spec.layers(), true);
            dnnl_primitive_desc bwd = temp.rnnBackward(session.engine(), spec.cell(), session.direction(), dataMds,
                    diffMds, fwd, temp.userScratchpadAttr());
            forwardPrimitive = session.handles().primitive(fwd);
            backwardPrimitive = session.handles().primitive(bwd);
            implementation = OneDnnSession.implementation(fwd) + " / " + OneDnnSession.implementation(bwd);
            Map<OneDnnLayout.Kind, OneDnnSession.UserWeight> user = session.userWeights(weights, 0, spec.layers(),
                    staging, temp);

            data = session.memories(dataMds);
            diff = session.memories(diffMds);
            OneDnnSession.Buffer workspace = session.required(fwd, DNNL_ARG_WORKSPACE);

            List<OneDnnSession.Arg> sources = data.sources(DNNL_ARG_SRC_LAYER, DNNL_ARG_SRC_ITER, DNNL_ARG_SRC_ITER_C);
            List<OneDnnSession.Arg> destinations = new ArrayList<>(data.destinations(DNNL_ARG_DST_LAYER,
                    DNNL_ARG_DST_ITER, DNNL_ARG_DST_ITER_C));
            destinations.add(new OneDnnSession.Arg(DNNL_ARG_WORKSPACE, workspace.memory()));
            List<OneDnnSession.Arg> forwardList = new ArrayList<>(sources);
            forwardList.addAll(session.weights(fwd, user, temp));
            forwardList.addAll(destinations);
            forwardList.add(new OneDnnSession.Arg(DNNL_ARG_SCRATCHPAD, session.scratchpad(fwd)));

            Map<OneDnnLayout.Kind, OneDnnSession.Buffer> dw = new EnumMap<>(OneDnnLayout.Kind.class);
            List<OneDnnSession.Arg> backwardList = new ArrayList<>(sources);
            backwardList.addAll(session.weights(bwd, user, temp));
            backwardList.addAll(destinations);
            backwardList.addAll(diff.sources(DNNL_ARG_DIFF_SRC_LAYER, DNNL_ARG_DIFF_SRC_ITER, DNNL_ARG_DIFF_SRC_ITER_C));
            for (OneDnnLayout.Kind k : user.keySet()) {
                OneDnnSession.Buffer b = session.required(bwd, OneDnnSession.diffArg(k));
                dw.put(k, b);
                backwardList.add(new OneDnnSession.Arg(OneDnnSession.diffArg(k), b.memory()));
            }
            diffWeights = dw;
            backwardList.addAll(diff.destinations(DNNL_ARG_DIFF_DST_LAYER, DNNL_ARG_DIFF_DST_ITER,
                    DNNL_ARG_DIFF_DST_ITER_C));
            backwardList.add(new OneDnnSession.Arg(DNNL_ARG_SCRATCHPAD, session.scratchpad(bwd)));
            forwardArgs = session.args(forwardList);
            backwardArgs = session.args(backwardList);

            long state = (long) spec.stateCount() * batch * spec.hiddenSize() * Float.BYTES;
            sinkDh0 = session.allocate(state);
            sinkDc0 = session.allocate(state);
            zeroSequence = session.allocate((long) steps * batch * spec.outputSize() * Float.BYTES);
            sinkDx = session.allocate((long) steps * batch * spec.inputSize() * Float.BYTES);
        } catch (RuntimeException | Error e) {
            session.closeAfterFailure(e);
            throw e;
        } finally {
            session.leaveThreads(previous);
        }
    }

    public RnnSpec spec() {
        return session.spec();
    }

    public int steps() {
        return session.steps();
    }

    public int batch() {
        return session.batch();
    }

    /** oneDNN's names of the forward-training and backward implementations it picked, "fwd / bwd". */
    public String implementation() {
        return implementation;
    }

    /**
     * A training forward pass: {@code x [T, B, inputSize]} into {@code y [T, B, D*H_out]} and the final
     * states, keeping the workspace for {@link #backward}, which also reads these tensors in place.
     *
     * @param h0 initial hidden state {@code [layers*D, B, H_out]} (H_out = P with a projection, else H), or
     *           null for zeros
     * @param c0 initial cell state (LSTM) {@code [layers*D, B, H]}, or null for zeros
     * @param hN final hidden state, or null if not wanted
     * @param cN final cell state (LSTM), or null if not wanted
     * @throws IllegalArgumentException for a heap, closed, read-only (outputs) or misshapen tensor, or y overlapping x
     * @throws IllegalStateException    after {@link #close()}, or if oneDNN fails (naming the call)
     */
    public void forward(Tensor x, Tensor h0, Tensor c0, Tensor y, Tensor hN, Tensor cN) {
        session.requireOpen("OneDnnTraining");
        OneDnnSession.ForwardAddresses a = session.forwardAddresses(x, h0, c0, y, hN, cN);
        int previous = session.enterThreads();
        try {
            session.point(data, a.x(), a.h0(), a.c0(), a.y(), a.hN(), a.cN());
            holdsForward = false;
            session.execute(forwardPrimitive, forwardArgs, "dnnl_primitive_execute(" + session.spec().cell()
                    + " forward_training)");
            session.await();
            holdsForward = true;
        } finally {
            session.leaveThreads(previous);
        }
    }

    /**
     * Backpropagation through the last {@link #forward}: the weight gradients (zeroed first, then
     * computed: see the class comment) and, where wanted, {@code dx}, {@code dh0}, {@code dc0}.
     *
     * @param gradOut d loss / d (y, hN, cN), each optional (null: zero), off-heap
     * @param gradIn  where d loss / d (x, h0, c0) go, each optional, off-heap
     * @throws IllegalArgumentException for a heap, closed, read-only or misshapen tensor
     * @throws IllegalStateException    before a forward pass, after {@link #close()}, or if oneDNN fails
     */
    public void backward(RnnOutputGrad gradOut, RnnInputGrad gradIn) {
        session.requireOpen("OneDnnTraining");
        if (!holdsForward) {
            throw new IllegalStateException("OneDnnTraining holds no forward pass: call forward first");
        }
        if (gradOut == null || gradIn == null) {
            throw new IllegalArgumentException((gradOut == null ? "gradOut" : "gradIn") + ": expected gradients"
                    + " (with null parts where not wanted), got null");
        }
        RnnSpec spec = session.spec();
        int steps = session.steps();
        int batch = session.batch();
        MemorySegment zeros = session.zeroState();
        long dya = gradOut.dy() == null ? zeroSequence.address()
                : address("dy", gradOut.dy(), session.sequenceShape(), session.sequence(), false);
        long dhNa = session.hAddress("dhN", gradOut.dhN(), zeros, false);
        long dcNa = session.cAddress("dcN", gradOut.dcN(), zeros, false);
        long dxa = gradIn.dx() == null ? sinkDx.address()
                : address("dx", gradIn.dx(), new int[] {steps, batch, spec.inputSize()}, "[T, B, inputSize]", true);
        long dh0a = session.hAddress("dh0", gradIn.dh0(), sinkDh0, true);
        long dc0a = session.cAddress("dc0", gradIn.dc0(), sinkDc0, true);
        int previous = session.enterThreads();
        try {
            session.point(diff, dxa, dh0a, dc0a, dya, dhNa, dcNa);
            for (OneDnnSession.Buffer b : diffWeights.values()) {
                b.segment().fill((byte) 0);
            }
            session.execute(backwardPrimitive, backwardArgs, "dnnl_primitive_execute(" + spec.cell() + " backward)");
            session.await();
        } finally {
            session.leaveThreads(previous);
        }
    }

    /**
     * The weight gradients of the last {@link #backward}, converted into our layout and written over
     * {@code into}. Reorders and allocates: not for a timed loop.
     *
     * @param into gradients of this instance's spec
     * @throws IllegalArgumentException for gradients of another spec
     * @throws IllegalStateException    after {@link #close()}, or if oneDNN fails
     */
    public void weightGrads(RnnWeightGrads into) {
        session.requireOpen("OneDnnTraining");
        RnnSpec spec = session.spec();
        if (into == null || !into.spec().equals(spec)) {
            throw new IllegalArgumentException("into: expected gradients of " + spec + ", got "
                    + (into == null ? "null" : "gradients of " + into.spec()));
        }
        int previous = session.enterThreads();
        try (Arena staging = Arena.ofConfined(); OneDnnHandles temp = new OneDnnHandles()) {
            Map<OneDnnLayout.Kind, MemorySegment> user = new EnumMap<>(OneDnnLayout.Kind.class);
            diffWeights.forEach((kind, b) -> user.put(kind, session.toUser(b, session.userMd(temp, kind, 0, spec.layers()),
                    staging, temp)));
            session.layout().toGrads(user, 0, spec.layers(), into);
        } finally {
            session.leaveThreads(previous);
        }
    }

    /** Releases every oneDNN object and buffer of this instance. Idempotent. */
    @Override
    public void close() {
        session.close();
    }

    @Override
    public String toString() {
        return session.describe("OneDnnTraining");
    }
}
