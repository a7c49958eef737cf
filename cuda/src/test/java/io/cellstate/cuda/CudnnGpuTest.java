package io.cellstate.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cellstate.Backends;
import io.cellstate.Direction;
import io.cellstate.Layout;
import io.cellstate.PlanOptions;
import io.cellstate.RnnInput;
import io.cellstate.RnnOutput;
import io.cellstate.RnnPlan;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.Tensor;
import io.cellstate.Tolerance;
import io.cellstate.cuda.CudnnOptions.Algorithm;
import io.cellstate.cuda.CudnnOptions.Precision;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * What only a GPU can show: resources released, the device path, the algorithms and precisions.
 * Each test skips with the backend's reason without a GPU, and fails under -Dcellstate.requireGpu=true.
 */
class CudnnGpuTest {
    private static final CudnnBackend CUDNN = (CudnnBackend) Backends.byName("cudnn");

    private static Tensor random(long seed, int... shape) {
        Tensor t = Tensor.zeros(shape);
        SplittableRandom r = new SplittableRandom(seed);
        for (long i = 0; i < t.size(); i++) {
            t.setFlat(i, (float) r.nextDouble(-1, 1));
        }
        return t;
    }

    private static RnnOutput oracle(RnnSpec spec, RnnWeights w, RnnInput in) {
        try (RnnPlan scalar = Backends.byName("scalar").plan(spec, w)) {
            return scalar.forward(in);
        }
    }

    private static void close(RnnSpec spec, int steps, double factor, String what, Tensor expected, Tensor actual) {
        double tol = Tolerance.lstm(spec, steps) * factor;
        double err = Tolerance.maxAbsDifference(expected, actual);
        System.out.printf("%s: max |error| = %.3g, tolerance %.3g%n", what, err, tol);
        assertTrue(err <= tol, what + ": max |error| " + err + " > tolerance " + tol);
    }

    @Test
    void thousandPlansGiveBackTheirDeviceMemory() {
        Gpu.assume("thousandPlansGiveBackTheirDeviceMemory");
        RnnSpec spec = RnnSpec.builder().inputSize(64).hiddenSize(128).layers(2).direction(Direction.BIDIRECTIONAL).build();
        RnnWeights w = RnnWeights.random(spec, 1);
        RnnInput in = RnnInput.of(random(2, 10, 4, 64));
        try (RnnPlan warm = CUDNN.plan(spec, w)) {
            warm.forward(in); // cuDNN's and the driver's own one-time allocations happen here
        }
        long before = Native.freeDeviceMemory();
        long lowest = before;
        for (int i = 0; i < 1000; i++) {
            try (RnnPlan plan = CUDNN.plan(spec, w)) {
                if (i % 10 == 0) {
                    plan.forward(in);
                }
                lowest = Math.min(lowest, Native.freeDeviceMemory());
            }
        }
        long after = Native.freeDeviceMemory();
        System.out.printf("free device memory: %d before, %d lowest (one plan open), %d after 1000 plans%n",
                before, lowest, after);
        assertTrue(lowest < before, "an open plan holds device memory");
        assertEquals(before, after, "device bytes left behind by 1000 closed plans");
    }

    /** A plan too large for the GPU fails with CudaOutOfMemoryException and leaves no device memory behind. */
    @Test
    void outOfMemoryIsClearAndLeavesNothingBehind() {
        Gpu.assume("outOfMemoryIsClearAndLeavesNothingBehind");
        RnnSpec spec = RnnSpec.lstm(64, 64);
        RnnWeights w = RnnWeights.random(spec, 1);
        try (RnnPlan warm = CUDNN.plan(spec, w)) {
            warm.forward(RnnInput.of(random(1, 3, 2, 64)));
        }
        long before = Native.freeDeviceMemory();
        // x alone would need 2^20 * 2^12 * 64 floats = 1 TiB
        PlanOptions huge = PlanOptions.defaults().withCapacity(1 << 20, 1 << 12);
        CudaOutOfMemoryException e = assertThrows(CudaOutOfMemoryException.class, () -> CUDNN.plan(spec, w, huge));
        System.out.println("too large a plan: " + e.getMessage());
        assertTrue(e.getMessage().contains("cudaMalloc") && e.getMessage().contains("out of GPU memory"), e.getMessage());
        assertEquals(before, Native.freeDeviceMemory(), "device bytes left behind by the failed plan");
        try (RnnPlan plan = CUDNN.plan(spec, w)) {
            RnnInput in = RnnInput.of(random(2, 4, 3, 64));
            close(spec, 4, 1, "a plan after the failed one", oracle(spec, w, in).y(), plan.forward(in).y());
        }
    }

