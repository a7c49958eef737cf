package io.cellstate.cpu;

import io.cellstate.Layout;
import io.cellstate.PlanOptions;
import io.cellstate.RnnSpec;
import io.cellstate.RnnState;
import io.cellstate.RnnWeights;
import io.cellstate.Tensor;
import io.cellstate.WorkerGroup;
import io.cellstate.ForwardMode;
import io.cellstate.spi.AbstractRnnPlan;
import io.cellstate.spi.BackwardCall;
import io.cellstate.spi.ForwardCall;
import io.cellstate.spi.TrainingWorkspace;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.function.IntConsumer;

/**
 * The CPU driver: owns the layer x direction x time loop once for every CPU kernel and every cell,
 * as oneDNN's and cuDNN's RNN drivers do. Per layer and direction:
 * <ol>
 *   <li>the input projection of a chunk of time steps as one GEMM, {@code [steps*B x in] x [in x G*H]}
 *       (all T at once unless the gate buffer would pass {@link #GATE_BUDGET} floats);</li>
 *   <li>per step, the kernel's recurrent phases ({@link CellKernel#recurrent}): the recurrent
 *       GEMM(s) and the fused pointwise parts;</li>
 *   <li>the sequence-length masking: a row whose sequence has ended (or, in reverse, not yet
 *       begun) keeps its state, and its output is 0.</li>
 * </ol>
 * The state is double-buffered (h and, for the LSTM, c: before and after the step), so masking is
 * a copy of the state before over what the kernel computed. Threads split the hidden units (see
 * {@link CellKernel}); the synchronisation is one barrier per phase of a time step. The threads are the caller and the helpers its {@link io.cellstate.WorkerGroup}
 * can lend for the call ({@link io.cellstate.WorkerGroup.Team}): how many varies with what else runs, which changes
 * no result, since a kernel computes each unit the same way whoever runs it. Workspace is kept
 * between calls and grows only when a call is larger than any before, so a steady stream of calls
 * allocates nothing.
 *
 * <p>A plan made for {@link ForwardMode#TRAINING} also holds a {@link TrainingEngine} over the backend's
 * {@link CpuGemm} and {@link TrainingPointwise}, which runs its training forward and backward passes. A cell
 * with options ({@link io.cellstate.Cell#isPlain()} false: an LSTM's projection, peepholes, clip, coupled
 * gates, other activations) has no {@link CellKernel}: its plans, in either mode, run every pass on the
 * engine, the inference forward and the streaming step through {@link TrainingEngine#infer}.
 */
public final class CpuPlan extends AbstractRnnPlan {
    /** Largest gate buffer in floats (16 MiB): longer sequences are projected in chunks of steps. */
    static final int GATE_BUDGET = 1 << 22;
    /** Multiply-adds per step a thread must get before a second thread pays for its barrier. */
    static final long MIN_MACS_PER_THREAD = 1 << 15;
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final java.util.function.Function<RnnWeights, CellKernel> kernels;
    /**
     * The kernel over the current weights, replaced by {@link #reload}; null for a cell with options, which the
     * engine runs. The box is what the cleaner closes.
     */
    private final KernelBox box = new KernelBox();
    private CellKernel kernel;
    private final boolean cellState;
    private final int maxThreads;
    private final WorkerGroup.Team team;
    private final IntConsumer body = this::body;
    /** The training passes, for a plan made for training or of a cell with options (else null). */
    private final TrainingEngine engine;

    // workspace, grown on demand
    private float[] x0 = new float[0];
    private final float[][] layerOut = {new float[0], new float[0]};
    private float[] gates = new float[0];
    private final float[][] hBuf = {new float[0], new float[0]};
    private final float[][] cBuf = {new float[0], new float[0]};
    /** The step buffers of each participant of a call (one per thread the group may lend). */
    private final Step[] stepOf;

    // the last step's call and the caller's tensors it was made for (see stepCall)
    private ForwardCall lastStep;
    private Tensor lastStepX;
    private Tensor lastStepY;

    // the call in flight, read by the workers
    private ForwardCall call;
    private float[] xArr;
    private int xOff;
    /** The caller's native input, read in place by kernels that can (else null). */
    private MemorySegment xSeg;
    private float[] yArr;
    private int yOff;
    private int chunk;

