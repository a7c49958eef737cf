package io.cellstate.cuda;

import io.cellstate.Availability;
import io.cellstate.Backend;
import io.cellstate.PlanOptions;
import io.cellstate.RnnPlan;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.spi.AbstractRnnPlan;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.cuda.global.cudnn;
import org.bytedeco.javacpp.Loader;

/**
 * The cuDNN kernel: whole sequences, all layers and directions, in one {@code cudnnRNNForward}
 * (cuDNN's v8 RNN API, through JavaCPP's {@code org.bytedeco:cuda}). The CUDA 13 and cuDNN 9
 * libraries come from the machine (no redist jars): they must be on {@code LD_LIBRARY_PATH}.
 */
public final class CudnnBackend implements Backend {
    private final CudnnOptions options;

    /** The backend as {@link io.cellstate.Backends} finds it: {@link CudnnOptions#defaults()}. */
    public CudnnBackend() {
        this(CudnnOptions.defaults());
    }

    private CudnnBackend(CudnnOptions options) {
        this.options = options;
    }

    /**
     * This backend with other cuDNN options for the plans made through the generic
     * {@link #plan(RnnSpec, RnnWeights, PlanOptions)}: for code that only knows {@link Backend}
     * (a framework choosing backends by name, the conformance suite).
     *
     * @param cudnnOptions the algorithm, precision and graphs of its plans
     * @return the backend with those options
     * @throws IllegalArgumentException for null options
     */
    public CudnnBackend withOptions(CudnnOptions cudnnOptions) {
        if (cudnnOptions == null) {
            throw new IllegalArgumentException("cudnnOptions: expected CudnnOptions, got null");
        }
        return new CudnnBackend(cudnnOptions);
    }

    /**
     * The cuDNN options of the plans {@link #plan(RnnSpec, RnnWeights, PlanOptions)} makes.
     *
     * @return the options
     */
    public CudnnOptions options() {
        return options;
    }

    /** Probed once per JVM (holder idiom): the CUDA runtime, a device, then cuDNN. */
    private static final class Probe {
        static final String[] VERSION = new String[1];
        static final Availability AVAILABILITY = probe();

        private static Availability probe() {
            String libraries = "put the CUDA 13 and cuDNN 9 libraries (libcudart.so.13, libcudnn.so.9 and the driver's"
                    + " libcuda.so.1) on LD_LIBRARY_PATH";
            try {
                Loader.load(cudart.class);
            } catch (Throwable t) {
                return Availability.no("the CUDA runtime could not be loaded through JavaCPP (" + rootCause(t) + "): "
                        + libraries);
            }
            int[] count = new int[1];
            int status;
            try {
                status = cudart.cudaGetDeviceCount(count);
            } catch (Throwable t) {
                return Availability.no("cudaGetDeviceCount failed: " + rootCause(t));
            }
            if (status != cudart.cudaSuccess) {
                return Availability.no("no usable CUDA device: cudaGetDeviceCount returned " + Status.cudaName(status)
                        + " (is there a GPU, and a driver for CUDA 13?)");
            }
            if (count[0] < 1) {
                return Availability.no("no CUDA device: cudaGetDeviceCount found 0");
            }
            try {
                Loader.load(cudnn.class);
                long v = cudnn.cudnnGetVersion();
                VERSION[0] = v / 10000 + "." + v / 100 % 100 + "." + v % 100;
                if (v < 90000) {
                    return Availability.no("cuDNN " + VERSION[0] + " found, cuDNN 9 or newer needed: " + libraries);
                }
            } catch (Throwable t) {
                return Availability.no("cuDNN could not be loaded through JavaCPP (" + rootCause(t) + "): " + libraries);
            }
            return Availability.yes();
        }

        private static String rootCause(Throwable t) {
            Throwable c = t;
            while (c.getCause() != null && c.getCause() != c) {
                c = c.getCause();
            }
            return c.getClass().getSimpleName() + ": " + c.getMessage();
        }
    }

    @Override
    public String name() {
        return "cudnn";
    }

    @Override
    public String description() {
        return "cuDNN's RNN kernels on the GPU, through JavaCPP"
                + (availability().available() ? ": cuDNN " + Probe.VERSION[0] : "");
    }

    @Override
    public Availability availability() {
        return Probe.AVAILABILITY;
    }

    /** Above every CPU kernel: where a GPU is present, it is the one to use. */
    @Override
    public int priority() {
        return 300;
    }

    @Override
    public String unsupported(RnnSpec spec, PlanOptions options) {
        if (spec.cell() instanceof io.cellstate.Cell.Gru gru && !gru.linearBeforeReset()) {
            return "cell gru-original: cuDNN's GRU is linear before reset (PyTorch's); the original formula runs on"
                    + " the CPU backends";
        }
        String option = unsupportedOption(spec.cell());
        if (!option.isEmpty()) {
            return option;
        }
        String lacking = AbstractRnnPlan.supportOf(spec, options, cell -> true, true);
        return lacking.isEmpty() ? unsupportedTraining(options, this.options) : lacking;
    }

