package io.cellstate.cuda;

import io.cellstate.RnnSpec;
import io.cellstate.Tolerance;

/**
 * cuDNN's own choices for a plan.
 *
 * @param algorithm which recurrence algorithm runs the sequence; {@link Algorithm#AUTO} measures
 *                  the supported ones once per (batch, T, layout, whether lengths vary) and keeps
 *                  the fastest
 * @param precision the arithmetic: exact float32 unless a faster, looser one is asked for
 * @param graphs    whether a call the plan has made before with the same shape, lengths and buffers
 *                  replays a CUDA graph of it ({@code cudaGraphLaunch}) instead of calling
 *                  {@code cudnnRNNForward} again: one launch instead of the hundreds of kernel launches
 *                  cuDNN makes per call, so the GPU no longer waits on the host between them. The
 *                  first call of each combination runs directly, the second is captured, later ones
 *                  replay it; where capture fails for an algorithm, the plan calls cuDNN directly for
 *                  it from then on ({@link CudnnPlan#graphFailure()} says why). Training passes
 *                  (a forward into a workspace, backward) call cuDNN directly.
 */
public record CudnnOptions(Algorithm algorithm, Precision precision, boolean graphs) {

    /**
     * With CUDA graphs ({@link #graphs()}).
     *
     * @param algorithm the recurrence algorithm, or AUTO
     * @param precision the math and data precision
     */
    public CudnnOptions(Algorithm algorithm, Precision precision) {
        this(algorithm, precision, true);
    }

    /**
     * Checks the components.
     *
     * @throws IllegalArgumentException for a null algorithm or precision
     */
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

    /**
     * {@link Algorithm#AUTO}, exact float32, CUDA graphs. AUTO is the default because no single algorithm is
     * fast everywhere and choosing is what makes this backend faster than PyTorch on the same cuDNN.
     * Its costs: the first call of each (batch, T, layout, whether lengths vary) runs every
     * supported algorithm a few times, the
     * plan keeps one weight copy per algorithm it tried, and two processes may choose differently
     * (results then differ within float32 rounding, not bit for bit). Ask for {@link Algorithm#STANDARD},
     * PyTorch's choice for float32, where that matters.
     *
     * @return the defaults
     */
    public static CudnnOptions defaults() {
        return new CudnnOptions(Algorithm.AUTO, Precision.FLOAT32, true);
    }

    /**
     * The absolute error cuDNN's persistent algorithms may add in float32, on top of rounding. On an
     * H100 with cuDNN 9.19 they were 2.7e-6 to 5.3e-6 off the float64 oracle whatever the size
     * (H = 2 to 1024, T = 1 to 100), where STANDARD was 6e-8 to 4e-7 off, within float32 rounding.
     * The allowance is about twice the worst seen, and PyTorch's own float32 {@code atol}.
     */
    public static final double PERSISTENT_ERROR_ALLOWANCE = 1e-5;

    /** How much looser than float32 TF32 and FP16 are: 2^13 (unit roundoff 2^-11 against 2^-24). */
    static final double REDUCED_PRECISION_FACTOR = 8192;

    /** How much looser than float32 BF16 is: 2^16 (unit roundoff 2^-8 against 2^-24). */
    static final double BF16_FACTOR = 65536;

    /**
     * The largest absolute difference from the float64 oracle that plans with these options promise
     * for {@code spec} over {@code steps} steps, and that the GPU tests check:
     * <ul>
     *   <li>FLOAT32 with STANDARD or AUTO: {@link Tolerance#forward}, the CPU backends' tolerance (AUTO
     *       tries the persistent algorithms only where that tolerance is at least
     *       {@link #PERSISTENT_ERROR_ALLOWANCE}, so their extra error always fits);</li>
     *   <li>FLOAT32 with a persistent algorithm chosen explicitly: that plus {@link #PERSISTENT_ERROR_ALLOWANCE};</li>
     *   <li>TF32 and FP16: 2^13 times the float32 tolerance (their GEMM inputs keep 10 mantissa
     *       bits, u = 2^-11 against float32's 2^-24), plus the allowance where a persistent algorithm may run;</li>
     *   <li>BF16: 2^16 times it (x, the weights, the states and y are bfloat16, 7 stored mantissa
     *       bits, u = 2^-8), plus the allowance likewise.</li>
     * </ul>
     * The same rule as the CPU tolerance, scaled by the unit roundoff: a bound, loose for the
     * reduced precisions; the GPU tests print the errors they measure beside it.
     *
     * @param spec  the network
     * @param steps T
     * @return the largest absolute difference promised
     */
    public double tolerance(RnnSpec spec, int steps) {
        double t = Tolerance.forward(spec, steps);
        boolean persistentMayRun = algorithm != Algorithm.STANDARD;
        return switch (precision) {
            case FLOAT32 -> algorithm == Algorithm.STANDARD || algorithm == Algorithm.AUTO ? t : t + PERSISTENT_ERROR_ALLOWANCE;
            case TF32, FP16 -> t * REDUCED_PRECISION_FACTOR + (persistentMayRun ? PERSISTENT_ERROR_ALLOWANCE : 0);
            case BF16 -> t * BF16_FACTOR + (persistentMayRun ? PERSISTENT_ERROR_ALLOWANCE : 0);
        };
    }

    /** Whether AUTO may try the persistent algorithms for (spec, T) and still keep {@link #tolerance}. */
    boolean persistentWithinTolerance(RnnSpec spec, int steps) {
        return precision != Precision.FLOAT32 || Tolerance.forward(spec, steps) >= PERSISTENT_ERROR_ALLOWANCE;
    }

    /**
     * These options with another algorithm.
     *
     * @param algorithm the recurrence algorithm, or AUTO
     * @return the new options
     */
    public CudnnOptions withAlgorithm(Algorithm algorithm) {
        return new CudnnOptions(algorithm, precision, graphs);
    }

    /**
     * These options with another precision.
     *
     * @param precision the math and data precision
     * @return the new options
     */
    public CudnnOptions withPrecision(Precision precision) {
        return new CudnnOptions(algorithm, precision, graphs);
    }

    /**
     * These options with CUDA graphs on or off.
     *
     * @param graphs whether repeated calls replay a captured graph
     * @return the new options
     */
    public CudnnOptions withGraphs(boolean graphs) {
        return new CudnnOptions(algorithm, precision, graphs);
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
        /**
         * Measure the supported ones once per (batch, T, layout, whether lengths vary) with CUDA
         * events and keep the fastest. In FLOAT32, the persistent ones are candidates only where
         * their extra error fits the CPU tolerance (see {@link CudnnOptions#tolerance}): for very
         * small networks and sequences AUTO runs STANDARD. Training passes run STANDARD (PyTorch's
         * choice for float32 training): a workspace's reserve space belongs to the algorithm that
         * filled it, and measuring would run backward passes on the caller's data. Fix an algorithm
         * to train with a persistent one; cuDNN's refusal of it for a shape (NOT_SUPPORTED) then
         * becomes an {@link UnsupportedOperationException} before anything of the caller's is written.
         */
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
        /**
         * bfloat16 data and weights in cuDNN ({@code CUDNN_DATA_BFLOAT16}, float math precision,
         * {@code CUDNN_TENSOR_OP_MATH}): the host path converts the caller's float32 tensors on the
         * way in and out (round to nearest even); the device path refuses it, since a
         * {@link DeviceTensor} holds float32.
         */
        BF16
    }
}
