package io.cellstate.bench;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST_ITER;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST_ITER_C;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST_LAYER;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SCRATCHPAD;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC_ITER;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC_ITER_C;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC_LAYER;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_WORKSPACE;
import static org.bytedeco.dnnl.global.dnnl.dnnl_forward_inference;

import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.dnnl.dnnl_primitive;
import org.bytedeco.dnnl.dnnl_primitive_desc;

/**
 * The benchmarks' peer: oneDNN's RNN primitives (f32, forward inference, CPU engine) for every cell,
 * over the same weights and tensors as our kernels, through JavaCPP's {@code org.bytedeco:dnnl}
 * preset and oneDNN's C API: {@code lstm} for the LSTM (with its projection and peepholes where the
 * cell has them), {@code lbr_gru} for PyTorch's GRU, {@code gru} for the original one, {@code vanilla_rnn}
 * with {@code eltwise_tanh} or {@code eltwise_relu} for the RNN. A cell with an option oneDNN lacks
 * (ONNX's clip, coupled gates, other activations) is refused at construction, naming it.
 *
 * <p><b>Layouts.</b> The weights are permuted and transposed into oneDNN's user layouts
 * ({@code ldigo}, {@code ldgo}, {@code ldio}) as {@link OneDnnLayout} says, once. The primitive is created with
 * weights of format {@code any} and the constructor reorders them once into the format oneDNN
 * picks (packed GEMM formats on x86), outside any timed region. Data need no conversion:
 * {@code x [T, B, I]} and {@code y [T, B, D*H_out]} are oneDNN's {@code tnc} (bidirectional output
 * concatenated forward half first, as ours), and the states, h {@code [layers*D, B, H_out]} and c
 * {@code [layers*D, B, H]}, are its {@code ldnc} (H_out = P with a projection, oneDNN's {@code dic},
 * else H, its {@code dhc}).
 *
 * <p><b>No copies.</b> The tensors of {@link #forward} must be off-heap
 * ({@link Tensor#allocate}): oneDNN's memory objects are pointed at their addresses for each call.
 * The scratchpad (user mode), the zero initial state used for a null {@code h0}/{@code c0} and
 * everything else are allocated once, here.
 *
 * <p><b>Layers.</b> Every spec is supported, with as few primitives as give PyTorch's semantics:
 * <ul>
 *   <li>Unidirectional: oneDNN's multi-layer primitive needs every layer's input as wide as its
 *       output ({@code SLC == DIC} when L > 1, {@code check_dim_consistency} in oneDNN's
 *       {@code src/common/rnn.cpp}). With {@code inputSize == H_out} (or one layer) one primitive runs
 *       all layers; otherwise layer 0 gets a primitive of its own and layers 1..L-1 a second one.
 *   <li>Bidirectional with L > 1: one primitive per layer. oneDNN's multi-layer
 *       {@code bidirectional_concat} runs each direction's stack of layers on its own and
 *       concatenates only the last layer's outputs (it even requires {@code SLC == H}), whereas
 *       in PyTorch, and here, every layer reads both directions of the layer below.
 * </ul>
 * Consecutive primitives are chained through internal {@code [T, B, D*H_out]} buffers (two, used in
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
    /** The engine, stream, buffers, handles and thread count of this instance; closed once. */
    private final OneDnnSession session;
    private final List<Stage> stages;
    /** Outputs of all but the last primitive, used in turn: stage i writes {@code between[i % 2]}. */
    private final MemorySegment[] between;

    /** One oneDNN primitive over layers {@code [first, first + layers)}, with its memories pointed at per call. */
    private record Stage(int first, int layers, dnnl_primitive primitive, OneDnnSession.ExecArgs args,
                         OneDnnSession.Memories data, String implementation) {
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
     * @throws UnsupportedOperationException for a cell with an option oneDNN lacks (naming it), or
     *                                       threads > 0 where oneDNN's CPU runtime is not OpenMP
     * @throws IllegalStateException         if oneDNN cannot be loaded or a oneDNN call fails (naming it)
     */
    public OneDnnRnn(RnnSpec spec, RnnWeights weights, int steps, int batch, int threads) {
        OneDnnSession.checkArguments(spec, weights, steps, batch, threads);
        session = new OneDnnSession(spec, steps, batch, threads);
        int previous = session.enterThreads();
        try {
            List<Stage> s = new ArrayList<>();
            for (int[] range : layerRanges(spec)) {
                s.add(stage(weights, range[0], range[1]));
            }
            stages = List.copyOf(s);
            long sequence = (long) steps * batch * spec.outputSize() * Float.BYTES;
            between = new MemorySegment[Math.min(2, stages.size() - 1)];
            for (int i = 0; i < between.length; i++) {
                between[i] = session.allocate(sequence);
            }
        } catch (RuntimeException | Error e) {
            session.closeAfterFailure(e);
            throw e;
        } finally {
            session.leaveThreads(previous);
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
        return session.spec();
    }

    public int steps() {
        return session.steps();
    }

    public int batch() {
        return session.batch();
    }

    /** The OpenMP thread count of this instance's calls; 0 = the calling thread's own setting. */
    public int threads() {
        return session.threads();
    }

    /** oneDNN's name of the implementation it picked, per primitive ({@code dnnl_query_impl_info_str}). */
    public String implementation() {
        return String.join(" + ", stages.stream().map(Stage::implementation).toList());
    }

    /**
     * One forward pass: {@code x [T, B, inputSize]} into {@code y [T, B, D*H_out]} and the final states.
     *
     * @param h0 initial hidden state {@code [layers*D, B, H_out]}, or null for zeros
     * @param c0 initial cell state {@code [layers*D, B, H]}, or null for zeros
     * @param hN final hidden state {@code [layers*D, B, H_out]}, or null if not wanted
     * @param cN final cell state {@code [layers*D, B, H]}, or null if not wanted
     * @throws IllegalArgumentException for a heap, closed, read-only (outputs) or misshapen tensor, or y overlapping x
     * @throws IllegalStateException    after {@link #close()}, or if oneDNN fails (naming the call)
     */
    public void forward(Tensor x, Tensor h0, Tensor c0, Tensor y, Tensor hN, Tensor cN) {
        session.requireOpen("OneDnnRnn");
        OneDnnSession.ForwardAddresses a = session.forwardAddresses(x, h0, c0, y, hN, cN);
        RnnSpec spec = session.spec();
        int previous = session.enterThreads();
        try {
            int last = stages.size() - 1;
            for (int i = 0; i <= last; i++) {
                Stage s = stages.get(i);
                long states = (long) s.first() * spec.directions() * session.batch() * Float.BYTES;
                long hOffset = states * spec.outputHiddenSize();
                long cOffset = states * spec.hiddenSize();
                session.point(s.data(), i == 0 ? a.x() : between[(i - 1) % 2].address(), a.h0() + hOffset,
                        a.c0() + cOffset, i == last ? a.y() : between[i % 2].address(), a.hN() + hOffset,
                        a.cN() + cOffset);
                session.execute(s.primitive(), s.args(), "dnnl_primitive_execute(" + spec.cell() + " forward, layers "
                        + s.first() + ".." + (s.first() + s.layers() - 1) + ")");
            }
            session.await();
        } finally {
            session.leaveThreads(previous);
        }
    }

    /** Releases every oneDNN object and buffer of this instance. Idempotent. */
    @Override
    public void close() {
        session.close();
    }

    /** The layers {@code {first, count}} of each primitive, in order (see the class comment). */
    static List<int[]> layerRanges(RnnSpec spec) {
        int layers = spec.layers();
        List<int[]> ranges = new ArrayList<>();
        if (spec.directions() == 2) {
            for (int l = 0; l < layers; l++) {
                ranges.add(new int[] {l, 1});
            }
        } else if (layers == 1 || spec.inputSize() == spec.outputHiddenSize()) {
            ranges.add(new int[] {0, layers});
        } else {
            ranges.add(new int[] {0, 1});
            ranges.add(new int[] {1, layers - 1});
        }
        return ranges;
    }

    private Stage stage(RnnWeights weights, int first, int layers) {
        // Descriptors, the primitive descriptor and the reorders are temporaries: oneDNN copies what it keeps.
        try (Arena staging = Arena.ofConfined(); OneDnnHandles temp = new OneDnnHandles()) {
            OneDnnHandles.RnnMds mds = session.mds(temp, first, layers, false);
            dnnl_primitive_desc pd = temp.rnnForward(session.engine(), session.spec().cell(), dnnl_forward_inference,
                    session.direction(), mds, temp.userScratchpadAttr());
            dnnl_primitive primitive = session.handles().primitive(pd);
            List<OneDnnSession.Arg> weightArgs = session.weights(pd,
                    session.userWeights(weights, first, layers, staging, temp), temp);
            // Data memories over no buffer: forward() points them at the caller's tensors.
            OneDnnSession.Memories data = session.memories(mds);
            List<OneDnnSession.Arg> args = new ArrayList<>(data.sources(DNNL_ARG_SRC_LAYER, DNNL_ARG_SRC_ITER,
                    DNNL_ARG_SRC_ITER_C));
            args.addAll(weightArgs);
            args.addAll(data.destinations(DNNL_ARG_DST_LAYER, DNNL_ARG_DST_ITER, DNNL_ARG_DST_ITER_C));
            args.add(new OneDnnSession.Arg(DNNL_ARG_SCRATCHPAD, session.scratchpad(pd)));
            // Inference keeps no workspace; should a version want one, it gets it here rather than failing.
            OneDnnSession.Buffer workspace = session.buffer(pd, DNNL_ARG_WORKSPACE);
            args.add(new OneDnnSession.Arg(DNNL_ARG_WORKSPACE, workspace == null ? null : workspace.memory()));
            return new Stage(first, layers, primitive, session.args(args), data, OneDnnSession.implementation(pd));
        }
    }

    @Override
    public String toString() {
        return session.describe("OneDnnRnn");
    }
}
