package io.cellstate.bench;

import io.cellstate.Backends;
import io.cellstate.PlanOptions;
import io.cellstate.RnnInput;
import io.cellstate.RnnOutput;
import io.cellstate.RnnPlan;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.Tensor;
import java.util.Arrays;
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
 * LSTM forward (inference), one layer, unidirectional, I = H: the time of one call over a batch
 * of B sequences of T steps, per backend. GFLOP/s = 2 T B 4H (I + H) / time.
 *
 * <p>Before timing, each trial runs the plan on the first steps of its input and compares with
 * the scalar oracle within the conformance suite's tolerance, so a fast but wrong kernel fails
 * the run instead of winning it.
 *
 * <p>Run (after {@code ./mvnw -pl bench -am package -DskipTests}):
 * <pre>
 *   java -cp "bench/target/classes:bench/target/lib/*" org.openjdk.jmh.Main LstmForwardBenchmark \
 *        -p backend=vector,scalar -p shape=1x512,64x512 -rf json -rff lstm.json
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class LstmForwardBenchmark {
    /** Steps of the oracle check: enough to exercise the recurrence, cheap enough for the scalar oracle. */
    private static final int CHECK_STEPS = 6;

    @Param({"vector", "scalar"})
    public String backend;

    /** Batch x hidden, input = hidden. */
    @Param({"1x512", "64x512"})
    public String shape;

    @Param({"100"})
    public int steps;

    /** CPU threads for the plan; 0 = all available processors. */
    @Param({"0"})
    public int threads;

    private RnnPlan plan;
    private RnnInput in;
    private RnnOutput out;

    @Setup(Level.Trial)
    public void setUp() {
        String[] bh = shape.split("x");
        int batch = Integer.parseInt(bh[0]);
        int hidden = Integer.parseInt(bh[1]);
        RnnSpec spec = RnnSpec.lstm(hidden, hidden);
        RnnWeights weights = RnnWeights.random(spec, 42);
        SplittableRandom r = new SplittableRandom(7);
        float[] x = new float[steps * batch * hidden];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextDouble(-1, 1);
        }
        in = RnnInput.of(Tensor.of(x, steps, batch, hidden));
        out = RnnOutput.allocate(spec, in.layout(), steps, batch);
        plan = Backends.get(backend, spec).plan(spec, weights, PlanOptions.defaults().withThreads(threads));
        OracleCheck.verify(plan, spec, weights, Tensor.of(Arrays.copyOf(x, CHECK_STEPS * batch * hidden),
                CHECK_STEPS, batch, hidden));
    }

    @Benchmark
    public RnnOutput forward() {
        plan.forward(in, out);
        return out;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        plan.close();
    }
}
