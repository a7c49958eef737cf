package io.cellstate.testing;

import io.cellstate.Activation;
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
        int nh = spec.stateCount() * batch * spec.outputHiddenSize();
        Tensor th = h0 ? Tensor.of(uniform(r, nh, 1), spec.stateCount(), batch, spec.outputHiddenSize()) : null;
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

    // ---------------------------------------------------------------- cells with options

    /**
     * A cell with options (never a plain one) for a network of {@code hidden} units: an LSTM (half the time)
     * with each of projection (P = H/2 or 1), peepholes, clip (0.5, small enough to bite, or 3), coupled gates
     * and other activations at random, a GRU of either formula or an RNN with other activations; with
     * {@code bidirectional}, a third of the activation lists are per direction.
     *
     * @param r             the source of randomness
     * @param hidden        H, which bounds the projection
     * @param bidirectional whether the network has two directions
     * @return the cell
     */
    public static Cell randomOptionCell(SplittableRandom r, int hidden, boolean bidirectional) {
        int kind = r.nextInt(6);
        boolean perDirection = bidirectional && r.nextInt(3) == 0;
        if (kind < 3) {
            int proj = hidden < 2 ? 0 : switch (r.nextInt(4)) {
                case 0 -> hidden / 2;
                case 1 -> 1;
                default -> 0;
            };
            float clip = switch (r.nextInt(3)) {
                case 0 -> 0.5f;
                case 1 -> 3f;
                default -> Float.POSITIVE_INFINITY;
            };
            Cell.Lstm c = new Cell.Lstm(proj, r.nextBoolean(), clip, r.nextInt(3) == 0,
                    r.nextBoolean() ? activations(r, 3, perDirection) : null);
            return c.isPlain() ? c.withPeepholes(true) : c;
        }
        if (kind < 5) {
            return new Cell.Gru(kind == 3, activations(r, 2, perDirection));
        }
        Cell.Rnn rnn = new Cell.Rnn(activations(r, 1, perDirection));
        return rnn.isPlain() ? new Cell.Rnn(java.util.List.of(Activation.of(Activation.Function.SOFTSIGN))) : rnn;
    }

    /** {@code roles} random activations, or twice as many; never all the defaults (σ, tanh, ...). */
    private static java.util.List<Activation> activations(SplittableRandom r, int roles, boolean perDirection) {
        List<Activation> a = new ArrayList<>();
        for (int i = 0; i < (perDirection ? 2 : 1) * roles; i++) {
            a.add(randomActivation(r));
        }
        if (a.get(0).function() == Activation.Function.SIGMOID || a.get(0).function() == Activation.Function.TANH) {
            a.set(0, Activation.of(Activation.Function.HARD_SIGMOID)); // so the list is none of the plain cells'
        }
        return a;
    }

    /**
     * One of ONNX's eleven functions, at its defaults or (half the time, where it has parameters) with others,
     * tame enough that a few steps of a gate through it do not overflow.
     *
     * @param r the source of randomness
     * @return the activation
     */
    public static Activation randomActivation(SplittableRandom r) {
        Activation.Function f = pick(r, Activation.Function.values());
        if (f.parameters() == 0 || r.nextBoolean()) {
            return Activation.of(f);
        }
        return new Activation(f, (float) r.nextDouble(0.2, 1), (float) r.nextDouble(-0.3, 0.6));
    }

    /**
     * {@code n} cases of cells with options ({@link #randomOptionCell}), sizes among the small awkward ones, 1 to
     * 3 layers, every direction, layout, kind of lengths and initial state, within {@code budget} multiply-adds.
     * Where an LSTM's or a GRU's gates go through an unbounded function (ReLU, Affine, Softplus, ...), the
     * state can grow geometrically (f c or z h with f, z above 1), to overflow in a few dozen steps: those
     * cases get at most 3 steps and 2 layers.
     *
     * @param seed   the seed of the whole list
     * @param n      how many
     * @param budget the most multiply-adds of a case
     * @return the cases
     */
    public static List<Case> optionCases(long seed, int n, double budget) {
        int[] sizes = {1, 2, 3, 7, 8, 15, 16, 17, 33};
        int[] steps = {1, 2, 3, 7, 8, 15, 17};
        List<Case> out = new ArrayList<>();
        SplittableRandom r = new SplittableRandom(seed);
        while (out.size() < n) {
            Direction dir = pick(r, Direction.values());
            int hidden = pick(r, sizes);
            Cell cell = randomOptionCell(r, hidden, dir == Direction.BIDIRECTIONAL);
            boolean wild = !(cell instanceof Cell.Rnn) && (!bounded(cell.activation(0, 0)) || !bounded(cell.activation(0, 1)));
            RnnSpec spec = RnnSpec.builder().cell(cell).inputSize(pick(r, sizes)).hiddenSize(hidden)
                    .layers(1 + r.nextInt(wild ? 2 : 3)).direction(dir).bias(r.nextInt(6) != 0).build();
            Case c = new Case(r.nextLong(), spec, wild ? 1 + r.nextInt(3) : pick(r, steps), pick(r, SMALL),
                    pick(r, Layout.values()), pick(r, Lengths.values()), r.nextBoolean(), r.nextBoolean());
            if (c.cost() <= budget) {
                out.add(c);
            }
        }
        return out;
    }

    /** Whether the function's values stay within [-1, 1] (times ScaledTanh's alpha, at most 1 here). */
    private static boolean bounded(Activation a) {
        return switch (a.function()) {
            case TANH, SIGMOID, HARD_SIGMOID, SOFTSIGN, SCALED_TANH -> true;
            default -> false;
        };
    }

    /**
     * One cell per option, and several together, for the tests that run once per cell: projections (H/2
     * and 1), peepholes, a biting clip, coupled gates, other activations for the LSTM, both GRUs and the
     * RNN; with {@code bidirectional}, also activations per direction. {@code smooth} keeps to activations
     * with a continuous slope and a clip few pre-activations reach (for central differences, which a kink
     * inside the step would spoil).
     *
     * @param hidden        H, at least 4
     * @param bidirectional whether per-direction activations may be among them
     * @param smooth        only activations with continuous slopes, and no clip
     * @return the cells, none plain
     */
    public static List<Cell> optionCells(int hidden, boolean bidirectional, boolean smooth) {
        Activation softsign = Activation.of(Activation.Function.SOFTSIGN);
        Activation scaledTanh = new Activation(Activation.Function.SCALED_TANH, 0.8f, 1.2f);
        Activation softplus = Activation.of(Activation.Function.SOFTPLUS);
        Activation elu = Activation.of(Activation.Function.ELU);
        Activation hardSigmoid = Activation.of(Activation.Function.HARD_SIGMOID);
        Activation leaky = new Activation(Activation.Function.LEAKY_RELU, 0.3f, 0);
        Activation sigmoid = Activation.sigmoid();
        Activation tanh = Activation.tanh();
        List<Cell> cells = new ArrayList<>();
        Cell.Lstm lstm = Cell.lstm();
        cells.add(lstm.withProjection(hidden / 2));
        cells.add(lstm.withProjection(1).withPeepholes(true).withInputForget(true));
        cells.add(lstm.withPeepholes(true).withClip(smooth ? 50f : 0.5f));
        if (smooth) {
            cells.add(lstm.withProjection(hidden / 2).withPeepholes(true).withActivations(softsign, scaledTanh, elu));
            cells.add(Cell.gru().withActivations(softsign, scaledTanh));
            cells.add(Cell.gruOriginal().withActivations(sigmoid, softsign));
            cells.add(new Cell.Rnn(List.of(softplus)));
        } else {
            cells.add(lstm.withInputForget(true).withClip(3f).withActivations(hardSigmoid, softsign, leaky));
            cells.add(lstm.withProjection(hidden / 2).withPeepholes(true).withClip(0.5f).withInputForget(true)
                    .withActivations(softsign, elu, scaledTanh));
            cells.add(Cell.gru().withActivations(hardSigmoid, softsign));
            cells.add(Cell.gruOriginal().withActivations(softsign, leaky));
            cells.add(new Cell.Rnn(List.of(elu)));
        }
        if (bidirectional) {
            cells.add(lstm.withProjection(hidden / 2).withActivations(sigmoid, tanh, tanh, softsign, scaledTanh,
                    smooth ? elu : hardSigmoid));
            cells.add(Cell.gruOriginal().withActivations(sigmoid, tanh, softsign, smooth ? softplus : leaky));
            cells.add(new Cell.Rnn(List.of(tanh, smooth ? softsign : leaky)));
        }
        return cells;
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
