package io.cellstate.cuda;

/**
 * cuDNN's own choices for a plan.
 *
 * @param algorithm which recurrence algorithm runs the sequence; {@link Algorithm#AUTO} measures
 *                  the supported ones once per (batch, T) and keeps the fastest
 * @param precision the arithmetic: exact float32 unless a faster, looser one is asked for
 */
public record CudnnOptions(Algorithm algorithm, Precision precision) {

    public CudnnOptions {
        if (algorithm == null) {
            throw new IllegalArgumentException("algorithm: expected one of " + java.util.Arrays.toString(Algorithm.values())
                    + ", got null");
        }
        if (precision == null) {
            throw new IllegalArgumentException("precision: expected one of " + java.util.Arrays.toString(Precision.values())
                    + ", got null");
        }
    }

    /** {@link Algorithm#STANDARD} (PyTorch's choice for float32), exact float32. */
    public static CudnnOptions defaults() {
        return new CudnnOptions(Algorithm.STANDARD, Precision.FLOAT32);
    }

    public CudnnOptions withAlgorithm(Algorithm algorithm) {
        return new CudnnOptions(algorithm, precision);
    }

    public CudnnOptions withPrecision(Precision precision) {
        return new CudnnOptions(algorithm, precision);
    }

    /**
     * cuDNN's recurrence algorithms ({@code cudnnRNNAlgo_t}). No single one is fastest everywhere: on an
     * H100 at batch 1 the persistent kernels are ten times faster than the standard one, at batch 64
     * three times slower (see {@code ../shared/gpu/README.md}).
     */
    public enum Algorithm {
        /** {@code CUDNN_RNN_ALGO_STANDARD}: one GEMM per step; works for every shape. */
        STANDARD(0),
        /** {@code CUDNN_RNN_ALGO_PERSIST_STATIC}: the recurrent weights stay in the SMs' registers. */
        PERSIST_STATIC(1),
        /** {@code CUDNN_RNN_ALGO_PERSIST_DYNAMIC}: a persistent kernel compiled for the batch at run time. */
        PERSIST_DYNAMIC(2),
        /** {@code CUDNN_RNN_ALGO_PERSIST_STATIC_SMALL_H}: persistent, for small hidden sizes. */
        PERSIST_STATIC_SMALL_H(3),
        /** Measure the supported ones once per (batch, T) with CUDA events and keep the fastest. */
        AUTO(-1);

        private final int cudnnValue;

        Algorithm(int cudnnValue) {
            this.cudnnValue = cudnnValue;
        }

        /** The {@code cudnnRNNAlgo_t} value; -1 for {@link #AUTO}. */
        int cudnnValue() {
            return cudnnValue;
        }
    }

    /** The arithmetic of the GEMMs inside cuDNN. Data in and out stays float32 in every case. */
    public enum Precision {
        /** {@code CUDNN_FMA_MATH}: exact float32, no tensor cores; the CPU backends' tolerance. */
        FLOAT32,
        /** {@code CUDNN_TENSOR_OP_MATH} on float data: TF32 tensor cores (10-bit mantissa inputs). */
        TF32,
        /**
         * {@code CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION} on float data: cuDNN may convert to FP16 for
         * the tensor cores.
         */
        FP16,
        /** BF16: declared, not built yet (needs bfloat16 tensors in and out); asking for it throws. */
        BF16
    }
}
