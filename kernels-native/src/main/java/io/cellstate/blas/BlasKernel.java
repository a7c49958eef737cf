package io.cellstate.blas;

import static org.bytedeco.openblas.global.openblas_full.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas_full.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas_full.CblasTrans;

import io.cellstate.Cell;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.cpu.CellKernel;
import io.cellstate.cpu.Pointwise;
import io.cellstate.cpu.Step;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicLong;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas_full;

/**
 * Every cell's GEMMs on OpenBLAS: per layer and direction, {@code cblas_sgemm} for the input
 * projection of a chunk of steps ({@code [rows x in] x W_ih^T}), and per step the recurrent
 * {@code cblas_sgemm} ({@code [B x H] x W_hh^T}; the original GRU's two, over [W_hr | W_hz] and then
 * W_hn), or {@code cblas_sgemv} at batch 1, where sgemm's packing costs more than it saves. The
 * pointwise parts are the ones its backend hands it: the Vector API's where available.
 *
 * <p>Layout: gate rows in PyTorch's blocks ({@code [i | f | g | o]}, {@code [r | z | n]}), each padded from H to
 * {@code Hp} (a multiple of 16 floats) with zero weight rows, so the pointwise pass runs on whole
 * vectors. Weights and the projection live in native memory, allocated through JavaCPP (tracked by
 * {@code Pointer.totalBytes()}) and released by {@link #close()}. A caller's native, sequence-major
 * input is read in place by the first layer's projection. The driver's state and gate buffers are
 * Java arrays (the Vector API kernel's workspace), so each step stages B x Hp floats of h into
 * native memory and B x G*Hp gate floats back: O(B H) copies beside the O(B H^2) GEMM; a heap input,
 * or a batch-major one, is staged too.
 *
 * <p>One work unit: the driver runs this kernel on one thread, and OpenBLAS parallelises each GEMM
 * with the plan's thread count, held for the whole call (see {@link OpenBlasThreads}).
 */
final class BlasKernel implements CellKernel {
    private static final int PAD = 16;
    /** Native bytes allocated by kernels and not yet freed, in this process. */
    private static final AtomicLong LIVE_BYTES = new AtomicLong();

    private final Cell cell;
    private final int hidden;
    private final int hp;
    /** Gates G, and the gate stride G * Hp. */
    private final int g;
    private final int gs;
    private final int threads;
    private final int[] inSize;
    private final FloatPointer[] wIh;
    private final FloatPointer[] wHh;
    private final float[][] bias;
    /** b_hh, padded: the linear-before-reset GRU adds it inside the product by r (else null). */
    private final float[][] recurrentBias;
    private final Pointwise pointwise;
    /** Points at the caller's native input during a projection. */
    private final At input = new At();
    // native workspace, grown on demand: the layer input chunk, the projection, h
    private FloatPointer x = allocate(0);
    private FloatPointer gates = allocate(0);
    private FloatPointer h = allocate(0);
    /** The GRU's recurrent products ([B x G*Hp], or [B x 2Hp] then [B x Hp] for the original formula). */
    private FloatPointer recurrent = allocate(0);
    private FloatPointer recurrentNew = allocate(0);
    /** Heap copies of the recurrent products, and r ⊙ h, for the pointwise parts. */
    private float[] heapRecurrent = new float[0];
    private float[] heapNew = new float[0];
    private float[] resetState = new float[0];
    private boolean closed;

    BlasKernel(RnnSpec spec, RnnWeights weights, int threads, Pointwise pointwise) {
        this.pointwise = pointwise;
        this.cell = spec.cell();
        this.hidden = spec.hiddenSize();
        this.hp = (hidden + PAD - 1) / PAD * PAD;
        this.g = spec.gates();
        this.gs = g * hp;
        this.threads = threads;
        boolean linearBeforeReset = cell instanceof Cell.Gru gru && gru.linearBeforeReset();
        int slots = spec.stateCount();
        inSize = new int[slots];
        wIh = new FloatPointer[slots];
        wHh = new FloatPointer[slots];
        bias = new float[slots][];
        recurrentBias = linearBeforeReset ? new float[slots][] : null;
        try {
            for (int l = 0; l < spec.layers(); l++) {
                for (int d = 0; d < spec.directions(); d++) {
                    int s = l * spec.directions() + d;
                    inSize[s] = spec.layerInputSize(l);
                    wIh[s] = pack(weights.weightIh(l, d), inSize[s]);
                    wHh[s] = pack(weights.weightHh(l, d), hidden);
                    // every bias outside a product by a gate folds into the projection
                    bias[s] = padBias(weights.biasIh(l, d), linearBeforeReset ? null : weights.biasHh(l, d));
                    if (linearBeforeReset) {
                        recurrentBias[s] = padBias(weights.biasHh(l, d), null);
                    }
                }
            }
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        }
    }

