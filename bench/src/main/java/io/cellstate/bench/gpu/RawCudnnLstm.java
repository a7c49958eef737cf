package io.cellstate.bench.gpu;

import static org.bytedeco.cuda.global.cudart.cudaFree;
import static org.bytedeco.cuda.global.cudart.cudaGetErrorName;
import static org.bytedeco.cuda.global.cudart.cudaMalloc;
import static org.bytedeco.cuda.global.cudart.cudaMemcpy;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyDeviceToHost;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyHostToDevice;
import static org.bytedeco.cuda.global.cudnn.CUDNN_DATA_FLOAT;
import static org.bytedeco.cuda.global.cudnn.CUDNN_FMA_MATH;
import static org.bytedeco.cuda.global.cudnn.CUDNN_FWD_MODE_INFERENCE;
import static org.bytedeco.cuda.global.cudnn.CUDNN_LINEAR_INPUT;
import static org.bytedeco.cuda.global.cudnn.CUDNN_LSTM;
import static org.bytedeco.cuda.global.cudnn.CUDNN_RNN_ALGO_PERSIST_DYNAMIC;
import static org.bytedeco.cuda.global.cudnn.CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED;
import static org.bytedeco.cuda.global.cudnn.CUDNN_RNN_DOUBLE_BIAS;
import static org.bytedeco.cuda.global.cudnn.CUDNN_RNN_PADDED_IO_ENABLED;
import static org.bytedeco.cuda.global.cudnn.CUDNN_UNIDIRECTIONAL;
import static org.bytedeco.cuda.global.cudnn.cudnnBuildRNNDynamic;
import static org.bytedeco.cuda.global.cudnn.cudnnCreate;
import static org.bytedeco.cuda.global.cudnn.cudnnCreateDropoutDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnCreateRNNDataDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnCreateRNNDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnCreateTensorDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnDestroy;
import static org.bytedeco.cuda.global.cudnn.cudnnDestroyDropoutDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnDestroyRNNDataDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnDestroyRNNDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnDestroyTensorDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnGetErrorString;
import static org.bytedeco.cuda.global.cudnn.cudnnGetRNNTempSpaceSizes;
import static org.bytedeco.cuda.global.cudnn.cudnnGetRNNWeightParams;
import static org.bytedeco.cuda.global.cudnn.cudnnGetRNNWeightSpaceSize;
import static org.bytedeco.cuda.global.cudnn.cudnnRNNForward;
import static org.bytedeco.cuda.global.cudnn.cudnnSetDropoutDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnSetRNNDataDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnSetRNNDescriptor_v8;
import static org.bytedeco.cuda.global.cudnn.cudnnSetTensorNdDescriptor;

import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.Tensor;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import org.bytedeco.cuda.cudnn.cudnnContext;
import org.bytedeco.cuda.cudnn.cudnnDropoutStruct;
import org.bytedeco.cuda.cudnn.cudnnRNNDataStruct;
import org.bytedeco.cuda.cudnn.cudnnRNNStruct;
import org.bytedeco.cuda.cudnn.cudnnTensorStruct;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.SizeTPointer;

/**
 * The baseline our {@code cudnn} plan is measured against: the cuDNN calls a programmer would write
 * by hand for one fixed shape, with nothing of ours in between. Everything (handle, descriptors,
 * weight space, data descriptors, device lengths, workspace) is set up once in the constructor;
 * {@link #forward()} is a single {@code cudnnRNNForward} on device buffers, queued on the default
 * stream without waiting, exactly what the plan's device path ends in.
 *
 * <p>One layer, one direction, bias, sequence-major, every sequence of length T, zero h0 and c0,
 * the plan's flags ({@code CUDNN_RNN_PADDED_IO_ENABLED}, {@code CUDNN_FMA_MATH}). The weights are
 * placed where {@code cudnnGetRNNWeightParams} says, written here independently of the plan's
 * {@code WeightMap} (gate g's matrix from PyTorch's rows g*H..(g+1)*H, linear layer g for the input
 * weights and 4+g for the recurrent ones), so the oracle check also cross-checks the plan's layout.
 */
final class RawCudnnLstm implements AutoCloseable {
    private final Deque<Runnable> cleanup = new ArrayDeque<>();
    private final cudnnContext handle = new cudnnContext();
    private final cudnnRNNStruct rnn = new cudnnRNNStruct();
    private final cudnnRNNDataStruct xDesc = new cudnnRNNDataStruct();
    private final cudnnRNNDataStruct yDesc = new cudnnRNNDataStruct();
    private final cudnnTensorStruct hDesc = new cudnnTensorStruct();
    private final int steps;
    private final int batch;
    private final int hidden;
    private final long weightBytes;
    private final Pointer weights;
    private final Pointer x;
    private final Pointer y;
    private final Pointer hy;
    private final Pointer cy;
    private final IntPointer devLengths;
    private final long workBytes;
    private final Pointer work;
    private final long reserveBytes;
    private final Pointer reserve;

