package io.cellstate.scalar;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cellstate.Activation;
import io.cellstate.Activation.Function;
import io.cellstate.Cell;
import io.cellstate.Direction;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights.Param;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The oracle's gradients against central finite differences of its own float64 forward pass, as
 * PyTorch's {@code gradcheck} checks a backward: eps 1e-6, |analytic - numeric| <= 1e-5 + 1e-3 |numeric|,
 * for every input, initial state, weight and bias. The loss weights every output, final hidden and
 * final cell state differently (sum(dy y) + sum(dhN hN) + sum(dcN cN) with random dy, dhN, dcN), so
 * a gradient that reaches the right tensor at the wrong place fails. Every cell, with layers,
 * directions, bias or none, variable lengths and initial states or zeros; and the LSTM's options
 * (projection, peepholes, clip, coupled gates) alone and together, and every ONNX activation in
 * every role of every cell, per direction.
 */
class BpttGradCheckTest {
    private static final double EPS = 1e-6;
    private static final double ATOL = 1e-5;
    private static final double RTOL = 1e-3;
    private static final int STEPS = 4;
    private static final int BATCH = 3;

    /** One configuration: the spec, the lengths (null: all T), and whether h0 and c0 are given. */
    record Config(RnnSpec spec, int[] lengths, boolean initialState) {
        @Override
        public String toString() {
            return spec.cell() + " layers=" + spec.layers() + " " + spec.direction() + (spec.bias() ? "" : " no-bias")
                    + (lengths == null ? "" : " lengths=" + java.util.Arrays.toString(lengths))
                    + (initialState ? " h0" : " zero-state");
        }
    }

    static Stream<Arguments> configs() {
        List<Arguments> all = new ArrayList<>();
        for (Cell cell : Cell.all()) {
            all.add(config(cell, 1, Direction.FORWARD, true, null, true));
            all.add(config(cell, 1, Direction.FORWARD, false, null, false));
            all.add(config(cell, 1, Direction.REVERSE, true, new int[] {4, 2, 3}, true));
            all.add(config(cell, 2, Direction.BIDIRECTIONAL, true, new int[] {3, 4, 1}, true));
            all.add(config(cell, 2, Direction.FORWARD, true, new int[] {2, 4, 4}, false));
        }
        Cell.Lstm lstm = Cell.lstm();
        // hidden 3 so that a projection (P = 1, 2) is smaller; clip 0.3 holds some pre-activations and not others
        for (Cell.Lstm c : List.of(lstm.withProjection(2), lstm.withProjection(1), lstm.withPeepholes(true),
                lstm.withClip(0.3f), lstm.withInputForget(true),
                lstm.withProjection(2).withPeepholes(true).withClip(0.4f).withInputForget(true))) {
            all.add(config(c, 3, 1, Direction.FORWARD, true, null, true));
            all.add(config(c, 3, 2, Direction.BIDIRECTIONAL, true, new int[] {3, 4, 1}, true));
        }
        // every function in every role (Relu, ThresholdedRelu and HardSigmoid have kinks the random points avoid)
        List<Activation> smooth = new ArrayList<>();
        for (Function f : Function.values()) {
            smooth.add(switch (f) {
                case AFFINE -> new Activation(f, 0.7f, -0.2f);
                case LEAKY_RELU -> new Activation(f, 0.1f, 0);
                case THRESHOLDED_RELU -> new Activation(f, 0.05f, 0);
                case SCALED_TANH -> new Activation(f, 1.5f, 0.8f);
                case HARD_SIGMOID -> new Activation(f, 0.3f, 0.4f);
                case ELU -> new Activation(f, 0.9f, 0);
                default -> Activation.of(f);
            });
        }
        for (int i = 0; i < smooth.size(); i++) {
            Activation a = smooth.get(i);
            Activation b = smooth.get((i + 3) % smooth.size());
            Activation c = smooth.get((i + 7) % smooth.size());
            all.add(config(lstm.withActivations(a, b, c, c, a, b), 2, 1, Direction.BIDIRECTIONAL, true, new int[] {4, 2, 3},
                    true));
            all.add(config(Cell.gru().withActivations(b, a), 2, 1, Direction.FORWARD, true, null, true));
            all.add(config(Cell.gruOriginal().withActivations(a, c, c, b), 2, 1, Direction.BIDIRECTIONAL, true, null, true));
            all.add(config(new Cell.Rnn(List.of(a, b)), 2, 1, Direction.BIDIRECTIONAL, true, new int[] {1, 4, 2}, true));
        }
        return all.stream();
    }

    private static Arguments config(Cell cell, int hidden, int layers, Direction dir, boolean bias, int[] lengths,
                                    boolean init) {
        RnnSpec spec = RnnSpec.builder().cell(cell).inputSize(3).hiddenSize(hidden).layers(layers).direction(dir)
                .bias(bias).build();
        Config c = new Config(spec, lengths, init);
        return Arguments.of(c.toString(), c);
    }