    /** W [G*H x k] into native [G*Hp x k], gate q's rows at q * Hp, the padding rows zero. */
    private FloatPointer pack(MemorySegment w, int k) {
        FloatPointer p = allocate((long) gs * k);
        MemorySegment dst = view(p);
        dst.fill((byte) 0);
        for (int q = 0; q < g; q++) {
            MemorySegment.copy(w, (long) q * hidden * k * Float.BYTES, dst, (long) q * hp * k * Float.BYTES,
                    (long) hidden * k * Float.BYTES);
        }
        return p;
    }

    /** {@code a + b} ({@code b} may be null) with each gate's block padded to Hp. */
    private float[] padBias(MemorySegment a, MemorySegment b) {
        float[] out = new float[gs];
        for (int q = 0; q < g; q++) {
            for (int j = 0; j < hidden; j++) {
                int r = q * hidden + j;
                out[q * hp + j] = a.getAtIndex(ValueLayout.JAVA_FLOAT, r)
                        + (b == null ? 0f : b.getAtIndex(ValueLayout.JAVA_FLOAT, r));
            }
        }
        return out;
    }

    static MemorySegment view(FloatPointer p) {
        return MemorySegment.ofAddress(p.address()).reinterpret(p.capacity() * Float.BYTES);
    }

    @Override
    public int units() {
        return 1;
    }

    @Override
    public int unitWidth() {
        return hidden;
    }

    @Override
    public int hiddenStride() {
        return hp;
    }

    @Override
    public int gateStride() {
        return gs;
    }

    @Override
    public int phases() {
        return cell instanceof Cell.Gru gru && !gru.linearBeforeReset() ? 2 : 1;
    }

    @Override
    public void reserve(int batch) {
        if (cell instanceof Cell.Gru) {
            recurrent = ensure(recurrent, (long) batch * gs);
            recurrentNew = ensure(recurrentNew, (long) batch * hp);
            if (heapRecurrent.length < batch * gs) {
                heapRecurrent = new float[batch * gs];
                heapNew = new float[batch * hp];
                resetState = new float[batch * hp];
            }
        }
    }

    @Override
    public void project(int slot, float[] xs, int xOff, int xStride, int rows, float[] unused, int u0, int u1) {
        int k = inSize[slot];
        x = ensure(x, (long) rows * k);
        gates = ensure(gates, (long) rows * gs);
        MemorySegment xv = view(x);
        if (xStride == k) {
            MemorySegment.copy(xs, xOff, xv, ValueLayout.JAVA_FLOAT, 0, rows * k);
        } else {
            for (int r = 0; r < rows; r++) {
                MemorySegment.copy(xs, xOff + r * xStride, xv, ValueLayout.JAVA_FLOAT, (long) r * k * Float.BYTES, k);
            }
        }
        gemmProjection(slot, x, k, rows);
    }

