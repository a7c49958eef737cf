package io.cellstate.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cellstate.Availability;
import io.cellstate.Backend;
import io.cellstate.Backends;
import io.cellstate.PlanOptions;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import org.junit.jupiter.api.Test;

/** Registration and the no-GPU behaviour: unavailable with a reason, never a crash. */
class CudnnBackendTest {

    @Test
    void registeredThroughServiceLoader() {
        Backend b = Backends.byName("cudnn");
        assertTrue(b instanceof CudnnBackend, b.getClass().getName());
        assertEquals(300, b.priority());
        assertTrue(Backends.list().stream().anyMatch(i -> i.name().equals("cudnn")), "listed by Backends.list()");
        assertEquals("", b.unsupported(RnnSpec.lstm(3, 4)));
    }

    /**
     * cuDNN has the LSTM, PyTorch's GRU and both Elman RNNs, each in its own cell mode; the original GRU
     * is refused with the reason, and auto then picks a CPU backend for it.
     */
    @Test
    void cellsMapToCudnnModesAndTheOriginalGruIsRefused() {
        Backend b = Backends.byName("cudnn");
        assertEquals(org.bytedeco.cuda.global.cudnn.CUDNN_LSTM, CudnnPlan.cellMode(RnnSpec.lstm(3, 4)));
        assertEquals(org.bytedeco.cuda.global.cudnn.CUDNN_GRU, CudnnPlan.cellMode(RnnSpec.gru(3, 4)));
        assertEquals(org.bytedeco.cuda.global.cudnn.CUDNN_RNN_TANH, CudnnPlan.cellMode(RnnSpec.rnn(3, 4)));
        RnnSpec relu = RnnSpec.builder().cell(io.cellstate.Cell.rnnRelu()).inputSize(3).hiddenSize(4).build();
        assertEquals(org.bytedeco.cuda.global.cudnn.CUDNN_RNN_RELU, CudnnPlan.cellMode(relu));
        for (RnnSpec s : new RnnSpec[] {RnnSpec.gru(3, 4), RnnSpec.rnn(3, 4), relu}) {
            assertEquals("", b.unsupported(s), s.toString());
        }
        RnnSpec original = RnnSpec.builder().cell(io.cellstate.Cell.gruOriginal()).inputSize(3).hiddenSize(4).build();
        assertTrue(b.unsupported(original).startsWith("cell gru-original"), b.unsupported(original));
        assertTrue(!Backends.auto(original).name().equals("cudnn"), "auto runs the original GRU on a CPU backend");
    }

    /**
     * cuDNN trains every cell it runs (cudnnRNNBackwardData_v8 and cudnnRNNBackwardWeights_v8), so
     * TRAINING is admitted, except with BF16, which is refused naming the precision; the original GRU
     * stays refused in both modes.
     */
    @Test
    void trainingIsAdmittedExceptInBf16() {
        PlanOptions training = PlanOptions.defaults().withMode(io.cellstate.ForwardMode.TRAINING);
        CudnnBackend b = new CudnnBackend();
        RnnSpec relu = RnnSpec.builder().cell(io.cellstate.Cell.rnnRelu()).inputSize(3).hiddenSize(4).build();
        RnnSpec bidir = RnnSpec.builder().inputSize(3).hiddenSize(4).layers(2)
                .direction(io.cellstate.Direction.BIDIRECTIONAL).build();
        RnnSpec reverse = RnnSpec.builder().cell(io.cellstate.Cell.gru()).inputSize(3).hiddenSize(4)
                .direction(io.cellstate.Direction.REVERSE).build();
        for (RnnSpec s : new RnnSpec[] {RnnSpec.lstm(3, 4), RnnSpec.gru(3, 4), RnnSpec.rnn(3, 4), relu, bidir, reverse}) {
            assertEquals("", b.unsupported(s, training), s.toString());
            for (CudnnOptions.Algorithm a : CudnnOptions.Algorithm.values()) {
                assertEquals("", b.withOptions(CudnnOptions.defaults().withAlgorithm(a)).unsupported(s, training), a + " " + s);
            }
        }
        CudnnBackend bf16 = b.withOptions(CudnnOptions.defaults().withPrecision(CudnnOptions.Precision.BF16));
        String why = bf16.unsupported(RnnSpec.lstm(3, 4), training);
        assertTrue(why.startsWith("precision BF16 is not supported in mode TRAINING"), why);
        assertEquals("", bf16.unsupported(RnnSpec.lstm(3, 4), PlanOptions.defaults()), "BF16 inference stays");
        assertEquals("", CudnnBackend.unsupportedTraining(PlanOptions.defaults(), bf16.options()));
        RnnSpec original = RnnSpec.builder().cell(io.cellstate.Cell.gruOriginal()).inputSize(3).hiddenSize(4).build();
        assertTrue(b.unsupported(original, training).startsWith("cell gru-original"), b.unsupported(original, training));
    }

