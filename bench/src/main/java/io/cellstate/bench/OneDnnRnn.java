package io.cellstate.bench;

import static io.cellstate.bench.OneDnn.check;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_BIAS;
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
import static org.bytedeco.dnnl.global.dnnl.dnnl_forward_inference;
import static org.bytedeco.dnnl.global.dnnl.dnnl_ldgo;
import static org.bytedeco.dnnl.global.dnnl.dnnl_ldigo;
import static org.bytedeco.dnnl.global.dnnl.dnnl_ldnc;
import static org.bytedeco.dnnl.global.dnnl.dnnl_query_exec_arg_md;
import static org.bytedeco.dnnl.global.dnnl.dnnl_query_impl_info_str;
import static org.bytedeco.dnnl.global.dnnl.dnnl_query_scratchpad_md;
import static org.bytedeco.dnnl.global.dnnl.dnnl_tnc;
import static org.bytedeco.dnnl.global.dnnl.dnnl_unidirectional_left2right;
import static org.bytedeco.dnnl.global.dnnl.dnnl_unidirectional_right2left;

import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.dnnl.dnnl_engine;
import org.bytedeco.dnnl.dnnl_exec_arg_t;
import org.bytedeco.dnnl.dnnl_memory;
import org.bytedeco.dnnl.dnnl_memory_desc;
import org.bytedeco.dnnl.dnnl_primitive;
import org.bytedeco.dnnl.dnnl_primitive_desc;
import org.bytedeco.dnnl.dnnl_stream;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.PointerScope;

/**
 * The benchmarks' peer: oneDNN's RNN primitives (f32, forward inference, CPU engine) for every cell,
 * over the same weights and tensors as our kernels, through JavaCPP's {@code org.bytedeco:dnnl}
 * preset and oneDNN's C API: {@code lstm} for the LSTM, {@code lbr_gru} for PyTorch's GRU, {@code gru}
 * for the original one, {@code vanilla_rnn} with {@code eltwise_tanh} or {@code eltwise_relu} for the RNN.
 *
 * <p><b>Layouts.</b> The weights are permuted and transposed into oneDNN's user layouts
 * ({@code ldigo}, {@code ldgo}) as {@link OneDnnLayout} says, once. The primitive is created with
 * weights of format {@code any} and the constructor reorders them once into the format oneDNN
 * picks (packed GEMM formats on x86), outside any timed region. Data need no conversion:
 * {@code x [T, B, I]} and {@code y [T, B, D*H]} are oneDNN's {@code tnc} (bidirectional output
 * concatenated forward half first, as ours), and the states {@code [layers*D, B, H]} are its
 * {@code ldnc}.
 *
 * <p><b>No copies.</b> The tensors of {@link #forward} must be off-heap
 * ({@link Tensor#allocate}): oneDNN's memory objects are pointed at their addresses for each call.
 * The scratchpad (user mode), the zero initial state used for a null {@code h0}/{@code c0} and
 * everything else are allocated once, here.
 *
 * <p><b>Layers.</b> Every spec is supported, with as few primitives as give PyTorch's semantics:
 * <ul>
 *   <li>Unidirectional: oneDNN's multi-layer primitive needs every layer's input as wide as its
 *       output ({@code SLC == H} when L > 1, {@code check_dim_consistency} in oneDNN's
 *       {@code src/common/rnn.cpp}). With {@code inputSize == H} (or one layer) one primitive runs
 *       all layers; otherwise layer 0 gets a primitive of its own and layers 1..L-1 a second one.
 *   <li>Bidirectional with L > 1: one primitive per layer. oneDNN's multi-layer
 *       {@code bidirectional_concat} runs each direction's stack of layers on its own and
 *       concatenates only the last layer's outputs (it even requires {@code SLC == H}), whereas
 *       in PyTorch, and here, every layer reads both directions of the layer below.
 * </ul>
 * Consecutive primitives are chained through internal {@code [T, B, D*H]} buffers (two, used in
 * turn), allocated here.
 *
 * <p><b>Threads.</b> oneDNN's threads are those of the OpenMP runtime its library links (libgomp,
 * see {@link OneDnn}). With {@code threads > 0}, construction and every {@link #forward} set
 * {@code omp_set_num_threads(threads)} on the calling thread and restore the previous value
 * afterwards, so instances with different counts can share a thread and nothing leaks to other
 * code. oneDNN sizes its scratchpad for the thread count at creation: with {@code threads == 0}
 * (OpenMP's default, all cores unless {@code OMP_NUM_THREADS} says otherwise), run forward on a
 * thread whose OpenMP thread count is not larger than at construction.
 *
 * <p>One thread at a time; {@link #close()} releases every oneDNN object once.
 */
