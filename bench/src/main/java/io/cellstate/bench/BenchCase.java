package io.cellstate.bench;

import io.cellstate.Cell;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.Tensor;
import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The case of a benchmark trial from its {@code cell} and {@code shape} ({@code "BxH"}) parameters:
 * one layer, unidirectional, input = hidden, with weights of seed 42; and what the trials build
 * alike: seeded off-heap data, a sequence's first steps in place, the thread count a peer gets,
 * the teardown.
 *
 * <p>The {@code cell} parameter is the one place a benchmark's cell name becomes a {@link Cell}
 * ({@link #cell}): a name of {@link Cell#named}, or an LSTM with the options oneDNN also has, named
 * relative to H so that one name fits every shape: {@code lstm-proj2} and {@code lstm-proj4} (a
 * projection to P = H/2 or H/4, PyTorch's {@code proj_size}), {@code lstm-peephole}, or both joined
 * ({@code lstm-proj2-peephole}).
 *
 * @param spec    the network
 * @param batch   B
 * @param weights random weights of {@code spec}, seed 42
 */
record BenchCase(RnnSpec spec, int batch, RnnWeights weights) {

    /** Prefix of the names of an LSTM with options. */
    private static final String LSTM_WITH = "lstm-";
    /** An option of {@link #LSTM_WITH}: a projection to P = H / K ({@code projK}). */
    private static final Pattern PROJECTION = Pattern.compile("proj(\\d{1,9})");
    private static final String PEEPHOLE = "peephole";

    /** The case of {@code cell} ({@link #cell}) at {@code shape} {@code "BxH"}. */
    static BenchCase of(String cell, String shape) {
        String[] bh = shape.split("x");
        int batch = Integer.parseInt(bh[0]);
        RnnSpec spec = spec(cell, Integer.parseInt(bh[1]));
        return new BenchCase(spec, batch, RnnWeights.random(spec, 42));
    }

    /** The network of a trial: one layer of {@code cell} ({@link #cell}), forward, I = H = {@code hidden}. */
    static RnnSpec spec(String cell, int hidden) {
        return RnnSpec.builder().cell(cell(cell, hidden)).inputSize(hidden).hiddenSize(hidden).build();
    }

    /**
     * The cell a benchmark's {@code cell} parameter names at hidden size {@code hidden}: a name of
     * {@link Cell#named} ({@code lstm}, {@code gru}, ...), or {@code lstm-} followed by options joined
     * with '-', each once: {@code projK}, a projection to P = H / K (K >= 2 dividing H), and
     * {@code peephole}.
     *
     * @throws IllegalArgumentException for another name, or a K that does not divide H, naming what it expected
     */
    static Cell cell(String name, int hidden) {
        if (name == null || !name.startsWith(LSTM_WITH)) {
            try {
                return Cell.named(name);
            } catch (IllegalArgumentException | NullPointerException e) {
                throw new IllegalArgumentException(e.getMessage() + "; or an LSTM with options: lstm-proj<K> (P = H/K),"
                        + " lstm-peephole, or both as lstm-proj<K>-peephole", e);
            }
        }
        int projection = 0;
        boolean peepholes = false;
        for (String option : name.substring(LSTM_WITH.length()).split("-", -1)) {
            Matcher m = PROJECTION.matcher(option);
            if (m.matches() && projection == 0) {
                int k = Integer.parseInt(m.group(1));
                if (k < 2 || hidden % k != 0) {
                    throw new IllegalArgumentException("cell " + name + ": expected proj<K> with K >= 2 dividing H = " + hidden
                            + " (P = H/K), got K = " + k);
                }
                projection = hidden / k;
            } else if (option.equals(PEEPHOLE) && !peepholes) {
                peepholes = true;
            } else {
                throw new IllegalArgumentException("cell " + name + ": expected options proj<K> (P = H/K) and peephole,"
                        + " each at most once, joined by '-', got '" + option + "'");
            }
        }
        return Cell.lstm().withProjection(projection).withPeepholes(peepholes);
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
