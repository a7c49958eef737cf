package io.cellstate.bench;

import static io.cellstate.bench.OneDnn.check;
import static io.cellstate.bench.OneDnnRnn.address;
import static io.cellstate.bench.OneDnnRnn.put;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_BIAS;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_BIAS;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_DST_ITER;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_DST_ITER_C;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_DST_LAYER;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_SRC_ITER;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_SRC_ITER_C;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_SRC_LAYER;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_WEIGHTS_ITER;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_WEIGHTS_LAYER;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST_ITER;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST_ITER_C;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST_LAYER;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_FROM;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SCRATCHPAD;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC_ITER;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC_ITER_C;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC_LAYER;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_TO;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_WEIGHTS_ITER;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_WEIGHTS_LAYER;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_WORKSPACE;
import static org.bytedeco.dnnl.global.dnnl.dnnl_bidirectional_concat;
import static org.bytedeco.dnnl.global.dnnl.dnnl_format_tag_any;
import static org.bytedeco.dnnl.global.dnnl.dnnl_forward_training;
import static org.bytedeco.dnnl.global.dnnl.dnnl_ldgo;
import static org.bytedeco.dnnl.global.dnnl.dnnl_ldigo;
import static org.bytedeco.dnnl.global.dnnl.dnnl_ldnc;
import static org.bytedeco.dnnl.global.dnnl.dnnl_query_exec_arg_md;
import static org.bytedeco.dnnl.global.dnnl.dnnl_query_scratchpad_md;
import static org.bytedeco.dnnl.global.dnnl.dnnl_tnc;
import static org.bytedeco.dnnl.global.dnnl.dnnl_unidirectional_left2right;
import static org.bytedeco.dnnl.global.dnnl.dnnl_unidirectional_right2left;

import io.cellstate.RnnInputGrad;
import io.cellstate.RnnOutputGrad;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeightGrads;
import io.cellstate.RnnWeights;
import io.cellstate.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.dnnl.dnnl_engine;
import org.bytedeco.dnnl.dnnl_exec_arg_t;
import org.bytedeco.dnnl.dnnl_memory;
import org.bytedeco.dnnl.dnnl_memory_desc;
import org.bytedeco.dnnl.dnnl_primitive;
import org.bytedeco.dnnl.dnnl_primitive_desc;
import org.bytedeco.dnnl.dnnl_stream;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.javacpp.PointerScope;

/**
 * The training benchmark's peer: oneDNN's RNN primitive of a cell in {@code forward_training}, which
 * keeps its workspace, then its {@code backward} primitive ({@code lstm}, {@code lbr_gru}, {@code gru},
 * {@code vanilla_rnn}), f32 on the CPU engine, over the same weights and tensors as our plans.
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
 * in any direction, or several unidirectional layers with {@code inputSize == H}. Chaining the
 * backward passes of several primitives is left out: the benchmarks time one layer.
 *
 * <p><b>Threads</b> as in {@link OneDnnRnn}: with {@code threads > 0}, every call sets OpenMP's thread
 * count on the calling thread and restores it afterwards. One thread at a time; {@link #close()}
 * releases every oneDNN object once.
 */
