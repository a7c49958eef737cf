package io.cellstate.bench;

import io.cellstate.Backends;
import io.cellstate.Cell;
import io.cellstate.PlanOptions;
import io.cellstate.RnnInput;
import io.cellstate.RnnOutput;
import io.cellstate.RnnPlan;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.Tensor;
import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Forward (inference) of one layer of a cell, unidirectional, I = H: the time of one call over a
 * batch of B sequences of T steps, per backend and cell. GFLOP/s = 2 T B G H (I + H) / time, G the
 * cell's gates (4 LSTM, 3 GRU, 1 RNN); with a projection to P, 2 T B (G H (I + P) + P H)
 * ({@link RnnSpec#forwardFlops}).
 *
 * <p>Backends: {@code vector} (ours, Panama Vector API), {@code scalar} (the float64-accumulating
 * oracle, as a floor) and two peers: {@code onednn}, oneDNN's primitive of the same cell through JavaCPP
 * ({@link OneDnnRnn}: {@code lstm}, {@code lbr_gru}, {@code gru}, {@code vanilla_rnn}), weights reordered into its own format once, at setup;
 * and {@code onnxruntime}, what a Java user runs today: ONNX Runtime's Java API on the model
 * {@code Onnx.write} writes for the spec ({@link OnnxRuntimeRnn}: one {@code OrtSession.run} per call,
 * graph optimisation level ALL). Every backend gets
 * the same off-heap tensors (one shared {@link Arena}, closed at teardown), which oneDNN and ONNX Runtime
 * use in place; our CPU plans, which compute on heap arrays, copy x in and y out within the timed call
 * (O(T B H) against the O(T B H^2) of the GEMMs). {@code threads} is the trial's thread count for
 * every backend, 0 meaning all available processors (for oneDNN: OpenMP's
 * {@code omp_set_num_threads}, set around each call; for ONNX Runtime: the session's intra-op threads,
 * with one inter-op thread).
 *
 * <p>Before timing, each trial checks its backend against the scalar oracle within the
 * conformance suite's tolerance, so a fast but wrong kernel fails the run instead of winning it:
 * the benchmarked call itself runs once and the first {@value #CHECK_STEPS} steps of its output
 * are compared with the oracle on those steps (in a forward LSTM step t depends on steps 0..t
 * only); our plans are also run on those steps alone and their final state compared.
 *
 * <p>Run (after {@code ./mvnw -pl bench -am package -DskipTests}):
 * <pre>
 *   java -cp "bench/target/classes:bench/target/lib/*" org.openjdk.jmh.Main ForwardBenchmark \
 *        -p backend=vector,onednn,onnxruntime -p cell=lstm,gru -p shape=1x512,64x512 -rf json -rff forward.json
 * </pre>
 * The LSTM's options against oneDNN's projection and peephole LSTM (a backend that cannot run a
 * cell yet fails its trial saying so, and JMH goes on with the others):
 * <pre>
 *   java ... org.openjdk.jmh.Main 'ForwardBenchmark\.' -p backend=vector,onednn \
 *        -p cell=lstm,lstm-proj2,lstm-proj4,lstm-peephole -p shape=16x512,64x512 -p steps=100 -p threads=1,2
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class ForwardBenchmark {
    /** Steps of the oracle check: enough to exercise the recurrence, cheap enough for the scalar oracle. */
    private static final int CHECK_STEPS = 6;

    /**
     * {@code vector}, {@code blas}, {@code scalar} (any backend of {@link Backends}), {@code onednn}
     * and {@code onnxruntime} (the peers), or {@code blas-gemms}: only the OpenBLAS calls a {@code blas}
     * pass makes, bare ({@link OpenBlasGemms}; no output, so no oracle check), the yardstick for blas's glue.
     */
    @Param({"vector", "blas", "onednn", "onnxruntime", "scalar"})
    public String backend;

    /**
     * The cell ({@link BenchCase#cell}): {@code lstm}, {@code gru}, {@code gru-original}, {@code rnn-tanh},
     * {@code rnn-relu}, or the LSTM with options: {@code lstm-proj2}, {@code lstm-proj4} (a projection to
     * P = H/2, H/4), {@code lstm-peephole}.
     */
    @Param({"lstm"})
    public String cell;

    /** Batch x hidden, input = hidden. */
    @Param({"1x512", "64x512"})
    public String shape;

    @Param({"100"})
    public int steps;

    /** CPU threads for the backend; 0 = all available processors. */
    @Param({"0"})
    public int threads;

    /** The name of the peer in {@link #backend}. */
    static final String ONEDNN = "onednn";
    /** The name of the second peer in {@link #backend}. */
    static final String ONNXRUNTIME = "onnxruntime";
    /** The name of the bare OpenBLAS calls in {@link #backend}. */
    static final String BLAS_GEMMS = "blas-gemms";

    private Arena arena;
    /** The plan or the peer's instance, closed at teardown. */
    private AutoCloseable kernel;
    /** One forward pass of the trial's kernel over its off-heap input into {@link #y} and the final states. */
    private Runnable pass;
    private Tensor y;

    @Setup(Level.Trial)
    public void setUp() {
        BenchCase c = BenchCase.of(cell, shape);
        RnnSpec spec = c.spec();
        RnnWeights weights = c.weights();
        int batch = c.batch();
        int hidden = c.hidden();
        arena = Arena.ofShared();
        Tensor x = BenchCase.random(arena, new SplittableRandom(7), steps, batch, hidden);
        y = Tensor.allocate(arena, steps, batch, spec.outputSize());
        Tensor hN = Tensor.allocate(arena, spec.stateCount(), batch, spec.outputHiddenSize());
        Tensor cN = Tensor.allocate(arena, spec.stateCount(), batch, hidden);
        int checked = Math.min(CHECK_STEPS, steps);
        Tensor prefix = BenchCase.prefix(x, checked);
        if (BLAS_GEMMS.equals(backend)) {
            OpenBlasGemms gemms = new OpenBlasGemms(spec, steps, batch, BenchCase.cpuThreads(threads));
            kernel = gemms;
            pass = gemms::run;
            return;
        }
        if (ONEDNN.equals(backend)) {
            OneDnnRnn dnn = new OneDnnRnn(spec, weights, steps, batch, BenchCase.cpuThreads(threads));
            kernel = dnn;
            pass = () -> dnn.forward(x, null, null, y, hN, cN);
        } else if (ONNXRUNTIME.equals(backend)) {
            OnnxRuntimeRnn ort = new OnnxRuntimeRnn(spec, weights, x, y, hN, cN, BenchCase.cpuThreads(threads));
            kernel = ort;
            pass = ort::forward;
        } else {
            RnnPlan plan = Backends.get(backend, spec).plan(spec, weights, PlanOptions.defaults().withThreads(threads));
            kernel = plan;
            RnnInput in = RnnInput.of(x);
            RnnOutput out = new RnnOutput(y, hN, spec.cell().hasCellState() ? cN : null);
            pass = () -> plan.forward(in, out);
        }
        pass.run();
        OracleCheck.verifyPrefix(backend, y, spec, weights, prefix, kernel instanceof RnnPlan p ? p : null);
    }

    @Benchmark
    public Tensor forward() {
        pass.run();
        return y;
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        BenchCase.close(kernel, arena);
    }
}
