package io.cellstate.bench;

import io.cellstate.Backends;
import io.cellstate.PlanOptions;
import io.cellstate.RnnInput;
import io.cellstate.RnnOutput;
import io.cellstate.RnnPlan;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.Tensor;
import io.cellstate.WorkerGroup;
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
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A framework's case: four threads, each with a plan of its own over shared weights, calling at
 * once (JMH {@code @Threads(4)}, more threads than this machine's cores). The score is the time of
 * one call as each thread sees it; the four threads together do four calls in that time.
 *
 * <p>What it compares, at {@code threads} 0 (a plan may use every core) and 1:
 * <ul>
 *   <li>{@code vector}: the plans borrow helpers from the common {@link WorkerGroup}, which lets no
 *       more threads run at once than there are cores, callers counted: with four callers on two
 *       cores, every call runs on its caller alone;</li>
 *   <li>{@code vector-private}: each plan has a group of its own as large as the machine, as every
 *       plan had its own pool before the groups: four callers each with helpers, oversubscribing the
 *       cores, and each call waiting at its barriers for helpers that are off their core;</li>
 *   <li>{@code onednn}, the peer: one oneDNN LSTM per thread, {@code threads} OpenMP threads each
 *       (0: all processors), which oversubscribes the same way.</li>
 * </ul>
 * Before timing, each thread's plan is checked against the scalar oracle (as in
 * {@link ForwardBenchmark}), so a fast but wrong kernel fails the run.
 *
 * <p>Run (after {@code ./mvnw -pl bench -am package -DskipTests}):
 * <pre>
 *   java -cp "bench/target/classes:bench/target/lib/*" org.openjdk.jmh.Main ConcurrentPlansBenchmark \
 *        -p threads=0,1 -rf json -rff concurrent.json
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Threads(4)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class ConcurrentPlansBenchmark {
    private static final int CHECK_STEPS = 6;
    /** The name of the plans with a worker group each in {@link #backend}. */
    static final String PRIVATE = "vector-private";

    /** {@code vector} (the common group), {@code vector-private} (a group per plan) or {@code onednn}. */
    @Param({"vector", PRIVATE, ForwardBenchmark.ONEDNN})
    public String backend;

    /**
     * Batch x hidden, input = hidden. At 1x256 a step is a few microseconds, so a call is as slow as
     * its barriers: where helpers are off their core, that is what oversubscription costs.
     */
    @Param({"1x256", "16x256"})
    public String shape;

    @Param({"50"})
    public int steps;

    /** The most threads one call may use; 0 = all available processors. */
    @Param({"0", "1"})
    public int threads;

    RnnSpec spec;
    RnnWeights weights;
    int batch;
    Arena arena;
    Tensor x;

    @Setup(Level.Trial)
    public void setUp() {
        BenchCase c = BenchCase.of("lstm", shape);
        spec = c.spec();
        weights = c.weights();
        batch = c.batch();
        arena = Arena.ofShared();
        x = BenchCase.random(arena, new SplittableRandom(7), steps, batch, c.hidden());
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    /** One thread's plan (or oneDNN instance) and its outputs. */
    @State(Scope.Thread)
    public static class Caller {
        private Arena arena;
        private AutoCloseable kernel;
        private WorkerGroup group;
        private Runnable pass;
        private Tensor y;

        @Setup(Level.Trial)
        public void setUp(ConcurrentPlansBenchmark b) {
            RnnSpec spec = b.spec;
            int hidden = spec.hiddenSize();
            arena = Arena.ofShared();
            y = Tensor.allocate(arena, b.steps, b.batch, spec.outputSize());
            Tensor hN = Tensor.allocate(arena, spec.stateCount(), b.batch, hidden);
            Tensor cN = Tensor.allocate(arena, spec.stateCount(), b.batch, hidden);
            if (ForwardBenchmark.ONEDNN.equals(b.backend)) {
                OneDnnRnn dnn = new OneDnnRnn(spec, b.weights, b.steps, b.batch, BenchCase.cpuThreads(b.threads));
                kernel = dnn;
                pass = () -> dnn.forward(b.x, null, null, y, hN, cN);
            } else {
                PlanOptions options = PlanOptions.defaults().withThreads(b.threads);
                if (PRIVATE.equals(b.backend)) {
                    group = WorkerGroup.create(Runtime.getRuntime().availableProcessors());
                    options = options.withWorkers(group);
                }
                RnnPlan plan = Backends.get("vector", spec).plan(spec, b.weights, options);
                kernel = plan;
                RnnInput in = RnnInput.of(b.x);
                RnnOutput out = new RnnOutput(y, hN, cN);
                pass = () -> plan.forward(in, out);
            }
            pass.run();
            int checked = Math.min(CHECK_STEPS, b.steps);
            Tensor prefix = Tensor.wrap(b.x.segment().asSlice(0, (long) checked * b.batch * hidden * Float.BYTES),
                    checked, b.batch, hidden);
            OracleCheck.verifyPrefix(b.backend, y, spec, b.weights, prefix, kernel instanceof RnnPlan p ? p : null);
        }

        @TearDown(Level.Trial)
        public void tearDown() throws Exception {
            try {
                kernel.close();
                if (group != null) {
                    group.close();
                }
            } finally {
                arena.close();
            }
        }
    }

    @Benchmark
    public Tensor forward(Caller caller) {
        caller.pass.run();
        return caller.y;
    }
}
