package io.cellstate.cuda;

import static org.bytedeco.cuda.global.cudart.cudaEventElapsedTime;
import static org.bytedeco.cuda.global.cudart.cudaEventRecord;
import static org.bytedeco.cuda.global.cudart.cudaEventSynchronize;
import static org.bytedeco.cuda.global.cudart.cudaMemcpy;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyAsync;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyDeviceToDevice;
import static org.bytedeco.cuda.global.cudart.cudaMemset2DAsync;
import static org.bytedeco.cuda.global.cudart.cudaMemsetAsync;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyDeviceToHost;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyHostToDevice;
import static org.bytedeco.cuda.global.cudart.cudaGetLastError;
import static org.bytedeco.cuda.global.cudart.cudaGraphDestroy;
import static org.bytedeco.cuda.global.cudart.cudaGraphLaunch;
import static org.bytedeco.cuda.global.cudart.cudaStreamBeginCapture;
import static org.bytedeco.cuda.global.cudart.cudaStreamCaptureModeRelaxed;
import static org.bytedeco.cuda.global.cudart.cudaStreamEndCapture;
import static org.bytedeco.cuda.global.cudart.cudaStreamSynchronize;
import static org.bytedeco.cuda.global.cudnn.CUDNN_BIDIRECTIONAL;
import static org.bytedeco.cuda.global.cudnn.CUDNN_DATA_BFLOAT16;
import static org.bytedeco.cuda.global.cudnn.CUDNN_DATA_FLOAT;
import static org.bytedeco.cuda.global.cudnn.CUDNN_FMA_MATH;
import static org.bytedeco.cuda.global.cudnn.CUDNN_FWD_MODE_INFERENCE;
import static org.bytedeco.cuda.global.cudnn.CUDNN_FWD_MODE_TRAINING;
import static org.bytedeco.cuda.global.cudnn.CUDNN_WGRAD_MODE_ADD;
import static org.bytedeco.cuda.global.cudnn.CUDNN_LINEAR_INPUT;
import static org.bytedeco.cuda.global.cudnn.CUDNN_GRU;
import static org.bytedeco.cuda.global.cudnn.CUDNN_LSTM;
import static org.bytedeco.cuda.global.cudnn.CUDNN_RNN_RELU;
import static org.bytedeco.cuda.global.cudnn.CUDNN_RNN_TANH;
import static org.bytedeco.cuda.global.cudnn.CUDNN_RNN_ALGO_PERSIST_DYNAMIC;
import static org.bytedeco.cuda.global.cudnn.CUDNN_RNN_DATA_LAYOUT_BATCH_MAJOR_UNPACKED;
import static org.bytedeco.cuda.global.cudnn.CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED;
import static org.bytedeco.cuda.global.cudnn.CUDNN_RNN_DOUBLE_BIAS;
import static org.bytedeco.cuda.global.cudnn.CUDNN_RNN_NO_BIAS;
import static org.bytedeco.cuda.global.cudnn.CUDNN_RNN_PADDED_IO_ENABLED;
import static org.bytedeco.cuda.global.cudnn.CUDNN_TENSOR_OP_MATH;
import static org.bytedeco.cuda.global.cudnn.CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
import static org.bytedeco.cuda.global.cudnn.CUDNN_UNIDIRECTIONAL;
import static org.bytedeco.cuda.global.cudnn.cudnnBuildRNNDynamic;
import static org.bytedeco.cuda.global.cudnn.cudnnGetRNNTempSpaceSizes;
import static org.bytedeco.cuda.global.cudnn.cudnnGetRNNWeightParams;
import static org.bytedeco.cuda.global.cudnn.cudnnGetRNNWeightSpaceSize;
import static org.bytedeco.cuda.global.cudnn.cudnnGetTensorNdDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnRNNBackwardData_v8;
import static org.bytedeco.cuda.global.cudnn.cudnnRNNBackwardWeights_v8;
import static org.bytedeco.cuda.global.cudnn.cudnnRNNForward;
import static org.bytedeco.cuda.global.cudnn.cudnnSetDropoutDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnSetRNNDataDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnSetRNNDescriptor_v8;
import static org.bytedeco.cuda.global.cudnn.cudnnSetStream;
import static org.bytedeco.cuda.global.cudnn.cudnnSetTensorNdDescriptor;

import io.cellstate.Direction;
import io.cellstate.ForwardMode;
import io.cellstate.Layout;
import io.cellstate.PlanOptions;
import io.cellstate.RnnSpec;
import io.cellstate.RnnState;
import io.cellstate.RnnWeightGrads;
import io.cellstate.RnnWeights;
import io.cellstate.RnnWorkspace;
import io.cellstate.Tensor;
import io.cellstate.WeightGradMode;
import io.cellstate.cuda.CudnnOptions.Algorithm;
import io.cellstate.cuda.CudnnOptions.Precision;
import io.cellstate.spi.AbstractRnnPlan;
import io.cellstate.spi.BackwardCall;
import io.cellstate.spi.ForwardCall;
import io.cellstate.spi.TrainingWorkspace;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.cuda.cudart.CUgraph_st;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.SizeTPointer;

/**
 * A cuDNN network (LSTM, PyTorch's GRU, or the Elman RNN): every layer and direction in one
 * {@code cudnnRNNForward} per call. Set up once:
 * a cuDNN handle and a CUDA stream (lent by a process-wide pool and given back on close, see
 * {@link CudnnBackend#releaseIdleHandles()}), the RNN descriptor (per algorithm tried), the weight
 * space filled where {@code cudnnGetRNNWeightParams} says, and device, pinned and workspace buffers
 * sized for the largest call so far. {@link #close()} releases all of it, and the CUDA graphs.
 *
 * <p>Two ways in: host tensors ({@link #forward(io.cellstate.RnnInput, io.cellstate.RnnOutput)},
 * staged through pinned buffers), and {@link DeviceTensor}s
 * ({@link #forward(DeviceTensor, Layout, int[], DeviceTensor, DeviceTensor, DeviceTensor, DeviceTensor, DeviceTensor)}),
 * with no host round trip for the data.
 *
 * <p>{@link Direction#REVERSE}: cuDNN has no reverse-only mode, so the host path reverses each
 * sequence within its length on the way in and out around a forward network with the same
 * weights. The device path rejects REVERSE (that reversal would need a kernel of our own).
 *
 * <p>Training (a plan made with {@link ForwardMode#TRAINING}): a forward into a workspace runs
 * {@code cudnnRNNForward} in {@code CUDNN_FWD_MODE_TRAINING}, keeping cuDNN's reserve space and device
 * copies of x, y, h0 and c0 in the workspace ({@link CudnnWorkspace}); backward runs
 * {@code cudnnRNNBackwardData_v8}, then, when weight gradients are wanted,
 * {@code cudnnRNNBackwardWeights_v8} into a zeroed device copy of the weight space, which is read back
 * and mapped into PyTorch's layout ({@link WeightMap#copyOut}) and written or added per
 * {@link WeightGradMode}. Both paths train (REVERSE on the host path only); BF16 does not
 * ({@link CudnnBackend#unsupported}). {@link #setWeights} writes the new weights into the weight
 * space of every algorithm the plan has used.
 */
public final class CudnnPlan extends AbstractRnnPlan {
    private static final int TIMING_ROUNDS = 3;
    private static final int TIMED_RUNS = 2;
    private static final int MAX_GRAPHS = 16;

    /** The weights the engines' weight spaces hold (replaced by {@link #reload}). */
    private RnnWeights weights;
    private final CudnnOptions cudnnOptions;
    private final List<WeightMap.Piece> pieces;
    private final boolean reversed;
    /** BF16: cuDNN's data and weights are bfloat16; the host path converts (see {@link Bf16}). */
    private final boolean bf16;
    /** Bytes per element of what cuDNN reads and writes: 4, or 2 for BF16. */
    private final int element;
    private final int dataType;
    /** Everything the plan holds on the GPU, released together (see {@link Held}). */
    private final Held held = new Held();
    private final Native.Owner owner = held.owner;
    private final Native.PooledHandle handle;
    /** Recorded after each device-path call; device tensors keep it (see {@link Native.Fence}). */
    private final Native.Fence fence;
    private final Native.DropoutDesc dropout;
    private final Native.DataDesc xDesc;
    private final Native.DataDesc yDesc;
    private final Native.TensorDesc hDesc;
    private final Native.TensorDesc cDesc;
    private final Native.DeviceBuffer dx;
    private final Native.DeviceBuffer dy;
    private final Native.DeviceBuffer dStates;
    private final Native.DeviceBuffer dLengths;
    private final Native.DeviceBuffer work;
    private final Native.DeviceBuffer reserve;
    private final Native.PinnedBuffer px;
    private final Native.PinnedBuffer py;
    private final Native.PinnedBuffer pStates;
    private final Native.PinnedBuffer pLengths;
    // Backward: dy, dx, and the four state gradients (dhy, dcy, dhx, dcx) on the device, the
    // weight-gradient space, and the pinned image it is read back through. Empty until the first backward.
    private final Native.DeviceBuffer gradY;
    private final Native.DeviceBuffer gradX;
    private final Native.DeviceBuffer gradStates;
    private final Native.DeviceBuffer gradWeights;
    private final Native.PinnedBuffer pGradWeights;
    private final FloatPointer paddingFill;
    private final SizeTPointer workSize;
    private final SizeTPointer reserveSize;
    private final Map<Algorithm, Engine> engines = new EnumMap<>(Algorithm.class);
    private final Map<AutoKey, Algorithm> autoChoice = new HashMap<>();
    private final Map<Long, Algorithm> lastChoice = new HashMap<>();
    private final java.util.Set<Algorithm> refused = java.util.EnumSet.noneOf(Algorithm.class);
    // What the data descriptors and the device copy of the lengths describe now (see describe()).
    private Layout describedLayout;
    private int describedSteps;
    private int describedBatch;
    private int[] describedLengths;
    private long describedLengthsAt;
    private IntPointer devLengths;
    /** Bumped whenever the descriptors change, so each engine asks for its workspace size again. */
    private long generation;
    /** Captured calls, the least recently used dropped past {@value #MAX_GRAPHS}. */
    private final Map<GraphKey, Native.GraphExec> graphs = held.graphs;
    /** The algorithms whose calls CUDA or cuDNN refused to capture, with why: they run directly. */
    private final Map<Algorithm, String> graphRefusals = new EnumMap<>(Algorithm.class);
    /** Combinations called once, directly: the second call of one captures it. */
    private final java.util.Set<GraphKey> seen = java.util.Collections.newSetFromMap(lru(4 * MAX_GRAPHS));

