package io.cellstate.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import io.cellstate.Layout;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.Tensor;
import io.cellstate.bindings.Onnx;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The benchmarks' second peer, what a Java user runs today for an exported network: ONNX Runtime's CPU
 * execution provider through its Java API ({@code com.microsoft.onnxruntime:onnxruntime}), running the
 * model {@link Onnx#write} writes for the spec (one ONNX {@code LSTM}, {@code GRU} or {@code RNN} node per
 * layer, as PyTorch's exporter writes it; ONNX Runtime's own kernels for those ops).
 *
 * <p><b>Session.</b> The model is written to a temporary file, loaded (graph optimisation level ALL,
 * {@code threads} intra-op threads, one inter-op thread, sequential execution) and the file deleted; ONNX
 * Runtime keeps what it needs. Its other settings are its defaults (thread spinning included), as a user
 * gets them.
 *
 * <p><b>No copies.</b> The tensors, given once at construction, must be off-heap ({@link Tensor#allocate}):
 * {@code x} is an {@link OnnxTensor} over a direct buffer of x's memory, which ONNX Runtime reads in
 * place, and {@code y}, {@code hn} (and {@code cn}) are tensors over y's, hN's and cN's memory, passed to
 * every run as pinned outputs, which ONNX Runtime writes in place. {@link #forward} is one
 * {@code OrtSession.run}; the zero initial states are the graph's (no state inputs).
 *
 * <p>One thread at a time; {@link #close()} releases the session and the tensors once.
 */
public final class OnnxRuntimeRnn implements AutoCloseable {
    /** ONNX Runtime's environment, one per process, created when first needed. */
    private static final class Env {
        static final OrtEnvironment INSTANCE = OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING,
                "cellstate-bench");

        private Env() {
        }
    }

    private final RnnSpec spec;
    private final OrtSession session;
    private final Map<String, OnnxTensor> inputs;
    private final Map<String, OnnxTensor> outputs;
    private boolean closed;

    /**
     * Writes and loads the model and binds the tensors.
     *
     * @param spec    the network (forward or not, any cell)
     * @param weights its weights
     * @param x       the input {@code [T, B, inputSize]}, off-heap
     * @param y       the output {@code [T, B, D*H]}, off-heap
     * @param hN      the final hidden states {@code [layers*D, B, H]}, off-heap
     * @param cN      the final cell states, off-heap, for an LSTM; ignored (may be null) otherwise
     * @param threads ONNX Runtime's intra-op threads, at least 1
     * @throws IllegalArgumentException      for weights of another spec, a heap tensor or a misshapen one
     * @throws UnsupportedOperationException for a cell that is not plain ({@link io.cellstate.Cell#isPlain}): the
     *                                       model {@link Onnx#write} writes has the plain cells' ops only
     * @throws IllegalStateException         if ONNX Runtime fails to load the model or create a tensor (its message)
     */
    public OnnxRuntimeRnn(RnnSpec spec, RnnWeights weights, Tensor x, Tensor y, Tensor hN, Tensor cN, int threads) {
        Objects.requireNonNull(x, "x");
        if (!spec.cell().isPlain()) {
            // Onnx.write names its node by the plain cells alone, so another cell would load as a wrong or
            // invalid graph (an LSTM with peepholes became an RNN node with three outputs).
            throw new UnsupportedOperationException("cell: the ONNX Runtime peer runs the model Onnx.write writes, which"
                    + " has the plain cells only (" + String.join(", ", io.cellstate.Cell.all().stream().map(
                    io.cellstate.Cell::name).toList()) + "), got " + spec.cell());
        }
        if (!weights.spec().equals(spec)) {
            throw new IllegalArgumentException("weights: expected weights of " + spec + ", got " + weights.spec());
        }
        if (threads < 1) {
            throw new IllegalArgumentException("threads: expected >= 1, got " + threads);
        }
        int steps = x.dim(0);
        int batch = x.dim(1);
        int[] states = {spec.stateCount(), batch, spec.hiddenSize()};
        requireShape("x", x, false, steps, batch, spec.inputSize());
        requireShape("y", y, true, steps, batch, spec.outputSize());
        requireShape("hN", hN, true, states);
        boolean cell = spec.cell().hasCellState();
        if (cell) {
            requireShape("cN", cN, true, states);
        }
        this.spec = spec;
        OrtEnvironment env = Env.INSTANCE;
        Map<String, OnnxTensor> in = new LinkedHashMap<>();
        Map<String, OnnxTensor> out = new LinkedHashMap<>();
        OrtSession s = null;
        try {
            Path file = Files.createTempFile("cellstate-bench-", ".onnx");
            try {
                Onnx.write(file, weights, new Onnx.ExportOptions(Layout.SEQUENCE_MAJOR, false, false));
                try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
                    options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
                    options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
                    options.setIntraOpNumThreads(threads);
                    options.setInterOpNumThreads(1);
                    s = env.createSession(file.toString(), options);
                }
            } finally {
                Files.deleteIfExists(file);
            }
            in.put("x", tensor(env, x));
            out.put("y", tensor(env, y));
            out.put("hn", tensor(env, hN));
            if (cell) {
                out.put("cn", tensor(env, cN));
            }
        } catch (OrtException e) {
            release(s, in, out);
            throw new IllegalStateException("ONNX Runtime: " + e.getMessage() + " (" + spec + ")", e);
        } catch (IOException e) {
            release(s, in, out);
            throw new UncheckedIOException("the ONNX model of " + spec + ": " + e.getMessage(), e);
        } catch (RuntimeException | Error e) {
            release(s, in, out);
            throw e;
        }
        session = s;
        inputs = Map.copyOf(in);
        outputs = Map.copyOf(out);
    }

    /** ONNX Runtime's version at run time, e.g. {@code 1.23.2}. */
    public static String version() {
        return Env.INSTANCE.getVersion();
    }

    public RnnSpec spec() {
        return spec;
    }

    /**
     * One forward pass of the bound x into the bound y and final states.
     *
     * @throws IllegalStateException after {@link #close()}, or if ONNX Runtime fails (its message)
     */
    public void forward() {
        if (closed) {
            throw new IllegalStateException("OnnxRuntimeRnn: closed");
        }
        try (OrtSession.Result ignored = session.run(inputs, outputs)) {
            // pinned outputs: the result owns none of them, and y, hN, cN hold the values
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime: OrtSession.run: " + e.getMessage() + " (" + spec + ")", e);
        }
    }

    /** Releases the session and the tensors. Idempotent. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            release(session, inputs, outputs);
        }
    }

    @Override
    public String toString() {
        return "OnnxRuntimeRnn[" + spec + ", ONNX Runtime " + version() + "]";
    }

    /** A float tensor of ONNX Runtime over an off-heap tensor's memory, no copy. */
    private static OnnxTensor tensor(OrtEnvironment env, Tensor t) throws OrtException {
        FloatBuffer b = t.segment().asByteBuffer().order(ByteOrder.nativeOrder()).asFloatBuffer();
        return OnnxTensor.createTensor(env, b, Arrays.stream(t.shape()).asLongStream().toArray());
    }

    private static void requireShape(String name, Tensor t, boolean written, int... shape) {
        if (t == null || !Arrays.equals(t.shape(), shape)) {
            throw new IllegalArgumentException(name + ": expected shape " + Arrays.toString(shape) + ", got "
                    + (t == null ? "null" : Arrays.toString(t.shape())));
        }
        if (!t.segment().isNative() || (written && t.segment().isReadOnly())) {
            throw new IllegalArgumentException(name + ": expected " + (written ? "a writable" : "an")
                    + " off-heap tensor (Tensor.allocate): ONNX Runtime uses it in place");
        }
    }

    private static void release(OrtSession session, Map<String, OnnxTensor> in, Map<String, OnnxTensor> out) {
        in.values().forEach(OnnxTensor::close);
        out.values().forEach(OnnxTensor::close);
        if (session != null) {
            try {
                session.close();
            } catch (OrtException e) {
                throw new IllegalStateException("ONNX Runtime: OrtSession.close: " + e.getMessage(), e);
            }
        }
    }
}