    @Test
    void devicePathEqualsHostPath() {
        Gpu.assume("devicePathEqualsHostPath");
        RnnSpec spec = RnnSpec.builder().inputSize(13).hiddenSize(33).layers(2).direction(Direction.BIDIRECTIONAL).build();
        RnnWeights w = RnnWeights.random(spec, 3);
        int steps = 9;
        int batch = 5;
        int[] lengths = {9, 3, 1, 7, 9};
        for (Layout layout : Layout.values()) {
            Tensor x = random(4, layout.shape(steps, batch, 13));
            Tensor h0 = random(5, 4, batch, 33);
            Tensor c0 = random(6, 4, batch, 33);
            RnnInput in = new RnnInput(x, layout, lengths, h0, c0);
            RnnOutput expected = oracle(spec, w, in);
            try (CudnnPlan plan = CUDNN.plan(spec, w, PlanOptions.defaults(), CudnnOptions.defaults());
                 DeviceTensor dx = DeviceTensor.of(x);
                 DeviceTensor dh0 = DeviceTensor.of(h0);
                 DeviceTensor dc0 = DeviceTensor.of(c0);
                 DeviceTensor dy = DeviceTensor.allocate(layout.shape(steps, batch, 66));
                 DeviceTensor dhN = DeviceTensor.allocate(4, batch, 33);
                 DeviceTensor dcN = DeviceTensor.allocate(4, batch, 33)) {
                plan.forward(dx, layout, lengths, dh0, dc0, dy, dhN, dcN);
                close(spec, steps, 1, "device y " + layout, expected.y(), dy.toHost());
                close(spec, steps, 1, "device hN " + layout, expected.hN(), dhN.toHost());
                close(spec, steps, 1, "device cN " + layout, expected.cN(), dcN.toHost());
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> plan.forward(dx, layout, lengths, null, null, dhN, dhN, null));
                assertTrue(e.getMessage().startsWith("y: expected"), e.getMessage());
            }
        }
    }

    @Test
    void everyAlgorithmRunsOrSaysItIsUnsupported() {
        Gpu.assume("everyAlgorithmRunsOrSaysItIsUnsupported");
        int[][] shapes = {{1, 64}, {8, 256}, {64, 512}};
        for (int[] s : shapes) {
            int batch = s[0];
            int h = s[1];
            RnnSpec spec = RnnSpec.builder().inputSize(h).hiddenSize(h).build();
            RnnWeights w = RnnWeights.random(spec, h);
            int steps = 20;
            RnnInput in = RnnInput.of(random(batch, steps, batch, h));
            RnnOutput expected = oracle(spec, w, in);
            for (Algorithm a : Algorithm.values()) {
                try (CudnnPlan plan = CUDNN.plan(spec, w, PlanOptions.defaults(), CudnnOptions.defaults().withAlgorithm(a))) {
                    RnnOutput out = plan.forward(in);
                    close(spec, steps, 1, a + " B=" + batch + " H=" + h + " (ran " + plan.algorithmFor(batch, steps) + ")",
                            expected.y(), out.y());
                    assertNotNull(plan.algorithmFor(batch, steps));
                } catch (UnsupportedOperationException e) {
                    System.out.println(a + " B=" + batch + " H=" + h + ": " + e.getMessage());
                    assertTrue(a != Algorithm.STANDARD && a != Algorithm.AUTO, "STANDARD and AUTO always run: " + e);
                    assertTrue(e.getMessage().contains("CUDNN_STATUS_NOT_SUPPORTED") || e.getMessage().contains("refused"),
                            e.getMessage());
                }
            }
        }
    }

    /**
     * The opt-in precisions against the float32 oracle. TF32 rounds GEMM inputs to 10 mantissa bits
     * (u = 2^-11), FP16 likewise (u = 2^-11, with float accumulation): both 2^13 times float32's unit
     * roundoff, so their tolerance is {@link Tolerance} times 2^13.
     */
    @Test
    void optInPrecisionsWithinTheirTolerance() {
        Gpu.assume("optInPrecisionsWithinTheirTolerance");
        RnnSpec spec = RnnSpec.builder().inputSize(96).hiddenSize(128).layers(2).build();
        RnnWeights w = RnnWeights.random(spec, 9);
        RnnInput in = RnnInput.of(random(10, 16, 8, 96));
        RnnOutput expected = oracle(spec, w, in);
        for (Precision p : new Precision[] {Precision.TF32, Precision.FP16}) {
            try (CudnnPlan plan = CUDNN.plan(spec, w, PlanOptions.defaults(), CudnnOptions.defaults().withPrecision(p))) {
                close(spec, 16, 8192, p.toString(), expected.y(), plan.forward(in).y());
            }
        }
        assertThrows(UnsupportedOperationException.class, () -> CUDNN.plan(spec, w, PlanOptions.defaults(),
                CudnnOptions.defaults().withPrecision(Precision.BF16)));
    }
}
