package io.cellstate.bench;

import io.cellstate.Backends;
import io.cellstate.Cell;
import io.cellstate.ForwardMode;
import io.cellstate.Layout;
import io.cellstate.PlanOptions;
import io.cellstate.RnnInput;
import io.cellstate.RnnInputGrad;
import io.cellstate.RnnOutput;
import io.cellstate.RnnOutputGrad;
import io.cellstate.RnnPlan;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeightGrads;
import io.cellstate.RnnWeights;
import io.cellstate.RnnWorkspace;
import io.cellstate.Tensor;
import io.cellstate.WeightGradMode;
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
 * One training step of one layer of a cell, unidirectional, I = H: a forward pass that keeps what
 * the backward pass needs, then the backward pass to every gradient (dx, dh0, dc0 and the weights,
 * overwritten), over a batch of B sequences of T steps, from a zero initial state, with a loss that
 * weights every output and both final states (fixed random dy, dhN, dcN). GFLOP/s counts
 * 6 T B G H (I + H): the forward's two GEMMs per step, and the backward's four (the data gradients
 * through W_ih and W_hh, the weight gradients of both), as frameworks count a training step as three
 * forward passes (three times {@link RnnSpec#forwardFlops}, which counts a projection's GEMM too).
 *
 * <p>Backends: ours ({@code vector}, {@code blas}, any backend of {@link Backends} that trains, the
 * {@code scalar} oracle as a floor when named) on a plan made with {@link ForwardMode#TRAINING},
 * {@code forward(in, out, workspace)} then {@code backward(..., WeightGradMode.OVERWRITE)}; and
 * {@code onednn}, the peer: oneDNN's {@code forward_training} and {@code backward} primitives
 * ({@link OneDnnTraining}), whose weight gradients are zeroed inside the timed call because it
 * accumulates into them (a framework's {@code zero_grad}; the same result as OVERWRITE). Every tensor,
 * the workspace and the gradients are allocated at setup; {@code threads} as in
 * {@link ForwardBenchmark}. Shapes beyond the grid: PyTorch's RNN benchmark default is
 * {@code -p shape=64x512 -p steps=100}, benchdnn's {@code l1t50mb64sic500} is
 * {@code -p shape=64x500 -p steps=50}.
 *
 * <p>Before timing, each trial checks its backend, so a fast but wrong kernel fails the run instead
 * of winning it: the benchmarked step runs once, the first {@value #CHECK_STEPS} steps of its output
 * are compared with the scalar oracle's forward (as {@link ForwardBenchmark} does) and all its
 * gradients must be finite; then a step over those first {@value #CHECK_STEPS} steps alone, at the
 * same batch and with the same dy, dhN and dcN (our plan itself; for oneDNN a second instance of
 * that length), must give the scalar oracle's gradients within
 * {@link OracleCheck#gradientTolerance}. Backpropagation has no prefix property (dx at step 0
 * depends on every later step), so the full-length gradients cannot be checked as cheaply.
 *
 * <p>Run (after {@code ./mvnw -pl bench -am package -DskipTests}):
 * <pre>
 *   java -cp "bench/target/classes:bench/target/lib/*" org.openjdk.jmh.Main TrainingBenchmark \
 *        -p backend=vector,blas,onednn -p cell=lstm -p shape=64x512 -p steps=100 -p threads=1,2 \
 *        -rf json -rff training.json
 * </pre>
 * The LSTM's options: {@code -p cell=lstm,lstm-proj2,lstm-proj4,lstm-peephole} (as in {@link ForwardBenchmark}).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class TrainingBenchmark {
    /** Steps of the gradient check: enough to exercise backpropagation through time, cheap for the oracle. */
    static final int CHECK_STEPS = 6;

    /** {@code vector}, {@code blas} (any backend of {@link Backends} that trains), or {@code onednn} (the peer). */
    @Param({"vector", "blas", "onednn"})
    public String backend;

    /** The cell, as {@link ForwardBenchmark#cell}: a {@link Cell#named} name, {@code lstm-proj2}, {@code lstm-proj4}, {@code lstm-peephole}. */
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

    private Arena arena;
    /** The plan or the oneDNN instance, closed at teardown (a plan closes its workspaces). */
    private AutoCloseable kernel;
    /** One training step of the trial's kernel: forward into its workspace, then backward. */
    private Runnable pass;
    private OracleCheck.Gradients grads;

    @Setup(Level.Trial)
    public void setUp() {
        BenchCase c = BenchCase.of(cell, shape);
        RnnSpec spec = c.spec();
        RnnWeights weights = c.weights();
        int batch = c.batch();
        int hidden = c.hidden();
        arena = Arena.ofShared();
        SplittableRandom r = new SplittableRandom(7);
        int states = spec.stateCount();
        boolean lstm = spec.cell().hasCellState();
        Tensor x = BenchCase.random(arena, r, steps, batch, hidden);
        Tensor dy = BenchCase.random(arena, r, steps, batch, spec.outputSize());
        Tensor dhN = BenchCase.random(arena, r, states, batch, spec.outputHiddenSize());
        Tensor dcN = lstm ? BenchCase.random(arena, r, states, batch, hidden) : null;
        Tensor y = Tensor.allocate(arena, steps, batch, spec.outputSize());
        Tensor hN = Tensor.allocate(arena, states, batch, spec.outputHiddenSize());
        Tensor cN = lstm ? Tensor.allocate(arena, states, batch, hidden) : null;
        RnnOutputGrad gradOut = new RnnOutputGrad(dy, dhN, dcN);
        grads = OracleCheck.Gradients.allocate(arena, spec, steps, batch);
        RnnInputGrad gradIn = grads.inputGrad();
        int t = BenchCase.cpuThreads(threads);
        int checked = Math.min(CHECK_STEPS, steps);
        Tensor xPrefix = BenchCase.prefix(x, checked);
        RnnOutputGrad gradOutPrefix = new RnnOutputGrad(BenchCase.prefix(dy, checked), dhN, dcN);
        OracleCheck.Gradients checkGrads = OracleCheck.Gradients.allocate(arena, spec, checked, batch);
        if (ForwardBenchmark.ONEDNN.equals(backend)) {
            OneDnnTraining dnn = new OneDnnTraining(spec, weights, steps, batch, t);
            kernel = dnn;
            pass = () -> {
                dnn.forward(x, null, null, y, hN, cN);
                dnn.backward(gradOut, gradIn);
            };
            pass.run();
            dnn.weightGrads(grads.weights());
            try (OneDnnTraining small = new OneDnnTraining(spec, weights, checked, batch, t)) {
                small.forward(xPrefix, null, null, Tensor.allocate(arena, checked, batch, spec.outputSize()), null, null);
                small.backward(gradOutPrefix, checkGrads.inputGrad());
                small.weightGrads(checkGrads.weights());
            }
        } else {
            PlanOptions training = PlanOptions.defaults().withMode(ForwardMode.TRAINING).withThreads(threads);
            RnnPlan plan = Backends.get(backend, spec, training).plan(spec, weights, training);
            kernel = plan;
            RnnWorkspace workspace = plan.newWorkspace();
            RnnInput in = RnnInput.of(x);
            RnnOutput out = new RnnOutput(y, hN, cN);
            RnnWeightGrads weightGrads = grads.weights();
            pass = () -> {
                plan.forward(in, out, workspace);
                plan.backward(workspace, gradOut, gradIn, weightGrads, WeightGradMode.OVERWRITE);
            };
            pass.run();
            try (RnnWorkspace ws = plan.newWorkspace()) {
                plan.forward(RnnInput.of(xPrefix), RnnOutput.allocate(spec, Layout.SEQUENCE_MAJOR,
                        checked, batch), ws);
                plan.backward(ws, gradOutPrefix, checkGrads.inputGrad(), checkGrads.weights(), WeightGradMode.OVERWRITE);
            }
        }
        OracleCheck.verifyPrefix(backend, y, spec, weights, xPrefix, null);
        OracleCheck.requireFinite(backend, grads);
        OracleCheck.verifyGradients(backend, spec, weights, xPrefix, gradOutPrefix, checkGrads);
    }

    @Benchmark
    public OracleCheck.Gradients train() {
        pass.run();
        return grads;
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        BenchCase.close(kernel, arena);
    }
}