public final class OneDnnRnn implements AutoCloseable {
    /** The weights in oneDNN's layouts, and its gate counts. */
    private final OneDnnLayout layout;
    private final boolean cellState;

    private final RnnSpec spec;
    private final int steps;
    private final int batch;
    private final int threads;
    /** Every oneDNN handle of this instance; closed once, newest first. */
    private final OneDnnHandles handles = new OneDnnHandles();
    /** Buffers of this instance: reordered weights, scratchpad, zero state, sinks, between-layer output. */
    private final Arena arena = Arena.ofShared();
    /** One reusable address holder for {@code dnnl_memory_set_data_handle}: no allocation per call. */
    private final Address cursor = new Address();
    private final dnnl_stream stream;
    private final List<Stage> stages;
    private final MemorySegment zeroState;
    private final MemorySegment sinkH;
    private final MemorySegment sinkC;
    /** Outputs of all but the last primitive, used in turn: stage i writes {@code between[i % 2]}. */
    private final MemorySegment[] between;
    private boolean closed;

    /** One oneDNN primitive over layers {@code [first, first + layers)}, with its memories pointed at per call. */
    private record Stage(int first, int layers, dnnl_primitive primitive, dnnl_exec_arg_t args, int argCount,
                         dnnl_memory srcLayer, dnnl_memory srcIter, dnnl_memory srcIterC,
                         dnnl_memory dstLayer, dnnl_memory dstIter, dnnl_memory dstIterC, String implementation) {
    }

    /** A JavaCPP pointer at an address we own elsewhere (a {@link MemorySegment}); no deallocator. */
    static final class Address extends Pointer {
        Address() {
        }

        Address(long address) {
            this.address = address;
        }

        Address at(long address) {
            this.address = address;
            return this;
        }
    }

    /** An instance over all of OpenMP's default threads. */
    public OneDnnRnn(RnnSpec spec, RnnWeights weights, int steps, int batch) {
        this(spec, weights, steps, batch, 0);
    }

