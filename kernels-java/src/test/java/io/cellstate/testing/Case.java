package io.cellstate.testing;

import io.cellstate.Cell;
import io.cellstate.Direction;
import io.cellstate.Layout;
import io.cellstate.RnnInput;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * One random conformance case: a spec, the call's sizes and options, and the seed everything
 * random in it comes from. {@link #toString()} names all of it, so a failure can be replayed.
 */
public record Case(long seed, RnnSpec spec, int steps, int batch, Layout layout, Lengths lengths, boolean h0, boolean c0) {

    /** How per-sequence lengths are given. */
    public enum Lengths {
        /** null: every sequence has length T. */
        NONE,
        /** Given, all equal to T. */
        ALL_FULL,
        /** Random in [1, T], with at least one 1 and one T when B > 1. */
        RANDOM
    }

    /** Every cell, each with its options: the cases cycle through them. */
    public static final Cell[] CELLS = Cell.all().toArray(Cell[]::new);

    /** The awkward sizes every dimension is tried at. */
    public static final int[] AWKWARD = {1, 2, 3, 7, 8, 15, 16, 17, 31, 33, 64, 100, 257};
    private static final int[] SMALL = {1, 2, 3, 7, 8, 15, 16, 17};
    /** Multiply-adds one case may cost the float64 references (a few milliseconds each). */
    private static final double BUDGET = 6e6;

    /** The weights of this case, from its seed. */
    public RnnWeights weights() {
        return RnnWeights.random(spec, seed);
    }

    /** The input of this case, from its seed (inputs and states uniform in [-1, 1]). */
    public RnnInput input() {
        SplittableRandom r = new SplittableRandom(seed * 31 + 7);
        Tensor x = Tensor.of(uniform(r, steps * batch * spec.inputSize(), 1), layout.shape(steps, batch, spec.inputSize()));
        int[] lens = switch (lengths) {
            case NONE -> null;
            case ALL_FULL -> filled(batch, steps);
            case RANDOM -> randomLengths(r);
        };
        int n = spec.stateCount() * batch * spec.hiddenSize();
        Tensor th = h0 ? Tensor.of(uniform(r, n, 1), spec.stateCount(), batch, spec.hiddenSize()) : null;
        Tensor tc = c0 && spec.cell().hasCellState()
                ? Tensor.of(uniform(r, n, 2), spec.stateCount(), batch, spec.hiddenSize()) : null;
        return new RnnInput(x, layout, lens, th, tc);
    }

    private int[] randomLengths(SplittableRandom r) {
        int[] lens = new int[batch];
        for (int b = 0; b < batch; b++) {
            lens[b] = 1 + r.nextInt(steps);
        }
        if (batch > 1) {
            lens[r.nextInt(batch)] = 1;
            int full = r.nextInt(batch);
            lens[full] = steps;
        }
        return lens;
    }

    public static float[] uniform(SplittableRandom r, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) r.nextDouble(-scale, scale);
        }
        return a;
    }

    private static int[] filled(int n, int v) {
        int[] a = new int[n];
        java.util.Arrays.fill(a, v);
        return a;
    }

    /** Multiply-adds of the GEMMs of this case. */
    public double cost() {
        return spec.forwardFlops(steps, batch) / 2;
    }

    /**
     * Every awkward size in every dimension (input, hidden, batch, steps), the rest random and small,
     * the cells taken in turn.
     */
    public static List<Case> awkwardSizes(long seed) {
        List<Case> out = new ArrayList<>();
        SplittableRandom r = new SplittableRandom(seed);
        int turn = 0;
        for (int dim = 0; dim < 4; dim++) {
            for (int size : AWKWARD) {
                Cell cell = CELLS[turn++ % CELLS.length];
                for (int attempt = 0; ; attempt++) {
                    int[] s = {pick(r, SMALL), pick(r, SMALL), pick(r, SMALL), pick(r, SMALL)};
                    s[dim] = size;
                    int layers = attempt < 50 ? 1 + r.nextInt(3) : 1;
                    Direction dir = attempt < 50 ? pick(r, Direction.values()) : Direction.FORWARD;
                    if (attempt >= 100) {
                        for (int k = 0; k < 4; k++) {
                            s[k] = k == dim ? size : 1;
                        }
                    }
                    Case c = random(r, cell, s[0], s[1], s[2], s[3], layers, dir);
                    if (c.cost() <= BUDGET || attempt >= 100) {
                        out.add(c);
                        break;
                    }
                }
            }
        }
        return out;
    }

    /** {@code n} cases with every size drawn from {@link #AWKWARD}, within the cost budget, each of a random cell. */
    public static List<Case> randomCases(long seed, int n) {
        List<Case> out = new ArrayList<>();
        SplittableRandom r = new SplittableRandom(seed);
        while (out.size() < n) {
            Case c = random(r, pick(r, CELLS), pick(r, AWKWARD), pick(r, AWKWARD), pick(r, AWKWARD), pick(r, AWKWARD),
                    1 + r.nextInt(3), pick(r, Direction.values()));
            if (c.cost() <= BUDGET) {
                out.add(c);
            }
        }
        return out;
    }

    /**
     * For the LSTM every combination of direction, layout, lengths, initial states and 1 to 3
     * layers, at small sizes; for the other cells (one state, no c0) every direction, layout and
     * lengths, with and without h0 and bias, at 2 layers.
     */
    public static List<Case> featureMatrix(long seed) {
        List<Case> out = new ArrayList<>();
        long s = seed;
        for (Cell cell : CELLS) {
            boolean lstm = cell.hasCellState();
            for (Direction dir : Direction.values()) {
                for (Layout layout : Layout.values()) {
                    for (Lengths lens : Lengths.values()) {
                        for (int states = 0; states < 4; states++) {
                            for (int layers = 1; layers <= 3; layers++) {
                                if (!lstm && (layers != 2 || states > 1)) {
                                    continue;
                                }
                                RnnSpec spec = RnnSpec.builder().cell(cell).inputSize(5).hiddenSize(9).layers(layers)
                                        .direction(dir).bias(states != 1).build();
                                out.add(new Case(s++, spec, 6, 4, layout, lens, lstm ? (states & 1) != 0 : states == 0,
                                        (states & 2) != 0));
                            }
                        }
                    }
                }
            }
        }
        return out;
    }

    private static Case random(SplittableRandom r, Cell cell, int input, int hidden, int batch, int steps, int layers,
                               Direction dir) {
        RnnSpec spec = RnnSpec.builder().cell(cell).inputSize(input).hiddenSize(hidden).layers(layers).direction(dir)
                .bias(r.nextInt(8) != 0).build();
        return new Case(r.nextLong(), spec, steps, batch, pick(r, Layout.values()), pick(r, Lengths.values()),
                r.nextBoolean(), r.nextBoolean());
    }

    private static int pick(SplittableRandom r, int[] a) {
        return a[r.nextInt(a.length)];
    }

    private static <T> T pick(SplittableRandom r, T[] a) {
        return a[r.nextInt(a.length)];
    }

    @Override
    public String toString() {
        return String.format("%s seed=%d I=%d H=%d L=%d %s bias=%s T=%d B=%d %s lengths=%s h0=%s%s", spec.cell(), seed,
                spec.inputSize(), spec.hiddenSize(), spec.layers(), spec.direction(), spec.bias(), steps, batch,
                layout, lengths, h0, spec.cell().hasCellState() ? " c0=" + c0 : "");
    }
}
