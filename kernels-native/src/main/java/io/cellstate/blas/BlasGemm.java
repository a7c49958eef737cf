package io.cellstate.blas;

import static org.bytedeco.openblas.global.openblas_full.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas_full.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas_full.CblasTrans;

import io.cellstate.cpu.CpuGemm;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas_full;

/**
 * {@link CpuGemm} on OpenBLAS: native buffers allocated through JavaCPP (counted with the kernels' in
 * {@link BlasKernel#liveBytes()}), and {@code cblas_sgemm} on their addresses through three reusable
 * pointers, so a GEMM allocates nothing. OpenBLAS parallelises each GEMM with the plan's thread count,
 * held for the whole call by {@link OpenBlasThreads}.
 */
final class BlasGemm implements CpuGemm {
    private final int threads;
    private final List<FloatPointer> held = new ArrayList<>();
    private final BlasKernel.At a = new BlasKernel.At();
    private final BlasKernel.At b = new BlasKernel.At();
    private final BlasKernel.At c = new BlasKernel.At();
    private boolean closed;

    BlasGemm(int threads) {
        this.threads = threads;
    }

    @Override
    public MemorySegment allocate(long floats) {
        FloatPointer p = BlasKernel.allocate(Math.max(1, floats));
        held.add(p);
        MemorySegment s = BlasKernel.view(p);
        s.fill((byte) 0);
        return s.asSlice(0, floats * Float.BYTES);
    }

    @Override
    public void gemm(boolean transA, int m, int n, int k, float alpha, MemorySegment as, long aOff, int lda,
                     MemorySegment bs, long bOff, int ldb, float beta, MemorySegment cs, long cOff, int ldc) {
        openblas_full.cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, CblasNoTrans,
                m, n, k, alpha, a.at(as.address() + aOff * Float.BYTES), lda, b.at(bs.address() + bOff * Float.BYTES), ldb,
                beta, c.at(cs.address() + cOff * Float.BYTES), ldc);
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

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (FloatPointer p : held) {
            BlasKernel.free(p);
        }
        held.clear();
    }
}
