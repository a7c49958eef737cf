package io.cellstate.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cellstate.Backends;
import io.cellstate.Direction;
import io.cellstate.RnnInput;
import io.cellstate.RnnOutput;
import io.cellstate.RnnPlan;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.Tensor;
import io.cellstate.Tolerance;
import java.lang.foreign.Arena;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * oneDNN's LSTM, as the benchmarks drive it, against the scalar oracle within the conformance
 * suite's tolerance. oneDNN is a declared dependency: where it cannot load, these tests fail.
 */
class OneDnnRnnTest {
    private Arena arena;

    @BeforeEach
    void openArena() {
        arena = Arena.ofConfined();
    }

    @AfterEach
    void closeArena() {
        arena.close();
    }

    @Test
    void oneLayerForwardWithInitialState() {
        agree(spec(16, 16, 1, Direction.FORWARD, true), 5, 3, true);
    }

    @Test
    void oneLayerReverse() {
        agree(spec(16, 16, 1, Direction.REVERSE, true), 5, 3, true);
    }

    @Test
    void oneLayerBidirectionalWithInputUnlikeHidden() {
        agree(spec(7, 16, 1, Direction.BIDIRECTIONAL, true), 6, 2, true);
    }

    /**
     * Bidirectional layers read both directions of the layer below (PyTorch), which oneDNN's
     * multi-layer bidirectional primitive does not do: one primitive per layer, even with inputSize == D*H.
     */
    @Test
    void twoLayersBidirectionalOnePrimitivePerLayer() {
        assertEquals(2, primitives(agree(spec(32, 16, 2, Direction.BIDIRECTIONAL, true), 5, 3, true)));
    }

    @Test
    void twoLayersBidirectionalWithNarrowInput() {
        assertEquals(2, primitives(agree(spec(7, 16, 2, Direction.BIDIRECTIONAL, true), 5, 3, true)));
    }

    /** Three primitives chained through the two internal buffers in turn. */
    @Test
    void threeLayersBidirectional() {
        assertEquals(3, primitives(agree(spec(6, 8, 3, Direction.BIDIRECTIONAL, true), 4, 2, true)));
    }

    /** Unidirectional with inputSize == H: oneDNN's multi-layer primitive runs all layers. */
    @Test
    void threeLayersForwardInOnePrimitive() {
        assertEquals(1, primitives(agree(spec(8, 8, 3, Direction.FORWARD, true), 4, 2, true)));
    }

    /** Unidirectional with inputSize != H: layer 0 alone, then layers 1..2, whose states start at layer 1. */
    @Test
    void threeLayersReverseWithNarrowInputInTwoPrimitives() {
        assertEquals(2, primitives(agree(spec(5, 8, 3, Direction.REVERSE, true), 4, 2, true)));
    }

    @Test
    void noBias() {
        agree(spec(16, 16, 1, Direction.FORWARD, false), 5, 3, true);
    }

    @Test
    void awkwardSizes() {
        agree(spec(17, 33, 2, Direction.BIDIRECTIONAL, true), 7, 5, true);
    }

    /** Null h0/c0 mean zeros; null hN/cN are allowed. */
    @Test
    void nullStatesAreZeroAndOptional() {
        RnnSpec spec = spec(16, 16, 1, Direction.FORWARD, true);
        agree(spec, 5, 3, false);
        RnnWeights w = RnnWeights.random(spec, 3);
        Tensor x = BenchCase.random(arena, new SplittableRandom(4), 5, 3, 16);
        Tensor y = Tensor.allocate(arena, 5, 3, 16);
        try (OneDnnRnn dnn = new OneDnnRnn(spec, w, 5, 3)) {
            dnn.forward(x, null, null, y, null, null);
        }
        RnnOutput want = oracle(spec, w, x, null, null);
        assertTrue(Tolerance.maxAbsDifference(want.y(), y) <= Tolerance.forward(spec, 5));
    }

    /** The instance keeps no state between calls: the benchmark's repeated calls compute the same thing. */
    @Test
    void repeatedCallsAgreeExactly() {
        RnnSpec spec = spec(16, 16, 1, Direction.FORWARD, true);
        SplittableRandom r = new SplittableRandom(5);
        Tensor x = BenchCase.random(arena, r, 5, 3, 16);
        Tensor h0 = BenchCase.random(arena, r, 1, 3, 16);
        Tensor c0 = BenchCase.random(arena, r, 1, 3, 16);
        Tensor y = Tensor.allocate(arena, 5, 3, 16);
        Tensor hN = Tensor.allocate(arena, 1, 3, 16);
        Tensor cN = Tensor.allocate(arena, 1, 3, 16);
        try (OneDnnRnn dnn = new OneDnnRnn(spec, RnnWeights.random(spec, 6), 5, 3)) {
            dnn.forward(x, h0, c0, y, hN, cN);
            float[] first = y.toArray();
            float[] firstC = cN.toArray();
            y.fill(Float.NaN);
            cN.fill(Float.NaN);
            dnn.forward(x, h0, c0, y, hN, cN);
            assertArrayEquals(first, y.toArray());
            assertArrayEquals(firstC, cN.toArray());
        }
    }

