package io.cellstate.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cellstate.Backends;
import io.cellstate.Cell;
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
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * ONNX Runtime as the benchmarks drive it, against the scalar oracle within the conformance suite's
 * tolerance: it writes y and the final states in place. ONNX Runtime is a declared dependency with
 * natives for this platform in its jar: where it cannot load, these tests fail.
 */
class OnnxRuntimeRnnTest {
    private Arena arena;

    @BeforeEach
    void openArena() {
        arena = Arena.ofConfined();
    }

    @AfterEach
    void closeArena() {
        arena.close();
    }

    static Stream<RnnSpec> specs() {
        Stream<RnnSpec> benchmarked = Cell.all().stream()
                .map(c -> RnnSpec.builder().cell(c).inputSize(16).hiddenSize(16).build());
        return Stream.concat(benchmarked, Stream.of(
                RnnSpec.builder().inputSize(7).hiddenSize(12).layers(2).direction(Direction.BIDIRECTIONAL).build(),
                RnnSpec.builder().cell(Cell.gru()).inputSize(9).hiddenSize(5).layers(3).bias(false).build()));
    }

    /** Every cell at the benchmarks' one layer, I = H, and two stacks, at 1 and 2 threads. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("specs")
    void agreesWithTheOracleInPlace(RnnSpec spec) {
        for (int threads : new int[] {1, 2}) {
            agree(spec, 6, 3, threads);
        }
    }

    /** Repeated calls over the same bound tensors compute the same thing (the benchmark's loop). */
    @Test
    void repeatedCallsAgreeExactly() {
        RnnSpec spec = RnnSpec.lstm(16, 16);
        Tensor x = BenchCase.random(arena, new SplittableRandom(5), 5, 3, 16);
        Tensor y = Tensor.allocate(arena, 5, 3, 16);
        Tensor hN = Tensor.allocate(arena, 1, 3, 16);
        Tensor cN = Tensor.allocate(arena, 1, 3, 16);
        try (OnnxRuntimeRnn ort = new OnnxRuntimeRnn(spec, RnnWeights.random(spec, 6), x, y, hN, cN, 1)) {
            ort.forward();
            float[] first = y.toArray();
            float[] firstC = cN.toArray();
            y.fill(Float.NaN);
            cN.fill(Float.NaN);
            ort.forward();
            assertArrayEquals(first, y.toArray());
            assertArrayEquals(firstC, cN.toArray());
        }
    }

    @Test
    void rejectsHeapAndMisshapenTensorsNamingTheArgument() {
        RnnSpec spec = RnnSpec.lstm(16, 16);
        RnnWeights w = RnnWeights.random(spec, 1);
        Tensor x = Tensor.allocate(arena, 5, 3, 16);
        Tensor y = Tensor.allocate(arena, 5, 3, 16);
        Tensor s = Tensor.allocate(arena, 1, 3, 16);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new OnnxRuntimeRnn(spec, w, Tensor.zeros(5, 3, 16), y, s, s, 1));
        assertTrue(e.getMessage().startsWith("x: expected an off-heap tensor"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new OnnxRuntimeRnn(spec, w, x, Tensor.allocate(arena, 5, 3, 8), s, s, 1));
        assertTrue(e.getMessage().startsWith("y: expected shape [5, 3, 16]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new OnnxRuntimeRnn(spec, w, x, y, s, null, 1));
        assertTrue(e.getMessage().startsWith("cN: expected shape [1, 3, 16]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new OnnxRuntimeRnn(spec, w, x, y, s, s, 0));
        RnnWeights other = RnnWeights.random(RnnSpec.lstm(16, 8), 1);
        assertThrows(IllegalArgumentException.class, () -> new OnnxRuntimeRnn(spec, other, x, y, s, s, 1));
    }

    /** The LSTM's options are not in the model Onnx.write writes: refused naming the cell, not loaded as another graph. */
    @Test
    void refusesCellsTheExportedModelLacks() {
        for (Cell cell : List.of(Cell.lstm().withPeepholes(true),
                Cell.lstm().withProjection(2))) {
            RnnSpec spec = RnnSpec.builder().cell(cell).inputSize(4).hiddenSize(4).build();
            Tensor x = Tensor.allocate(arena, 3, 2, 4);
            Tensor y = Tensor.allocate(arena, 3, 2, spec.outputSize());
            Tensor h = Tensor.allocate(arena, 1, 2, spec.outputHiddenSize());
            Tensor c = Tensor.allocate(arena, 1, 2, 4);
            UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                    () -> new OnnxRuntimeRnn(spec, RnnWeights.random(spec, 1), x, y, h, c, 1).close());
            assertTrue(e.getMessage().endsWith("got " + cell), e.getMessage());
        }
    }

    @Test
    void closeTwiceIsFineAndUseAfterCloseThrows() {
        RnnSpec spec = RnnSpec.gru(4, 4);
        Tensor x = Tensor.allocate(arena, 2, 1, 4);
        OnnxRuntimeRnn ort = new OnnxRuntimeRnn(spec, RnnWeights.random(spec, 1), x, Tensor.allocate(arena, 2, 1, 4),
                Tensor.allocate(arena, 1, 1, 4), null, 1);
        ort.close();
        ort.close();
        assertThrows(IllegalStateException.class, ort::forward);
    }

    @Test
    void versionIsOnnxRuntimesVersion() {
        String v = OnnxRuntimeRnn.version();
        assertTrue(v.matches("\\d+\\.\\d+\\.\\d+.*"), v);
    }

    /** Runs ONNX Runtime and the oracle on seeded data from zero states and compares y, hN and cN. */
    private void agree(RnnSpec spec, int steps, int batch, int threads) {
        RnnWeights w = RnnWeights.random(spec, 42 + spec.hashCode());
        Tensor x = BenchCase.random(arena, new SplittableRandom(7 + spec.hashCode()), steps, batch, spec.inputSize());
        boolean lstm = spec.cell().hasCellState();
        Tensor y = Tensor.allocate(arena, steps, batch, spec.outputSize()).fill(Float.NaN);
        Tensor hN = Tensor.allocate(arena, spec.stateCount(), batch, spec.hiddenSize()).fill(Float.NaN);
        Tensor cN = lstm ? Tensor.allocate(arena, spec.stateCount(), batch, spec.hiddenSize()).fill(Float.NaN) : null;
        try (OnnxRuntimeRnn ort = new OnnxRuntimeRnn(spec, w, x, y, hN, cN, threads)) {
            ort.forward();
        }
        RnnOutput want;
        try (RnnPlan plan = Backends.byName("scalar").plan(spec, w)) {
            want = plan.forward(RnnInput.of(x));
        }
        double tol = Tolerance.forward(spec, steps);
        double err = Math.max(Tolerance.maxAbsDifference(want.y(), y), Tolerance.maxAbsDifference(want.hN(), hN));
        if (lstm) {
            err = Math.max(err, Tolerance.maxAbsDifference(want.cN(), cN));
        }
        System.out.printf("onnxruntime vs scalar oracle: %s T=%d B=%d, %d thread(s): max |diff| %.3g = %.3f of tolerance %.3g%n",
                spec, steps, batch, threads, err, err / tol, tol);
        assertTrue(err <= tol, "max |diff| " + err + " > tolerance " + tol + " for " + spec);
    }
}