public final class OneDnnTraining implements AutoCloseable {
    private final RnnSpec spec;
    private final OneDnnLayout layout;
    private final boolean cellState;
    private final int steps;
    private final int batch;
    private final int threads;
    private final OneDnnHandles handles = new OneDnnHandles();
    private final Arena arena = Arena.ofShared();
    private final OneDnnRnn.Address cursor = new OneDnnRnn.Address();
    private final dnnl_engine engine;
    private final dnnl_stream stream;
    private final dnnl_primitive forwardPrimitive;
    private final dnnl_primitive backwardPrimitive;
    private final dnnl_exec_arg_t forwardArgs;
    private final int forwardArgCount;
    private final dnnl_exec_arg_t backwardArgs;
    private final int backwardArgCount;
    private final String implementation;
    /** The forward's tensors, pointed at by forward and read in place by backward. */
    private final dnnl_memory srcLayer;
    private final dnnl_memory srcIter;
    private final dnnl_memory srcIterC;
    private final dnnl_memory dstLayer;
    private final dnnl_memory dstIter;
    private final dnnl_memory dstIterC;
    /** The gradients of the data, pointed at by backward. */
    private final dnnl_memory diffSrcLayer;
    private final dnnl_memory diffSrcIter;
    private final dnnl_memory diffSrcIterC;
    private final dnnl_memory diffDstLayer;
    private final dnnl_memory diffDstIter;
    private final dnnl_memory diffDstIterC;
    /** The weight gradients in the backward primitive's formats; zeroed by each backward. */
    private final Buffer diffWeightsLayer;
    private final Buffer diffWeightsIter;
    private final Buffer diffBias;
    private final MemorySegment zeroState;
    private final MemorySegment zeroSequence;
    private final MemorySegment sinkState;
    private final MemorySegment sinkStateC;
    private final MemorySegment sinkDx;
    private final MemorySegment sinkDh0;
    private final MemorySegment sinkDc0;
    private boolean holdsForward;
    private boolean closed;

    /** A oneDNN memory over a buffer of this instance. */
    private record Buffer(dnnl_memory memory, MemorySegment segment) {
    }

