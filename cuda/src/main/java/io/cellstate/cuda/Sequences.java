package io.cellstate.cuda;

import io.cellstate.Layout;
import java.lang.foreign.MemorySegment;

/**
 * Host-side reshuffles of padded sequences. cuDNN has no reverse-only direction, so a REVERSE
 * network runs as a forward one on each sequence reversed within its length: a stack of reverse
 * layers is {@code rev . forwardStack . rev}, since each reverse layer is {@code rev . fwd . rev}
 * and {@code rev . rev} is the identity between layers.
 */
final class Sequences {
    private Sequences() {
    }

    /**
     * Copies {@code src} to {@code dst} (both {@code layout.shape(steps, batch, features)} floats)
     * with each sequence b's steps {@code 0 .. len_b - 1} in reverse order; steps past {@code len_b}
     * become 0. Applied twice it is the identity on the valid steps.
     */
    static void reverseWithinLengths(MemorySegment src, MemorySegment dst, Layout layout, int steps, int batch,
                                     int features, int[] lengths) {
        long rowBytes = (long) features * Float.BYTES;
        for (int b = 0; b < batch; b++) {
            int len = lengths == null ? steps : lengths[b];
            for (int t = 0; t < steps; t++) {
                long to = layout.row(t, b, steps, batch) * rowBytes;
                if (t < len) {
                    long from = layout.row(len - 1 - t, b, steps, batch) * rowBytes;
                    MemorySegment.copy(src, from, dst, to, rowBytes);
                } else {
                    dst.asSlice(to, rowBytes).fill((byte) 0);
                }
            }
        }
    }

    /** Bytes of a float tensor of {@code shape}, with overflow checked. */
    static long floatBytes(int... shape) {
        long n = Float.BYTES;
        for (int d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }
}
