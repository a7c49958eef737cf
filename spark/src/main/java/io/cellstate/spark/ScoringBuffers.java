package io.cellstate.spark;

import io.cellstate.Tensor;
import java.lang.foreign.MemorySegment;

/**
 * The input and output tensors of a pooled plan's batches: heap arrays that grow to the largest batch
 * seen and are then reused, so a steady stream of batches allocates only the rows it returns.
 */
final class ScoringBuffers {
    private float[] x = new float[0];
    private float[] y = new float[0];
    private float[] h = new float[0];

    /** {@code x} of the given shape, over the start of the reused array (contents left as they were). */
    Tensor x(int... shape) {
        x = grow(x, shape);
        return view(x, shape);
    }

    /** The array behind {@link #x}. */
    float[] xArray() {
        return x;
    }

    /** {@code y} of the given shape. */
    Tensor y(int... shape) {
        y = grow(y, shape);
        return view(y, shape);
    }

    /** The array behind {@link #y}. */
    float[] yArray() {
        return y;
    }

    /** {@code hN} of the given shape. */
    Tensor h(int... shape) {
        h = grow(h, shape);
        return view(h, shape);
    }

    /** The array behind {@link #h}. */
    float[] hArray() {
        return h;
    }

    private static float[] grow(float[] a, int[] shape) {
        long n = count(shape);
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("batchSize: expected a batch tensor of at most " + (Integer.MAX_VALUE - 8)
                    + " floats, got " + n + " for shape " + java.util.Arrays.toString(shape) + " (make the batch smaller)");
        }
        return a.length >= n ? a : new float[(int) Math.min(Integer.MAX_VALUE - 8, Math.max(n, a.length + (a.length >> 1)))];
    }

    private static Tensor view(float[] a, int[] shape) {
        return Tensor.wrap(MemorySegment.ofArray(a).asSlice(0, count(shape) * Float.BYTES), shape);
    }

    private static long count(int[] shape) {
        long n = 1;
        for (int d : shape) {
            n *= d;
        }
        return n;
    }
}