    /**
     * Creates the forward-training and backward primitives for exactly {@code steps} steps of
     * {@code batch} sequences, and reorders the weights into each one's format.
     *
     * @param threads OpenMP threads for this instance's calls, or 0 to leave the calling thread's setting
     * @throws IllegalArgumentException      for weights of another spec or sizes below 1
     * @throws UnsupportedOperationException for a spec that needs more than one oneDNN primitive, or
     *                                       threads > 0 where oneDNN's CPU runtime is not OpenMP
     * @throws IllegalStateException         if oneDNN cannot be loaded or a oneDNN call fails (naming it)
     */
    public OneDnnTraining(RnnSpec spec, RnnWeights weights, int steps, int batch, int threads) {
        if (spec == null) {
            throw new IllegalArgumentException("spec: expected an RnnSpec, got null");
        }
        if (weights == null || !weights.spec().equals(spec)) {
            throw new IllegalArgumentException("weights: expected weights of " + spec + ", got "
                    + (weights == null ? "null" : "weights of " + weights.spec()));
        }
        OneDnnRnn.positive("steps", steps);
        OneDnnRnn.positive("batch", batch);
        if (threads < 0) {
            throw new IllegalArgumentException("threads: expected >= 0 (0 = OpenMP's default), got " + threads);
        }
        if (OneDnnRnn.layerRanges(spec).size() != 1) {
            throw new UnsupportedOperationException("spec: oneDNN runs " + spec + " as "
                    + OneDnnRnn.layerRanges(spec).size() + " primitives, and OneDnnTraining runs one (one layer, or"
                    + " unidirectional layers with inputSize == hiddenSize)");
        }
        OneDnn.require();
        if (threads > 0 && !OneDnn.threadsSettable()) {
            throw new UnsupportedOperationException("threads: oneDNN's CPU runtime here is not OpenMP, so its thread"
                    + " count cannot be set; pass 0");
        }
        this.spec = spec;
        this.layout = OneDnnLayout.of(spec);
        this.cellState = spec.cell().hasCellState();
        this.steps = steps;
        this.batch = batch;
        this.threads = threads;
        int previous = OneDnn.enterThreads(threads);
        try (Arena staging = Arena.ofConfined(); OneDnnHandles temp = new OneDnnHandles()) {
            engine = handles.cpuEngine();
            stream = handles.stream(engine);
            long t = steps;
            long b = batch;
            long l = spec.layers();
            long d = spec.directions();
            long h = spec.hiddenSize();
            long in = spec.inputSize();
            long g = layout.gates();
            dnnl_memory_desc srcLayerMd = temp.desc(dnnl_tnc, t, b, in);
            dnnl_memory_desc dstLayerMd = temp.desc(dnnl_tnc, t, b, d * h);
            dnnl_memory_desc stateMd = temp.desc(dnnl_ldnc, l, d, b, h);
            dnnl_memory_desc stateCMd = cellState ? stateMd : null;
            dnnl_memory_desc biasMd = temp.desc(dnnl_ldgo, l, d, layout.biasGates(), h);
            OneDnnHandles.RnnMds data = new OneDnnHandles.RnnMds(srcLayerMd, stateMd, stateCMd,
                    temp.desc(dnnl_format_tag_any, l, d, in, g, h), temp.desc(dnnl_format_tag_any, l, d, h, g, h),
                    biasMd, dstLayerMd, stateMd, stateCMd);
            dnnl_primitive_desc fwd = temp.rnnForward(engine, spec.cell(), dnnl_forward_training, direction(),
                    data.srcLayer(), data.srcIter(), data.srcIterC(), data.weightsLayer(), data.weightsIter(),
                    data.bias(), data.dstLayer(), data.dstIter(), data.dstIterC(), temp.userScratchpadAttr());
            OneDnnHandles.RnnMds diff = new OneDnnHandles.RnnMds(srcLayerMd, stateMd, stateCMd,
                    temp.desc(dnnl_format_tag_any, l, d, in, g, h), temp.desc(dnnl_format_tag_any, l, d, h, g, h),
                    temp.desc(dnnl_format_tag_any, l, d, layout.biasGates(), h), dstLayerMd, stateMd, stateCMd);
            dnnl_primitive_desc bwd = temp.rnnBackward(engine, spec.cell(), direction(), data, diff, fwd,
                    temp.userScratchpadAttr());
            forwardPrimitive = handles.primitive(fwd);
            backwardPrimitive = handles.primitive(bwd);
            implementation = OneDnnRnn.implementation(fwd) + " / " + OneDnnRnn.implementation(bwd);

            MemorySegment userLayer = layout.ldigo(weights, 0, spec.layers(), false, staging);
            MemorySegment userIter = layout.ldigo(weights, 0, spec.layers(), true, staging);
            MemorySegment userBias = layout.ldgo(weights, 0, spec.layers(), staging);
            dnnl_memory_desc userLayerMd = temp.desc(dnnl_ldigo, l, d, in, g, h);
            dnnl_memory_desc userIterMd = temp.desc(dnnl_ldigo, l, d, h, g, h);

            srcLayer = handles.memory(srcLayerMd, engine, null);
            srcIter = handles.memory(stateMd, engine, null);
            srcIterC = cellState ? handles.memory(stateMd, engine, null) : null;
            dstLayer = handles.memory(dstLayerMd, engine, null);
            dstIter = handles.memory(stateMd, engine, null);
            dstIterC = cellState ? handles.memory(stateMd, engine, null) : null;
            diffSrcLayer = handles.memory(srcLayerMd, engine, null);
            diffSrcIter = handles.memory(stateMd, engine, null);
            diffSrcIterC = cellState ? handles.memory(stateMd, engine, null) : null;
            diffDstLayer = handles.memory(dstLayerMd, engine, null);
            diffDstIter = handles.memory(stateMd, engine, null);
            diffDstIterC = cellState ? handles.memory(stateMd, engine, null) : null;
            Buffer workspace = buffer(dnnl.dnnl_primitive_desc_query_md(fwd, dnnl_query_exec_arg_md, DNNL_ARG_WORKSPACE));
            if (workspace == null) {
                throw new IllegalStateException("dnnl_primitive_desc_query_md(exec_arg_md, DNNL_ARG_WORKSPACE): the"
                        + " forward-training primitive reports no workspace");
            }

            List<Arg> forwardList = new ArrayList<>();
            forwardList.add(new Arg(DNNL_ARG_SRC_LAYER, srcLayer));
            forwardList.add(new Arg(DNNL_ARG_SRC_ITER, srcIter));
            forwardList.add(new Arg(DNNL_ARG_SRC_ITER_C, srcIterC));
            forwardList.add(new Arg(DNNL_ARG_WEIGHTS_LAYER, weights(fwd, DNNL_ARG_WEIGHTS_LAYER, userLayerMd, userLayer, temp)));
            forwardList.add(new Arg(DNNL_ARG_WEIGHTS_ITER, weights(fwd, DNNL_ARG_WEIGHTS_ITER, userIterMd, userIter, temp)));
            forwardList.add(new Arg(DNNL_ARG_BIAS, weights(fwd, DNNL_ARG_BIAS, biasMd, userBias, temp)));
            forwardList.add(new Arg(DNNL_ARG_DST_LAYER, dstLayer));
            forwardList.add(new Arg(DNNL_ARG_DST_ITER, dstIter));
            forwardList.add(new Arg(DNNL_ARG_DST_ITER_C, dstIterC));
            forwardList.add(new Arg(DNNL_ARG_WORKSPACE, workspace.memory()));
            forwardList.add(new Arg(DNNL_ARG_SCRATCHPAD, memoryOf(buffer(dnnl.dnnl_primitive_desc_query_md(fwd,
                    dnnl_query_scratchpad_md, 0)))));

            diffWeightsLayer = required(bwd, DNNL_ARG_DIFF_WEIGHTS_LAYER);
            diffWeightsIter = required(bwd, DNNL_ARG_DIFF_WEIGHTS_ITER);
            diffBias = required(bwd, DNNL_ARG_DIFF_BIAS);
            List<Arg> backwardList = new ArrayList<>(forwardList.subList(0, 3));
            backwardList.add(new Arg(DNNL_ARG_WEIGHTS_LAYER, weights(bwd, DNNL_ARG_WEIGHTS_LAYER, userLayerMd, userLayer, temp)));
            backwardList.add(new Arg(DNNL_ARG_WEIGHTS_ITER, weights(bwd, DNNL_ARG_WEIGHTS_ITER, userIterMd, userIter, temp)));
            backwardList.add(new Arg(DNNL_ARG_BIAS, weights(bwd, DNNL_ARG_BIAS, biasMd, userBias, temp)));
            backwardList.addAll(forwardList.subList(6, 10));
            backwardList.add(new Arg(DNNL_ARG_DIFF_SRC_LAYER, diffSrcLayer));
            backwardList.add(new Arg(DNNL_ARG_DIFF_SRC_ITER, diffSrcIter));
            backwardList.add(new Arg(DNNL_ARG_DIFF_SRC_ITER_C, diffSrcIterC));
            backwardList.add(new Arg(DNNL_ARG_DIFF_WEIGHTS_LAYER, diffWeightsLayer.memory()));
            backwardList.add(new Arg(DNNL_ARG_DIFF_WEIGHTS_ITER, diffWeightsIter.memory()));
            backwardList.add(new Arg(DNNL_ARG_DIFF_BIAS, diffBias.memory()));
            backwardList.add(new Arg(DNNL_ARG_DIFF_DST_LAYER, diffDstLayer));
            backwardList.add(new Arg(DNNL_ARG_DIFF_DST_ITER, diffDstIter));
            backwardList.add(new Arg(DNNL_ARG_DIFF_DST_ITER_C, diffDstIterC));
            backwardList.add(new Arg(DNNL_ARG_SCRATCHPAD, memoryOf(buffer(dnnl.dnnl_primitive_desc_query_md(bwd,
                    dnnl_query_scratchpad_md, 0)))));
            forwardArgs = args(forwardList);
            forwardArgCount = count(forwardList);
            backwardArgs = args(backwardList);
            backwardArgCount = count(backwardList);

            long state = (long) spec.stateCount() * batch * spec.hiddenSize() * Float.BYTES;
            zeroState = arena.allocate(state, 64);
            sinkState = arena.allocate(state, 64);
            sinkStateC = arena.allocate(state, 64);
            sinkDh0 = arena.allocate(state, 64);
            sinkDc0 = arena.allocate(state, 64);
            zeroSequence = arena.allocate(t * b * d * h * Float.BYTES, 64);
            sinkDx = arena.allocate(t * b * in * Float.BYTES, 64);
        } catch (RuntimeException | Error e) {
            releaseAfterFailure(e);
            throw e;
        } finally {
            OneDnn.leaveThreads(threads, previous);
        }
    }

