package io.cellstate.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * {@link CpuGemm} in plain loops over heap buffers: the triple loop of the definition, each element
 * summed in float32 in k order. The yardstick tests hold the fast implementations to, and with
 * {@link TrainingPointwise#scalar()} the training engine in plain Java.
 */
public final class ReferenceGemm implements CpuGemm {
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT;

    /** A new instance; it holds nothing outside the heap. */
    public ReferenceGemm() {
    }

    /**
     * A factory of instances, which use no threads.
     *
     * @return the factory
     */
    public static CpuGemm.Factory factory() {
        return (team, threads) -> new ReferenceGemm();
    }

    @Override
    public MemorySegment allocate(long floats) {
        return MemorySegment.ofArray(new float[Math.toIntExact(floats)]);
    }

    @Override
    public void gemm(boolean transA, int m, int n, int k, float alpha, MemorySegment a, long aOff, int lda,
                     MemorySegment b, long bOff, int ldb, float beta, MemorySegment c, long cOff, int ldc) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                float sum = 0;
                for (int q = 0; q < k; q++) {
                    float x = a.getAtIndex(FLOAT, aOff + (transA ? (long) q * lda + i : (long) i * lda + q));
                    float y = b.getAtIndex(FLOAT, bOff + (long) q * ldb + j);
                    sum += x * y;
                }
                long at = cOff + (long) i * ldc + j;
                c.setAtIndex(FLOAT, at, beta == 0 ? alpha * sum : beta * c.getAtIndex(FLOAT, at) + alpha * sum);
            }
        }
    }

    @Override
    public void close() {
    }
}