    /**
     * Creates the primitive(s) for exactly {@code steps} steps of {@code batch} sequences and
     * reorders the weights into oneDNN's chosen format.
     *
     * @param threads OpenMP threads for this instance's calls, or 0 to leave the calling thread's setting
     * @throws IllegalArgumentException      for weights of another spec or sizes below 1
     * @throws UnsupportedOperationException for a cell other than LSTM, or threads > 0 where oneDNN's
     *                                       CPU runtime is not OpenMP
     * @throws IllegalStateException         if oneDNN cannot be loaded or a oneDNN call fails (naming it)
     */
    public OneDnnRnn(RnnSpec spec, RnnWeights weights, int steps, int batch, int threads) {
        if (spec == null) {
            throw new IllegalArgumentException("spec: expected an RnnSpec, got null");
        }
        if (weights == null || !weights.spec().equals(spec)) {
            throw new IllegalArgumentException("weights: expected weights of " + spec + ", got "
                    + (weights == null ? "null" : "weights of " + weights.spec()));
        }
        positive("steps", steps);
        positive("batch", batch);
        if (threads < 0) {
            throw new IllegalArgumentException("threads: expected >= 0 (0 = OpenMP's default), got " + threads);
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
        int previous = enterThreads();
        try {
            dnnl_engine engine = handles.cpuEngine();
            stream = handles.stream(engine);
            long state = (long) spec.stateCount() * batch * spec.hiddenSize() * Float.BYTES;
            zeroState = arena.allocate(state, 64);
            sinkH = arena.allocate(state, 64);
            sinkC = arena.allocate(state, 64);
            List<Stage> s = new ArrayList<>();
            for (int[] range : layerRanges(spec)) {
                s.add(stage(engine, weights, range[0], range[1]));
            }
            stages = List.copyOf(s);
            long sequence = (long) steps * batch * spec.outputSize() * Float.BYTES;
            between = new MemorySegment[Math.min(2, stages.size() - 1)];
            for (int i = 0; i < between.length; i++) {
                between[i] = arena.allocate(sequence, 64);
            }
        } catch (RuntimeException | Error e) {
            releaseAfterFailure(e);
            throw e;
        } finally {
            leaveThreads(previous);
        }
    }

    /** oneDNN's version at run time ({@code dnnl_version()}), e.g. {@code 3.11.0}. */
    public static String version() {
        return OneDnn.version();
    }

    /** The OpenMP runtime library oneDNN runs its threads on (a path), for reports. */
    public static String openMpRuntime() {
        return OneDnn.openMpLibrary();
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

    /** The OpenMP thread count of this instance's calls; 0 = the calling thread's own setting. */
    public int threads() {
        return threads;
    }

    /** oneDNN's name of the implementation it picked, per primitive ({@code dnnl_query_impl_info_str}). */
    public String implementation() {
        return String.join(" + ", stages.stream().map(Stage::implementation).toList());
    }

    /**
     * One forward pass: {@code x [T, B, inputSize]} into {@code y [T, B, D*H]} and the final states.
     *
     * @param h0 initial hidden state {@code [layers*D, B, H]}, or null for zeros
     * @param c0 initial cell state {@code [layers*D, B, H]}, or null for zeros
     * @param hN final hidden state {@code [layers*D, B, H]}, or null if not wanted
     * @param cN final cell state {@code [layers*D, B, H]}, or null if not wanted
     * @throws IllegalArgumentException for a heap, closed, read-only (outputs) or misshapen tensor, or y overlapping x
     * @throws IllegalStateException    after {@link #close()}, or if oneDNN fails (naming the call)
     */
    public void forward(Tensor x, Tensor h0, Tensor c0, Tensor y, Tensor hN, Tensor cN) {
        if (closed) {
            throw new IllegalStateException("OneDnnRnn is closed");
        }
        int[] stateShape = {spec.stateCount(), batch, spec.hiddenSize()};
        long xa = address("x", x, new int[] {steps, batch, spec.inputSize()}, "[T, B, inputSize]", false);
        long ya = address("y", y, new int[] {steps, batch, spec.outputSize()}, "[T, B, D*H]", true);
        long h0a = h0 == null ? zeroState.address() : address("h0", h0, stateShape, "[layers*D, B, H]", false);
        long c0a = c0 == null ? zeroState.address() : address("c0", c0, stateShape, "[layers*D, B, H]", false);
        long hNa = hN == null ? sinkH.address() : address("hN", hN, stateShape, "[layers*D, B, H]", true);
        long cNa = cN == null ? sinkC.address() : address("cN", cN, stateShape, "[layers*D, B, H]", true);
        if (y.segment().asOverlappingSlice(x.segment()).isPresent()) {
            throw new IllegalArgumentException("y: expected memory apart from x, got an overlapping tensor");
        }
        int previous = enterThreads();
        try {
            int last = stages.size() - 1;
            for (int i = 0; i <= last; i++) {
                Stage s = stages.get(i);
                long stateOffset = (long) s.first() * spec.directions() * batch * spec.hiddenSize() * Float.BYTES;
                point(s.srcLayer(), i == 0 ? xa : between[(i - 1) % 2].address());
                point(s.dstLayer(), i == last ? ya : between[i % 2].address());
                point(s.srcIter(), h0a + stateOffset);
                point(s.dstIter(), hNa + stateOffset);
                if (cellState) {
                    point(s.srcIterC(), c0a + stateOffset);
                    point(s.dstIterC(), cNa + stateOffset);
                }
                check(dnnl.dnnl_primitive_execute(s.primitive(), stream, s.argCount(), s.args()),
                        "dnnl_primitive_execute(" + spec.cell() + " forward, layers " + s.first() + ".."
                                + (s.first() + s.layers() - 1) + ")");
            }
            check(dnnl.dnnl_stream_wait(stream), "dnnl_stream_wait");
        } finally {
            leaveThreads(previous);
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

    /** The layers {@code {first, count}} of each primitive, in order (see the class comment). */
    static List<int[]> layerRanges(RnnSpec spec) {
        int layers = spec.layers();
        List<int[]> ranges = new ArrayList<>();
        if (spec.directions() == 2) {
            for (int l = 0; l < layers; l++) {
                ranges.add(new int[] {l, 1});
            }
        } else if (layers == 1 || spec.inputSize() == spec.hiddenSize()) {
            ranges.add(new int[] {0, layers});
        } else {
            ranges.add(new int[] {0, 1});
            ranges.add(new int[] {1, layers - 1});
        }
        return ranges;
    }

    private Stage stage(dnnl_engine engine, RnnWeights weights, int first, int layers) {
        long t = steps;
        long b = batch;
        long d = spec.directions();
        long h = spec.hiddenSize();
        int in = spec.layerInputSize(first);
        long gates = layout.gates();
        // Descriptors, the primitive descriptor and the reorders are temporaries: oneDNN copies what it keeps.
        try (Arena staging = Arena.ofConfined(); OneDnnHandles temp = new OneDnnHandles()) {
            dnnl_memory_desc srcLayerMd = temp.desc(dnnl_tnc, t, b, in);
            dnnl_memory_desc dstLayerMd = temp.desc(dnnl_tnc, t, b, d * h);
            dnnl_memory_desc stateMd = temp.desc(dnnl_ldnc, layers, d, b, h);
            dnnl_primitive_desc pd = temp.rnnForward(engine, spec.cell(), dnnl_forward_inference, direction(),
                    srcLayerMd, stateMd, cellState ? stateMd : null,
                    temp.desc(dnnl_format_tag_any, layers, d, in, gates, h),
                    temp.desc(dnnl_format_tag_any, layers, d, h, gates, h),
                    temp.desc(dnnl_ldgo, layers, d, layout.biasGates(), h),
                    dstLayerMd, stateMd, cellState ? stateMd : null, temp.userScratchpadAttr());
            dnnl_primitive primitive = handles.primitive(pd);

            dnnl_memory wLayer = weights(engine, pd, DNNL_ARG_WEIGHTS_LAYER,
                    temp.desc(dnnl_ldigo, layers, d, in, gates, h), layout.ldigo(weights, first, layers, false, staging), temp);
            dnnl_memory wIter = weights(engine, pd, DNNL_ARG_WEIGHTS_ITER,
                    temp.desc(dnnl_ldigo, layers, d, h, gates, h), layout.ldigo(weights, first, layers, true, staging), temp);
            dnnl_memory bias = weights(engine, pd, DNNL_ARG_BIAS, temp.desc(dnnl_ldgo, layers, d, layout.biasGates(), h),
                    layout.ldgo(weights, first, layers, staging), temp);

            // Data memories over no buffer: forward() points them at the caller's tensors.
            dnnl_memory srcLayer = handles.memory(srcLayerMd, engine, null);
            dnnl_memory srcIter = handles.memory(stateMd, engine, null);
            dnnl_memory srcIterC = cellState ? handles.memory(stateMd, engine, null) : null;
            dnnl_memory dstLayer = handles.memory(dstLayerMd, engine, null);
            dnnl_memory dstIter = handles.memory(stateMd, engine, null);
            dnnl_memory dstIterC = cellState ? handles.memory(stateMd, engine, null) : null;
            dnnl_memory scratchpad = ownBuffer(engine, dnnl.dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0));
            // Inference keeps no workspace; should a version want one, it gets it here rather than failing.
            dnnl_memory workspace = ownBuffer(engine, dnnl.dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md,
                    DNNL_ARG_WORKSPACE));

            int n = (cellState ? 9 : 7) + (scratchpad != null ? 1 : 0) + (workspace != null ? 1 : 0);
            dnnl_exec_arg_t args = handles.execArgs(n);
            int i = 0;
            i = put(args, i, DNNL_ARG_SRC_LAYER, srcLayer);
            i = put(args, i, DNNL_ARG_SRC_ITER, srcIter);
            if (cellState) {
                i = put(args, i, DNNL_ARG_SRC_ITER_C, srcIterC);
            }
            i = put(args, i, DNNL_ARG_WEIGHTS_LAYER, wLayer);
            i = put(args, i, DNNL_ARG_WEIGHTS_ITER, wIter);
            i = put(args, i, DNNL_ARG_BIAS, bias);
            i = put(args, i, DNNL_ARG_DST_LAYER, dstLayer);
            i = put(args, i, DNNL_ARG_DST_ITER, dstIter);
            if (cellState) {
                i = put(args, i, DNNL_ARG_DST_ITER_C, dstIterC);
            }
            if (scratchpad != null) {
                i = put(args, i, DNNL_ARG_SCRATCHPAD, scratchpad);
            }
            if (workspace != null) {
                put(args, i, DNNL_ARG_WORKSPACE, workspace);
            }
            args.position(0);
            return new Stage(first, layers, primitive, args, n, srcLayer, srcIter, srcIterC, dstLayer, dstIter, dstIterC,
                    implementation(pd));
        }
    }

    /**
     * The primitive's weights argument {@code arg} in the format it chose: a buffer of this
     * instance, filled by reordering {@code user} (described by {@code userMd}) once.
     */
    @SuppressWarnings("try") // the scope is used implicitly: it frees the argument array allocated inside it
    private dnnl_memory weights(dnnl_engine engine, dnnl_primitive_desc pd, int arg, dnnl_memory_desc userMd,
                                MemorySegment user, OneDnnHandles temp) {
        dnnl_memory_desc want = dnnl.dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, arg);
        dnnl_memory target = ownBuffer(engine, want);
        if (target == null) {
            throw new IllegalStateException("dnnl_primitive_desc_query_md(exec_arg_md, " + arg + "): the LSTM primitive"
                    + " reports no memory for a weights argument");
        }
        dnnl_memory source = temp.memory(userMd, engine, new Address(user.address()));
        dnnl_primitive reorder = temp.primitive(temp.reorder(engine, userMd, want));
        try (PointerScope scope = new PointerScope()) {
            dnnl_exec_arg_t args = new dnnl_exec_arg_t(2);
            put(args, put(args, 0, DNNL_ARG_FROM, source), DNNL_ARG_TO, target);
            args.position(0);
            check(dnnl.dnnl_primitive_execute(reorder, stream, 2, args), "dnnl_primitive_execute(reorder of weights)");
            check(dnnl.dnnl_stream_wait(stream), "dnnl_stream_wait");
        }
        return target;
    }

    /** A memory over a new buffer of this instance sized for {@code md}, or null if {@code md} is empty. */
    private dnnl_memory ownBuffer(dnnl_engine engine, dnnl_memory_desc md) {
        long size = md == null || md.isNull() ? 0 : dnnl.dnnl_memory_desc_get_size(md);
        if (size == 0) {
            return null;
        }
        return handles.memory(md, engine, new Address(arena.allocate(size, 64).address()));
    }

    private int direction() {
        return switch (spec.direction()) {
            case FORWARD -> dnnl_unidirectional_left2right;
            case REVERSE -> dnnl_unidirectional_right2left;
            case BIDIRECTIONAL -> dnnl_bidirectional_concat;
        };
    }

    static int put(dnnl_exec_arg_t args, int i, int arg, dnnl_memory memory) {
        args.position(i).arg(arg).memory(memory);
        return i + 1;
    }

    @SuppressWarnings("try") // the scope is used implicitly: it frees the pointer array allocated inside it
    static String implementation(dnnl_primitive_desc pd) {
        try (PointerScope scope = new PointerScope()) {
            PointerPointer<?> name = new PointerPointer<>(1);
            check(dnnl.dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, name),
                    "dnnl_primitive_desc_query(impl_info_str)");
            return name.getString(0);
        }
    }

