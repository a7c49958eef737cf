package io.cellstate.scalar;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cellstate.Cell;
import io.cellstate.Direction;
import io.cellstate.RnnSpec;
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
 * directions, bias or none, variable lengths and initial states or zeros.
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
        return all.stream();
    }

    private static Arguments config(Cell cell, int layers, Direction dir, boolean bias, int[] lengths, boolean init) {
        RnnSpec spec = RnnSpec.builder().cell(cell).inputSize(3).hiddenSize(2).layers(layers).direction(dir).bias(bias)
                .build();
        Config c = new Config(spec, lengths, init);
        return Arguments.of(c.toString(), c);
    }

    /** The loss and everything it is a function of, all float64. */
    private static final class Problem {
        final RnnSpec spec;
        final int[] lengths;
        final double[][] wIh;
        final double[][] wHh;
        final double[][] bIh;
        final double[][] bHh;
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
            int rows = spec.gates() * spec.hiddenSize();
            wIh = new double[n][];
            wHh = new double[n][];
            bIh = new double[n][];
            bHh = new double[n][];
            for (int l = 0; l < spec.layers(); l++) {
                for (int d = 0; d < spec.directions(); d++) {
                    int s = l * spec.directions() + d;
                    wIh[s] = random(rng, rows * spec.layerInputSize(l), 0.8);
                    wHh[s] = random(rng, rows * spec.hiddenSize(), 0.8);
                    bIh[s] = spec.bias() ? random(rng, rows, 0.5) : new double[rows];
                    bHh[s] = spec.bias() ? random(rng, rows, 0.5) : new double[rows];
                }
            }
            int state = n * BATCH * spec.hiddenSize();
            x = random(rng, STEPS * BATCH * spec.inputSize(), 1);
            h0 = c.initialState() ? random(rng, state, 0.8) : null;
            c0 = c.initialState() && spec.cell().hasCellState() ? random(rng, state, 0.8) : null;
            dy = random(rng, STEPS * BATCH * spec.outputSize(), 1);
            dhN = random(rng, state, 1);
            dcN = spec.cell().hasCellState() ? random(rng, state, 1) : null;
        }

        Bptt model() {
            return new Bptt(spec, wIh, wHh, bIh, bHh);
        }

        double loss() {
            int state = spec.stateCount() * BATCH * spec.hiddenSize();
            double[] y = new double[STEPS * BATCH * spec.outputSize()];
            double[] hN = new double[state];
            double[] cN = new double[state];
            model().forward(x, STEPS, BATCH, lengths, h0, c0, false, y, hN, cN, null);
            double l = dot(dy, y) + dot(dhN, hN);
            return dcN == null ? l : l + dot(dcN, cN);
        }

        Bptt.Grads grads() {
            int state = spec.stateCount() * BATCH * spec.hiddenSize();
            Bptt m = model();
            Bptt.Tape tape = new Bptt.Tape(spec, STEPS, BATCH, lengths);
            m.forward(x, STEPS, BATCH, lengths, h0, c0, false, new double[STEPS * BATCH * spec.outputSize()],
                    new double[state], new double[state], tape);
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
            check(p, "W_ih[" + s + "]", p.wIh[s], g.dWih[s], bad, checked);
            check(p, "W_hh[" + s + "]", p.wHh[s], g.dWhh[s], bad, checked);
            if (p.spec.bias()) {
                check(p, "b_ih[" + s + "]", p.bIh[s], g.dbIh[s], bad, checked);
                check(p, "b_hh[" + s + "]", p.bHh[s], g.dbHh[s], bad, checked);
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