    /**
     * @param algorithm a {@code cudnnRNNAlgo_t} value
     * @throws IllegalStateException with cuDNN's status name if a call fails (NOT_SUPPORTED included)
     */
    RawCudnnLstm(RnnSpec spec, RnnWeights w, int algorithm, Tensor hostX) {
        if (spec.layers() != 1 || spec.directions() != 1 || !spec.bias() || spec.inputSize() != spec.hiddenSize()) {
            throw new IllegalArgumentException("spec: expected one layer, one direction, bias and I = H, got " + spec);
        }
        steps = hostX.dim(0);
        batch = hostX.dim(1);
        hidden = spec.hiddenSize();
        int in = spec.inputSize();
        try {
            cudnn(cudnnCreate(handle), "cudnnCreate");
            cleanup.push(() -> cudnnDestroy(handle));
            cudnnDropoutStruct dropout = new cudnnDropoutStruct();
            cudnn(cudnnCreateDropoutDescriptor(dropout), "cudnnCreateDropoutDescriptor");
            cleanup.push(() -> cudnnDestroyDropoutDescriptor(dropout));
            cudnn(cudnnSetDropoutDescriptor(dropout, handle, 0f, null, 0, 0), "cudnnSetDropoutDescriptor");
            cudnn(cudnnCreateRNNDescriptor(rnn), "cudnnCreateRNNDescriptor");
            cleanup.push(() -> cudnnDestroyRNNDescriptor(rnn));
            cudnn(cudnnSetRNNDescriptor_v8(rnn, algorithm, CUDNN_LSTM, CUDNN_RNN_DOUBLE_BIAS, CUDNN_UNIDIRECTIONAL,
                    CUDNN_LINEAR_INPUT, CUDNN_DATA_FLOAT, CUDNN_DATA_FLOAT, CUDNN_FMA_MATH, in, hidden, hidden, 1, dropout,
                    CUDNN_RNN_PADDED_IO_ENABLED), "cudnnSetRNNDescriptor_v8");
            if (algorithm == CUDNN_RNN_ALGO_PERSIST_DYNAMIC) {
                cudnn(cudnnBuildRNNDynamic(handle, rnn, batch), "cudnnBuildRNNDynamic");
            }
            try (SizeTPointer size = new SizeTPointer(1)) {
                cudnn(cudnnGetRNNWeightSpaceSize(handle, rnn, size), "cudnnGetRNNWeightSpaceSize");
                weightBytes = size.get();
            }
            weights = malloc(weightBytes);
            fillWeights(w, in);

            int[] lengths = new int[batch];
            Arrays.fill(lengths, steps);
            try (FloatPointer fill = new FloatPointer(1).put(0f)) {
                for (cudnnRNNDataStruct d : new cudnnRNNDataStruct[] {xDesc, yDesc}) {
                    cudnn(cudnnCreateRNNDataDescriptor(d), "cudnnCreateRNNDataDescriptor");
                    cleanup.push(() -> cudnnDestroyRNNDataDescriptor(d));
                    cudnn(cudnnSetRNNDataDescriptor(d, CUDNN_DATA_FLOAT, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, steps,
                            batch, hidden, lengths, fill), "cudnnSetRNNDataDescriptor");
                }
            }
            cudnn(cudnnCreateTensorDescriptor(hDesc), "cudnnCreateTensorDescriptor");
            cleanup.push(() -> cudnnDestroyTensorDescriptor(hDesc));
            cudnn(cudnnSetTensorNdDescriptor(hDesc, CUDNN_DATA_FLOAT, 3, new int[] {1, batch, hidden},
                    new int[] {batch * hidden, hidden, 1}), "cudnnSetTensorNdDescriptor");

            long dataBytes = (long) steps * batch * hidden * Float.BYTES;
            x = malloc(dataBytes);
            y = malloc(dataBytes);
            hy = malloc((long) batch * hidden * Float.BYTES);
            cy = malloc((long) batch * hidden * Float.BYTES);
            try (FloatPointer host = new FloatPointer(hostX.toArray())) {
                cuda(cudaMemcpy(x, host, dataBytes, cudaMemcpyHostToDevice), "cudaMemcpy x");
            }
            devLengths = new IntPointer(malloc((long) batch * Integer.BYTES));
            try (IntPointer host = new IntPointer(lengths)) {
                cuda(cudaMemcpy(devLengths, host, (long) batch * Integer.BYTES, cudaMemcpyHostToDevice), "cudaMemcpy lengths");
            }
            try (SizeTPointer ws = new SizeTPointer(1); SizeTPointer rs = new SizeTPointer(1)) {
                cudnn(cudnnGetRNNTempSpaceSizes(handle, rnn, CUDNN_FWD_MODE_INFERENCE, xDesc, ws, rs),
                        "cudnnGetRNNTempSpaceSizes");
                workBytes = ws.get();
                reserveBytes = rs.get();
            }
            work = malloc(workBytes);
            reserve = malloc(reserveBytes);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private void fillWeights(RnnWeights w, int in) {
        try (cudnnTensorStruct mDesc = new cudnnTensorStruct(); cudnnTensorStruct bDesc = new cudnnTensorStruct();
             PointerPointer<Pointer> mAddr = new PointerPointer<>(1L); PointerPointer<Pointer> bAddr = new PointerPointer<>(1L)) {
            cudnn(cudnnCreateTensorDescriptor(mDesc), "cudnnCreateTensorDescriptor");
            cudnn(cudnnCreateTensorDescriptor(bDesc), "cudnnCreateTensorDescriptor");
            try {
                for (int id = 0; id < 8; id++) {
                    cudnn(cudnnGetRNNWeightParams(handle, rnn, 0, weightBytes, weights, id, mDesc, mAddr, bDesc, bAddr),
                            "cudnnGetRNNWeightParams");
                    int gate = id % 4;
                    int cols = id < 4 ? in : hidden;
                    float[] matrix = id < 4 ? w.array(RnnWeights.Param.WEIGHT_IH, 0, 0) : w.array(RnnWeights.Param.WEIGHT_HH, 0, 0);
                    float[] bias = id < 4 ? w.array(RnnWeights.Param.BIAS_IH, 0, 0) : w.array(RnnWeights.Param.BIAS_HH, 0, 0);
                    upload(mAddr.get(0), matrix, gate * hidden * cols, hidden * cols);
                    upload(bAddr.get(0), bias, gate * hidden, hidden);
                }
            } finally {
                cudnnDestroyTensorDescriptor(mDesc);
                cudnnDestroyTensorDescriptor(bDesc);
            }
        }
    }

    private static void upload(Pointer device, float[] src, int from, int count) {
        try (FloatPointer host = new FloatPointer(Arrays.copyOfRange(src, from, from + count))) {
            cuda(cudaMemcpy(device, host, (long) count * Float.BYTES, cudaMemcpyHostToDevice), "cudaMemcpy weights");
        }
    }

    /** One {@code cudnnRNNForward}, queued; zero initial state. */
    void forward() {
        cudnn(cudnnRNNForward(handle, rnn, CUDNN_FWD_MODE_INFERENCE, devLengths, xDesc, x, yDesc, y, hDesc, null, hy,
                hDesc, null, cy, weightBytes, weights, workBytes, work, reserveBytes, reserve), "cudnnRNNForward");
    }

    /** y as [T, B, H] on the host (waits for the queued work). */
    Tensor y() {
        Tensor out = Tensor.zeros(steps, batch, hidden);
        try (FloatPointer host = new FloatPointer(out.size())) {
            cuda(cudaMemcpy(host, y, out.size() * Float.BYTES, cudaMemcpyDeviceToHost), "cudaMemcpy y");
            float[] a = new float[(int) out.size()];
            host.get(a);
            out.copyFrom(a);
        }
        return out;
    }

    private Pointer malloc(long bytes) {
        Pointer p = new Pointer();
        cuda(cudaMalloc(p, Math.max(bytes, 1)), "cudaMalloc " + bytes + " bytes");
        cleanup.push(() -> cudaFree(p));
        return p;
    }

    private static void cudnn(int status, String call) {
        if (status != 0) {
            throw new IllegalStateException(call + ": " + cudnnGetErrorString(status).getString() + " (" + status + ")");
        }
    }

    private static void cuda(int status, String call) {
        if (status != 0) {
            throw new IllegalStateException(call + ": " + cudaGetErrorName(status).getString() + " (" + status + ")");
        }
    }

    @Override
    public void close() {
        while (!cleanup.isEmpty()) {
            cleanup.pop().run();
        }
    }
}