    private void point(dnnl_memory memory, long address) {
        check(dnnl.dnnl_memory_set_data_handle(memory, cursor.at(address)), "dnnl_memory_set_data_handle");
    }

    /**
     * The native address of a tensor oneDNN may use in place, after checking it can.
     *
     * @throws IllegalArgumentException naming {@code name} for a null, heap, misshapen, closed or (for an
     *                                  output) read-only tensor
     */
    static long address(String name, Tensor t, int[] shape, String meaning, boolean output) {
        if (t == null) {
            throw new IllegalArgumentException(name + ": expected an off-heap tensor of shape " + Arrays.toString(shape)
                    + " " + meaning + ", got null");
        }
        MemorySegment s = t.segment();
        if (!s.isNative()) {
            throw new IllegalArgumentException(name + ": expected an off-heap tensor (Tensor.allocate) that oneDNN can use"
                    + " in place, got a heap tensor " + Arrays.toString(t.shape()));
        }
        if (!t.hasShape(shape)) {
            throw new IllegalArgumentException(name + ": expected shape " + Arrays.toString(shape) + " " + meaning
                    + ", got " + Arrays.toString(t.shape()));
        }
        if (!s.scope().isAlive()) {
            throw new IllegalArgumentException(name + ": expected live memory, got a tensor whose arena is closed");
        }
        if (output && s.isReadOnly()) {
            throw new IllegalArgumentException(name + ": expected a writable tensor, got a read-only one");
        }
        return s.address();
    }

    private int enterThreads() {
        return OneDnn.enterThreads(threads);
    }

    private void leaveThreads(int previous) {
        OneDnn.leaveThreads(threads, previous);
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

    static void positive(String name, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(name + ": expected >= 1, got " + value);
        }
    }

    @Override
    public String toString() {
        return "OneDnnRnn[" + spec + ", T=" + steps + ", B=" + batch + ", threads=" + threads + "]";
    }
}
