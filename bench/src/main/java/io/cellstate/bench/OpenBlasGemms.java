package io.cellstate.bench;

import static org.bytedeco.openblas.global.openblas_full.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas_full.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas_full.CblasTrans;

import io.cellstate.RnnSpec;
import io.cellstate.cpu.CpuPlan;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas_full;

/**
 * The OpenBLAS calls of one {@code blas} forward pass and nothing else: per chunk of steps the
 * input projection's {@code cblas_sgemm}, per step the recurrent {@code cblas_sgemm} (or
 * {@code cblas_sgemv} at batch 1), on native buffers of the same shapes, with the same thread
 * count. It computes no LSTM (no pointwise pass, no staging copies): it is the yardstick for the
 * backend's glue, "forward time / these calls' time".
 */
final class OpenBlasGemms implements AutoCloseable {
    /** Gate rows are padded as the blas kernel pads them. */
    private static final int PAD = 16;

    private final int steps;
    private final int batch;
    private final int in;
    private final int hidden;
    private final int gs;
    private final int chunk;
    private final int threads;
    private final FloatPointer wIh;
    private final FloatPointer wHh;
    private final FloatPointer x;
    private final FloatPointer h;
    private final FloatPointer gates;

    OpenBlasGemms(RnnSpec spec, int steps, int batch, int threads) {
        if (spec.layers() != 1 || spec.directions() != 1) {
            throw new IllegalArgumentException("spec: expected one layer, one direction, got " + spec);
        }
        if (!(spec.cell() instanceof io.cellstate.Cell.Lstm)) {
            throw new UnsupportedOperationException("blas-gemms: the GEMMs of an LSTM pass only, got cell " + spec.cell());
        }
        this.steps = steps;
        this.batch = batch;
        this.in = spec.inputSize();
        this.hidden = spec.hiddenSize();
        int hp = (hidden + PAD - 1) / PAD * PAD;
        this.gs = 4 * hp;
        this.chunk = CpuPlan.chunkSteps(steps, batch, gs);
        this.threads = threads;
        wIh = filled((long) gs * in);
        wHh = filled((long) gs * hidden);
        x = filled((long) steps * batch * in);
        h = filled((long) batch * hp);
        gates = filled((long) chunk * batch * gs);
    }

    private static FloatPointer filled(long n) {
        FloatPointer p = new FloatPointer(n);
        MemorySegment m = MemorySegment.ofAddress(p.address()).reinterpret(n * Float.BYTES);
        SplittableRandom r = new SplittableRandom(n);
        for (long i = 0; i < n; i++) {
            m.setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, i, (float) r.nextDouble(-0.05, 0.05));
        }
        return p;
    }

    /** The calls of one forward pass. */
    void run() {
        int previous = openblas_full.openblas_get_num_threads();
        openblas_full.openblas_set_num_threads(threads);
        try {
            int hp = gs / 4;
            for (int t0 = 0; t0 < steps; t0 += chunk) {
                int rows = Math.min(chunk, steps - t0) * batch;
                x.position((long) t0 * batch * in);
                if (rows == 1) {
                    openblas_full.cblas_sgemv(CblasRowMajor, CblasNoTrans, gs, in, 1f, wIh, in, x, 1, 1f, gates, 1);
                } else {
                    openblas_full.cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, gs, in, 1f, x, in, wIh, in,
                            1f, gates, gs);
                }
                for (int r = 0; r < rows; r += batch) {
                    gates.position((long) r * gs);
                    if (batch == 1) {
                        openblas_full.cblas_sgemv(CblasRowMajor, CblasNoTrans, gs, hidden, 1f, wHh, hidden, h, 1, 1f,
                                gates, 1);
                    } else {
                        openblas_full.cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, gs, hidden, 1f, h, hp,
                                wHh, hidden, 1f, gates, gs);
                    }
                }
                gates.position(0);
            }
            x.position(0);
        } finally {
            openblas_full.openblas_set_num_threads(previous);
        }
    }

    @Override
    public void close() {
        wIh.close();
        wHh.close();
        x.close();
        h.close();
        gates.close();
    }
}