    /** One execution argument; a null memory (the LSTM's c arguments of another cell) is left out. */
    private record Arg(int arg, dnnl_memory memory) {
    }

    public RnnSpec spec() {
        return spec;
    }

    public int steps() {
        return steps;
    }

    public int batch() {
        return batch;
    }

    /** oneDNN's names of the forward-training and backward implementations it picked, "fwd / bwd". */
    public String implementation() {
        return implementation;
    }

    /**
     * A training forward pass: {@code x [T, B, inputSize]} into {@code y [T, B, D*H]} and the final
     * states, keeping the workspace for {@link #backward}, which also reads these tensors in place.
     *
     * @param h0 initial hidden state {@code [layers*D, B, H]}, or null for zeros
     * @param c0 initial cell state (LSTM), or null for zeros
     * @param hN final hidden state, or null if not wanted
     * @param cN final cell state (LSTM), or null if not wanted
     * @throws IllegalArgumentException for a heap, closed, read-only (outputs) or misshapen tensor, or y overlapping x
     * @throws IllegalStateException    after {@link #close()}, or if oneDNN fails (naming the call)
     */
    public void forward(Tensor x, Tensor h0, Tensor c0, Tensor y, Tensor hN, Tensor cN) {
        requireOpen();
        int[] stateShape = stateShape();
        long xa = address("x", x, new int[] {steps, batch, spec.inputSize()}, "[T, B, inputSize]", false);
        long ya = address("y", y, new int[] {steps, batch, spec.outputSize()}, "[T, B, D*H]", true);
        long h0a = h0 == null ? zeroState.address() : address("h0", h0, stateShape, "[layers*D, B, H]", false);
        long c0a = c0 == null ? zeroState.address() : address("c0", c0, stateShape, "[layers*D, B, H]", false);
        long hNa = hN == null ? sinkState.address() : address("hN", hN, stateShape, "[layers*D, B, H]", true);
        long cNa = cN == null ? sinkStateC.address() : address("cN", cN, stateShape, "[layers*D, B, H]", true);
        if (y.segment().asOverlappingSlice(x.segment()).isPresent()) {
            throw new IllegalArgumentException("y: expected memory apart from x, got an overlapping tensor");
        }
        int previous = OneDnn.enterThreads(threads);
        try {
            point(srcLayer, xa);
            point(srcIter, h0a);
            point(dstLayer, ya);
            point(dstIter, hNa);
            if (cellState) {
                point(srcIterC, c0a);
                point(dstIterC, cNa);
            }
            holdsForward = false;
            check(dnnl.dnnl_primitive_execute(forwardPrimitive, stream, forwardArgCount, forwardArgs),
                    "dnnl_primitive_execute(" + spec.cell() + " forward_training)");
            check(dnnl.dnnl_stream_wait(stream), "dnnl_stream_wait");
            holdsForward = true;
        } finally {
            OneDnn.leaveThreads(threads, previous);
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
        requireOpen();
        if (!holdsForward) {
            throw new IllegalStateException("OneDnnTraining holds no forward pass: call forward first");
        }
        if (gradOut == null || gradIn == null) {
            throw new IllegalArgumentException((gradOut == null ? "gradOut" : "gradIn") + ": expected gradients"
                    + " (with null parts where not wanted), got null");
        }
        int[] stateShape = stateShape();
        String states = "[layers*D, B, H]";
        long dya = gradOut.dy() == null ? zeroSequence.address()
                : address("dy", gradOut.dy(), new int[] {steps, batch, spec.outputSize()}, "[T, B, D*H]", false);
        long dhNa = gradOut.dhN() == null ? zeroState.address() : address("dhN", gradOut.dhN(), stateShape, states, false);
        long dcNa = gradOut.dcN() == null ? zeroState.address() : address("dcN", gradOut.dcN(), stateShape, states, false);
        long dxa = gradIn.dx() == null ? sinkDx.address()
                : address("dx", gradIn.dx(), new int[] {steps, batch, spec.inputSize()}, "[T, B, inputSize]", true);
        long dh0a = gradIn.dh0() == null ? sinkDh0.address() : address("dh0", gradIn.dh0(), stateShape, states, true);
        long dc0a = gradIn.dc0() == null ? sinkDc0.address() : address("dc0", gradIn.dc0(), stateShape, states, true);
        int previous = OneDnn.enterThreads(threads);
        try {
            point(diffDstLayer, dya);
            point(diffDstIter, dhNa);
            point(diffSrcLayer, dxa);
            point(diffSrcIter, dh0a);
            if (cellState) {
                point(diffDstIterC, dcNa);
                point(diffSrcIterC, dc0a);
            }
            diffWeightsLayer.segment().fill((byte) 0);
            diffWeightsIter.segment().fill((byte) 0);
            diffBias.segment().fill((byte) 0);
            check(dnnl.dnnl_primitive_execute(backwardPrimitive, stream, backwardArgCount, backwardArgs),
                    "dnnl_primitive_execute(" + spec.cell() + " backward)");
            check(dnnl.dnnl_stream_wait(stream), "dnnl_stream_wait");
        } finally {
            OneDnn.leaveThreads(threads, previous);
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
        requireOpen();
        if (into == null || !into.spec().equals(spec)) {
            throw new IllegalArgumentException("into: expected gradients of " + spec + ", got "
                    + (into == null ? "null" : "gradients of " + into.spec()));
        }
        long l = spec.layers();
        long d = spec.directions();
        long h = spec.hiddenSize();
        long g = layout.gates();
        int previous = OneDnn.enterThreads(threads);
        try (Arena staging = Arena.ofConfined(); OneDnnHandles temp = new OneDnnHandles()) {
            MemorySegment layer = toUser(diffWeightsLayer, temp.desc(dnnl_ldigo, l, d, spec.inputSize(), g, h), staging, temp);
            MemorySegment iter = toUser(diffWeightsIter, temp.desc(dnnl_ldigo, l, d, h, g, h), staging, temp);
            MemorySegment bias = toUser(diffBias, temp.desc(dnnl_ldgo, l, d, layout.biasGates(), h), staging, temp);
            layout.toGrads(layer, iter, bias, 0, spec.layers(), into);
        } finally {
            OneDnn.leaveThreads(threads, previous);
        }
    }

    /** Releases every oneDNN object and buffer of this instance. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            handles.close();
        } finally {
            arena.close();
        }
    }

    private int[] stateShape() {
        return new int[] {spec.stateCount(), batch, spec.hiddenSize()};
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("OneDnnTraining is closed");
        }
    }

    private int direction() {
        return switch (spec.direction()) {
            case FORWARD -> dnnl_unidirectional_left2right;
            case REVERSE -> dnnl_unidirectional_right2left;
            case BIDIRECTIONAL -> dnnl_bidirectional_concat;
        };
    }

    /** A memory over a new buffer of this instance sized for {@code md}, or null if {@code md} is empty. */
    private Buffer buffer(dnnl_memory_desc md) {
        long size = md == null || md.isNull() ? 0 : dnnl.dnnl_memory_desc_get_size(md);
        if (size == 0) {
            return null;
        }
        MemorySegment segment = arena.allocate(size, 64);
        return new Buffer(handles.memory(md, engine, new OneDnnRnn.Address(segment.address())), segment);
    }

    private static dnnl_memory memoryOf(Buffer b) {
        return b == null ? null : b.memory();
    }

    /** The buffer of argument {@code arg} of {@code pd}, which must have one. */
    private Buffer required(dnnl_primitive_desc pd, int arg) {
        Buffer b = buffer(dnnl.dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, arg));
        if (b == null) {
            throw new IllegalStateException("dnnl_primitive_desc_query_md(exec_arg_md, " + arg + "): the " + spec.cell()
                    + " backward primitive reports no memory for it");
        }
        return b;
    }

    /** Argument {@code arg} of {@code pd} in its chosen format, reordered once from {@code user}. */
    private dnnl_memory weights(dnnl_primitive_desc pd, int arg, dnnl_memory_desc userMd, MemorySegment user,
                                OneDnnHandles temp) {
        Buffer target = required(pd, arg);
        reorder(temp.memory(userMd, engine, new OneDnnRnn.Address(user.address())), target.memory(), userMd,
                dnnl.dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, arg), temp);
        return target.memory();
    }

