package io.cellstate.bench;

import io.cellstate.Cell;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.Tensor;
import java.lang.foreign.Arena;
import java.util.SplittableRandom;

/**
 * The case of a benchmark trial from its {@code cell} and {@code shape} ({@code "BxH"}) parameters:
 * one layer, unidirectional, input = hidden, with weights of seed 42; and what the trials build
 * alike: seeded off-heap data, a sequence's first steps in place, the thread count a peer gets,
 * the teardown.
 *
 * @param spec    the network
 * @param batch   B
 * @param weights random weights of {@code spec}, seed 42
 */
record BenchCase(RnnSpec spec, int batch, RnnWeights weights) {

    /** The case of {@code cell} ({@link Cell#named}) at {@code shape} {@code "BxH"}. */
    static BenchCase of(String cell, String shape) {
        String[] bh = shape.split("x");
        int batch = Integer.parseInt(bh[0]);
        int hidden = Integer.parseInt(bh[1]);
        RnnSpec spec = RnnSpec.builder().cell(Cell.named(cell)).inputSize(hidden).hiddenSize(hidden).build();
        return new BenchCase(spec, batch, RnnWeights.random(spec, 42));
    }

    int hidden() {
        return spec.hiddenSize();
    }

    /** The thread count a peer gets for a trial's {@code threads}: 0 means all available processors. */
    static int cpuThreads(int threads) {
        return threads == 0 ? Runtime.getRuntime().availableProcessors() : threads;
    }

    /** A tensor of {@code arena} filled in flat order with uniform draws from [-1, 1) of {@code r}. */
    static Tensor random(Arena arena, SplittableRandom r, int... shape) {
        Tensor t = Tensor.allocate(arena, shape);
        for (long i = 0; i < t.size(); i++) {
            t.setFlat(i, (float) r.nextDouble(-1, 1));
        }
        return t;
    }

    /** The first {@code steps} steps of a sequence-major tensor {@code [T, B, n]}, in place. */
    static Tensor prefix(Tensor t, int steps) {
        long floats = (long) steps * t.dim(1) * t.dim(2);
        return Tensor.wrap(t.segment().asSlice(0, floats * Float.BYTES), steps, t.dim(1), t.dim(2));
    }

    /** Closes a trial's kernel (if it got one), then its arena, even if the kernel fails to close. */
    static void close(AutoCloseable kernel, Arena arena) throws Exception {
        try {
            if (kernel != null) {
                kernel.close();
            }
        } finally {
            arena.close();
        }
    }
}
