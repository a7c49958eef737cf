package io.cellstate.bench;

import io.cellstate.Backends;
import io.cellstate.PlanOptions;
import io.cellstate.RnnInput;
import io.cellstate.RnnOutput;
import io.cellstate.RnnPlan;
import io.cellstate.RnnSpec;
import io.cellstate.RnnState;
import io.cellstate.RnnWeights;
import io.cellstate.Tensor;
import io.cellstate.Tolerance;
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
 * Streaming: one {@code step} of a one-layer LSTM (I = H) for B sequences, the state carried in
 * place from call to call, as a speech or sensor model runs online. At B = 1 this is a GEMV per
 * call plus the call's fixed costs (validation, thread wake-up), which the sequence benchmark
 * amortises over T steps. GFLOP/s = 2 B 4H (I + H) / time.
 *
 * <p>Before timing, each trial steps through a few inputs and compares with the scalar oracle's
 * forward pass over the same sequence.
 *
 * <p>Run: {@code java -cp "bench/target/classes:bench/target/lib/*" org.openjdk.jmh.Main StepBenchmark}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class StepBenchmark {
    private static final int CHECK_STEPS = 6;

    /** {@code vector}, {@code scalar} or {@code onednn} (the peer: a T = 1 forward call, states swapped). */
    @Param({"vector", "onednn", "scalar"})
    public String backend;

    /** Batch x hidden, input = hidden. */
    @Param({"1x512"})
    public String shape;

    /** CPU threads for the plan; 0 = all available processors. */
    @Param({"0"})
    public int threads;

    private RnnPlan plan;
    private RnnState state;
    private Tensor x;
    private Tensor y;
    private Arena arena;
    private OneDnnRnn dnn;
    private Tensor x3;
    private Tensor y3;
    /** oneDNN's state in and out, swapped after each step: {h, c} of the two sides. */
    private final Tensor[] sides = new Tensor[4];

    @Setup(Level.Trial)
    public void setUp() {
        BenchCase c = BenchCase.of("lstm", shape);
        RnnSpec spec = c.spec();
        RnnWeights weights = c.weights();
        int batch = c.batch();
        int hidden = c.hidden();
        SplittableRandom r = new SplittableRandom(7);
        float[] v = new float[batch * hidden];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextDouble(-1, 1);
        }
        if (ForwardBenchmark.ONEDNN.equals(backend)) {
            arena = Arena.ofShared();
            dnn = new OneDnnRnn(spec, weights, 1, batch, BenchCase.cpuThreads(threads));
            x3 = Tensor.allocate(arena, 1, batch, hidden).copyFrom(v);
            y3 = Tensor.allocate(arena, 1, batch, hidden);
            for (int i = 0; i < sides.length; i++) {
                sides[i] = Tensor.allocate(arena, 1, batch, hidden);
            }
            checkOneDnn(spec, weights, batch);
            return;
        }
        plan = Backends.get(backend, spec).plan(spec, weights, PlanOptions.defaults().withThreads(threads));
        check(spec, weights, batch);
        x = Tensor.of(v, batch, hidden);
        y = Tensor.zeros(batch, hidden);
        state = plan.newState(batch);
    }

    /** oneDNN stepped through CHECK_STEPS inputs against the oracle's forward pass, like {@link #check}. */
    private void checkOneDnn(RnnSpec spec, RnnWeights weights, int batch) {
        int hidden = spec.hiddenSize();
        float[] seq = checkInputs(batch * hidden);
        RnnOutput want = oracle(spec, weights, seq, batch);
        double tol = Tolerance.forward(spec, CHECK_STEPS);
        Tensor xt = Tensor.allocate(arena, 1, batch, hidden);
        for (int t = 0; t < CHECK_STEPS; t++) {
            xt.copyFrom(java.util.Arrays.copyOfRange(seq, t * batch * hidden, (t + 1) * batch * hidden));
            oneDnnStep(xt);
            compare(t, want, y3, batch, hidden, tol);
        }
        for (Tensor s : sides) {
            s.fill(0f);
        }
    }

    /** One oneDNN step from sides[0..1] into sides[2..3], then the sides swap. */
    private void oneDnnStep(Tensor xt) {
        dnn.forward(xt, sides[0], sides[1], y3, sides[2], sides[3]);
        Tensor h = sides[0];
        Tensor c = sides[1];
        sides[0] = sides[2];
        sides[1] = sides[3];
        sides[2] = h;
        sides[3] = c;
    }

    /** Steps through CHECK_STEPS inputs and compares each output with the oracle's forward pass. */
    private void check(RnnSpec spec, RnnWeights weights, int batch) {
        int hidden = spec.hiddenSize();
        float[] seq = checkInputs(batch * hidden);
        RnnOutput want = oracle(spec, weights, seq, batch);
        RnnState s = plan.newState(batch);
        double tol = Tolerance.forward(spec, CHECK_STEPS);
        for (int t = 0; t < CHECK_STEPS; t++) {
            float[] xt = java.util.Arrays.copyOfRange(seq, t * batch * hidden, (t + 1) * batch * hidden);
            compare(t, want, plan.step(Tensor.of(xt, batch, hidden), s), batch, hidden, tol);
        }
    }

    private static float[] checkInputs(int perStep) {
        SplittableRandom r = new SplittableRandom(11);
        float[] seq = new float[CHECK_STEPS * perStep];
        for (int i = 0; i < seq.length; i++) {
            seq[i] = (float) r.nextDouble(-1, 1);
        }
        return seq;
    }

    private static RnnOutput oracle(RnnSpec spec, RnnWeights weights, float[] seq, int batch) {
        try (RnnPlan oracle = Backends.byName("scalar").plan(spec, weights, PlanOptions.defaults())) {
            return oracle.forward(RnnInput.of(Tensor.of(seq, CHECK_STEPS, batch, spec.hiddenSize())));
        }
    }

    /** Throws unless step t's output {@code got} matches the oracle's output at t. */
    private void compare(int t, RnnOutput want, Tensor got, int batch, int hidden, double tol) {
        int n = batch * hidden;
        float[] wt = java.util.Arrays.copyOfRange(want.y().toArray(), t * n, (t + 1) * n);
        double err = Tolerance.maxAbsDifference(Tensor.of(wt, batch, hidden), Tensor.of(got.toArray(), batch, hidden));
        if (!(err <= tol)) {
            throw new IllegalStateException(backend + " step " + t + " disagrees with the scalar oracle: max |diff| "
                    + err + " > tolerance " + tol);
        }
    }

    @Benchmark
    public Tensor step() {
        if (dnn != null) {
            oneDnnStep(x3);
            return y3;
        }
        plan.step(x, state, y);
        return y;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (plan != null) {
            plan.close();
        }
        if (dnn != null) {
            dnn.close();
            arena.close();
        }
    }
}