    /**
     * @param backend   the backend's name, for messages
     * @param spec      the network
     * @param weights   its parameters
     * @param options   the plan's options
     * @param kernels   makes the kernel for a set of this spec's weights, packing them: called once here and
     *                  once per {@link #setWeights} for a plain cell (never for a cell with options); the plan owns
     *                  and closes what it makes
     * @param gemms     the GEMMs and buffers of the engine (used only by a plan made for training or of a cell
     *                  with options)
     * @param pointwise the pointwise parts of the training passes
     */
    public CpuPlan(String backend, RnnSpec spec, RnnWeights weights, PlanOptions options,
                   java.util.function.Function<RnnWeights, CellKernel> kernels, CpuGemm.Factory gemms,
                   TrainingPointwise pointwise) {
        super(backend, spec, weights, options);
        this.kernels = kernels;
        this.cellState = spec.cell().hasCellState();
        WorkerGroup group = options.workers() != null ? options.workers() : WorkerGroup.common();
        if (group.isClosed()) {
            throw new IllegalArgumentException("options.workers: expected an open worker group, got " + group
                    + ", closed");
        }
        this.team = group.team();
        this.maxThreads = options.threads() == 0 ? group.size() : Math.min(options.threads(), group.size());
        this.stepOf = new Step[group.size()];
        for (int i = 0; i < stepOf.length; i++) {
            stepOf[i] = new Step();
        }
        this.kernel = spec.cell().isPlain() ? kernels.apply(weights) : null;
        box.kernel = kernel;
        TrainingEngine made = null;
        try {
            if (options.mode() == ForwardMode.TRAINING || kernel == null) {
                made = new TrainingEngine(spec, weights, pointwise, gemms, team, maxThreads);
                box.engine = made;
            }
            if (options.maxBatch() > 0 && options.maxSteps() > 0) {
                if (kernel != null) {
                    reserve(options.maxSteps(), options.maxBatch(), true);
                } else {
                    made.reserveInference(options.maxSteps(), options.maxBatch());
                }
            }
        } catch (RuntimeException | Error e) {
            if (kernel != null) {
                kernel.close();
            }
            if (made != null) {
                made.close();
            }
            throw e;
        }
        this.engine = made;
        releaseWith(box);
    }

    /** What the plan's close (or its cleaner) closes: the kernel of the moment, and the training engine. */
    private static final class KernelBox implements AutoCloseable {
        volatile CellKernel kernel;
        volatile TrainingEngine engine;

        @Override
        public void close() {
            try {
                if (kernel != null) {
                    kernel.close();
                }
            } finally {
                if (engine != null) {
                    engine.close();
                }
            }
        }
    }

    @Override
    protected void reload(RnnWeights weights) {
        if (kernel != null) {
            CellKernel fresh = kernels.apply(weights);
            CellKernel old = kernel;
            kernel = fresh;
            box.kernel = fresh;
            old.close();
        }
        if (engine != null) {
            engine.reload(weights);
        }
    }

    @Override
    protected TrainingWorkspace createWorkspace() {
        return engine.newWorkspace(this);
    }

    @Override
    protected void runTraining(ForwardCall c, TrainingWorkspace ws) {
        checkSize(c);
        // the base class gave this plan's own workspace, so it is the engine's kind
        engine.forward(c, (TrainingEngine.Workspace) ws);
    }

    @Override
    protected void runBackward(BackwardCall c) {
        engine.backward(c);
    }

    /** Steps whose input projection runs as one GEMM: all T, unless the gate buffer would pass {@link #GATE_BUDGET}. */
    public static int chunkSteps(int steps, int batch, int gateStride) {
        return (int) Math.max(1, Math.min(steps, GATE_BUDGET / ((long) batch * gateStride)));
    }

    /** Threads this plan would use for a call of {@code batch} sequences. */
    public int threadsFor(int batch) {
        long macs = (long) batch * spec.gates() * spec.hiddenSize() * (spec.hiddenSize() + spec.layerInputSize(0));
        long useful = Math.max(1, macs / MIN_MACS_PER_THREAD);
        return (int) Math.min(Math.min(maxThreads, kernel != null ? kernel.units() : maxThreads), useful);
    }

    @Override
    protected void run(ForwardCall c) {
        int steps = c.steps();
        int batch = c.batch();
        checkSize(c);
        if (kernel == null) {
            engine.infer(c);
            return;
        }
        boolean seqMajor = c.layout() == Layout.SEQUENCE_MAJOR;
        float[] xa = c.x().heapArray();
        float[] ya = c.y().heapArray();
        boolean directIn = seqMajor && xa != null;
        boolean segmentIn = !directIn && seqMajor && c.x().segment().isNative() && kernel.projectsFromSegments();
        boolean directOut = seqMajor && ya != null;
        reserve(steps, batch, !directIn && !segmentIn);
        xSeg = segmentIn ? c.x().segment() : null;
        if (directIn) {
            xArr = xa;
            xOff = c.x().heapOffset();
        } else if (segmentIn) {
            xArr = null;
            xOff = 0;
        } else {
            copyIn(c, x0);
            xArr = x0;
            xOff = 0;
        }
        yArr = directOut ? ya : null;
        yOff = directOut ? c.y().heapOffset() : 0;
        if (!directOut || spec.layers() > 1) {
            int need = steps * batch * spec.outputSize();
            for (int i = 0; i < (spec.layers() > 1 ? 2 : 1); i++) {
                if (layerOut[i].length < need) {
                    layerOut[i] = new float[need];
                }
            }
        }
        chunk = chunkSteps(steps, batch, kernel.gateStride());
        call = c;
        kernel.beginCall();
        try {
            team.run(threadsFor(batch), body);
        } finally {
            kernel.endCall();
            call = null;
            xSeg = null;
        }
        if (!directOut) {
            copyOut(c, layerOut[(spec.layers() - 1) & 1]);
        }
    }

