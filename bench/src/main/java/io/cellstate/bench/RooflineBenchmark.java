package io.cellstate.bench;

import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The two ceilings of a roofline on this machine, measured from Java as the kernels run: the FMA peak
 * of one core through the Vector API (the preferred species, and 256 bits, AVX2's width), and the read bandwidth of one and two cores from a buffer far larger than the caches.
 * A kernel's GFLOP/s against the first and its arithmetic intensity against the second say whether a
 * shape is bound by compute or by memory (issue 14's "show why with numbers").
 *
 * <p>{@code fma}: 12 independent accumulator chains of FMAs over registers only (12 covers the FMA latency
 * of 4 cycles times 2 ports, with margin), so the loop is bound by the FMA units alone; 2 flops per lane per FMA.
 * {@code read}: the sum of a 256 MiB float array with 4 vector accumulators; bytes per second = 4 x
 * floats / time. JMH's {@code @Threads} 1 and 2 (two benchmark methods) give the per-core and the
 * two-core figures; each thread reads its own array.
 *
 * <p>Run: {@code java --add-modules jdk.incubator.vector -cp "bench/target/classes:bench/target/lib/*"
 * org.openjdk.jmh.Main RooflineBenchmark -f 1 -wi 3 -i 5} and read the scores as GFLOP/s
 * ({@code fmaPreferred}, {@code fma256}: flops per lane per microsecond, so score x lanes x 1e-3; 16 lanes at 512
 * bits, 8 at 256) and
 * GB/s ({@code read1}, {@code read2}: floats per microsecond per thread, so score x threads x 4e-3).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class RooflineBenchmark {
    private static final int FMA_ITERATIONS = 1 << 16;
    private static final int CHAINS = 12;
    private static final int READ_FLOATS = 64 << 20;

    /**
     * The species are constants: the Vector API compiles to vector instructions only where C2 sees the
     * species as one (a species read from a field runs the boxed Java fallback, a thousand times slower).
     */
    private static final VectorSpecies<Float> PREFERRED = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Float> AVX2 = FloatVector.SPECIES_256;

    private float[] seed;
    private float[] big;

    @Setup(Level.Trial)
    public void setUp() {
        seed = new float[PREFERRED.length() * (CHAINS + 2)];
        for (int i = 0; i < seed.length; i++) {
            seed[i] = 1f + i * 1e-7f;
        }
        big = new float[READ_FLOATS];
        for (int i = 0; i < big.length; i++) {
            big[i] = (i & 1023) * 1e-3f;
        }
    }

    /**
     * 12 chains of FMAs over registers at the preferred width; an operation is one lane's two flops of one FMA.
     *
     * @return a sum JMH consumes
     */
    @Benchmark
    @Threads(1)
    @OperationsPerInvocation(2 * CHAINS * FMA_ITERATIONS)
    public float fmaPreferred() {
        return fmaPreferred(seed);
    }

    /**
     * The same at 256 bits (AVX2's width, what {@code -Dcellstate.vector.bits=256} gives the kernels).
     *
     * @return a sum JMH consumes
     */
    @Benchmark
    @Threads(1)
    @OperationsPerInvocation(2 * CHAINS * FMA_ITERATIONS)
    public float fma256() {
        return fma256(seed);
    }

    /** The chains at the preferred width: written out per species, which C2 must see as a constant. */
    private static float fmaPreferred(float[] seed) {
        VectorSpecies<Float> s = PREFERRED;
        FloatVector m = FloatVector.fromArray(s, seed, 0);
        FloatVector a = FloatVector.fromArray(s, seed, s.length());
        FloatVector c0 = FloatVector.fromArray(s, seed, 2 * s.length());
        FloatVector c1 = c0.add(1e-3f);
        FloatVector c2 = c0.add(2e-3f);
        FloatVector c3 = c0.add(3e-3f);
        FloatVector c4 = c0.add(4e-3f);
        FloatVector c5 = c0.add(5e-3f);
        FloatVector c6 = c0.add(6e-3f);
        FloatVector c7 = c0.add(7e-3f);
        FloatVector c8 = c0.add(8e-3f);
        FloatVector c9 = c0.add(9e-3f);
        FloatVector c10 = c0.add(10e-3f);
        FloatVector c11 = c0.add(11e-3f);
        for (int i = 0; i < FMA_ITERATIONS; i++) {
            c0 = c0.fma(m, a);
            c1 = c1.fma(m, a);
            c2 = c2.fma(m, a);
            c3 = c3.fma(m, a);
            c4 = c4.fma(m, a);
            c5 = c5.fma(m, a);
            c6 = c6.fma(m, a);
            c7 = c7.fma(m, a);
            c8 = c8.fma(m, a);
            c9 = c9.fma(m, a);
            c10 = c10.fma(m, a);
            c11 = c11.fma(m, a);
        }
        return c0.add(c1).add(c2).add(c3).add(c4).add(c5).add(c6).add(c7).add(c8).add(c9).add(c10).add(c11)
                .reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
    }

    /** The same chains at 256 bits. */
    private static float fma256(float[] seed) {
        VectorSpecies<Float> s = AVX2;
        FloatVector m = FloatVector.fromArray(s, seed, 0);
        FloatVector a = FloatVector.fromArray(s, seed, s.length());
        FloatVector c0 = FloatVector.fromArray(s, seed, 2 * s.length());
        FloatVector c1 = c0.add(1e-3f);
        FloatVector c2 = c0.add(2e-3f);
        FloatVector c3 = c0.add(3e-3f);
        FloatVector c4 = c0.add(4e-3f);
        FloatVector c5 = c0.add(5e-3f);
        FloatVector c6 = c0.add(6e-3f);
        FloatVector c7 = c0.add(7e-3f);
        FloatVector c8 = c0.add(8e-3f);
        FloatVector c9 = c0.add(9e-3f);
        FloatVector c10 = c0.add(10e-3f);
        FloatVector c11 = c0.add(11e-3f);
        for (int i = 0; i < FMA_ITERATIONS; i++) {
            c0 = c0.fma(m, a);
            c1 = c1.fma(m, a);
            c2 = c2.fma(m, a);
            c3 = c3.fma(m, a);
            c4 = c4.fma(m, a);
            c5 = c5.fma(m, a);
            c6 = c6.fma(m, a);
            c7 = c7.fma(m, a);
            c8 = c8.fma(m, a);
            c9 = c9.fma(m, a);
            c10 = c10.fma(m, a);
            c11 = c11.fma(m, a);
        }
        return c0.add(c1).add(c2).add(c3).add(c4).add(c5).add(c6).add(c7).add(c8).add(c9).add(c10).add(c11)
                .reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
    }

    /**
     * Reads {@link #READ_FLOATS} floats; one thread.
     *
     * @return their sum
     */
    @Benchmark
    @Threads(1)
    @OperationsPerInvocation(READ_FLOATS)
    public float read1() {
        return sum();
    }

    /**
     * Reads {@link #READ_FLOATS} floats in each of two threads, each its own array.
     *
     * @return their sum
     */
    @Benchmark
    @Threads(2)
    @OperationsPerInvocation(READ_FLOATS)
    public float read2() {
        return sum();
    }

    private float sum() {
        VectorSpecies<Float> s = PREFERRED;
        int n = s.length();
        FloatVector a0 = FloatVector.zero(s);
        FloatVector a1 = FloatVector.zero(s);
        FloatVector a2 = FloatVector.zero(s);
        FloatVector a3 = FloatVector.zero(s);
        float[] b = big;
        for (int i = 0; i + 4 * n <= b.length; i += 4 * n) {
            a0 = a0.add(FloatVector.fromArray(s, b, i));
            a1 = a1.add(FloatVector.fromArray(s, b, i + n));
            a2 = a2.add(FloatVector.fromArray(s, b, i + 2 * n));
            a3 = a3.add(FloatVector.fromArray(s, b, i + 3 * n));
        }
        return a0.add(a1).add(a2).add(a3).reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
    }
}