    /**
     * Of the LSTM's options cuDNN computes the projection (projSize), in both modes; peepholes, ONNX's clip
     * (cuDNN's clip bounds the cell state instead), coupled gates and other activations are refused naming
     * the option, and auto then runs them on a CPU backend.
     */
    @Test
    void projectionIsAdmittedAndTheOtherOptionsRefusedWithTheirReason() {
        PlanOptions training = PlanOptions.defaults().withMode(io.cellstate.ForwardMode.TRAINING);
        CudnnBackend b = new CudnnBackend();
        io.cellstate.Cell.Lstm lstm = io.cellstate.Cell.lstm();
        RnnSpec projected = RnnSpec.builder().cell(lstm.withProjection(2)).inputSize(3).hiddenSize(4).layers(2)
                .direction(io.cellstate.Direction.BIDIRECTIONAL).build();
        assertEquals(org.bytedeco.cuda.global.cudnn.CUDNN_LSTM, CudnnPlan.cellMode(projected));
        assertEquals("", b.unsupported(projected));
        assertEquals("", b.unsupported(projected, training));
        java.util.Map<io.cellstate.Cell, String> refused = new java.util.LinkedHashMap<>();
        refused.put(lstm.withPeepholes(true), "no peepholes");
        refused.put(lstm.withClip(3f), "bounds the cell state");
        refused.put(lstm.withInputForget(true), "no coupled input and forget gates");
        refused.put(lstm.withProjection(2).withClip(1f), "bounds the cell state");
        refused.put(lstm.withActivations(io.cellstate.Activation.sigmoid(), io.cellstate.Activation.relu(),
                io.cellstate.Activation.tanh()), "activations are fixed");
        refused.put(io.cellstate.Cell.gru().withActivations(io.cellstate.Activation.relu(), io.cellstate.Activation.tanh()),
                "activations are fixed");
        refused.put(new io.cellstate.Cell.Rnn(java.util.List.of(io.cellstate.Activation.of(
                io.cellstate.Activation.Function.SOFTSIGN))), "activations are fixed");
        refused.forEach((cell, reason) -> {
            RnnSpec s = RnnSpec.builder().cell(cell).inputSize(3).hiddenSize(4).build();
            String why = b.unsupported(s);
            assertTrue(why.startsWith("cell " + cell) && why.contains(reason), cell + ": " + why);
            assertEquals(why, b.unsupported(s, training), cell + " in training");
            assertTrue(!Backends.auto(s).name().equals("cudnn"), cell + ": auto picks a CPU backend");
        });
    }