    /** A thread count of its own: same numbers, and the calling thread's OpenMP setting is restored. */
    @Test
    void threadsArePerInstance() {
        int before = OneDnn.maxThreads();
        RnnSpec spec = spec(16, 16, 2, Direction.FORWARD, true);
        RnnWeights w = RnnWeights.random(spec, 8);
        SplittableRandom r = new SplittableRandom(9);
        Tensor x = BenchCase.random(arena, r, 5, 3, 16);
        Tensor y = Tensor.allocate(arena, 5, 3, 16);
        try (OneDnnRnn dnn = new OneDnnRnn(spec, w, 5, 3, 1)) {
            assertEquals(before, OneDnn.maxThreads(), "the constructor must restore the OpenMP thread count");
            dnn.forward(x, null, null, y, null, null);
            assertEquals(before, OneDnn.maxThreads(), "forward must restore the OpenMP thread count");
            assertEquals(1, dnn.threads());
        }
        assertTrue(Tolerance.maxAbsDifference(oracle(spec, w, x, null, null).y(), y) <= Tolerance.forward(spec, 5));
        System.out.println("oneDNN " + OneDnnRnn.version() + " on " + OneDnnRnn.openMpRuntime()
                + ", omp_get_max_threads() = " + before);
    }

    /**
     * Every other cell on its oneDNN primitive (lbr_gru, gru, vanilla_rnn with tanh and ReLU): the
     * gate permutation (oneDNN's u, r, o) and lbr_gru's fourth bias gate against the oracle.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("otherCells")
    void everyCellOnItsPrimitive(io.cellstate.Cell cell) {
        agree(RnnSpec.builder().cell(cell).inputSize(16).hiddenSize(16).build(), 5, 3, true);
        agree(RnnSpec.builder().cell(cell).inputSize(7).hiddenSize(12).layers(2).direction(Direction.BIDIRECTIONAL)
                .build(), 4, 2, true);
        agree(RnnSpec.builder().cell(cell).inputSize(9).hiddenSize(10).direction(Direction.REVERSE).build(), 6, 1, false);
    }

    static java.util.stream.Stream<io.cellstate.Cell> otherCells() {
        return java.util.stream.Stream.of(io.cellstate.Cell.gru(), io.cellstate.Cell.gruOriginal(),
                io.cellstate.Cell.rnnTanh(), io.cellstate.Cell.rnnRelu());
    }

    /**
     * The LSTM's options on oneDNN's lstm primitive: the projection ({@code weights_projection}, W_hr
     * transposed; h, y, h0 and hN of P columns, c of H) and the peepholes ({@code weights_peephole},
     * i, f, o), alone and together, in one layer each way, bidirectional with the input unlike both H
     * and P, and stacked: two bidirectional layers (the second reads 2P features), three forward layers
     * in one primitive (inputSize == P) and in two (inputSize != P, the states offset by P and by H).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("lstmOptions")
    void theLstmsOptionsOnItsPrimitive(io.cellstate.Cell.Lstm cell) {
        int hidden = 16;
        int out = cell.projectionSize() > 0 ? cell.projectionSize() : hidden;
        agree(lstm(cell, 16, hidden, 1, Direction.FORWARD), 5, 3, true);
        agree(lstm(cell, 9, hidden, 1, Direction.REVERSE), 6, 2, false);
        agree(lstm(cell, 7, hidden, 1, Direction.BIDIRECTIONAL), 6, 2, true);
        assertEquals(2, primitives(agree(lstm(cell, 5, hidden, 2, Direction.BIDIRECTIONAL), 4, 3, true)));
        assertEquals(1, primitives(agree(lstm(cell, out, hidden, 3, Direction.FORWARD), 4, 2, true)));
        assertEquals(2, primitives(agree(lstm(cell, out + 3, hidden, 3, Direction.FORWARD), 4, 2, true)));
    }

    static java.util.stream.Stream<io.cellstate.Cell.Lstm> lstmOptions() {
        io.cellstate.Cell.Lstm lstm = io.cellstate.Cell.lstm();
        return java.util.stream.Stream.of(lstm.withProjection(8), lstm.withProjection(4), lstm.withPeepholes(true),
                lstm.withProjection(5).withPeepholes(true));
    }

    /** What oneDNN's primitives lack is refused before anything is created, naming the cell. */
    @Test
    void refusesOptionsOneDnnLacks() {
        for (io.cellstate.Cell cell : List.of(io.cellstate.Cell.lstm().withClip(3f),
                io.cellstate.Cell.lstm().withInputForget(true),
                io.cellstate.Cell.lstm().withActivations(io.cellstate.Activation.tanh(), io.cellstate.Activation.tanh(),
                        io.cellstate.Activation.tanh()),
                io.cellstate.Cell.gru().withActivations(io.cellstate.Activation.tanh(), io.cellstate.Activation.tanh()))) {
            RnnSpec spec = RnnSpec.builder().cell(cell).inputSize(4).hiddenSize(4).build();
            UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                    () -> new OneDnnRnn(spec, RnnWeights.random(spec, 1), 3, 2).close());
            assertTrue(e.getMessage().startsWith("cell: oneDNN has no RNN primitive for " + cell), e.getMessage());
        }
    }

    /** With a projection, h0 and hN have P columns and c0 and cN H: each is checked against its own. */
    @Test
    void projectedStatesHaveTheirOwnShapes() {
        RnnSpec spec = lstm(io.cellstate.Cell.lstm().withProjection(4), 16, 16, 1, Direction.FORWARD);
        try (OneDnnRnn dnn = new OneDnnRnn(spec, RnnWeights.random(spec, 1), 5, 3)) {
            Tensor x = Tensor.allocate(arena, 5, 3, 16);
            Tensor y = Tensor.allocate(arena, 5, 3, 4);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> dnn.forward(x, null, null, Tensor.allocate(arena, 5, 3, 16), null, null));
            assertEquals("y: expected shape [5, 3, 4] [T, B, D*P], got [5, 3, 16]", e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> dnn.forward(x, Tensor.allocate(arena, 1, 3, 16), null, y, null, null));
            assertEquals("h0: expected shape [1, 3, 4] [layers*D, B, P], got [1, 3, 16]", e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> dnn.forward(x, null, Tensor.allocate(arena, 1, 3, 4), y, null, null));
            assertEquals("c0: expected shape [1, 3, 16] [layers*D, B, H], got [1, 3, 4]", e.getMessage());
        }
    }

    @Test
    void rejectsHeapTensorsNamingTheArgument() {
        RnnSpec spec = spec(16, 16, 1, Direction.FORWARD, true);
        try (OneDnnRnn dnn = new OneDnnRnn(spec, RnnWeights.random(spec, 1), 5, 3)) {
            Tensor y = Tensor.allocate(arena, 5, 3, 16);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> dnn.forward(Tensor.zeros(5, 3, 16), null, null, y, null, null));
            assertTrue(e.getMessage().startsWith("x: expected an off-heap tensor"), e.getMessage());
            Tensor x = Tensor.allocate(arena, 5, 3, 16);
            e = assertThrows(IllegalArgumentException.class,
                    () -> dnn.forward(x, null, null, Tensor.zeros(5, 3, 16), null, null));
            assertTrue(e.getMessage().startsWith("y: expected an off-heap tensor"), e.getMessage());
        }
    }

    @Test
    void rejectsWrongShapesNamingExpectedAndActual() {
        RnnSpec spec = spec(16, 16, 1, Direction.BIDIRECTIONAL, true);
        try (OneDnnRnn dnn = new OneDnnRnn(spec, RnnWeights.random(spec, 1), 5, 3)) {
            Tensor x = Tensor.allocate(arena, 5, 3, 16);
            Tensor y = Tensor.allocate(arena, 5, 3, 32);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> dnn.forward(Tensor.allocate(arena, 4, 3, 16), null, null, y, null, null));
            assertEquals("x: expected shape [5, 3, 16] [T, B, inputSize], got [4, 3, 16]", e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> dnn.forward(x, null, null, Tensor.allocate(arena, 5, 3, 16), null, null));
            assertEquals("y: expected shape [5, 3, 32] [T, B, D*H], got [5, 3, 16]", e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> dnn.forward(x, Tensor.allocate(arena, 1, 3, 16), null, y, null, null));
            assertEquals("h0: expected shape [2, 3, 16] [layers*D, B, H], got [1, 3, 16]", e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> dnn.forward(x, null, null, y, null, Tensor.allocate(arena, 2, 4, 16)));
            assertEquals("cN: expected shape [2, 3, 16] [layers*D, B, H], got [2, 4, 16]", e.getMessage());
        }
    }

    @Test
    void rejectsWeightsOfAnotherSpec() {
        RnnSpec spec = spec(16, 16, 1, Direction.FORWARD, true);
        RnnWeights other = RnnWeights.random(spec(16, 16, 1, Direction.REVERSE, true), 1);
        assertThrows(IllegalArgumentException.class, () -> new OneDnnRnn(spec, other, 5, 3).close());
        assertThrows(IllegalArgumentException.class, () -> new OneDnnRnn(spec, RnnWeights.random(spec, 1), 0, 3).close());
    }

    @Test
    void closeTwiceIsFineAndUseAfterCloseThrows() {
        RnnSpec spec = spec(16, 16, 1, Direction.FORWARD, true);
        OneDnnRnn dnn = new OneDnnRnn(spec, RnnWeights.random(spec, 1), 5, 3);
        dnn.close();
        dnn.close();
        Tensor x = Tensor.allocate(arena, 5, 3, 16);
        Tensor y = Tensor.allocate(arena, 5, 3, 16);
        assertThrows(IllegalStateException.class, () -> dnn.forward(x, null, null, y, null, null));
    }

    @Test
    void versionIsOneDnnsRuntimeVersion() {
        String v = OneDnnRnn.version();
        assertTrue(v.matches("\\d+\\.\\d+\\.\\d+.*"), v);
    }

    /** Runs oneDNN and the oracle on seeded data and compares y, hN and cN; returns oneDNN's implementation name(s). */
    private String agree(RnnSpec spec, int steps, int batch, boolean withState) {
        RnnWeights w = RnnWeights.random(spec, 42 + spec.hashCode());
        SplittableRandom r = new SplittableRandom(7 + spec.hashCode());
        Tensor x = BenchCase.random(arena, r, steps, batch, spec.inputSize());
        Tensor h0 = withState ? BenchCase.random(arena, r, spec.stateCount(), batch, spec.outputHiddenSize()) : null;
        boolean lstm = spec.cell().hasCellState();
        Tensor c0 = withState && lstm ? BenchCase.random(arena, r, spec.stateCount(), batch, spec.hiddenSize()) : null;
        Tensor y = Tensor.allocate(arena, steps, batch, spec.outputSize()).fill(Float.NaN);
        Tensor hN = Tensor.allocate(arena, spec.stateCount(), batch, spec.outputHiddenSize()).fill(Float.NaN);
        Tensor cN = lstm ? Tensor.allocate(arena, spec.stateCount(), batch, spec.hiddenSize()).fill(Float.NaN) : null;
        String impl;
        try (OneDnnRnn dnn = new OneDnnRnn(spec, w, steps, batch)) {
            dnn.forward(x, h0, c0, y, hN, cN);
            impl = dnn.implementation();
        }
        RnnOutput want = oracle(spec, w, x, h0, c0);
        double tol = Tolerance.forward(spec, steps);
        double err = Math.max(Tolerance.maxAbsDifference(want.y(), y), Tolerance.maxAbsDifference(want.hN(), hN));
        if (lstm) {
            err = Math.max(err, Tolerance.maxAbsDifference(want.cN(), cN));
        }
        System.out.printf("onednn vs scalar oracle: %s T=%d B=%d [%s]: max |diff| %.3g = %.3f of tolerance %.3g%n",
                spec, steps, batch, impl, err, err / tol, tol);
        assertTrue(err <= tol, "max |diff| " + err + " > tolerance " + tol + " for " + spec);
        return impl;
    }

    private static int primitives(String implementation) {
        return implementation.split(" \\+ ").length;
    }

    private static RnnOutput oracle(RnnSpec spec, RnnWeights w, Tensor x, Tensor h0, Tensor c0) {
        try (RnnPlan plan = Backends.byName("scalar").plan(spec, w)) {
            return plan.forward(RnnInput.of(x).withInitialState(h0, c0));
        }
    }

    private static RnnSpec lstm(io.cellstate.Cell.Lstm cell, int in, int hidden, int layers, Direction direction) {
        return RnnSpec.builder().cell(cell).inputSize(in).hiddenSize(hidden).layers(layers).direction(direction).build();
    }

    private static RnnSpec spec(int in, int hidden, int layers, Direction direction, boolean bias) {
        return RnnSpec.builder().inputSize(in).hiddenSize(hidden).layers(layers).direction(direction).bias(bias).build();
    }
}
