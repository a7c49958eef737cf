package io.cellstate.bench;

import static io.cellstate.bench.OneDnn.check;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_BIAS;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_BIAS;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_WEIGHTS_ITER;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_WEIGHTS_LAYER;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_WEIGHTS_PEEPHOLE;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_WEIGHTS_PROJECTION;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_FROM;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_TO;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_WEIGHTS_ITER;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_WEIGHTS_LAYER;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_WEIGHTS_PEEPHOLE;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_WEIGHTS_PROJECTION;
import static org.bytedeco.dnnl.global.dnnl.dnnl_bidirectional_concat;
import static org.bytedeco.dnnl.global.dnnl.dnnl_format_tag_any;
import static org.bytedeco.dnnl.global.dnnl.dnnl_ldgo;
import static org.bytedeco.dnnl.global.dnnl.dnnl_ldigo;
import static org.bytedeco.dnnl.global.dnnl.dnnl_ldio;
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
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
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
 * What each oneDNN peer ({@link OneDnnRnn}, {@link OneDnnTraining}) owns besides its primitives, and
 * the steps both take the same way: the handles (one {@link OneDnnHandles}) and buffers (one arena),
 * the CPU engine and stream, the OpenMP thread count of its calls, the zero state and sinks that
 * stand in for absent states; the argument checks, the memory descriptors of an RNN primitive, the
 * weights reordered once into a primitive's format, and the memories pointed at the caller's
 * tensors per call. Closed once, by its peer.
 *
 * <p>Threads: with {@code threads > 0}, {@link #enterThreads} sets OpenMP's thread count on the
 * calling thread and {@link #leaveThreads} restores it; the engine and stream are created between
 * the two, as each peer's primitives and calls are.
 */
final class OneDnnSession implements AutoCloseable {
    /** What the cell state's shape means; the hidden state's is {@link #hStates}. */
    private static final String C_STATES = "[layers*D, B, H]";

    private final RnnSpec spec;
    private final OneDnnLayout layout;
    private final int steps;
    private final int batch;
    private final int threads;
    /** Every oneDNN handle of the peer; closed once, newest first. */
    private final OneDnnHandles handles = new OneDnnHandles();
    /** Buffers of the peer: reordered weights, scratchpads, workspace, zero state, sinks. */
    private final Arena arena = Arena.ofShared();
    /** One reusable address holder for {@code dnnl_memory_set_data_handle}: no allocation per call. */
    private final Address cursor = new Address();
    private final dnnl_engine engine;
    private final dnnl_stream stream;
    /** Zeros for an absent initial state (or state gradient), sinks for an absent final state. */
    private final MemorySegment zeroState;
    private final MemorySegment sinkH;
    private final MemorySegment sinkC;
    private boolean closed;

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

    /** A oneDNN memory over a buffer of the session. */
    record Buffer(dnnl_memory memory, MemorySegment segment) {
    }

    /** One execution argument; a null memory (the LSTM's c arguments of another cell) is left out. */
    record Arg(int arg, dnnl_memory memory) {
    }

    /** A native array of execution arguments and how many it holds. */
    record ExecArgs(dnnl_exec_arg_t args, int count) {
    }

    /**
     * The memories of one side of an RNN primitive's data, its tensors or their gradients, over no
     * buffer: {@link #point} aims them at the caller's tensors per call. The {@code *IterC} are the LSTM's only.
     */
    record Memories(dnnl_memory srcLayer, dnnl_memory srcIter, dnnl_memory srcIterC,
                    dnnl_memory dstLayer, dnnl_memory dstIter, dnnl_memory dstIterC) {

        /** As execution arguments: the three source arguments named first, then the three destination ones. */
        List<Arg> sources(int layer, int iter, int iterC) {
            return List.of(new Arg(layer, srcLayer), new Arg(iter, srcIter), new Arg(iterC, srcIterC));
        }

        List<Arg> destinations(int layer, int iter, int iterC) {
            return List.of(new Arg(layer, dstLayer), new Arg(iter, dstIter), new Arg(iterC, dstIterC));
        }
    }

    /** One weights tensor of some layers in oneDNN's user layout ({@link OneDnnLayout#user}), with its descriptor. */
    record UserWeight(dnnl_memory_desc md, MemorySegment data) {
    }

    /** The checked addresses of a forward call's tensors, zeros and sinks standing in for absent states. */
    record ForwardAddresses(long x, long y, long h0, long c0, long hN, long cN) {
    }

    /**
     * Loads oneDNN, then creates the engine and stream and the zero state and sinks for calls of
     * exactly {@code steps} steps of {@code batch} sequences; arguments checked by {@link #checkArguments}.
     *
     * @throws UnsupportedOperationException for threads > 0 where oneDNN's CPU runtime is not OpenMP
     * @throws IllegalStateException         if oneDNN cannot be loaded or a oneDNN call fails (naming it)
     */
    OneDnnSession(RnnSpec spec, int steps, int batch, int threads) {
        OneDnn.require();
        if (threads > 0 && !OneDnn.threadsSettable()) {
            throw new UnsupportedOperationException("threads: oneDNN's CPU runtime here is not OpenMP, so its thread"
                    + " count cannot be set; pass 0");
        }
        this.spec = spec;
        this.layout = OneDnnLayout.of(spec);
        this.steps = steps;
        this.batch = batch;
        this.threads = threads;
        int previous = enterThreads();
        try {
            engine = handles.cpuEngine();
            stream = handles.stream(engine);
            // H columns: enough for c, and for h, which has H_out <= H
            long state = (long) spec.stateCount() * batch * spec.hiddenSize() * Float.BYTES;
            zeroState = allocate(state);
            sinkH = allocate(state);
            sinkC = allocate(state);
        } catch (RuntimeException | Error e) {
            closeAfterFailure(e);
            throw e;
        } finally {
            leaveThreads(previous);
        }
    }

    /**
     * The checks of a peer's constructor arguments.
     *
     * @throws IllegalArgumentException      for a null spec, weights of another spec, sizes below 1 or threads below 0
     * @throws UnsupportedOperationException for a cell with an option oneDNN's primitives lack, naming it
     */
    static void checkArguments(RnnSpec spec, RnnWeights weights, int steps, int batch, int threads) {
        if (spec == null) {
            throw new IllegalArgumentException("spec: expected an RnnSpec, got null");
        }
        String lacks = OneDnnLayout.unsupported(spec.cell());
        if (!lacks.isEmpty()) {
            throw new UnsupportedOperationException("cell: oneDNN has no RNN primitive for " + spec.cell() + ": " + lacks);
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
    }

    RnnSpec spec() {
        return spec;
    }

    OneDnnLayout layout() {
        return layout;
    }

    boolean cellState() {
        return spec.cell().hasCellState();
    }

    int steps() {
        return steps;
    }

    int batch() {
        return batch;
    }

    int threads() {
        return threads;
    }

    OneDnnHandles handles() {
        return handles;
    }

    dnnl_engine engine() {
        return engine;
    }

    MemorySegment zeroState() {
        return zeroState;
    }

    /** A 64-byte aligned buffer of the session. */
    MemorySegment allocate(long bytes) {
        return arena.allocate(bytes, 64);
    }

    /** Sets the peer's OpenMP thread count on the calling thread; returns what {@link #leaveThreads} restores. */
    int enterThreads() {
        return OneDnn.enterThreads(threads);
    }

    void leaveThreads(int previous) {
        OneDnn.leaveThreads(threads, previous);
    }

    /** oneDNN's direction of the spec. */
    int direction() {
        return switch (spec.direction()) {
            case FORWARD -> dnnl_unidirectional_left2right;
            case REVERSE -> dnnl_unidirectional_right2left;
            case BIDIRECTIONAL -> dnnl_bidirectional_concat;
        };
    }

    /**
     * The descriptors of a primitive over layers {@code [first, first + layers)}: data in {@code tnc}
     * and {@code ldnc} (h with H_out columns, c with H), weights in the format the primitive picks
     * ({@code any}), the bias and peepholes in {@code ldgo} or, with {@code anyBias} (gradients), in the
     * format the primitive picks.
     */
    OneDnnHandles.RnnMds mds(OneDnnHandles temp, int first, int layers, boolean anyBias) {
        long d = spec.directions();
        dnnl_memory_desc hMd = temp.desc(dnnl_ldnc, layers, d, batch, spec.outputHiddenSize());
        dnnl_memory_desc cMd = cellState() ? temp.desc(dnnl_ldnc, layers, d, batch, spec.hiddenSize()) : null;
        Map<OneDnnLayout.Kind, dnnl_memory_desc> w = new EnumMap<>(OneDnnLayout.Kind.class);
        for (OneDnnLayout.Kind k : layout.kinds()) {
            boolean vector = k == OneDnnLayout.Kind.BIAS || k == OneDnnLayout.Kind.PEEPHOLE;
            w.put(k, temp.desc(vector && !anyBias ? dnnl_ldgo : dnnl_format_tag_any, layout.dims(k, first, layers)));
        }
        return new OneDnnHandles.RnnMds(temp.desc(dnnl_tnc, steps, batch, spec.layerInputSize(first)), hMd, cMd,
                w.get(OneDnnLayout.Kind.LAYER), w.get(OneDnnLayout.Kind.ITER), w.get(OneDnnLayout.Kind.PEEPHOLE),
                w.get(OneDnnLayout.Kind.PROJECTION), w.get(OneDnnLayout.Kind.BIAS),
                temp.desc(dnnl_tnc, steps, batch, spec.outputSize()), hMd, cMd);
    }

    /** The descriptor of oneDNN's user layout of {@code kind} over layers {@code [first, first + layers)}. */
    dnnl_memory_desc userMd(OneDnnHandles temp, OneDnnLayout.Kind kind, int first, int layers) {
        int tag = switch (kind) {
            case LAYER, ITER -> dnnl_ldigo;
            case BIAS, PEEPHOLE -> dnnl_ldgo;
            case PROJECTION -> dnnl_ldio;
        };
        return temp.desc(tag, layout.dims(kind, first, layers));
    }

    /** Layers {@code [first, first + layers)} of {@code weights} in oneDNN's user layouts, in buffers of {@code staging}, by kind. */
    Map<OneDnnLayout.Kind, UserWeight> userWeights(RnnWeights weights, int first, int layers, Arena staging,
                                                   OneDnnHandles temp) {
        Map<OneDnnLayout.Kind, UserWeight> user = new EnumMap<>(OneDnnLayout.Kind.class);
        for (OneDnnLayout.Kind k : layout.kinds()) {
            user.put(k, new UserWeight(userMd(temp, k, first, layers), layout.user(k, weights, first, layers, staging)));
        }
        return user;
    }

    /** oneDNN's execution argument of the weights {@code kind}. */
    static int arg(OneDnnLayout.Kind kind) {
        return switch (kind) {
            case LAYER -> DNNL_ARG_WEIGHTS_LAYER;
            case ITER -> DNNL_ARG_WEIGHTS_ITER;
            case BIAS -> DNNL_ARG_BIAS;
            case PEEPHOLE -> DNNL_ARG_WEIGHTS_PEEPHOLE;
            case PROJECTION -> DNNL_ARG_WEIGHTS_PROJECTION;
        };
    }

    /** oneDNN's execution argument of the gradient of the weights {@code kind}. */
    static int diffArg(OneDnnLayout.Kind kind) {
        return switch (kind) {
            case LAYER -> DNNL_ARG_DIFF_WEIGHTS_LAYER;
            case ITER -> DNNL_ARG_DIFF_WEIGHTS_ITER;
            case BIAS -> DNNL_ARG_DIFF_BIAS;
            case PEEPHOLE -> DNNL_ARG_DIFF_WEIGHTS_PEEPHOLE;
            case PROJECTION -> DNNL_ARG_DIFF_WEIGHTS_PROJECTION;
        };
    }

    /** The data memories of one side ({@code mds}' tensors), over no buffer. */
    Memories memories(OneDnnHandles.RnnMds mds) {
        boolean c = cellState();
        return new Memories(handles.memory(mds.srcLayer(), engine, null), handles.memory(mds.srcIter(), engine, null),
                c ? handles.memory(mds.srcIterC(), engine, null) : null, handles.memory(mds.dstLayer(), engine, null),
                handles.memory(mds.dstIter(), engine, null), c ? handles.memory(mds.dstIterC(), engine, null) : null);
    }

    /** Points {@code m} at the given addresses; the {@code *IterC} ones only where the cell has a cell state. */
    void point(Memories m, long srcLayer, long srcIter, long srcIterC, long dstLayer, long dstIter, long dstIterC) {
        point(m.srcLayer(), srcLayer);
        point(m.srcIter(), srcIter);
        point(m.dstLayer(), dstLayer);
        point(m.dstIter(), dstIter);
        if (m.srcIterC() != null) {
            point(m.srcIterC(), srcIterC);
            point(m.dstIterC(), dstIterC);
        }
    }

    void point(dnnl_memory memory, long address) {
        check(dnnl.dnnl_memory_set_data_handle(memory, cursor.at(address)), "dnnl_memory_set_data_handle");
    }

    /** A memory over a new buffer of the session sized for {@code md}, or null if {@code md} is empty. */
    Buffer buffer(dnnl_memory_desc md) {
        long size = md == null || md.isNull() ? 0 : dnnl.dnnl_memory_desc_get_size(md);
        if (size == 0) {
            return null;
        }
        MemorySegment segment = allocate(size);
        return new Buffer(handles.memory(md, engine, new Address(segment.address())), segment);
    }

    /** A new buffer for argument {@code arg} of {@code pd}, or null if it has none. */
    Buffer buffer(dnnl_primitive_desc pd, int arg) {
        return buffer(dnnl.dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, arg));
    }

    /** The memory of a new buffer for the scratchpad of {@code pd} (user mode), or null if it needs none. */
    dnnl_memory scratchpad(dnnl_primitive_desc pd) {
        Buffer b = buffer(dnnl.dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0));
        return b == null ? null : b.memory();
    }

    /** A new buffer for argument {@code arg} of {@code pd}, which must have one. */
    Buffer required(dnnl_primitive_desc pd, int arg) {
        Buffer b = buffer(pd, arg);
        if (b == null) {
            throw new IllegalStateException("dnnl_primitive_desc_query_md(exec_arg_md, " + arg + "): the " + spec.cell()
                    + " primitive reports no memory for it");
        }
        return b;
    }

    /** The weights arguments of {@code pd} in the formats it chose, each a buffer of the session reordered once from {@code user}. */
    List<Arg> weights(dnnl_primitive_desc pd, Map<OneDnnLayout.Kind, UserWeight> user, OneDnnHandles temp) {
        List<Arg> args = new ArrayList<>();
        user.forEach((kind, w) -> args.add(new Arg(arg(kind), weights(pd, arg(kind), w.md(), w.data(), temp))));
        return List.copyOf(args);
    }

    private dnnl_memory weights(dnnl_primitive_desc pd, int arg, dnnl_memory_desc userMd, MemorySegment user,
                                OneDnnHandles temp) {
        Buffer target = required(pd, arg);
        reorder(temp.memory(userMd, engine, new Address(user.address())), target.memory(), userMd,
                dnnl.dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, arg), temp);
        return target.memory();
    }

    /** {@code from}'s contents (a buffer of the session) reordered into {@code userMd}'s layout, in a buffer of {@code into}. */
    MemorySegment toUser(Buffer from, dnnl_memory_desc userMd, Arena into, OneDnnHandles temp) {
        MemorySegment user = into.allocate(dnnl.dnnl_memory_desc_get_size(userMd), 64);
        dnnl_memory to = temp.memory(userMd, engine, new Address(user.address()));
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
            await();
        }
    }

    /** The arguments of {@code list} that have a memory, in order, in a native array of the session. */
    ExecArgs args(List<Arg> list) {
        int n = (int) list.stream().filter(a -> a.memory() != null).count();
        dnnl_exec_arg_t args = handles.execArgs(n);
        int i = 0;
        for (Arg a : list) {
            if (a.memory() != null) {
                i = put(args, i, a.arg(), a.memory());
            }
        }
        args.position(0);
        return new ExecArgs(args, n);
    }

    /** Runs {@code primitive} on the stream; {@code call} names it in a failure. */
    void execute(dnnl_primitive primitive, ExecArgs args, String call) {
        check(dnnl.dnnl_primitive_execute(primitive, stream, args.count(), args.args()), call);
    }

    /** Waits for the stream. */
    void await() {
        check(dnnl.dnnl_stream_wait(stream), "dnnl_stream_wait");
    }

    /**
     * The checked addresses of a forward call's tensors, {@code x [T, B, inputSize]}, {@code y [T, B, D*H_out]}
     * and the states, h {@code [layers*D, B, H_out]} and c {@code [layers*D, B, H]}: zeros for a null h0 or
     * c0, sinks for a null hN or cN.
     *
     * @throws IllegalArgumentException for a heap, closed, read-only (outputs) or misshapen tensor, or y overlapping x
     */
    ForwardAddresses forwardAddresses(Tensor x, Tensor h0, Tensor c0, Tensor y, Tensor hN, Tensor cN) {
        long xa = address("x", x, new int[] {steps, batch, spec.inputSize()}, "[T, B, inputSize]", false);
        long ya = address("y", y, sequenceShape(), sequence(), true);
        long h0a = hAddress("h0", h0, zeroState, false);
        long c0a = cAddress("c0", c0, zeroState, false);
        long hNa = hAddress("hN", hN, sinkH, true);
        long cNa = cAddress("cN", cN, sinkC, true);
        if (y.segment().asOverlappingSlice(x.segment()).isPresent()) {
            throw new IllegalArgumentException("y: expected memory apart from x, got an overlapping tensor");
        }
        return new ForwardAddresses(xa, ya, h0a, c0a, hNa, cNa);
    }

    /** The address of a hidden state tensor {@code [layers*D, B, H_out]} (see {@link #address}), or {@code absent}'s if it is null. */
    long hAddress(String name, Tensor t, MemorySegment absent, boolean output) {
        return t == null ? absent.address()
                : address(name, t, new int[] {spec.stateCount(), batch, spec.outputHiddenSize()}, hStates(), output);
    }

    /** The address of a cell state tensor {@code [layers*D, B, H]} (see {@link #address}), or {@code absent}'s if it is null. */
    long cAddress(String name, Tensor t, MemorySegment absent, boolean output) {
        return t == null ? absent.address()
                : address(name, t, new int[] {spec.stateCount(), batch, spec.hiddenSize()}, C_STATES, output);
    }

    /** The shape of y (and dy), {@code [T, B, D*H_out]}. */
    int[] sequenceShape() {
        return new int[] {steps, batch, spec.outputSize()};
    }

    /** What y's shape means: {@code [T, B, D*H]}, or {@code [T, B, D*P]} with a projection. */
    String sequence() {
        return spec.projectionSize() > 0 ? "[T, B, D*P]" : "[T, B, D*H]";
    }

    /** What the hidden state's shape means: {@code [layers*D, B, H]}, or {@code [layers*D, B, P]} with a projection. */
    private String hStates() {
        return spec.projectionSize() > 0 ? "[layers*D, B, P]" : "[layers*D, B, H]";
    }

    /** Throws, naming {@code owner}, after {@link #close()}. */
    void requireOpen(String owner) {
        if (closed) {
            throw new IllegalStateException(owner + " is closed");
        }
    }

    /** Releases every oneDNN object and buffer of the session. Idempotent. */
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

    /** Closes after a failed construction, adding a failure to close to {@code cause}. */
    void closeAfterFailure(Throwable cause) {
        closed = true;
        try {
            handles.close();
        } catch (RuntimeException e) {
            cause.addSuppressed(e);
        }
        arena.close();
    }

    /** {@code name[spec, T=.., B=.., threads=..]}. */
    String describe(String name) {
        return name + "[" + spec + ", T=" + steps + ", B=" + batch + ", threads=" + threads + "]";
    }

    static int put(dnnl_exec_arg_t args, int i, int arg, dnnl_memory memory) {
        args.position(i).arg(arg).memory(memory);
        return i + 1;
    }

    /** oneDNN's name of the implementation it picked for {@code pd} ({@code dnnl_query_impl_info_str}). */
    @SuppressWarnings("try") // the scope is used implicitly: it frees the pointer array allocated inside it
    static String implementation(dnnl_primitive_desc pd) {
        try (PointerScope scope = new PointerScope()) {
            PointerPointer<?> name = new PointerPointer<>(1);
            check(dnnl.dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, name),
                    "dnnl_primitive_desc_query(impl_info_str)");
            return name.getString(0);
        }
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

    static void positive(String name, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(name + ": expected >= 1, got " + value);
        }
    }
}