    @Test
    void withoutGpuSaysWhyAndRefusesPlans() {
        Availability a = Backends.byName("cudnn").availability();
        System.out.println("cudnn: available=" + a.available() + (a.available() ? "" : ", reason: " + a.reason()));
        if (a.available()) {
            System.out.println("SKIPPED withoutGpuSaysWhyAndRefusesPlans: a GPU is present");
            org.junit.jupiter.api.Assumptions.abort("a GPU is present: nothing to refuse");
        }
        assertFalse(Gpu.required(), "this run requires a GPU and cudnn is unavailable: " + a.reason());
        assertFalse(a.reason().isBlank(), "the reason is empty");
        assertEquals(0, CudnnBackend.releaseIdleHandles(), "no handles to release without cuDNN");
        RnnSpec spec = RnnSpec.lstm(3, 4);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> Backends.byName("cudnn").plan(spec, RnnWeights.random(spec, 1), PlanOptions.defaults()));
        assertTrue(e.getMessage().contains(a.reason()), e.getMessage());
        IllegalStateException byName = assertThrows(IllegalStateException.class, () -> Backends.get("cudnn", spec));
        assertTrue(byName.getMessage().contains(a.reason()), byName.getMessage());
        IllegalStateException device = assertThrows(IllegalStateException.class, () -> DeviceTensor.allocate(2, 3));
        assertTrue(device.getMessage().contains(a.reason()), device.getMessage());
        assertEquals("vector", Backends.get(Backends.AUTO, spec).name(), "auto without a GPU");
    }

    @Test
    void badArgumentsAreRejectedBeforeTheGpuIsAsked() {
        RnnSpec spec = RnnSpec.lstm(3, 4);
        RnnSpec other = RnnSpec.lstm(3, 5);
        CudnnBackend b = new CudnnBackend();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> b.plan(spec, RnnWeights.random(other, 1), PlanOptions.defaults()));
        assertTrue(e.getMessage().startsWith("weights: expected"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> b.plan(spec, RnnWeights.random(spec, 1), PlanOptions.defaults(), null));
        assertTrue(e.getMessage().startsWith("cudnnOptions: expected"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> DeviceTensor.allocate(2, 0));
        assertTrue(e.getMessage().startsWith("shape[1]: expected"), e.getMessage());
    }

    @Test
    void optionsValidateAndDefaultToExactFloat32() {
        CudnnOptions d = CudnnOptions.defaults();
        assertEquals(CudnnOptions.Algorithm.AUTO, d.algorithm());
        assertEquals(CudnnOptions.Precision.FLOAT32, d.precision());
        assertEquals(CudnnOptions.Algorithm.STANDARD, d.withAlgorithm(CudnnOptions.Algorithm.STANDARD).algorithm());
        CudnnBackend found = (CudnnBackend) io.cellstate.Backends.byName("cudnn");
        assertEquals(d, found.options());
        CudnnBackend standard = found.withOptions(d.withAlgorithm(CudnnOptions.Algorithm.STANDARD));
        assertEquals(CudnnOptions.Algorithm.STANDARD, standard.options().algorithm());
        assertEquals("cudnn", standard.name());
        assertEquals(d, found.options(), "withOptions returns a new backend and leaves the found one as it was");
        e0(() -> found.withOptions(null), "cudnnOptions: expected");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> d.withAlgorithm(null));
        assertTrue(e.getMessage().startsWith("algorithm: expected"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> d.withPrecision(null));
        assertTrue(e.getMessage().startsWith("precision: expected"), e.getMessage());
        // cudnnRNNAlgo_t values as in cudnn_adv.h (compile-time constants: no native library needed)
        assertEquals(org.bytedeco.cuda.global.cudnn.CUDNN_RNN_ALGO_STANDARD, CudnnOptions.Algorithm.STANDARD.cudnnValue());
        assertEquals(org.bytedeco.cuda.global.cudnn.CUDNN_RNN_ALGO_PERSIST_STATIC,
                CudnnOptions.Algorithm.PERSIST_STATIC.cudnnValue());
        assertEquals(org.bytedeco.cuda.global.cudnn.CUDNN_RNN_ALGO_PERSIST_DYNAMIC,
                CudnnOptions.Algorithm.PERSIST_DYNAMIC.cudnnValue());
        assertEquals(org.bytedeco.cuda.global.cudnn.CUDNN_RNN_ALGO_PERSIST_STATIC_SMALL_H,
                CudnnOptions.Algorithm.PERSIST_STATIC_SMALL_H.cudnnValue());
    }

    /** The tolerances CudnnOptions writes down, and where AUTO may try the persistent algorithms. */
    @Test
    void tolerancesAreWrittenDown() {
        io.cellstate.RnnSpec tiny = io.cellstate.RnnSpec.lstm(5, 9);
        io.cellstate.RnnSpec grid = io.cellstate.RnnSpec.lstm(512, 512);
        double cpuTiny = io.cellstate.Tolerance.forward(tiny, 6);
        CudnnOptions auto = CudnnOptions.defaults();
        assertEquals(cpuTiny, auto.tolerance(tiny, 6));
        assertEquals(cpuTiny, auto.withAlgorithm(CudnnOptions.Algorithm.STANDARD).tolerance(tiny, 6));
        assertEquals(cpuTiny + CudnnOptions.PERSISTENT_ERROR_ALLOWANCE,
                auto.withAlgorithm(CudnnOptions.Algorithm.PERSIST_STATIC).tolerance(tiny, 6));
        assertEquals(cpuTiny * 8192, auto.withAlgorithm(CudnnOptions.Algorithm.STANDARD)
                .withPrecision(CudnnOptions.Precision.TF32).tolerance(tiny, 6));
        assertEquals(cpuTiny * 65536, auto.withAlgorithm(CudnnOptions.Algorithm.STANDARD)
                .withPrecision(CudnnOptions.Precision.BF16).tolerance(tiny, 6));
        assertTrue(cpuTiny < CudnnOptions.PERSISTENT_ERROR_ALLOWANCE, "the tiny case is below the allowance: " + cpuTiny);
        assertFalse(auto.persistentWithinTolerance(tiny, 6), "AUTO must not try persistent kernels on the tiny case");
        assertTrue(auto.persistentWithinTolerance(grid, 100), "AUTO tries them on the benchmark grid");
        assertTrue(auto.withPrecision(CudnnOptions.Precision.FP16).persistentWithinTolerance(tiny, 6));
    }

    private static void e0(org.junit.jupiter.api.function.Executable call, String prefix) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().startsWith(prefix), e.getMessage());
    }

    @Test
    void exceptionsNameTheCallAndTheStatus() {
        CudaException e = new CudaException("cudnnRNNForward", "CUDNN_STATUS_NOT_SUPPORTED", 3000, "");
        assertEquals("cudnnRNNForward: CUDNN_STATUS_NOT_SUPPORTED", e.getMessage());
        CudaException oom = new CudaOutOfMemoryException("cudaMalloc", "cudaErrorMemoryAllocation (2)", 2, "y, 4096 bytes");
        assertTrue(oom.getMessage().startsWith("cudaMalloc: cudaErrorMemoryAllocation (2) (out of GPU memory: y, 4096 bytes"),
                oom.getMessage());
        assertEquals("cudaMalloc", oom.call());
        assertEquals(2, oom.status());
    }
}