    /** Refuses a call whose sequence buffers would not fit a Java array. */
    private void checkSize(ForwardCall c) {
        long rows = (long) c.steps() * c.batch();
        int gateStride = kernel != null ? kernel.gateStride() : spec.gates() * spec.hiddenSize();
        long widest = Math.max(spec.inputSize(), Math.max(spec.outputSize(), gateStride));
        if (rows * widest > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("in.x: expected T*B*max(inputSize, D*H, G*H) <= " + (Integer.MAX_VALUE - 8)
                    + " for the CPU kernels' heap workspace, got T*B = " + rows + " rows of " + widest);
        }
    }

    private void reserve(int steps, int batch, boolean needX0) {
        int stateFloats = batch * kernel.hiddenStride();
        if (hBuf[0].length < stateFloats) {
            // zero padding columns stay zero: the kernel computes them from zero weights
            hBuf[0] = new float[stateFloats];
            hBuf[1] = new float[stateFloats];
            if (cellState) {
                cBuf[0] = new float[stateFloats];
                cBuf[1] = new float[stateFloats];
            }
        }
        kernel.reserve(batch);
        int gateFloats = chunkSteps(steps, batch, kernel.gateStride()) * batch * kernel.gateStride();
        if (gates.length < gateFloats) {
            gates = new float[gateFloats];
        }
        if (needX0 && x0.length < steps * batch * spec.inputSize()) {
            x0 = new float[steps * batch * spec.inputSize()];
        }
    }

    /** The whole forward pass as participant {@code w} of the call's team sees it. */
    private void body(int w) {
        ForwardCall c = call;
        int threads = team.participants();
        int steps = c.steps();
        int batch = c.batch();
        int hidden = spec.hiddenSize();
        int dirs = spec.directions();
        int outWidth = spec.outputSize();
        int hs = kernel.hiddenStride();
        int gs = kernel.gateStride();
        int units = kernel.units();
        int u0 = (int) ((long) w * units / threads);
        int u1 = (int) ((long) (w + 1) * units / threads);
        int j0 = Math.min(hidden, u0 * kernel.unitWidth());
        int j1 = Math.min(hidden, u1 * kernel.unitWidth());
        int chunks = (steps + chunk - 1) / chunk;
        int[] lengths = c.lengths();
        for (int l = 0; l < spec.layers(); l++) {
            float[] in = l == 0 ? xArr : layerOut[(l - 1) & 1];
            int inOff = l == 0 ? xOff : 0;
            int inStride = spec.layerInputSize(l);
            boolean last = l == spec.layers() - 1;
            float[] out = last && yArr != null ? yArr : layerOut[l & 1];
            int outOff = last && yArr != null ? yOff : 0;
            for (int d = 0; d < dirs; d++) {
                int slot = l * dirs + d;
                boolean reversed = spec.direction().reversed(d);
                // the final state of the previous direction is already in hN, cN: the buffers are free
                float[] hPrev = hBuf[0];
                float[] hNext = hBuf[1];
                float[] cPrev = cBuf[0];
                float[] cNext = cBuf[1];
                loadState(c.h0(), slot, batch, hPrev, j0, j1);
                if (cellState) {
                    loadState(c.c0(), slot, batch, cPrev, j0, j1);
                }
                Step step = stepOf[w];
                int phases = kernel.phases();
                barrier();
                for (int ci = 0; ci < chunks; ci++) {
                    int t0 = (reversed ? chunks - 1 - ci : ci) * chunk;
                    int t1 = Math.min(steps, t0 + chunk);
                    if (l == 0 && xSeg != null) {
                        kernel.project(slot, xSeg, (long) t0 * batch * inStride * Float.BYTES, inStride,
                                (t1 - t0) * batch, gates, u0, u1);
                    } else {
                        kernel.project(slot, in, inOff + t0 * batch * inStride, inStride, (t1 - t0) * batch, gates,
                                u0, u1);
                    }
                    for (int i = t0; i < t1; i++) {
                        int t = reversed ? t1 - 1 - (i - t0) : i;
                        step.set(gates, (t - t0) * batch * gs, hPrev, hNext, cPrev, cNext, batch);
                        for (int p = 0; p < phases; p++) {
                            if (p > 0) {
                                barrier();
                            }
                            kernel.recurrent(p, slot, step, u0, u1);
                        }
                        for (int b = 0; b < batch; b++) {
                            int dst = outOff + (t * batch + b) * outWidth + d * hidden;
                            if (lengths == null || t < lengths[b]) {
                                System.arraycopy(hNext, b * hs + j0, out, dst + j0, j1 - j0);
                            } else {
                                // ended (or, in reverse, not yet begun): the state stays, the output is 0
                                System.arraycopy(hPrev, b * hs + j0, hNext, b * hs + j0, j1 - j0);
                                if (cellState) {
                                    System.arraycopy(cPrev, b * hs + j0, cNext, b * hs + j0, j1 - j0);
                                }
                                Arrays.fill(out, dst + j0, dst + j1, 0f);
                            }
                        }
                        barrier();
                        float[] swap = hPrev;
                        hPrev = hNext;
                        hNext = swap;
                        swap = cPrev;
                        cPrev = cNext;
                        cNext = swap;
                    }
                }
                storeState(c.hN(), slot, batch, hPrev, j0, j1);
                if (cellState) {
                    storeState(c.cN(), slot, batch, cPrev, j0, j1);
                }
            }
        }
    }