    private static Arguments config(Cell cell, int layers, Direction dir, boolean bias, int[] lengths, boolean init) {
        return config(cell, 2, layers, dir, bias, lengths, init);
    }

    /** The loss and everything it is a function of, all float64. */
    private static final class Problem {
        final RnnSpec spec;
        final int[] lengths;
        /** Per Param ordinal and slot, as the oracle takes them. */
        final double[][][] w;
        final double[] x;
        final double[] h0;
        final double[] c0;
        final double[] dy;
        final double[] dhN;
        final double[] dcN;

        Problem(Config c, long seed) {
            spec = c.spec();
            lengths = c.lengths();
            SplittableRandom rng = new SplittableRandom(seed);
            int n = spec.stateCount();
            w = new double[Param.values().length][n][];
            for (int l = 0; l < spec.layers(); l++) {
                for (int d = 0; d < spec.directions(); d++) {
                    int s = l * spec.directions() + d;
                    for (Param p : Param.values()) {
                        int size = 1;
                        for (int k : p.shape(spec, l)) {
                            size *= k;
                        }
                        w[p.ordinal()][s] = p.in(spec) ? random(rng, size, p.isBias() ? 0.5 : 0.8) : new double[size];
                    }
                }
            }
            int state = n * BATCH * spec.outputHiddenSize();
            int cells = n * BATCH * spec.hiddenSize();
            x = random(rng, STEPS * BATCH * spec.inputSize(), 1);
            h0 = c.initialState() ? random(rng, state, 0.8) : null;
            c0 = c.initialState() && spec.cell().hasCellState() ? random(rng, cells, 0.8) : null;
            dy = random(rng, STEPS * BATCH * spec.outputSize(), 1);
            dhN = random(rng, state, 1);
            dcN = spec.cell().hasCellState() ? random(rng, cells, 1) : null;
        }

        Bptt model() {
            return new Bptt(spec, w);
        }

        double loss() {
            double[] y = new double[STEPS * BATCH * spec.outputSize()];
            double[] hN = new double[spec.stateCount() * BATCH * spec.outputHiddenSize()];
            double[] cN = new double[spec.stateCount() * BATCH * spec.hiddenSize()];
            model().forward(x, STEPS, BATCH, lengths, h0, c0, false, y, hN, cN, null);
            double l = dot(dy, y) + dot(dhN, hN);
            return dcN == null ? l : l + dot(dcN, cN);
        }

        Bptt.Grads grads() {
            Bptt m = model();
            Bptt.Tape tape = new Bptt.Tape(spec, STEPS, BATCH, lengths);
            m.forward(x, STEPS, BATCH, lengths, h0, c0, false, new double[STEPS * BATCH * spec.outputSize()],
                    new double[spec.stateCount() * BATCH * spec.outputHiddenSize()],
                    new double[spec.stateCount() * BATCH * spec.hiddenSize()], tape);
            return m.backward(tape, dy, dhN, dcN);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void gradientsMatchFiniteDifferences(String name, Config config) {
        Problem p = new Problem(config, name.hashCode());
        Bptt.Grads g = p.grads();
        List<String> bad = new ArrayList<>();
        int[] checked = {0};
        check(p, "x", p.x, g.dx, bad, checked);
        if (p.h0 != null) {
            check(p, "h0", p.h0, g.dh0, bad, checked);
        }
        if (p.c0 != null) {
            check(p, "c0", p.c0, g.dc0, bad, checked);
        }
        for (int s = 0; s < p.spec.stateCount(); s++) {
            for (Param param : Param.values()) {
                if (param.in(p.spec)) {
                    check(p, param.pytorchName() + "[" + s + "]", p.w[param.ordinal()][s], g.dw[param.ordinal()][s], bad,
                            checked);
                }
            }
        }
        assertTrue(bad.isEmpty(), bad.size() + " of " + checked[0] + " gradients off, first: "
                + bad.subList(0, Math.min(5, bad.size())));
        assertTrue(checked[0] > 20, "checked " + checked[0]);
    }

    /** Central differences of the loss in each element of {@code v} (perturbed in place, then restored). */
    private static void check(Problem p, String what, double[] v, double[] analytic, List<String> bad, int[] checked) {
        for (int i = 0; i < v.length; i++) {
            double keep = v[i];
            v[i] = keep + EPS;
            double up = p.loss();
            v[i] = keep - EPS;
            double down = p.loss();
            v[i] = keep;
            double numeric = (up - down) / (2 * EPS);
            checked[0]++;
            if (!(Math.abs(analytic[i] - numeric) <= ATOL + RTOL * Math.abs(numeric))) {
                bad.add(what + "[" + i + "]: analytic " + analytic[i] + ", numeric " + numeric);
            }
        }
    }

    private static double[] random(SplittableRandom rng, int n, double scale) {
        double[] a = new double[n];
        for (int i = 0; i < n; i++) {
            a[i] = rng.nextDouble(-scale, scale);
        }
        return a;
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }
}