    /** {@code from}'s contents reordered into {@code userMd}'s layout, in a buffer of {@code into}. */
    private MemorySegment toUser(Buffer from, dnnl_memory_desc userMd, Arena into, OneDnnHandles temp) {
        MemorySegment user = into.allocate(dnnl.dnnl_memory_desc_get_size(userMd), 64);
        dnnl_memory to = temp.memory(userMd, engine, new OneDnnRnn.Address(user.address()));
        dnnl_memory_desc fromMd = new dnnl_memory_desc();
        check(dnnl.dnnl_memory_get_memory_desc(from.memory(), fromMd), "dnnl_memory_get_memory_desc");
        reorder(from.memory(), to, fromMd, userMd, temp);
        return user;
    }

    @SuppressWarnings("try") // the scope is used implicitly: it frees the argument array allocated inside it
    private void reorder(dnnl_memory from, dnnl_memory to, dnnl_memory_desc fromMd, dnnl_memory_desc toMd,
                         OneDnnHandles temp) {
        dnnl_primitive reorder = temp.primitive(temp.reorder(engine, fromMd, toMd));
        try (PointerScope scope = new PointerScope()) {
            dnnl_exec_arg_t args = new dnnl_exec_arg_t(2);
            put(args, put(args, 0, DNNL_ARG_FROM, from), DNNL_ARG_TO, to);
            args.position(0);
            check(dnnl.dnnl_primitive_execute(reorder, stream, 2, args), "dnnl_primitive_execute(reorder)");
            check(dnnl.dnnl_stream_wait(stream), "dnnl_stream_wait");
        }
    }

    private dnnl_exec_arg_t args(List<Arg> list) {
        dnnl_exec_arg_t args = handles.execArgs(count(list));
        int i = 0;
        for (Arg a : list) {
            if (a.memory() != null) {
                i = put(args, i, a.arg(), a.memory());
            }
        }
        args.position(0);
        return args;
    }

    private static int count(List<Arg> list) {
        return (int) list.stream().filter(a -> a.memory() != null).count();
    }

    private void point(dnnl_memory memory, long address) {
        check(dnnl.dnnl_memory_set_data_handle(memory, cursor.at(address)), "dnnl_memory_set_data_handle");
    }

    private void releaseAfterFailure(Throwable cause) {
        closed = true;
        try {
            handles.close();
        } catch (RuntimeException e) {
            cause.addSuppressed(e);
        }
        arena.close();
    }

    @Override
    public String toString() {
        return "OneDnnTraining[" + spec + ", T=" + steps + ", B=" + batch + ", threads=" + threads + "]";
    }
}