    private void barrier() {
        team.barrier();
    }

    private void loadState(Tensor state, int slot, int batch, float[] into, int j0, int j1) {
        int hidden = spec.hiddenSize();
        int hs = kernel.hiddenStride();
        for (int b = 0; b < batch; b++) {
            if (state == null) {
                Arrays.fill(into, b * hs + j0, b * hs + j1, 0f);
            } else {
                long src = (((long) slot * batch + b) * hidden + j0) * Float.BYTES;
                MemorySegment.copy(state.segment(), FLOAT, src, into, b * hs + j0, j1 - j0);
            }
        }
    }

    private void storeState(Tensor state, int slot, int batch, float[] from, int j0, int j1) {
        if (state == null) {
            return;
        }
        int hidden = spec.hiddenSize();
        int hs = kernel.hiddenStride();
        for (int b = 0; b < batch; b++) {
            long dst = (((long) slot * batch + b) * hidden + j0) * Float.BYTES;
            MemorySegment.copy(from, b * hs + j0, state.segment(), FLOAT, dst, j1 - j0);
        }
    }

    /** Input into sequence-major rows. */
    private void copyIn(ForwardCall c, float[] into) {
        int steps = c.steps();
        int batch = c.batch();
        int f = spec.inputSize();
        for (int t = 0; t < steps; t++) {
            for (int b = 0; b < batch; b++) {
                long src = (long) c.layout().row(t, b, steps, batch) * f * Float.BYTES;
                MemorySegment.copy(c.x().segment(), FLOAT, src, into, (t * batch + b) * f, f);
            }
        }
    }

    /** Last layer's sequence-major rows into the caller's output in its layout. */
    private void copyOut(ForwardCall c, float[] from) {
        int steps = c.steps();
        int batch = c.batch();
        int f = spec.outputSize();
        for (int t = 0; t < steps; t++) {
            for (int b = 0; b < batch; b++) {
                long dst = (long) c.layout().row(t, b, steps, batch) * f * Float.BYTES;
                MemorySegment.copy(from, (t * batch + b) * f, c.y().segment(), FLOAT, dst, f);
            }
        }
    }

    @Override
    protected void runStep(Tensor x, RnnState state, Tensor y) {
        run(stepCall(x, state, y));
    }

    /**
     * The T = 1 call of a step: the last one again when the caller passes the same tensors as last time (a
     * stream refills its x and y and carries its state in place), so a steady stream allocates nothing.
     * The plan keeps a reference to those tensors until a step with others, or its close.
     */
    private ForwardCall stepCall(Tensor x, RnnState state, Tensor y) {
        ForwardCall last = lastStep;
        if (last != null && x == lastStepX && y == lastStepY && state.h() == last.h0() && state.c() == last.c0()) {
            return last;
        }
        int batch = x.dim(0);
        Tensor x3 = Tensor.wrap(x.segment(), 1, batch, spec.inputSize());
        Tensor y3 = Tensor.wrap(y.segment(), 1, batch, spec.outputHiddenSize());
        // h and c are [layers, B, H_out] and [layers, B, H] = [layers*D, ...] for a forward-only spec: read as h0,
        // written as hN
        ForwardCall c = new ForwardCall(x3, Layout.SEQUENCE_MAJOR, 1, batch, null, state.h(), state.c(), y3, state.h(),
                state.c());
        lastStepX = x;
        lastStepY = y;
        lastStep = c;
        return c;
    }
}