    /**
     * What of a cell's options cuDNN cannot compute: of the LSTM's, only the projection
     * ({@code cudnnSetRNNDescriptor_v8}'s projSize) maps; empty if nothing is lacking.
     */
    static String unsupportedOption(io.cellstate.Cell cell) {
        String where = " (the CPU backends run it)";
        if (cell instanceof io.cellstate.Cell.Lstm lstm) {
            if (lstm.peepholes()) {
                return "cell " + cell + ": cuDNN's LSTM has no peepholes" + where;
            }
            if (lstm.hasClip()) {
                // cudnnRNNSetClip_v8 clamps the cell state c; ONNX clamps the gates' pre-activations
                return "cell " + cell + ": cuDNN's clip (cudnnRNNSetClip_v8) bounds the cell state, ONNX's clip bounds the"
                        + " gate pre-activations, another function" + where;
            }
            if (lstm.inputForget()) {
                return "cell " + cell + ": cuDNN's LSTM has no coupled input and forget gates" + where;
            }
        }
        boolean fixedActivations = switch (cell) {
            case io.cellstate.Cell.Lstm lstm -> lstm.activations().equals(io.cellstate.Cell.lstm().activations());
            case io.cellstate.Cell.Gru gru -> gru.isPlain();
            case io.cellstate.Cell.Rnn rnn -> rnn.isPlain();
        };
        if (!fixedActivations) {
            return "cell " + cell + ": cuDNN's activations are fixed (σ and tanh; the RNN's tanh or ReLU)" + where;
        }
        return "";
    }

    /**
     * What training lacks with these cuDNN options: BF16, whose data and weight gradients cuDNN would
     * keep in bfloat16 (the host path converts only forward data); empty otherwise.
     */
    static String unsupportedTraining(PlanOptions options, CudnnOptions cudnnOptions) {
        if (options.mode() == io.cellstate.ForwardMode.TRAINING && cudnnOptions.precision() == CudnnOptions.Precision.BF16) {
            return "precision BF16 is not supported in mode TRAINING by backend 'cudnn' (its gradients would be"
                    + " bfloat16 in cuDNN): use FLOAT32, TF32 or FP16";
        }
        return "";
    }

    @Override
    public RnnPlan plan(RnnSpec spec, RnnWeights weights, PlanOptions options) {
        return plan(spec, weights, options, this.options);
    }

    /**
     * A plan with cuDNN's own options: the algorithm and the math precision.
     *
     * @param spec         the network
     * @param weights      its parameters
     * @param options      the plan's options (threads and the worker group do not apply)
     * @param cudnnOptions the algorithm, precision and graphs
     * @return the plan, open until closed
     * @throws IllegalArgumentException      for a bad argument
     * @throws UnsupportedOperationException for a feature this backend lacks
     * @throws IllegalStateException         if the backend is unavailable here
     */
    public CudnnPlan plan(RnnSpec spec, RnnWeights weights, PlanOptions options, CudnnOptions cudnnOptions) {
        AbstractRnnPlan.checkPlan(name(), spec, weights, options);
        if (cudnnOptions == null) {
            throw new IllegalArgumentException("cudnnOptions: expected CudnnOptions, got null");
        }
        AbstractRnnPlan.checkPlan(this, spec, weights, options);
        String training = unsupportedTraining(options, cudnnOptions);
        if (!training.isEmpty()) {
            throw new UnsupportedOperationException(training);
        }
        return new CudnnPlan(spec, weights, options, cudnnOptions);
    }

    /**
     * Destroys the cuDNN handles (and the CUDA stream lent with each) that no open plan holds. Plans borrow handles from a process-wide
     * pool and give them back on {@code close()} rather than destroying them, because each
     * {@code cudnnCreate}/{@code cudnnDestroy} pair leaves about 4 KiB of device memory behind inside
     * cuDNN 9.19 (measured on an H100: 4 MiB per 1000 pairs) and takes milliseconds. Call this to
     * give everything back, e.g. before unloading; later plans create handles again.
     *
     * @return how many handles were destroyed (0 where the backend is unavailable)
     */
    public static int releaseIdleHandles() {
        return Probe.AVAILABILITY.available() ? Native.PooledHandle.releaseIdle() : 0;
    }

    /** Throws {@link IllegalStateException} with the reason unless the backend can run here. */
    static void requireAvailable() {
        Availability a = Probe.AVAILABILITY;
        if (!a.available()) {
            throw new IllegalStateException("backend 'cudnn' is unavailable: " + a.reason());
        }
    }
}
