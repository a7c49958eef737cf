package io.cellstate.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.cellstate.Backends;
import io.cellstate.Cell;
import io.cellstate.Direction;
import io.cellstate.ForwardMode;
import io.cellstate.PlanOptions;
import io.cellstate.RnnInput;
import io.cellstate.RnnOutput;
import io.cellstate.RnnOutputGrad;
import io.cellstate.RnnPlan;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.Tensor;
import java.lang.foreign.Arena;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * oneDNN's training primitives, as the training benchmark drives them: their gradients against
 * central finite differences of the scalar oracle's forward pass (independent of any backward pass
 * of ours), and against the scalar oracle's backward pass where it has one. The layout mapping
 * (oneDNN's gate orders, transposed weights, the summed and, for {@code lbr_gru}, the split bias) is
 * what these catch: a wrong mapping is off by the size of a gradient, far beyond either tolerance.
 */
class OneDnnTrainingTest {
    /**
     * Central differences with a step of 1e-2 on a float32 forward: truncation about eps^2 / 6 of the
     * third derivative (~2e-5), and the loss's rounding (~1e-7 over a few dozen outputs) over 2 eps
     * (~1e-5). 2e-4 absolute plus 1e-3 relative (gradcheck's rtol) leaves room for both.
     */
    private static final double EPS = 1e-2;
    private static final double ATOL = 2e-4;
    private static final double RTOL = 1e-3;

    private Arena arena;

    @BeforeEach
    void openArena() {
        arena = Arena.ofConfined();
    }

    @AfterEach
    void closeArena() {
        arena.close();
    }

    /**
     * Every cell but the ReLU RNN, whose kink at 0 a finite difference of 1e-2 straddles too often
     * (it is checked against the oracle's backward below): one layer forward, reverse and
     * bidirectional, and two unidirectional layers in one primitive.
     */
    static Stream<RnnSpec> finiteDifferenceSpecs() {
        Stream<RnnSpec> cells = Stream.of(Cell.lstm(), Cell.gru(), Cell.gruOriginal(), Cell.rnnTanh()).flatMap(c -> Stream.of(
                RnnSpec.builder().cell(c).inputSize(3).hiddenSize(4).build(),
                RnnSpec.builder().cell(c).inputSize(3).hiddenSize(4).direction(Direction.REVERSE).build(),
                RnnSpec.builder().cell(c).inputSize(2).hiddenSize(3).direction(Direction.BIDIRECTIONAL).build(),
                RnnSpec.builder().cell(c).inputSize(3).hiddenSize(3).layers(2).build()));
        return Stream.concat(cells, lstmOptions().flatMap(c -> Stream.of(
                RnnSpec.builder().cell(c).inputSize(3).hiddenSize(4).build(),
                RnnSpec.builder().cell(c).inputSize(2).hiddenSize(4).direction(Direction.BIDIRECTIONAL).build(),
                RnnSpec.builder().cell(c).inputSize(c.projectionSize() > 0 ? c.projectionSize() : 4).hiddenSize(4)
                        .layers(2).build())));
    }

    /**
     * The LSTM's options oneDNN has, alone and together: a projection (W_hr and its gradient through
     * {@code weights_projection}; dh0 and dhN of P columns) and peepholes ({@code weights_peephole}).
     */
    static Stream<Cell.Lstm> lstmOptions() {
        return Stream.of(Cell.lstm().withProjection(2), Cell.lstm().withPeepholes(true),
                Cell.lstm().withProjection(3).withPeepholes(true));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("finiteDifferenceSpecs")
    void gradientsMatchFiniteDifferencesOfTheOracle(RnnSpec spec) {
        int steps = 3;
        int batch = 2;
        Problem p = problem(spec, steps, batch);
        OracleCheck.Gradients got = oneDnn(p);
        double worst = 0;
        for (Map.Entry<String, Tensor> e : got.weights().toStateDict().entrySet()) {
            float[] w = p.weights.toPyTorch().get(e.getKey()).clone();
            for (int i = 0; i < w.length; i++) {
                final int at = i;
                worst = Math.max(worst, compare(e.getKey() + "[" + i + "]", e.getValue().getFlat(i), w, at,
                        v -> loss(p, with(p.weights, e.getKey(), v), p.x, p.h0, p.c0)));
            }
        }
        worst = Math.max(worst, compareData("dx", got.dx(), p.x, v -> loss(p, p.weights, v, p.h0, p.c0)));
        worst = Math.max(worst, compareData("dh0", got.dh0(), p.h0, v -> loss(p, p.weights, p.x, v, p.c0)));
        if (spec.cell().hasCellState()) {
            worst = Math.max(worst, compareData("dc0", got.dc0(), p.c0, v -> loss(p, p.weights, p.x, p.h0, v)));
        }
        System.out.printf("onednn training vs finite differences: %s: worst %.3f of the tolerance%n", spec, worst);
    }

    /**
     * Against the scalar oracle's own backward pass at the benchmark's check tolerance: every cell, at
     * sizes where the tolerance is tight. Skipped, saying so, while the scalar backend does not train.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("oracleSpecs")
    void gradientsMatchTheScalarOracle(RnnSpec spec) {
        assumeTrue(scalarTrains(spec), "the scalar backend does not train " + spec + " yet: no oracle gradients");
        int steps = 6;
        int batch = 5;
        Problem p = problem(spec, steps, batch).fromZeroStates(); // as the benchmark's check
        OracleCheck.Gradients got = oneDnn(p);
        OracleCheck.Gradients want = OracleCheck.scalarGradients(spec, p.weights, p.x, p.gradOut);
        double tol = OracleCheck.gradientTolerance(spec, steps, batch);
        Map.Entry<String, Double> err = OracleCheck.gradientError(spec, want, got);
        System.out.printf("onednn training vs scalar oracle: %s T=%d B=%d: worst %s %.3g = %.3f of tolerance %.3g%n",
                spec, steps, batch, err.getKey(), err.getValue(), err.getValue() / tol, tol);
        assertTrue(err.getValue() <= tol, err + " > " + tol);
    }

    static Stream<RnnSpec> oracleSpecs() {
        Stream<Cell> options = Stream.of(Cell.lstm().withProjection(8), Cell.lstm().withProjection(4),
                Cell.lstm().withPeepholes(true), Cell.lstm().withProjection(5).withPeepholes(true));
        return Stream.concat(Cell.all().stream(), options).map(c -> RnnSpec.builder().cell(c).inputSize(33).hiddenSize(17)
                .build());
    }

    /** What the check rejects: the peepholes' gradients of f and o swapped, or W_hr's gradient transposed wrongly, fail it. */
    @Test
    void theGradientCheckFailsMisplacedOptionGradients() {
        RnnSpec spec = RnnSpec.builder().cell(Cell.lstm().withProjection(3).withPeepholes(true)).inputSize(6).hiddenSize(6)
                .build();
        Problem p = problem(spec, 4, 3);
        OracleCheck.Gradients got = oneDnn(p);
        double tol = OracleCheck.gradientTolerance(spec, 4, 3);
        OracleCheck.Gradients swapped = oneDnn(p);
        float[] peep = swapped.weights().data(RnnWeights.Param.PEEPHOLE, 0, 0);
        for (int j = 0; j < 6; j++) { // f's block against o's
            float keep = peep[6 + j];
            peep[6 + j] = peep[12 + j];
            peep[12 + j] = keep;
        }
        Map.Entry<String, Double> err = OracleCheck.gradientError(spec, got, swapped);
        assertEquals("weight_peephole_l0", err.getKey());
        assertTrue(err.getValue() > 100 * tol, err.toString());
        OracleCheck.Gradients transposed = oneDnn(p);
        float[] hr = transposed.weights().data(RnnWeights.Param.WEIGHT_HR, 0, 0);
        float[] flat = hr.clone(); // [3 x 6] read as [6 x 3] ldio, as a wrong mapping would
        for (int row = 0; row < 3; row++) {
            for (int j = 0; j < 6; j++) {
                hr[row * 6 + j] = flat[j * 3 + row];
            }
        }
        err = OracleCheck.gradientError(spec, got, transposed);
        assertEquals("weight_hr_l0", err.getKey());
        assertTrue(err.getValue() > 100 * tol, err.toString());
    }

    /** What the check rejects: a gradient of another weight (two gates swapped) fails it. */
    @Test
    void theGradientCheckFailsSwappedGates() {
        RnnSpec spec = RnnSpec.lstm(8, 8);
        Problem p = problem(spec, 4, 3);
        OracleCheck.Gradients got = oneDnn(p);
        OracleCheck.Gradients swapped = oneDnn(p);
        float[] w = swapped.weights().data(RnnWeights.Param.WEIGHT_HH, 0, 0);
        for (int i = 0; i < 8 * 8; i++) { // rows of gate i against those of gate f
            float keep = w[i];
            w[i] = w[8 * 8 + i];
            w[8 * 8 + i] = keep;
        }
        double tol = OracleCheck.gradientTolerance(spec, 4, 3);
        assertEquals(0.0, OracleCheck.gradientError(spec, got, oneDnn(p)).getValue(), "repeated steps agree exactly");
        Map.Entry<String, Double> err = OracleCheck.gradientError(spec, got, swapped);
        assertEquals("weight_hh_l0", err.getKey());
        assertTrue(err.getValue() > 100 * tol, err.toString());
    }

    /** Zeroed per call: two backward passes give the same weight gradients, not their sum. */
    @Test
    void backwardOverwritesTheWeightGradients() {
        RnnSpec spec = RnnSpec.gru(5, 6);
        Problem p = problem(spec, 4, 2);
        try (OneDnnTraining dnn = new OneDnnTraining(spec, p.weights, 4, 2, 0)) {
            OracleCheck.Gradients a = OracleCheck.Gradients.allocate(arena, spec, 4, 2);
            OracleCheck.Gradients b = OracleCheck.Gradients.allocate(arena, spec, 4, 2);
            Tensor y = Tensor.allocate(arena, 4, 2, 6);
            dnn.forward(p.x, p.h0, null, y, null, null);
            dnn.backward(p.gradOut, a.inputGrad());
            dnn.weightGrads(a.weights());
            dnn.backward(p.gradOut, b.inputGrad());
            dnn.weightGrads(b.weights());
            assertArrayEquals(a.weights().data(RnnWeights.Param.WEIGHT_IH, 0, 0),
                    b.weights().data(RnnWeights.Param.WEIGHT_IH, 0, 0));
            assertArrayEquals(a.dx().toArray(), b.dx().toArray());
        }
    }

    @Test
    void refusesWhatItCannotDo() {
        RnnSpec twoPrimitives = RnnSpec.builder().inputSize(5).hiddenSize(4).layers(2).build();
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                () -> new OneDnnTraining(twoPrimitives, RnnWeights.random(twoPrimitives, 1), 3, 2, 0).close());
        assertTrue(e.getMessage().startsWith("spec: oneDNN runs"), e.getMessage());
        RnnSpec spec = RnnSpec.lstm(4, 4);
        try (OneDnnTraining dnn = new OneDnnTraining(spec, RnnWeights.random(spec, 1), 3, 2, 0)) {
            IllegalStateException s = assertThrows(IllegalStateException.class,
                    () -> dnn.backward(RnnOutputGrad.of(null), io.cellstate.RnnInputGrad.none()));
            assertTrue(s.getMessage().contains("call forward first"), s.getMessage());
            Tensor x = Tensor.allocate(arena, 3, 2, 4);
            IllegalArgumentException a = assertThrows(IllegalArgumentException.class,
                    () -> dnn.forward(x, null, null, Tensor.allocate(arena, 3, 2, 5), null, null));
            assertEquals("y: expected shape [3, 2, 4] [T, B, D*H], got [3, 2, 5]", a.getMessage());
            dnn.forward(x, null, null, Tensor.allocate(arena, 3, 2, 4), null, null);
            a = assertThrows(IllegalArgumentException.class, () -> dnn.backward(RnnOutputGrad.of(Tensor.zeros(3, 2, 4)),
                    io.cellstate.RnnInputGrad.none()));
            assertTrue(a.getMessage().startsWith("dy: expected an off-heap tensor"), a.getMessage());
        }
    }

    /** A training problem: weights, input, initial states and the loss's output gradients, all seeded. */
    private record Problem(RnnSpec spec, int steps, int batch, RnnWeights weights, Tensor x, Tensor h0, Tensor c0,
                           RnnOutputGrad gradOut) {
        Problem fromZeroStates() {
            return new Problem(spec, steps, batch, weights, x, null, null, gradOut);
        }
    }

    private Problem problem(RnnSpec spec, int steps, int batch) {
        SplittableRandom r = new SplittableRandom(11 + spec.hashCode());
        int states = spec.stateCount();
        int h = spec.outputHiddenSize();
        int c = spec.hiddenSize();
        boolean lstm = spec.cell().hasCellState();
        return new Problem(spec, steps, batch, RnnWeights.random(spec, 5 + spec.hashCode()),
                BenchCase.random(arena, r, steps, batch, spec.inputSize()), BenchCase.random(arena, r, states, batch, h),
                lstm ? BenchCase.random(arena, r, states, batch, c) : null,
                new RnnOutputGrad(BenchCase.random(arena, r, steps, batch, spec.outputSize()), BenchCase.random(arena, r, states, batch, h),
                        lstm ? BenchCase.random(arena, r, states, batch, c) : null));
    }

    /** oneDNN's gradients of the problem, from its initial states. */
    private OracleCheck.Gradients oneDnn(Problem p) {
        RnnSpec spec = p.spec;
        OracleCheck.Gradients g = OracleCheck.Gradients.allocate(arena, spec, p.steps, p.batch);
        try (OneDnnTraining dnn = new OneDnnTraining(spec, p.weights, p.steps, p.batch, 0)) {
            Tensor y = Tensor.allocate(arena, p.steps, p.batch, spec.outputSize());
            dnn.forward(p.x, p.h0, p.c0, y, Tensor.allocate(arena, spec.stateCount(), p.batch, spec.outputHiddenSize()),
                    p.c0 == null ? null : Tensor.allocate(arena, spec.stateCount(), p.batch, spec.hiddenSize()));
            dnn.backward(p.gradOut, g.inputGrad());
            dnn.weightGrads(g.weights());
        }
        return g;
    }

    /** The loss sum(dy . y) + sum(dhN . hN) + sum(dcN . cN), from the scalar oracle's forward, in float64. */
    private static double loss(Problem p, RnnWeights w, Tensor x, Tensor h0, Tensor c0) {
        RnnOutput out;
        try (RnnPlan plan = Backends.byName("scalar").plan(p.spec, w)) {
            out = plan.forward(RnnInput.of(x).withInitialState(h0, c0));
        }
        RnnOutputGrad g = p.gradOut;
        return dot(g.dy(), out.y()) + dot(g.dhN(), out.hN()) + (g.dcN() == null ? 0 : dot(g.dcN(), out.cN()));
    }

    private static double dot(Tensor a, Tensor b) {
        double s = 0;
        for (long i = 0; i < a.size(); i++) {
            s += (double) a.getFlat(i) * b.getFlat(i);
        }
        return s;
    }

    /**
     * Compares {@code got} with the central difference of {@code loss} in {@code values[at]} (restored
     * afterwards); returns the difference over the tolerance, failing above 1.
     */
    private static double compare(String name, float got, float[] values, int at,
                                  java.util.function.ToDoubleFunction<float[]> loss) {
        float keep = values[at];
        values[at] = (float) (keep + EPS);
        float up = values[at];
        double lossUp = loss.applyAsDouble(values);
        values[at] = (float) (keep - EPS);
        float down = values[at];
        double lossDown = loss.applyAsDouble(values);
        values[at] = keep;
        double want = (lossUp - lossDown) / ((double) up - down); // the float32 steps actually taken
        double tol = ATOL + RTOL * Math.abs(want);
        double err = Math.abs(got - want);
        assertTrue(err <= tol, name + ": oneDNN " + got + ", finite difference " + want + ", |diff| " + err + " > " + tol);
        return err / tol;
    }

    private double compareData(String name, Tensor got, Tensor value, java.util.function.ToDoubleFunction<Tensor> loss) {
        float[] v = value.toArray();
        double worst = 0;
        for (int i = 0; i < v.length; i++) {
            worst = Math.max(worst, compare(name + "[" + i + "]", got.getFlat(i), v, i,
                    a -> loss.applyAsDouble(Tensor.of(a.clone(), value.shape()))));
        }
        return worst;
    }

    private static RnnWeights with(RnnWeights w, String name, float[] value) {
        Map<String, float[]> all = new HashMap<>(w.toPyTorch());
        all.put(name, value.clone());
        return RnnWeights.builder(w.spec()).putAll(all).build();
    }

    private static boolean scalarTrains(RnnSpec spec) {
        return Backends.byName("scalar").unsupported(spec, PlanOptions.defaults().withMode(ForwardMode.TRAINING)).isEmpty();
    }
}
