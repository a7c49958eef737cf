package io.cellstate.blas;

import static org.bytedeco.openblas.global.openblas_full.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas_full.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas_full.CblasTrans;

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
 * The LSTM's two GEMMs on OpenBLAS: per layer and direction, {@code cblas_sgemm} for the input
 * projection of a chunk of steps ({@code [rows x in] x W_ih^T}), and per step {@code cblas_sgemm}
 * ({@code [B x H] x W_hh^T}), or {@code cblas_sgemv} at batch 1, where sgemm's packing costs more
 * than it saves. The pointwise pass is the one its backend hands it: the Vector API's where available.
 *
 * <p>Layout: gate rows in PyTorch's blocks {@code [i | f | g | o]}, each padded from H to
 * {@code Hp} (a multiple of 16 floats) with zero weight rows, so the pointwise pass runs on whole
 * vectors. Weights and the projection live in native memory, allocated through JavaCPP (tracked by
 * {@code Pointer.totalBytes()}) and released by {@link #close()}. A caller's native, sequence-major
 * input is read in place by the first layer's projection. The driver's state and gate buffers are
 * Java arrays (the Vector API kernel's workspace), so each step stages B x Hp floats of h into
 * native memory and B x 4Hp gate floats back: O(B H) copies beside the O(B H^2) GEMM; a heap input,
 * or a batch-major one, is staged too.
 *
 * <p>One work unit: the driver runs this kernel on one thread, and OpenBLAS parallelises each GEMM
 * with the plan's thread count, held for the whole call (see {@link OpenBlasThreads}).
 */
final class BlasKernel implements CellKernel {
    private static final int PAD = 16;
    /** Native bytes allocated by kernels and not yet freed, in this process. */
    private static final AtomicLong LIVE_BYTES = new AtomicLong();

    private final int hidden;
    private final int hp;
    private final int threads;
    private final int[] inSize;
    private final FloatPointer[] wIh;
    private final FloatPointer[] wHh;
    private final float[][] bias;
    private final Pointwise pointwise;
    /** Points at the caller's native input during a projection. */
    private final At input = new At();
    // native workspace, grown on demand: the layer input chunk, the projection, h
    private FloatPointer x = allocate(0);
    private FloatPointer gates = allocate(0);
    private FloatPointer h = allocate(0);
    private boolean closed;

    BlasKernel(RnnSpec spec, RnnWeights weights, int threads, Pointwise pointwise) {
        this.pointwise = pointwise;
        this.hidden = spec.hiddenSize();
        this.hp = (hidden + PAD - 1) / PAD * PAD;
        this.threads = threads;
        int slots = spec.stateCount();
        inSize = new int[slots];
        wIh = new FloatPointer[slots];
        wHh = new FloatPointer[slots];
        bias = new float[slots][];
        try {
            for (int l = 0; l < spec.layers(); l++) {
                for (int d = 0; d < spec.directions(); d++) {
                    int s = l * spec.directions() + d;
                    inSize[s] = spec.layerInputSize(l);
                    wIh[s] = pack(weights.weightIh(l, d), inSize[s]);
                    wHh[s] = pack(weights.weightHh(l, d), hidden);
                    bias[s] = padBias(weights.biasIh(l, d), weights.biasHh(l, d));
                }
            }
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        }
    }

    /** W [4H x k] into native [4Hp x k], gate g's rows at g * Hp, the padding rows zero. */
    private FloatPointer pack(MemorySegment w, int k) {
        FloatPointer p = allocate((long) 4 * hp * k);
        MemorySegment dst = view(p);
        dst.fill((byte) 0);
        for (int g = 0; g < 4; g++) {
            MemorySegment.copy(w, (long) g * hidden * k * Float.BYTES, dst, (long) g * hp * k * Float.BYTES,
                    (long) hidden * k * Float.BYTES);
        }
        return p;
    }

    private float[] padBias(MemorySegment bIh, MemorySegment bHh) {
        float[] b = new float[4 * hp];
        for (int g = 0; g < 4; g++) {
            for (int j = 0; j < hidden; j++) {
                int r = g * hidden + j;
                b[g * hp + j] = bIh.getAtIndex(ValueLayout.JAVA_FLOAT, r) + bHh.getAtIndex(ValueLayout.JAVA_FLOAT, r);
            }
        }
        return b;
    }

    private static MemorySegment view(FloatPointer p) {
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
        return 4 * hp;
    }

    @Override
    public void project(int slot, float[] xs, int xOff, int xStride, int rows, float[] unused, int u0, int u1) {
        int k = inSize[slot];
        int gs = 4 * hp;
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
        int gs = 4 * hp;
        MemorySegment gv = view(gates);
        float[] b = bias[slot];
        for (int r = 0; r < rows; r++) {
            MemorySegment.copy(b, 0, gv, ValueLayout.JAVA_FLOAT, (long) r * gs * Float.BYTES, gs);
        }
        if (rows == 1) {
            openblas_full.cblas_sgemv(CblasRowMajor, CblasNoTrans, gs, k, 1f, wIh[slot], k, xp, 1, 1f, gates, 1);
        } else {
            openblas_full.cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, gs, k, 1f, xp, ld, wIh[slot], k,
                    1f, gates, gs);
        }
    }

    /** A JavaCPP pointer at memory someone else owns (the caller's input): no allocation, no deallocator. */
    private static final class At extends FloatPointer {
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
        gates = ensure(gates, (long) rows * 4 * hp);
        gemmProjection(slot, input.at(xs.address() + xByteOff), xStride, rows);
    }

    @Override
    public void recurrent(int phase, int slot, Step s, int u0, int u1) {
        float[] heapGates = s.gates();
        int gOff = s.gateOffset();
        float[] hPrev = s.hPrev();
        float[] hNext = s.hNext();
        int batch = s.batch();
        int gs = 4 * hp;
        h = ensure(h, (long) batch * hp);
        MemorySegment.copy(hPrev, 0, view(h), ValueLayout.JAVA_FLOAT, 0, batch * hp);
        gates.position(gOff);
        try {
            if (batch == 1) {
                openblas_full.cblas_sgemv(CblasRowMajor, CblasNoTrans, gs, hidden, 1f, wHh[slot], hidden, h, 1, 1f,
                        gates, 1);
            } else {
                openblas_full.cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, gs, hidden, 1f, h, hp,
                        wHh[slot], hidden, 1f, gates, gs);
            }
        } finally {
            gates.position(0);
        }
        MemorySegment.copy(view(gates), ValueLayout.JAVA_FLOAT, (long) gOff * Float.BYTES, heapGates, gOff, batch * gs);
        for (int b = 0; b < batch; b++) {
            int r = b * hp;
            pointwise.lstmRow(heapGates, gOff + b * gs, hp, s.cPrev(), s.cNext(), r, hNext, r, hidden);
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

    private static FloatPointer allocate(long floats) {
        FloatPointer p = new FloatPointer(floats);
        LIVE_BYTES.addAndGet(floats * Float.BYTES);
        return p;
    }

    private static void free(FloatPointer p) {
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
    }
}