    /**
     * What a plan holds on the GPU, released together: by {@link #close()}, or by the cleaner if the
     * plan is dropped unclosed. It refers to no plan (a static class, its maps made in static code),
     * so an unclosed plan can become unreachable.
     */
    private static final class Held implements AutoCloseable {
        final Native.Owner owner = new Native.Owner();
        final Map<GraphKey, Native.GraphExec> graphs = lru(MAX_GRAPHS);
        /** The stream the plan's work runs on, once its handle is lent. */
        org.bytedeco.cuda.cudart.CUstream_st stream;

        /** Waits for the work the plan queued (it uses the buffers freed here), then frees everything. */
        @Override
        public void close() {
            try {
                if (stream != null) {
                    Status.cuda(cudaStreamSynchronize(stream), "cudaStreamSynchronize", "closing the plan");
                }
            } finally {
                try {
                    closeAll(graphs);
                } finally {
                    owner.close();
                }
            }
        }
    }

    /** A map in least-recently-used order that drops, closing it if it can, what passes {@code limit}. */
    private static <K, V> Map<K, V> lru(int limit) {
        return new java.util.LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<K, V> eldest) {
                if (size() > limit) {
                    if (eldest.getValue() instanceof Native.GraphExec g) {
                        g.close();
                    }
                    return true;
                }
                return false;
            }
        };
    }

    /** Destroys every graph of {@code graphs} and empties it, throwing the first failure at the end. */
    private static void closeAll(Map<GraphKey, Native.GraphExec> graphs) {
        Native.Owner all = new Native.Owner();
        graphs.values().forEach(all::own);
        graphs.clear();
        all.close();
    }

    CudnnPlan(RnnSpec spec, RnnWeights weights, PlanOptions options, CudnnOptions cudnnOptions) {
        super("cudnn", spec, weights, options);
        this.weights = weights;
        this.cudnnOptions = cudnnOptions;
        this.pieces = WeightMap.pieces(spec);
        this.reversed = spec.direction() == Direction.REVERSE;
        this.bf16 = cudnnOptions.precision() == Precision.BF16;
        this.element = bf16 ? 2 : Float.BYTES;
        this.dataType = bf16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT;
        int maxBatch = Math.max(1, options.maxBatch());
        int maxSteps = Math.max(1, options.maxSteps());
        try {
            handle = owner.own(new Native.PooledHandle());
            held.stream = handle.stream;
            // Every call of this plan goes to the stream lent with the handle (blocking: ordered with the
            // legacy default stream both ways); set each time, since the handle served other plans before.
            Status.cudnn(cudnnSetStream(handle.ptr, handle.stream), "cudnnSetStream");
            fence = owner.own(new Native.Fence(handle.stream));
            dropout = owner.own(new Native.DropoutDesc());
            // Dropout 0 between layers: no states needed (states NULL, size 0).
            Status.cudnn(cudnnSetDropoutDescriptor(dropout.ptr, handle.ptr, 0f, null, 0, 0), "cudnnSetDropoutDescriptor");
            xDesc = owner.own(new Native.DataDesc());
            yDesc = owner.own(new Native.DataDesc());
            hDesc = owner.own(new Native.TensorDesc());
            cDesc = owner.own(new Native.TensorDesc());
            dx = owner.own(new Native.DeviceBuffer("x", inputBytes(maxSteps, maxBatch)));
            dy = owner.own(new Native.DeviceBuffer("y", outputBytes(maxSteps, maxBatch)));
            dStates = owner.own(new Native.DeviceBuffer("h0, c0, hN, cN", 4 * stateBytes(maxBatch)));
            dLengths = owner.own(new Native.DeviceBuffer("sequence lengths", (long) maxBatch * Integer.BYTES));
            work = owner.own(new Native.DeviceBuffer("workspace", 0));
            reserve = owner.own(new Native.DeviceBuffer("reserve space", 0));
            px = owner.own(new Native.PinnedBuffer("x staging", inputBytes(maxSteps, maxBatch)));
            py = owner.own(new Native.PinnedBuffer("y staging", outputBytes(maxSteps, maxBatch)));
            pStates = owner.own(new Native.PinnedBuffer("state staging", 4 * stateBytes(maxBatch)));
            pLengths = owner.own(new Native.PinnedBuffer("length staging", (long) maxBatch * Integer.BYTES));
            gradY = owner.own(new Native.DeviceBuffer("dy", 0));
            gradX = owner.own(new Native.DeviceBuffer("dx", 0));
            gradStates = owner.own(new Native.DeviceBuffer("dhy, dcy, dhx, dcx", 0));
            gradWeights = owner.own(new Native.DeviceBuffer("weight-gradient space", 0));
            pGradWeights = owner.own(new Native.PinnedBuffer("weight-gradient staging", 0));
            paddingFill = owner.own(new FloatPointer(1).put(0f));
            workSize = owner.own(new SizeTPointer(1));
            reserveSize = owner.own(new SizeTPointer(1));
            if (cudnnOptions.algorithm() != Algorithm.AUTO) {
                engine(cudnnOptions.algorithm());
            } else {
                engine(Algorithm.STANDARD); // always supported: AUTO has a fallback before it measures
            }
        } catch (RuntimeException | Error e) {
            owner.closeAfterFailure(e);
            throw e;
        }
        releaseWith(held);
    }

    /**
     * The options this plan was made with.
     *
     * @return the cuDNN options
     */
    public CudnnOptions cudnnOptions() {
        return cudnnOptions;
    }

    /**
     * The algorithm {@link Algorithm#AUTO} chose for the last call with this (batch, T), or the fixed
     * one; null if AUTO has not run it yet. (AUTO chooses per batch, T, layout and whether the
     * lengths vary.)
     *
     * @param batch B
     * @param steps T
     * @return the algorithm, or null
     */
    public Algorithm algorithmFor(int batch, int steps) {
        enter();
        try {
            return cudnnOptions.algorithm() == Algorithm.AUTO ? lastChoice.get(key(batch, steps)) : cudnnOptions.algorithm();
        } finally {
            exit();
        }
    }

    // ------------------------------------------------------------------ sizes

    // Sizes of what cuDNN reads and writes (and of its pinned staging): element bytes per value.

    private long inputBytes(int steps, int batch) {
        return Sequences.floatBytes(steps, batch, spec.inputSize()) / Float.BYTES * element;
    }

    private long outputBytes(int steps, int batch) {
        return Sequences.floatBytes(steps, batch, spec.outputSize()) / Float.BYTES * element;
    }

    private long stateBytes(int batch) {
        return Sequences.floatBytes(spec.stateCount(), batch, spec.hiddenSize()) / Float.BYTES * element;
    }

    /** Copies {@code floats} of a caller's float32 tensor into staging at byte {@code at}, converting for BF16. */
    private void stageIn(MemorySegment src, MemorySegment staging, long at, long floats) {
        if (bf16) {
            Bf16.encode(src, staging, at, floats);
        } else {
            MemorySegment.copy(src, 0, staging, at, floats * Float.BYTES);
        }
    }

    /** Copies {@code floats} values from staging at byte {@code at} into a caller's float32 tensor. */
    private void stageOut(MemorySegment staging, long at, MemorySegment dst, long floats) {
        if (bf16) {
            Bf16.decode(staging, at, dst, floats);
        } else {
            MemorySegment.copy(staging, at, dst, 0, floats * Float.BYTES);
        }
    }

    private static long key(int batch, int steps) {
        return ((long) batch << 32) | steps;
    }

    // ------------------------------------------------------------------ engines: one RNN descriptor + weight space per algorithm

    /** An RNN descriptor for one algorithm and the weight space laid out for it. */
    private final class Engine {
        final Algorithm algorithm;
        final Native.RnnDesc desc;
        final Native.DeviceBuffer weightSpace;
        final long weightBytes;
        int builtForBatch = -1;
        /** The {@link #generation} of the descriptors {@link #workBytes} was asked for. */
        long sizedFor = -1;
        long workBytes;
        long reserveBytes;
        /** As {@link #sizedFor}, {@link #workBytes} and {@link #reserveBytes}, for {@code CUDNN_FWD_MODE_TRAINING}. */
        long trainingSizedFor = -1;
        long trainingWorkBytes;
        long trainingReserveBytes;
        /** Where cuDNN keeps each of {@link #pieces} in this engine's weight space (and weight-gradient space). */
        List<WeightMap.Location> where;

        Engine(Algorithm algorithm) {
            this.algorithm = algorithm;
            desc = owner.own(new Native.RnnDesc());
            int mathType = switch (cudnnOptions.precision()) {
                case FLOAT32 -> CUDNN_FMA_MATH;
                case TF32 -> CUDNN_TENSOR_OP_MATH;
                case FP16 -> CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
                case BF16 -> CUDNN_TENSOR_OP_MATH;
            };
            // projSize: the LSTM's projection P (cuDNN's recurrent projection, linLayerID 8), else H
            Status.cudnn(cudnnSetRNNDescriptor_v8(desc.ptr, algorithm.cudnnValue(), cellMode(spec),
                    spec.bias() ? CUDNN_RNN_DOUBLE_BIAS : CUDNN_RNN_NO_BIAS,
                    spec.directions() == 2 ? CUDNN_BIDIRECTIONAL : CUDNN_UNIDIRECTIONAL,
                    CUDNN_LINEAR_INPUT, dataType, CUDNN_DATA_FLOAT, mathType,
                    spec.inputSize(), spec.hiddenSize(), spec.outputHiddenSize(), spec.layers(), dropout.ptr,
                    CUDNN_RNN_PADDED_IO_ENABLED),
                    "cudnnSetRNNDescriptor_v8", "algorithm " + algorithm + ", " + spec);
            try (SizeTPointer size = new SizeTPointer(1)) {
                Status.cudnn(cudnnGetRNNWeightSpaceSize(handle.ptr, desc.ptr, size), "cudnnGetRNNWeightSpaceSize");
                weightBytes = size.get();
            }
            weightSpace = owner.own(new Native.DeviceBuffer("weight space (" + algorithm + ")", weightBytes));
            upload();
        }

        /**
         * Writes the plan's current weights into the weight space where cuDNN says, asking cuDNN
         * ({@code cudnnGetRNNWeightParams}) once per engine. A synchronous copy: the weight space is
         * not read by work queued before it returns, since the plan's blocking stream is ordered with
         * the legacy default stream the copy runs on.
         */
        void upload() {
            if (where == null) {
                where = locate();
            }
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment image = arena.allocate(weightBytes, 256);
                WeightMap.copyIn(pieces, where, weights, image, bf16);
                Status.cuda(cudaMemcpy(weightSpace.pointer(), Native.at(image.address()), weightBytes,
                        cudaMemcpyHostToDevice), "cudaMemcpy", "weights to the weight space");
            }
        }

        private List<WeightMap.Location> locate() {
            try (Native.TensorDesc mDesc = new Native.TensorDesc();
                 Native.TensorDesc bDesc = new Native.TensorDesc();
                 PointerPointer<Pointer> mAddr = new PointerPointer<>(1L);
                 PointerPointer<Pointer> bAddr = new PointerPointer<>(1L)) {
                long base = weightSpace.address();
                return WeightMap.locate(pieces, weightBytes, p -> {
                    mAddr.put(0, (Pointer) null);
                    bAddr.put(0, (Pointer) null);
                    Status.cudnn(cudnnGetRNNWeightParams(handle.ptr, desc.ptr, p.pseudoLayer(), weightBytes,
                            weightSpace.pointer(), p.linLayerId(), mDesc.ptr, mAddr, bDesc.ptr, bAddr),
                            "cudnnGetRNNWeightParams", p.describe());
                    Pointer at = p.source().isBias() ? bAddr.get(0) : mAddr.get(0);
                    if (at == null || at.address() == 0) {
                        return null;
                    }
                    return new WeightMap.Location(at.address() - base, dims(p.source().isBias() ? bDesc : mDesc));
                }, element);
            }
        }

        /** Runs cudnnBuildRNNDynamic once per batch size (PERSIST_DYNAMIC compiles its kernel for it). */
        void prepare(int batch) {
            if (algorithm.cudnnValue() == CUDNN_RNN_ALGO_PERSIST_DYNAMIC && builtForBatch != batch) {
                Status.cudnn(cudnnBuildRNNDynamic(handle.ptr, desc.ptr, batch), "cudnnBuildRNNDynamic",
                        "batch " + batch);
                builtForBatch = batch;
            }
        }
    }

    /**
     * cuDNN's cell mode: {@code CUDNN_LSTM}; {@code CUDNN_GRU}, which is PyTorch's formula (linear before
     * reset: cuDNN's h' = tanh(W x + r ⊙ (R h + Rb) + Wb)); {@code CUDNN_RNN_TANH}, {@code CUDNN_RNN_RELU}.
     * The original GRU has none ({@link CudnnBackend#unsupported} refuses it).
     */
    static int cellMode(RnnSpec spec) {
        return switch (spec.cell()) {
            case io.cellstate.Cell.Lstm l -> CUDNN_LSTM;
            case io.cellstate.Cell.Gru g when g.linearBeforeReset() -> CUDNN_GRU;
            case io.cellstate.Cell.Gru g -> throw new UnsupportedOperationException("cuDNN has no " + g.name());
            case io.cellstate.Cell.Rnn r -> r.nonlinearity() == io.cellstate.Cell.Nonlinearity.TANH
                    ? CUDNN_RNN_TANH : CUDNN_RNN_RELU;
        };
    }

    private static int[] dims(Native.TensorDesc d) {
        int[] type = new int[1];
        int[] nb = new int[1];
        int[] dims = new int[3];
        int[] strides = new int[3];
        Status.cudnn(cudnnGetTensorNdDescriptor(d.ptr, 3, type, nb, dims, strides), "cudnnGetTensorNdDescriptor");
        return Arrays.copyOf(dims, Math.min(nb[0], 3));
    }

    /** The engine of {@code algorithm}, made on first use. */
    private Engine engine(Algorithm algorithm) {
        Engine e = engines.get(algorithm);
        if (e == null) {
            if (refused.contains(algorithm)) {
                throw new UnsupportedOperationException("cuDNN refused algorithm " + algorithm + " for " + spec
                        + " earlier in this plan; use STANDARD or AUTO");
            }
            try {
                e = new Engine(algorithm);
            } catch (CudaException ex) {
                if (Status.notSupported(ex.status())) {
                    refused.add(algorithm);
                    throw unsupported(algorithm, ex);
                }
                throw ex;
            }
            engines.put(algorithm, e);
        }
        return e;
    }

    private UnsupportedOperationException unsupported(Algorithm algorithm, CudaException ex) {
        UnsupportedOperationException u = new UnsupportedOperationException("cuDNN does not support algorithm "
                + algorithm + " with precision " + cudnnOptions.precision() + " for " + spec + ": " + ex.getMessage()
                + "; use STANDARD (always supported) or AUTO");
        u.initCause(ex);
        return u;
    }

    // ------------------------------------------------------------------ the host path

    @Override
    protected void run(ForwardCall call) {
        hostForward(call, null);
    }

    /**
     * The host path's forward: x, h0 and c0 staged through pinned memory to the device (into the
     * workspace's copies for a training pass, which the backward calls read again), one forward, y,
     * hN and cN back. With {@code ws} null an inference pass (AUTO chooses, graphs replay), otherwise
     * a training pass into {@code ws}.
     */
    private void hostForward(ForwardCall call, CudnnWorkspace ws) {
        int steps = call.steps();
        int batch = call.batch();
        int[] lengths = lengths(call.lengths(), steps, batch);
        long xFloats = (long) steps * batch * spec.inputSize();
        long yFloats = (long) steps * batch * spec.outputSize();
        // every state slot has room for c ([.., H]); h ([.., H_out]) fills its first hFloats
        long sFloats = (long) spec.stateCount() * batch * spec.hiddenSize();
        long hFloats = (long) spec.stateCount() * batch * spec.outputHiddenSize();
        long xBytes = inputBytes(steps, batch);
        long yBytes = outputBytes(steps, batch);
        long sBytes = stateBytes(batch);
        grow(steps, batch);
        if (ws != null) {
            ws.ensure(xBytes, yBytes, sBytes);
        }
        px.ensure(xBytes);
        py.ensure(yBytes);
        pStates.ensure(4 * sBytes);
        MemorySegment xs = px.segment(xBytes);
        if (reversed) {
            MemorySegment flipped = bf16 ? MemorySegment.ofArray(new float[Math.toIntExact(xFloats)]) : xs;
            Sequences.reverseWithinLengths(call.x().segment(), flipped, call.layout(), steps, batch, spec.inputSize(), lengths);
            if (bf16) {
                stageIn(flipped, xs, 0, xFloats);
            }
        } else {
            stageIn(call.x().segment(), xs, 0, xFloats);
        }
        Pointer x = ws == null ? dx.pointer() : ws.x.pointer();
        Pointer y = ws == null ? dy.pointer() : ws.y.pointer();
        toDevice(x, px.pointer(), xBytes, "x");
        MemorySegment states = pStates.segment(4 * sBytes);
        long dStatesBase = dStates.address();
        Pointer h0 = null;
        Pointer c0 = null;
        if (call.h0() != null) {
            stageIn(call.h0().segment(), states, 0, hFloats);
            h0 = ws == null ? Native.at(dStatesBase) : ws.h0.pointer();
        }
        if (call.c0() != null) {
            stageIn(call.c0().segment(), states, sBytes, sFloats);
            c0 = ws == null ? Native.at(dStatesBase + sBytes) : ws.c0.pointer();
        }
        if (ws == null && (h0 != null || c0 != null)) {
            toDevice(Native.at(dStatesBase), pStates.pointer(), 2 * sBytes, "h0, c0");
        } else if (ws != null) {
            if (h0 != null) {
                toDevice(h0, pStates.pointer(), sBytes, "h0");
            }
            if (c0 != null) {
                toDevice(c0, Native.at(pStates.pointer().address() + sBytes), sBytes, "c0");
            }
        }
        Pointer hN = Native.at(dStatesBase + 2 * sBytes);
        Pointer cN = call.cN() == null ? null : Native.at(dStatesBase + 3 * sBytes);
        if (ws == null) {
            launch(call.layout(), steps, batch, lengths, x, y, h0, c0, hN, cN);
        } else {
            describe(call.layout(), steps, batch, lengths);
            trainingForward(trainingEngine(), batch, ws, new Args(x, y, h0, c0, hN, cN));
        }
        toHost(py.pointer(), y, yBytes, "y");
        toHost(Native.at(pStates.pointer().address() + 2 * sBytes), hN, 2 * sBytes, "hN, cN");
        MemorySegment ys = py.segment(yBytes);
        if (reversed) {
            MemorySegment back = ys;
            if (bf16) {
                back = MemorySegment.ofArray(new float[Math.toIntExact(yFloats)]);
                stageOut(ys, 0, back, yFloats);
            }
            Sequences.reverseWithinLengths(back, call.y().segment(), call.layout(), steps, batch, spec.outputSize(), lengths);
        } else {
            stageOut(ys, 0, call.y().segment(), yFloats);
        }
        stageOut(states, 2 * sBytes, call.hN().segment(), hFloats);
        if (call.cN() != null) {
            stageOut(states, 3 * sBytes, call.cN().segment(), sFloats);
        }
    }

    /** One step: a T = 1 forward from the state, written back into it. */
    @Override
    protected void runStep(Tensor x, RnnState state, Tensor y) {
        int batch = state.h().dim(1);
        Tensor y3 = Tensor.wrap(y.segment(), 1, batch, spec.outputHiddenSize());
        Tensor x3 = Tensor.wrap(x.segment(), 1, batch, spec.inputSize());
        // state.h and state.c are read into the staging buffer before hN and cN are written back.
        run(new ForwardCall(x3, Layout.SEQUENCE_MAJOR, 1, batch, null, state.h(), state.c(), y3, state.h(), state.c()));
    }

    private int[] lengths(int[] given, int steps, int batch) {
        if (given != null) {
            return given;
        }
        int[] all = new int[batch];
        Arrays.fill(all, steps);
        return all;
    }

    private void grow(int steps, int batch) {
        boolean moved = dx.ensure(inputBytes(steps, batch));
        moved |= dy.ensure(outputBytes(steps, batch));
        moved |= dStates.ensure(4 * stateBytes(batch));
        moved |= dLengths.ensure((long) batch * Integer.BYTES);
        pLengths.ensure((long) batch * Integer.BYTES);
        if (moved) {
            dropGraphs();
        }
    }

    private static void toDevice(Pointer device, Pointer host, long bytes, String what) {
        Status.cuda(cudaMemcpy(device, host, bytes, cudaMemcpyHostToDevice), "cudaMemcpy", what + " to the device");
    }

    private static void toHost(Pointer host, Pointer device, long bytes, String what) {
        Status.cuda(cudaMemcpy(host, device, bytes, cudaMemcpyDeviceToHost), "cudaMemcpy", what + " to the host");
    }

    // ------------------------------------------------------------------ the device path

    /**
     * A forward pass on device-resident tensors: no host copy of the data (the B sequence lengths
     * travel only when they differ from the last call's). Shapes as in {@link io.cellstate.RnnInput}
     * and {@link io.cellstate.RnnOutput}.
     *
     * <p>Asynchronous, as cuDNN is: it returns once the work is queued on the plan's stream, so a
     * framework can queue the next layer without waiting. Each plan has a stream of its own; calls of
     * different plans that share a device tensor still run in the order they were queued: before its
     * work, the plan makes its stream wait (on the GPU, not the host) for the last work another plan
     * queued on any of the six tensors, so a layer reads what the layer before it wrote and a plan
     * does not overwrite what another still reads. The plan's stream is also ordered with CUDA's
     * legacy default stream both ways: {@link DeviceTensor#copyFrom}, {@link DeviceTensor#copyTo}
     * and {@link DeviceTensor#toHost} wait for the plans' work, and {@link #synchronize()} waits for
     * everything this plan queued. Work of the caller's own on a non-blocking stream is not ordered
     * with it: synchronize first. Arguments are checked before anything is queued; a failure cuDNN
     * reports later, on the GPU, surfaces at the next synchronising call.
     *
     * @param x       the input sequence, in {@code layout}
     * @param layout  the layout of {@code x} and {@code y}
     * @param lengths null when every sequence has length T
     * @param h0      null for zeros
     * @param c0      null for zeros
     * @param y       the output sequence
     * @param hN      the final hidden state
     * @param cN      null when not wanted
     * @throws UnsupportedOperationException for a REVERSE spec (the host path supports it)
     */
    public void forward(DeviceTensor x, Layout layout, int[] lengths, DeviceTensor h0, DeviceTensor c0,
                        DeviceTensor y, DeviceTensor hN, DeviceTensor cN) {
        enter();
        try {
            forwardOnDevice(x, layout, lengths, h0, c0, y, hN, cN);
        } finally {
            exit();
        }
    }

    private void forwardOnDevice(DeviceTensor x, Layout layout, int[] lengths, DeviceTensor h0, DeviceTensor c0,
                                 DeviceTensor y, DeviceTensor hN, DeviceTensor cN) {
        int[] sizes = checkOnDevice(x, layout, lengths, h0, c0, y, hN, cN);
        int steps = sizes[0];
        int batch = sizes[1];
        grow(steps, batch);
        DeviceTensor[] touched = awaitLastUse(x, h0, c0, y, hN, cN);
        RuntimeException failure = null;
        try {
            launch(layout, steps, batch, lengths(lengths == null ? null : lengths.clone(), steps, batch),
                    x.pointer(), y.pointer(), h0 == null ? null : h0.pointer(), c0 == null ? null : c0.pointer(),
                    hN.pointer(), cN == null ? null : cN.pointer());
        } catch (RuntimeException e) {
            failure = e;
            throw e;
        } finally {
            fenceAfter(touched, failure); // also after a failure: part of the work may be queued
        }
    }

    /** The checks of a forward on device tensors, before anything is queued; returns {T, B}. */
    private int[] checkOnDevice(DeviceTensor x, Layout layout, int[] lengths, DeviceTensor h0, DeviceTensor c0,
                                DeviceTensor y, DeviceTensor hN, DeviceTensor cN) {
        if (reversed) {
            throw new UnsupportedOperationException("direction REVERSE is not supported on device tensors by backend"
                    + " 'cudnn' (cuDNN has no reverse-only mode; the host path reverses the sequences): use forward(RnnInput)");
        }
        if (bf16) {
            throw new UnsupportedOperationException("precision BF16 is not supported on device tensors by backend 'cudnn'"
                    + " (cuDNN reads and writes bfloat16 there, a DeviceTensor holds float32): use forward(RnnInput),"
                    + " which converts, or FLOAT32, TF32 or FP16");
        }
        if (layout == null) {
            throw new IllegalArgumentException("layout: expected SEQUENCE_MAJOR or BATCH_MAJOR, got null");
        }
        if (x != null) {
            x.ensureOpen("x");
        }
        if (x == null || x.rank() != 3 || x.dim(2) != spec.inputSize() || x.dim(0) < 1 || x.dim(1) < 1) {
            throw new IllegalArgumentException("x: expected shape " + layout.describe() + " with F = inputSize = "
                    + spec.inputSize() + ", got " + (x == null ? "null" : Arrays.toString(x.shape())));
        }
        int steps = layout == Layout.BATCH_MAJOR ? x.dim(1) : x.dim(0);
        int batch = layout == Layout.BATCH_MAJOR ? x.dim(0) : x.dim(1);
        checkLengths("lengths", lengths, batch, steps);
        int[] state = {spec.stateCount(), batch, spec.outputHiddenSize()};
        int[] cells = {spec.stateCount(), batch, spec.hiddenSize()};
        expect("y", y, layout.shape(steps, batch, spec.outputSize()), false);
        expect("hN", hN, state, false);
        expect("cN", cN, cells, true);
        expect("h0", h0, state, true);
        expect("c0", c0, cells, true);
        return new int[] {steps, batch};
    }

    /** Makes the stream wait for the work last queued on each of {@code touched} (null ones skipped); returns them. */
    private DeviceTensor[] awaitLastUse(DeviceTensor... touched) {
        for (DeviceTensor t : touched) {
            if (t != null) {
                t.awaitLastUse(handle.stream);
            }
        }
        return touched;
    }

    /** Records the fence after this call's work and hands it to every tensor the call touched. */
    private void fenceAfter(DeviceTensor[] touched, RuntimeException failure) {
        try {
            fence.record();
        } catch (RuntimeException e) {
            if (failure == null) {
                throw e;
            }
            failure.addSuppressed(e);
            return;
        }
        for (DeviceTensor t : touched) {
            if (t != null) {
                t.usedUpTo(fence);
            }
        }
    }

    /** Waits until everything this plan queued has finished. */
    public void synchronize() {
        enter();
        try {
            Status.cuda(cudaStreamSynchronize(handle.stream), "cudaStreamSynchronize");
        } finally {
            exit();
        }
    }

    private static void expect(String name, DeviceTensor t, int[] shape, boolean optional) {
        if (t == null) {
            if (optional) {
                return;
            }
            throw new IllegalArgumentException(name + ": expected a device tensor " + Arrays.toString(shape) + ", got null");
        }
        if (!Arrays.equals(t.shape(), shape)) {
            throw new IllegalArgumentException(name + ": expected shape " + Arrays.toString(shape) + ", got "
                    + Arrays.toString(t.shape()));
        }
        t.ensureOpen(name);
    }

    // ------------------------------------------------------------------ the cuDNN call

    private void launch(Layout layout, int steps, int batch, int[] lengths, Pointer x, Pointer y,
                        Pointer h0, Pointer c0, Pointer hN, Pointer cN) {
        describe(layout, steps, batch, lengths);
        Args args = new Args(x, y, h0, c0, hN, cN);
        if (cudnnOptions.algorithm() != Algorithm.AUTO) {
            Engine e = engine(cudnnOptions.algorithm());
            try {
                call(e, batch, args);
            } catch (CudaException ex) {
                if (Status.notSupported(ex.status())) {
                    throw unsupported(e.algorithm, ex);
                }
                throw ex;
            }
            return;
        }
        boolean variable = false;
        for (int length : lengths) {
            variable |= length != steps;
        }
        // What cuDNN supports depends on more than (B, T): PERSIST_STATIC_SMALL_H, for one, refuses
        // sequences shorter than T. So the choice is per (B, T, layout, whether lengths vary).
        AutoKey k = new AutoKey(batch, steps, layout, variable);
        Algorithm chosen = autoChoice.get(k);
        if (chosen == null) {
            chosen = measure(batch, steps, args);
            autoChoice.put(k, chosen);
        }
        try {
            call(engines.get(chosen), batch, args);
        } catch (CudaException ex) {
            if (chosen == Algorithm.STANDARD || !Status.notSupported(ex.status())) {
                throw ex;
            }
            chosen = measure(batch, steps, args); // lengths within the key's class it cannot take: choose again
            autoChoice.put(k, chosen);
            call(engines.get(chosen), batch, args);
        }
        lastChoice.put(key(batch, steps), chosen);
    }

    private record AutoKey(int batch, int steps, Layout layout, boolean variableLengths) {
    }

    /**
     * Sets the data descriptors and uploads the sequence lengths, unless the last call had the same
     * layout, T, B and lengths (and the lengths buffer has not moved since): a framework calling the
     * device path again and again with one shape then pays for {@code cudnnRNNForward} alone. The
     * upload is a synchronous {@code cudaMemcpy}, so it happens only when the lengths change.
     */
    private void describe(Layout layout, int steps, int batch, int[] lengths) {
        if (layout == describedLayout && steps == describedSteps && batch == describedBatch
                && dLengths.address() == describedLengthsAt && Arrays.equals(lengths, describedLengths)) {
            return;
        }
        describedLayout = null; // a failure below leaves nothing half-described
        MemorySegment lens = MemorySegment.ofAddress(pLengths.pointer().address()).reinterpret((long) batch * Integer.BYTES);
        MemorySegment.copy(lengths, 0, lens, ValueLayout.JAVA_INT, 0, batch);
        toDevice(dLengths.pointer(), pLengths.pointer(), (long) batch * Integer.BYTES, "sequence lengths");
        int dataLayout = layout == Layout.BATCH_MAJOR ? CUDNN_RNN_DATA_LAYOUT_BATCH_MAJOR_UNPACKED
                : CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED;
        Status.cudnn(cudnnSetRNNDataDescriptor(xDesc.ptr, dataType, dataLayout, steps, batch, spec.inputSize(),
                lengths, paddingFill), "cudnnSetRNNDataDescriptor", "x");
        Status.cudnn(cudnnSetRNNDataDescriptor(yDesc.ptr, dataType, dataLayout, steps, batch, spec.outputSize(),
                lengths, paddingFill), "cudnnSetRNNDataDescriptor", "y");
        int out = spec.outputHiddenSize();
        int[] hDims = {spec.stateCount(), batch, out};
        int[] hStrides = {batch * out, out, 1};
        Status.cudnn(cudnnSetTensorNdDescriptor(hDesc.ptr, dataType, 3, hDims, hStrides), "cudnnSetTensorNdDescriptor", "h");
        int[] cDims = {spec.stateCount(), batch, spec.hiddenSize()};
        int[] cStrides = {batch * spec.hiddenSize(), spec.hiddenSize(), 1};
        Status.cudnn(cudnnSetTensorNdDescriptor(cDesc.ptr, dataType, 3, cDims, cStrides), "cudnnSetTensorNdDescriptor", "c");
        devLengths = new IntPointer(dLengths.pointer());
        describedLengths = lengths.clone();
        describedLengthsAt = dLengths.address();
        describedSteps = steps;
        describedBatch = batch;
        describedLayout = layout;
        generation++;
    }

    private record Args(Pointer x, Pointer y, Pointer h0, Pointer c0, Pointer hN, Pointer cN) {
    }

    /** What a captured graph is valid for: the engine, the descriptors, and every address it touches. */
    private record GraphKey(Algorithm algorithm, long generation, long x, long y, long h0, long c0, long hN, long cN) {
        static long at(Pointer p) {
            return p == null ? 0 : p.address();
        }
    }

    private void call(Engine e, int batch, Args a) {
        e.prepare(batch);
        if (e.sizedFor != generation) {
            Status.cudnn(cudnnGetRNNTempSpaceSizes(handle.ptr, e.desc.ptr, CUDNN_FWD_MODE_INFERENCE, xDesc.ptr, workSize,
                    reserveSize), "cudnnGetRNNTempSpaceSizes");
            e.workBytes = workSize.get();
            e.reserveBytes = reserveSize.get();
            e.sizedFor = generation;
        }
        if (work.ensure(e.workBytes) | reserve.ensure(e.reserveBytes)) {
            dropGraphs();
        }
        if (!cudnnOptions.graphs() || graphRefusals.containsKey(e.algorithm)) {
            forward(e, batch, a);
            return;
        }
        GraphKey key = new GraphKey(e.algorithm, generation, GraphKey.at(a.x()), GraphKey.at(a.y()), GraphKey.at(a.h0()),
                GraphKey.at(a.c0()), GraphKey.at(a.hN()), GraphKey.at(a.cN()));
        Native.GraphExec graph = graphs.get(key);
        if (graph == null) {
            if (seen.add(key)) {
                forward(e, batch, a); // the first call of a combination runs directly: cuDNN and the driver
                return;               // load and set up what it needs outside a capture
            }
            String[] refusal = new String[1];
            graph = capture(e, a, refusal);
            if (graph == null) {
                forward(e, batch, a); // throws if the call itself is wrong; then graphs stay on
                graphRefusals.put(e.algorithm, refusal[0]);
                return;
            }
            graphs.put(key, graph);
        }
        Status.cuda(cudaGraphLaunch(graph.ptr, handle.stream), "cudaGraphLaunch", "algorithm " + e.algorithm);
    }

    private void forward(Engine e, int batch, Args a) {
        Status.cudnn(rnnForward(e, a), "cudnnRNNForward", "algorithm " + e.algorithm + ", batch " + batch);
    }

    /** The one {@code cudnnRNNForward} of a call, run or captured; returns cuDNN's status. */
    private int rnnForward(Engine e, Args a) {
        return cudnnRNNForward(handle.ptr, e.desc.ptr, CUDNN_FWD_MODE_INFERENCE, devLengths,
                xDesc.ptr, a.x(), yDesc.ptr, a.y(), hDesc.ptr, a.h0(), a.hN(), cDesc.ptr, a.c0(), a.cN(),
                e.weightBytes, e.weightSpace.pointer(), e.workBytes, work.pointer(), e.reserveBytes, reserve.pointer());
    }

    /**
     * Records one {@code cudnnRNNForward} into a CUDA graph on the plan's stream and instantiates it;
     * nothing runs yet. Returns null, with the reason in {@code refusal[0]}, if cuDNN or CUDA refuse:
     * the stream is out of capture mode again either way.
     */
    private Native.GraphExec capture(Engine e, Args a, String[] refusal) {
        int begin = cudaStreamBeginCapture(handle.stream, cudaStreamCaptureModeRelaxed);
        if (begin != Status.SUCCESS) {
            cudaGetLastError();
            refusal[0] = "cudaStreamBeginCapture: " + Status.cudaName(begin);
            return null;
        }
        int status = rnnForward(e, a);
        CUgraph_st graph = new CUgraph_st();
        int end = cudaStreamEndCapture(handle.stream, graph);
        try {
            if (status != Status.SUCCESS || end != Status.SUCCESS) {
                cudaGetLastError(); // capture errors are not sticky; clear the last one
                refusal[0] = status != Status.SUCCESS ? "cudnnRNNForward under stream capture: " + Status.cudnnName(status)
                        : "cudaStreamEndCapture: " + Status.cudaName(end);
                return null;
            }
            try {
                return new Native.GraphExec(graph);
            } catch (CudaException ex) {
                cudaGetLastError();
                refusal[0] = ex.getMessage();
                return null;
            }
        } finally {
            if (!graph.isNull()) {
                cudaGraphDestroy(graph);
            }
        }
    }

    /** Destroys every captured graph (buffers moved, or the plan closes). */
    private void dropGraphs() {
        seen.clear();
        closeAll(graphs);
    }

    /** How many captured graphs the plan holds now (for tests). */
    int cachedGraphs() {
        return graphs.size();
    }

    /**
     * Why this plan calls cuDNN directly instead of replaying CUDA graphs for some algorithm (cuDNN's
     * or CUDA's refusal to capture, per algorithm).
     *
     * @return the refusals, or null where nothing was refused
     */
    public String graphFailure() {
        enter();
        try {
            if (graphRefusals.isEmpty()) {
                return null;
            }
            StringBuilder sb = new StringBuilder();
            graphRefusals.forEach((a, why) -> sb.append(sb.length() == 0 ? "" : "; ").append(a).append(": ").append(why));
            return sb.toString();
        } finally {
            exit();
        }
    }

    /**
     * AUTO: runs each algorithm cuDNN accepts for this shape twice to warm up (with graphs, the second
     * call is the capture, so the timed calls are what later calls do), then times them in
     * {@value #TIMING_ROUNDS} rounds of {@value #TIMED_RUNS} calls between two CUDA events, in a
     * rotating order, and keeps the one with the fastest round. Rounds and rotation keep the choice
     * from following the order of measurement: with one timing each, AUTO once picked PERSIST_DYNAMIC
     * at 1×256 on an H100, 4.9% slower there than PERSIST_STATIC, which was timed first (most likely
     * while the GPU's clocks were still rising after an idle spell). An algorithm cuDNN answers
     * NOT_SUPPORTED for is skipped; STANDARD always runs. In FLOAT32 the persistent algorithms are
     * left out where the CPU tolerance for (spec, T) is below their extra error
     * ({@link CudnnOptions#tolerance}).
     */
    private Algorithm measure(int batch, int steps, Args args) {
        boolean persistent = cudnnOptions.persistentWithinTolerance(spec, steps);
        List<Engine> candidates = new ArrayList<>();
        for (Algorithm a : List.of(Algorithm.STANDARD, Algorithm.PERSIST_STATIC, Algorithm.PERSIST_STATIC_SMALL_H,
                Algorithm.PERSIST_DYNAMIC)) {
            if (a != Algorithm.STANDARD && !persistent) {
                continue;
            }
            try {
                Engine e = engine(a);
                call(e, batch, args); // direct
                call(e, batch, args); // captured (with graphs)
                candidates.add(e);
            } catch (UnsupportedOperationException skipped) {
                // refused when the engine was set up
            } catch (CudaException ex) {
                if (a == Algorithm.STANDARD || !Status.notSupported(ex.status())) {
                    throw ex;
                }
            }
        }
        float[] fastest = new float[candidates.size()];
        Arrays.fill(fastest, Float.POSITIVE_INFINITY);
        float[] elapsed = new float[1];
        try (Native.Event start = new Native.Event(); Native.Event stop = new Native.Event()) {
            for (int round = 0; round < TIMING_ROUNDS; round++) {
                for (int k = 0; k < candidates.size(); k++) {
                    int i = (k + round) % candidates.size();
                    Engine e = candidates.get(i);
                    Status.cuda(cudaEventRecord(start.ptr, handle.stream), "cudaEventRecord");
                    for (int r = 0; r < TIMED_RUNS; r++) {
                        call(e, batch, args);
                    }
                    Status.cuda(cudaEventRecord(stop.ptr, handle.stream), "cudaEventRecord");
                    Status.cuda(cudaEventSynchronize(stop.ptr), "cudaEventSynchronize");
                    Status.cuda(cudaEventElapsedTime(elapsed, start.ptr, stop.ptr), "cudaEventElapsedTime");
                    fastest[i] = Math.min(fastest[i], elapsed[0]);
                }
            }
        }
        Algorithm best = Algorithm.STANDARD;
        float bestMs = Float.POSITIVE_INFINITY;
        for (int i = 0; i < candidates.size(); i++) {
            if (fastest[i] < bestMs) {
                bestMs = fastest[i];
                best = candidates.get(i).algorithm;
            }
        }
        return best;
    }

    // ------------------------------------------------------------------ weights

    /** Writes the new weights into the weight space of every engine made so far (later ones read them when made). */
    @Override
    protected void reload(RnnWeights weights) {
        this.weights = weights;
        for (Engine e : engines.values()) {
            e.upload();
        }
    }

    // ------------------------------------------------------------------ training

    /**
     * A training workspace of this plan: cuDNN's reserve space of one training forward, and device
     * copies of the x, y, h0 and c0 it ran on, which {@code cudnnRNNBackwardData_v8} and
     * {@code cudnnRNNBackwardWeights_v8} take again. Each buffer grows only for a larger call. It
     * also remembers the algorithm that filled the reserve space: the backward calls need the same
     * RNN descriptor and weight space.
     */
    static final class CudnnWorkspace extends TrainingWorkspace {
        private final Native.Owner owner = new Native.Owner();
        final Native.DeviceBuffer x;
        final Native.DeviceBuffer y;
        final Native.DeviceBuffer h0;
        final Native.DeviceBuffer c0;
        final Native.DeviceBuffer reserve;
        Algorithm algorithm;
        long reserveBytes;
        boolean hasH0;
        boolean hasC0;

        CudnnWorkspace(CudnnPlan plan) {
            super(plan);
            try {
                x = owner.own(new Native.DeviceBuffer("workspace x", 0));
                y = owner.own(new Native.DeviceBuffer("workspace y", 0));
                h0 = owner.own(new Native.DeviceBuffer("workspace h0", 0));
                c0 = owner.own(new Native.DeviceBuffer("workspace c0", 0));
                reserve = owner.own(new Native.DeviceBuffer("reserve space", 0));
            } catch (RuntimeException | Error e) {
                owner.closeAfterFailure(e);
                throw e;
            }
            // cudaFree waits for the work queued on the device, so freeing does not pull memory from
            // under a call still running (as for DeviceTensor).
            releaseWith(owner);
        }

        void ensure(long xBytes, long yBytes, long stateBytes) {
            x.ensure(xBytes);
            y.ensure(yBytes);
            h0.ensure(stateBytes);
            c0.ensure(stateBytes);
        }

        Pointer hx() {
            return hasH0 ? h0.pointer() : null;
        }

        Pointer cx() {
            return hasC0 ? c0.pointer() : null;
        }

        /** {@link TrainingWorkspace#clear()}, for the plan's device path. */
        void empty() {
            clear();
        }

        /** {@link TrainingWorkspace#record}, for the plan's device path. */
        void holding(int steps, int batch, Layout layout, int[] lengths) {
            record(steps, batch, layout, lengths);
        }

        @Override
        public long bytes() {
            return isClosed() ? 0 : x.capacity() + y.capacity() + h0.capacity() + c0.capacity() + reserve.capacity();
        }
    }

    @Override
    protected TrainingWorkspace createWorkspace() {
        return new CudnnWorkspace(this);
    }

    @Override
    protected void runTraining(ForwardCall call, TrainingWorkspace ws) {
        hostForward(call, (CudnnWorkspace) ws); // AbstractRnnPlan hands a plan only its own workspaces
    }

    /**
     * The engine of the training passes: the fixed algorithm, or STANDARD for AUTO. AUTO does not
     * measure training passes: a reserve space belongs to the algorithm that filled it, and choosing
     * would mean running backward passes on the caller's data; STANDARD is PyTorch's choice for
     * float32 training too.
     */
    private Engine trainingEngine() {
        return engine(cudnnOptions.algorithm() == Algorithm.AUTO ? Algorithm.STANDARD : cudnnOptions.algorithm());
    }

    /** Asks cuDNN for the training workspace and reserve sizes of the descriptors set now. */
    private void sizeForTraining(Engine e) {
        if (e.trainingSizedFor != generation) {
            Status.cudnn(cudnnGetRNNTempSpaceSizes(handle.ptr, e.desc.ptr, CUDNN_FWD_MODE_TRAINING, xDesc.ptr, workSize,
                    reserveSize), "cudnnGetRNNTempSpaceSizes", "training, algorithm " + e.algorithm);
            e.trainingWorkBytes = workSize.get();
            e.trainingReserveBytes = reserveSize.get();
            e.trainingSizedFor = generation;
        }
    }

    /**
     * One {@code cudnnRNNForward} in {@code CUDNN_FWD_MODE_TRAINING} into {@code ws}'s reserve space, on
     * the descriptors {@link #describe} set. Called directly, never captured into a graph. An algorithm
     * cuDNN refuses for training becomes an {@link UnsupportedOperationException}; nothing of the
     * caller's has been written then.
     */
    private void trainingForward(Engine e, int batch, CudnnWorkspace ws, Args a) {
        try {
            e.prepare(batch);
            sizeForTraining(e);
            if (work.ensure(e.trainingWorkBytes)) {
                dropGraphs();
            }
            ws.reserve.ensure(e.trainingReserveBytes);
            Status.cudnn(cudnnRNNForward(handle.ptr, e.desc.ptr, CUDNN_FWD_MODE_TRAINING, devLengths,
                    xDesc.ptr, a.x(), yDesc.ptr, a.y(), hDesc.ptr, a.h0(), a.hN(), cDesc.ptr, a.c0(), a.cN(),
                    e.weightBytes, e.weightSpace.pointer(), e.trainingWorkBytes, work.pointer(),
                    e.trainingReserveBytes, ws.reserve.pointer()),
                    "cudnnRNNForward", "training, algorithm " + e.algorithm + ", batch " + batch);
        } catch (CudaException ex) {
            if (Status.notSupported(ex.status())) {
                throw unsupported(e.algorithm, ex);
            }
            throw ex;
        }
        ws.algorithm = e.algorithm;
        ws.reserveBytes = e.trainingReserveBytes;
        ws.hasH0 = a.h0() != null;
        ws.hasC0 = a.c0() != null;
    }

    /**
     * Device pointers of one backward pass: the output gradients it reads (zeros where the caller
     * gave none) and where the input gradients go.
     */
    private record Grads(Pointer dy, Pointer dhy, Pointer dcy, Pointer dx, Pointer dhx, Pointer dcx) {
    }

    /**
     * The backward pass on the device, from the forward {@code ws} holds: {@code cudnnRNNBackwardData_v8}
     * (dy, dhy, dcy to dx, dhx, dcx; it also leaves in the reserve space what the weight gradients
     * need, so it runs even when only those are wanted), dx set to 0 past each sequence's end, then,
     * when {@code weightsWanted}, the weight-gradient space zeroed ({@code cudaMemsetAsync}),
     * {@code cudnnRNNBackwardWeights_v8} with {@code CUDNN_WGRAD_MODE_ADD} (it adds to that space; ADD
     * is the mode cuDNN documents for it) and the space copied to {@link #pGradWeights}, which waits
     * for it.
     *
     * @return the engine whose weight-space layout {@link #pGradWeights} holds
     */
    private Engine backwardOnDevice(CudnnWorkspace ws, Grads g, boolean weightsWanted) {
        Engine e = engines.get(ws.algorithm);
        int steps = ws.steps();
        int batch = ws.batch();
        int[] lengths = lengths(ws.lengths(), steps, batch);
        describe(ws.layout(), steps, batch, lengths);
        e.prepare(batch);
        sizeForTraining(e);
        if (work.ensure(e.trainingWorkBytes)) {
            dropGraphs();
        }
        Status.cudnn(cudnnRNNBackwardData_v8(handle.ptr, e.desc.ptr, devLengths, yDesc.ptr, ws.y.pointer(), g.dy(),
                xDesc.ptr, g.dx(), hDesc.ptr, ws.hx(), g.dhy(), g.dhx(), cDesc.ptr, ws.cx(), g.dcy(), g.dcx(),
                e.weightBytes, e.weightSpace.pointer(), e.trainingWorkBytes, work.pointer(), ws.reserveBytes,
                ws.reserve.pointer()), "cudnnRNNBackwardData_v8", "algorithm " + e.algorithm + ", batch " + batch);
        zeroPadding(g.dx(), ws.layout(), steps, batch, spec.inputSize(), lengths);
        if (weightsWanted) {
            gradWeights.ensure(e.weightBytes);
            Status.cuda(cudaMemsetAsync(gradWeights.pointer(), 0, e.weightBytes, handle.stream), "cudaMemsetAsync",
                    "weight-gradient space");
            Status.cudnn(cudnnRNNBackwardWeights_v8(handle.ptr, e.desc.ptr, CUDNN_WGRAD_MODE_ADD, devLengths,
                    xDesc.ptr, ws.x.pointer(), hDesc.ptr, ws.hx(), yDesc.ptr, ws.y.pointer(), e.weightBytes,
                    gradWeights.pointer(), e.trainingWorkBytes, work.pointer(), ws.reserveBytes, ws.reserve.pointer()),
                    "cudnnRNNBackwardWeights_v8", "algorithm " + e.algorithm + ", batch " + batch);
            pGradWeights.ensure(e.weightBytes);
            toHost(pGradWeights.pointer(), gradWeights.pointer(), e.weightBytes, "weight gradients");
        }
        return e;
    }

    /**
     * Sets each sequence's rows past its length in a padded sequence tensor on the device to 0 (one
     * {@code cudaMemset2DAsync} per shorter sequence, on the plan's stream): the API's promise for dx,
     * whatever cuDNN leaves in the padding, and its promise that dy is ignored there, whatever cuDNN
     * reads of it.
     */
    private void zeroPadding(Pointer data, Layout layout, int steps, int batch, int features, int[] lengths) {
        if (steps == 1) {
            return;
        }
        long row = (long) features * Float.BYTES;
        long pitch = (long) (layout.row(1, 0, steps, batch) - layout.row(0, 0, steps, batch)) * row;
        for (int b = 0; b < batch; b++) {
            int len = lengths[b];
            if (len < steps) {
                long at = data.address() + (long) layout.row(len, b, steps, batch) * row;
                Status.cuda(cudaMemset2DAsync(Native.at(at), pitch, 0, row, steps - len, handle.stream),
                        "cudaMemset2DAsync", "dx past the end of sequence " + b);
            }
        }
    }

    /** Zeros {@code bytes} at {@code p} on the plan's stream: an output gradient the caller left out. */
    private void zero(Pointer p, long bytes, String what) {
        Status.cuda(cudaMemsetAsync(p, 0, bytes, handle.stream), "cudaMemsetAsync", what);
    }

    /**
     * The host path's backward: dy, dhN and dcN staged to the device (zeros for those not given; dy
     * reversed within the lengths for REVERSE, as x was), {@link #backwardOnDevice}, then everything
     * copied back to pinned staging before the first of the caller's tensors or gradients is written.
     */
    @Override
    protected void runBackward(BackwardCall call) {
        CudnnWorkspace ws = (CudnnWorkspace) call.workspace();
        int steps = call.steps();
        int batch = call.batch();
        int[] lengths = lengths(call.lengths(), steps, batch);
        long xFloats = (long) steps * batch * spec.inputSize();
        long yFloats = (long) steps * batch * spec.outputSize();
        long sFloats = (long) spec.stateCount() * batch * spec.hiddenSize();
        long xBytes = xFloats * Float.BYTES;
        long yBytes = yFloats * Float.BYTES;
        long sBytes = sFloats * Float.BYTES;
        // dh fills the first hBytes of its slot (H_out columns), dc the whole slot (H)
        long hBytes = (long) spec.stateCount() * batch * spec.outputHiddenSize() * Float.BYTES;
        growGradients(xBytes, yBytes, sBytes);
        px.ensure(xBytes);
        py.ensure(yBytes);
        pStates.ensure(4 * sBytes);
        if (call.dy() == null) {
            zero(gradY.pointer(), yBytes, "dy");
        } else {
            MemorySegment ys = py.segment(yBytes);
            if (reversed) {
                Sequences.reverseWithinLengths(call.dy().segment(), ys, call.layout(), steps, batch, spec.outputSize(),
                        lengths);
            } else {
                MemorySegment.copy(call.dy().segment(), 0, ys, 0, yBytes);
            }
            toDevice(gradY.pointer(), py.pointer(), yBytes, "dy");
            zeroPadding(gradY.pointer(), call.layout(), steps, batch, spec.outputSize(), lengths);
        }
        MemorySegment states = pStates.segment(4 * sBytes);
        states.asSlice(0, 2 * sBytes).fill((byte) 0);
        if (call.dhN() != null) {
            MemorySegment.copy(call.dhN().segment(), 0, states, 0, hBytes);
        }
        if (call.dcN() != null) {
            MemorySegment.copy(call.dcN().segment(), 0, states, sBytes, sBytes);
        }
        toDevice(gradStates.pointer(), pStates.pointer(), 2 * sBytes, "dhN, dcN");
        long g = gradStates.address();
        boolean cell = spec.cell().hasCellState();
        Engine e = backwardOnDevice(ws, new Grads(gradY.pointer(), Native.at(g), cell ? Native.at(g + sBytes) : null,
                gradX.pointer(), Native.at(g + 2 * sBytes), cell ? Native.at(g + 3 * sBytes) : null), call.weights() != null);
        if (call.dx() != null) {
            toHost(px.pointer(), gradX.pointer(), xBytes, "dx");
        }
        if (call.dh0() != null || call.dc0() != null) {
            toHost(Native.at(pStates.pointer().address() + 2 * sBytes), Native.at(g + 2 * sBytes), 2 * sBytes, "dh0, dc0");
        }
        // every cuDNN and CUDA call has returned: now the caller's memory
        if (call.weights() != null) {
            WeightMap.copyOut(pieces, e.where, pGradWeights.segment(e.weightBytes), call.weights(), call.accumulate());
        }
        if (call.dx() != null) {
            MemorySegment xs = px.segment(xBytes);
            if (reversed) {
                Sequences.reverseWithinLengths(xs, call.dx().segment(), call.layout(), steps, batch, spec.inputSize(), lengths);
            } else {
                MemorySegment.copy(xs, 0, call.dx().segment(), 0, xBytes);
            }
        }
        if (call.dh0() != null) {
            MemorySegment.copy(states, 2 * sBytes, call.dh0().segment(), 0, hBytes);
        }
        if (call.dc0() != null) {
            MemorySegment.copy(states, 3 * sBytes, call.dc0().segment(), 0, sBytes);
        }
    }

    private void growGradients(long xBytes, long yBytes, long sBytes) {
        gradY.ensure(yBytes);
        gradX.ensure(xBytes);
        gradStates.ensure(4 * sBytes);
    }

    // ------------------------------------------------------------------ training on the device path

    /**
     * A training forward pass on device-resident tensors, into {@code workspace}: what
     * {@link #forward(DeviceTensor, Layout, int[], DeviceTensor, DeviceTensor, DeviceTensor, DeviceTensor, DeviceTensor)}
     * does, in {@code CUDNN_FWD_MODE_TRAINING}, keeping cuDNN's reserve space and device copies of x,
     * h0, c0 and y in the workspace (copies on the GPU, queued like the rest: the caller may overwrite
     * its tensors once this returns). Asynchronous and ordered with other plans' work on the same
     * tensors as that forward. The workspace then holds this pass for
     * {@link #backward(RnnWorkspace, DeviceTensor, DeviceTensor, DeviceTensor, DeviceTensor, DeviceTensor, DeviceTensor, RnnWeightGrads, WeightGradMode)}
     * or {@link #backward(RnnWorkspace, io.cellstate.RnnOutputGrad, io.cellstate.RnnInputGrad, RnnWeightGrads, WeightGradMode)}.
     * Training passes run the algorithm fixed in the options, or STANDARD for AUTO, and are not
     * captured into CUDA graphs.
     *
     * @param x         the input sequence, in {@code layout}
     * @param layout    the layout of {@code x} and {@code y}
     * @param lengths   null when every sequence has length T
     * @param h0        null for zeros
     * @param c0        null for zeros
     * @param y         the output sequence
     * @param hN        the final hidden state
     * @param cN        null when not wanted
     * @param workspace one of this plan's workspaces ({@link #newWorkspace()})
     * @throws IllegalArgumentException      for a bad argument, before anything is queued
     * @throws IllegalStateException         if the plan was not made for training, is closed, or another thread is inside it
     * @throws UnsupportedOperationException for a REVERSE spec, BF16, or an algorithm cuDNN refuses for training
     */
    public void forward(DeviceTensor x, Layout layout, int[] lengths, DeviceTensor h0, DeviceTensor c0,
                        DeviceTensor y, DeviceTensor hN, DeviceTensor cN, RnnWorkspace workspace) {
        enter();
        try {
            requireTraining("forward with a workspace");
            CudnnWorkspace ws = (CudnnWorkspace) checkWorkspace(workspace, false);
            int[] sizes = checkOnDevice(x, layout, lengths, h0, c0, y, hN, cN);
            int steps = sizes[0];
            int batch = sizes[1];
            int[] kept = lengths == null ? null : lengths.clone();
            ws.empty();
            grow(steps, batch);
            long xBytes = inputBytes(steps, batch);
            long yBytes = outputBytes(steps, batch);
            long sBytes = stateBytes(batch);
            ws.ensure(xBytes, yBytes, sBytes);
            DeviceTensor[] touched = awaitLastUse(x, h0, c0, y, hN, cN);
            RuntimeException failure = null;
            try {
                copyOnDevice(ws.x.pointer(), x.pointer(), xBytes, "x into the workspace");
                if (h0 != null) {
                    copyOnDevice(ws.h0.pointer(), h0.pointer(), sBytes, "h0 into the workspace");
                }
                if (c0 != null) {
                    copyOnDevice(ws.c0.pointer(), c0.pointer(), sBytes, "c0 into the workspace");
                }
                describe(layout, steps, batch, lengths(kept, steps, batch));
                trainingForward(trainingEngine(), batch, ws, new Args(ws.x.pointer(), ws.y.pointer(),
                        h0 == null ? null : ws.h0.pointer(), c0 == null ? null : ws.c0.pointer(), hN.pointer(),
                        cN == null ? null : cN.pointer()));
                copyOnDevice(y.pointer(), ws.y.pointer(), yBytes, "y from the workspace");
            } catch (RuntimeException e) {
                failure = e;
                throw e;
            } finally {
                fenceAfter(touched, failure);
            }
            ws.holding(steps, batch, layout, kept);
        } finally {
            exit();
        }
    }

    /**
     * The backward pass of the forward {@code workspace} holds, on device-resident tensors: what
     * {@link #backward(RnnWorkspace, io.cellstate.RnnOutputGrad, io.cellstate.RnnInputGrad, RnnWeightGrads, WeightGradMode)}
     * does, with dy, dhN and dcN read and dx, dh0 and dc0 written on the GPU, of the shapes of that
     * forward (null: a zero output gradient, or an input gradient not wanted). dx is 0 past each
     * sequence's end, and dy is ignored there. The weight gradients are host memory in PyTorch's layout: when
     * {@code weightGrads} is given the call waits for them and maps cuDNN's gradient space into it;
     * without, the call only queues its work and returns.
     *
     * @param workspace   a workspace of this plan holding a training forward (on either path)
     * @param dy          d loss / d y, or null
     * @param dhN         d loss / d hN, or null
     * @param dcN         d loss / d cN (LSTM), or null
     * @param dx          receives d loss / d x, or null
     * @param dh0         receives d loss / d h0, or null
     * @param dc0         receives d loss / d c0 (LSTM), or null
     * @param weightGrads receives (or adds) d loss / d weights, or null
     * @param mode        overwrite the weight gradients, or add to them
     * @throws IllegalArgumentException for a bad argument, before anything is queued or written
     * @throws IllegalStateException    if the plan was not made for training, is closed, or another thread is inside it
     */
    public void backward(RnnWorkspace workspace, DeviceTensor dy, DeviceTensor dhN, DeviceTensor dcN, DeviceTensor dx,
                         DeviceTensor dh0, DeviceTensor dc0, RnnWeightGrads weightGrads, WeightGradMode mode) {
        enter();
        try {
            requireTraining("backward");
            if (reversed) {
                throw new UnsupportedOperationException("direction REVERSE is not supported on device tensors by backend"
                        + " 'cudnn' (cuDNN has no reverse-only mode; the host path reverses the sequences): use"
                        + " backward(workspace, RnnOutputGrad, RnnInputGrad, RnnWeightGrads, WeightGradMode)");
            }
            CudnnWorkspace ws = (CudnnWorkspace) checkWorkspace(workspace, true);
            int steps = ws.steps();
            int batch = ws.batch();
            Layout layout = ws.layout();
            checkWeightGrads(weightGrads, mode);
            int[] state = {spec.stateCount(), batch, spec.outputHiddenSize()};
            int[] cells = {spec.stateCount(), batch, spec.hiddenSize()};
            boolean cell = spec.cell().hasCellState();
            expect("dy", dy, layout.shape(steps, batch, spec.outputSize()), true);
            expect("dhN", dhN, state, true);
            expect("dx", dx, layout.shape(steps, batch, spec.inputSize()), true);
            expect("dh0", dh0, state, true);
            if (!cell && (dcN != null || dc0 != null)) {
                throw new IllegalArgumentException((dcN != null ? "dcN" : "dc0") + ": expected null (" + spec.cell()
                        + " has no cell state), got a device tensor");
            }
            expect("dcN", dcN, cells, true);
            expect("dc0", dc0, cells, true);
            DeviceTensor[] read = {dy, dhN, dcN};
            DeviceTensor[] written = {dx, dh0, dc0};
            String[] readNames = {"dy", "dhN", "dcN"};
            String[] writtenNames = {"dx", "dh0", "dc0"};
            for (int i = 0; i < written.length; i++) {
                for (int j = 0; j < written.length; j++) {
                    if (written[i] != null && j < i && written[i] == written[j]) {
                        throw new IllegalArgumentException(writtenNames[i] + ": expected a tensor apart from "
                                + writtenNames[j] + ", got the same one");
                    }
                    if (written[i] != null && written[i] == read[j]) {
                        throw new IllegalArgumentException(writtenNames[i] + ": expected a tensor apart from "
                                + readNames[j] + ", got the same one");
                    }
                }
            }
            long xBytes = inputBytes(steps, batch);
            long yBytes = outputBytes(steps, batch);
            long sBytes = stateBytes(batch);
            growGradients(xBytes, yBytes, sBytes);
            DeviceTensor[] touched = awaitLastUse(dy, dhN, dcN, dx, dh0, dc0);
            long g = gradStates.address();
            RuntimeException failure = null;
            try {
                int[] lengths = ws.lengths();
                Pointer dyAt = dy == null ? gradY.pointer() : dy.pointer();
                if (dy == null) {
                    zero(gradY.pointer(), yBytes, "dy");
                } else if (lengths != null) { // the caller's dy, with what lies past the ends set to 0
                    copyOnDevice(gradY.pointer(), dy.pointer(), yBytes, "dy");
                    zeroPadding(gradY.pointer(), layout, steps, batch, spec.outputSize(), lengths);
                    dyAt = gradY.pointer();
                }
                if (dhN == null) {
                    zero(Native.at(g), sBytes, "dhN");
                }
                if (cell && dcN == null) {
                    zero(Native.at(g + sBytes), sBytes, "dcN");
                }
                Grads grads = new Grads(dyAt,
                        dhN == null ? Native.at(g) : dhN.pointer(),
                        !cell ? null : dcN == null ? Native.at(g + sBytes) : dcN.pointer(),
                        dx == null ? gradX.pointer() : dx.pointer(),
                        dh0 == null ? Native.at(g + 2 * sBytes) : dh0.pointer(),
                        !cell ? null : dc0 == null ? Native.at(g + 3 * sBytes) : dc0.pointer());
                Engine e = backwardOnDevice(ws, grads, weightGrads != null);
                if (weightGrads != null) {
                    WeightMap.copyOut(pieces, e.where, pGradWeights.segment(e.weightBytes), weightGrads,
                            mode == WeightGradMode.ACCUMULATE);
                }
            } catch (RuntimeException e) {
                failure = e;
                throw e;
            } finally {
                fenceAfter(touched, failure);
            }
        } finally {
            exit();
        }
    }

    private void copyOnDevice(Pointer to, Pointer from, long bytes, String what) {
        Status.cuda(cudaMemcpyAsync(to, from, bytes, cudaMemcpyDeviceToDevice, handle.stream), "cudaMemcpyAsync", what);
    }
}