    /** gates[r] = bias + row r of {@code xp} (rows {@code ld} floats apart) . W_ih^T, for {@code rows} rows. */
    private void gemmProjection(int slot, FloatPointer xp, int ld, int rows) {
        int k = inSize[slot];
        fillRows(gates, bias[slot], rows);
        if (rows == 1) {
            openblas_full.cblas_sgemv(CblasRowMajor, CblasNoTrans, gs, k, 1f, wIh[slot], k, xp, 1, 1f, gates, 1);
        } else {
            openblas_full.cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, gs, k, 1f, xp, ld, wIh[slot], k,
                    1f, gates, gs);
        }
    }

    /** Writes {@code row} (G*Hp floats, a bias) into each of the first {@code rows} rows of {@code out}, for a GEMM to add to. */
    private void fillRows(FloatPointer out, float[] row, int rows) {
        MemorySegment v = view(out);
        for (int r = 0; r < rows; r++) {
            MemorySegment.copy(row, 0, v, ValueLayout.JAVA_FLOAT, (long) r * gs * Float.BYTES, gs);
        }
    }

    /** A JavaCPP pointer at memory someone else owns (the caller's input): no allocation, no deallocator. */
    static final class At extends FloatPointer {
        At at(long address) {
            this.address = address;
            this.position = 0;
            return this;
        }
    }

    @Override
    public boolean projectsFromSegments() {
        return true;
    }

    /** The projection straight from the caller's native input: sgemm reads it where it lies. */
    @Override
    public void project(int slot, MemorySegment xs, long xByteOff, int xStride, int rows, float[] unused, int u0, int u1) {
        gates = ensure(gates, (long) rows * gs);
        gemmProjection(slot, input.at(xs.address() + xByteOff), xStride, rows);
    }

    @Override
    public void recurrent(int phase, int slot, Step s, int u0, int u1) {
        switch (cell) {
            case Cell.Lstm lstm -> {
                float[] px = addRecurrent(slot, s);
                for (int b = 0; b < s.batch(); b++) {
                    int r = b * hp;
                    pointwise.lstmRow(px, s.gateOffset() + b * gs, hp, s.cPrev(), s.cNext(), r, s.hNext(), r, hidden);
                }
            }
            case Cell.Rnn rnn -> {
                float[] px = addRecurrent(slot, s);
                boolean relu = rnn.nonlinearity() == Cell.Nonlinearity.RELU;
                for (int b = 0; b < s.batch(); b++) {
                    pointwise.rnnRow(px, s.gateOffset() + b * gs, s.hNext(), b * hp, hidden, relu);
                }
            }
            case Cell.Gru gru -> {
                if (gru.linearBeforeReset()) {
                    gruLinearBeforeReset(slot, s);
                } else if (phase == 0) {
                    gruReset(slot, s);
                } else {
                    gruNew(slot, s);
                }
            }
        }
    }

    /**
     * The LSTM's and the RNN's recurrent GEMM: the native projection of the step += h W_hh^T
     * ({@code cblas_sgemv} at batch 1), then the step's gates copied to the heap for the pointwise pass.
     */
    private float[] addRecurrent(int slot, Step s) {
        FloatPointer hv = stageState(s.hPrev(), s.batch());
        gates.position(s.gateOffset());
        try {
            multiply(hv, wHh[slot], 0, gs, hidden, gates, gs, s.batch(), 1f);
        } finally {
            gates.position(0);
        }
        return projection(s);
    }

    /** PyTorch's GRU: ph = b_hh + h W_hh^T into a buffer of its own, then r, z, n from the projection and ph. */
    private void gruLinearBeforeReset(int slot, Step s) {
        int batch = s.batch();
        int gOff = s.gateOffset();
        FloatPointer hv = stageState(s.hPrev(), batch);
        fillRows(recurrent, recurrentBias[slot], batch);
        multiply(hv, wHh[slot], 0, gs, hidden, recurrent, gs, batch, 1f);
        MemorySegment.copy(view(recurrent), ValueLayout.JAVA_FLOAT, 0, heapRecurrent, 0, batch * gs);
        float[] px = projection(s);
        for (int b = 0; b < batch; b++) {
            int r = b * hp;
            pointwise.gruRow(px, gOff + b * gs, heapRecurrent, b * gs, hp, s.hPrev(), s.hNext(), r, hidden);
        }
    }

    /** The original GRU, phase 0: rz = h [W_hr | W_hz]^T; r, z = σ(px + rz), and r ⊙ h for phase 1. */
    private void gruReset(int slot, Step s) {
        int batch = s.batch();
        int gOff = s.gateOffset();
        FloatPointer hv = stageState(s.hPrev(), batch);
        multiply(hv, wHh[slot], 0, 2 * hp, hidden, recurrent, 2 * hp, batch, 0f);
        MemorySegment.copy(view(recurrent), ValueLayout.JAVA_FLOAT, 0, heapRecurrent, 0, batch * 2 * hp);
        float[] px = projection(s);
        for (int b = 0; b < batch; b++) {
            int r = b * hp;
            pointwise.gruResetRow(px, gOff + b * gs, heapRecurrent, b * 2 * hp, hp, s.hPrev(), resetState, r, hidden);
        }
    }

    /** The original GRU, phase 1: hn = (r ⊙ h) W_hn^T; n = tanh(px_n + hn), h' = n + z (h - n). */
    private void gruNew(int slot, Step s) {
        int batch = s.batch();
        FloatPointer rh = stageState(resetState, batch);
        multiply(rh, wHh[slot], 2 * hp * hidden, hp, hidden, recurrentNew, hp, batch, 0f);
        MemorySegment.copy(view(recurrentNew), ValueLayout.JAVA_FLOAT, 0, heapNew, 0, batch * hp);
        float[] px = s.gates(); // the projection came over in phase 0
        for (int b = 0; b < batch; b++) {
            int r = b * hp;
            pointwise.gruNewRow(px, s.gateOffset() + b * gs, heapNew, b * hp, hp, s.hPrev(), s.hNext(), r, hidden);
        }
    }

    /** Copies {@code batch} rows of a heap state (rows of Hp floats) into the native h buffer. */
    private FloatPointer stageState(float[] state, int batch) {
        h = ensure(h, (long) batch * hp);
        MemorySegment.copy(state, 0, view(h), ValueLayout.JAVA_FLOAT, 0, batch * hp);
        return h;
    }

    /** The step's gates (the projection, and what a GEMM added to it), copied from the native gate buffer to the driver's heap one. */
    private float[] projection(Step s) {
        MemorySegment.copy(view(gates), ValueLayout.JAVA_FLOAT, (long) s.gateOffset() * Float.BYTES, s.gates(),
                s.gateOffset(), s.batch() * gs);
        return s.gates();
    }

    /**
     * {@code out[B x n] = beta out + a[B x k] W[rows from wRow, n of them]^T}, rows of a {@code hp} and of
     * out {@code ldo} floats apart: {@code cblas_sgemm}, or {@code cblas_sgemv} for one row.
     */
    private void multiply(FloatPointer a, FloatPointer w, long wFloat, int n, int k, FloatPointer out, int ldo, int batch,
                          float beta) {
        long wPos = w.position();
        w.position(wFloat);
        try {
            if (batch == 1) {
                openblas_full.cblas_sgemv(CblasRowMajor, CblasNoTrans, n, k, 1f, w, k, a, 1, beta, out, 1);
            } else {
                openblas_full.cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, n, k, 1f, a, hp, w, k, beta,
                        out, ldo);
            }
        } finally {
            w.position(wPos);
        }
    }

    /** Holds OpenBLAS at the plan's thread count for the whole call (see {@link OpenBlasThreads}). */
    @Override
    public void beginCall() {
        OpenBlasThreads.enter(threads);
    }

    @Override
    public void endCall() {
        OpenBlasThreads.leave();
    }

    /** {@code p}, or a new zeroed native buffer of {@code floats} if {@code p} is smaller (the old one freed). */
    private static FloatPointer ensure(FloatPointer p, long floats) {
        if (p.capacity() >= floats) {
            return p;
        }
        free(p);
        FloatPointer n = allocate(floats);
        view(n).fill((byte) 0);
        return n;
    }

    /** A native buffer of {@code floats} floats, counted in {@link #liveBytes()}. */
    static FloatPointer allocate(long floats) {
        FloatPointer p = new FloatPointer(floats);
        LIVE_BYTES.addAndGet(floats * Float.BYTES);
        return p;
    }

    /** Frees a buffer of {@link #allocate}, uncounting it. */
    static void free(FloatPointer p) {
        if (p != null) {
            LIVE_BYTES.addAndGet(-p.capacity() * Float.BYTES);
            p.close();
        }
    }

    /**
     * Native bytes the kernels of this process allocated and have not freed: our own count, which
     * only {@link #close()} lowers (JavaCPP's collector, freeing buffers of a lost kernel, would not).
     */
    static long liveBytes() {
        return LIVE_BYTES.get();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (FloatPointer[] ps : new FloatPointer[][] {wIh, wHh}) {
            for (FloatPointer p : ps) {
                free(p);
            }
        }
        free(x);
        free(gates);
        free(h);
        free(recurrent);
        free(recurrentNew);
    }
}
