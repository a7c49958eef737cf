package io.cellstate.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.cellstate.Layout;
import io.cellstate.Tensor;
import org.junit.jupiter.api.Test;

/** The host-side reversal that runs a REVERSE network on cuDNN's forward one. */
class SequencesTest {

    @Test
    void reversesEachSequenceWithinItsLengthAndZeroesThePadding() {
        int steps = 5;
        int batch = 3;
        int f = 2;
        int[] lengths = {5, 2, 1};
        for (Layout layout : Layout.values()) {
            Tensor src = Tensor.zeros(layout.shape(steps, batch, f));
            for (int t = 0; t < steps; t++) {
                for (int b = 0; b < batch; b++) {
                    for (int j = 0; j < f; j++) {
                        src.setFlat((long) layout.row(t, b, steps, batch) * f + j, 100 * t + 10 * b + j + 1);
                    }
                }
            }
            Tensor rev = Tensor.zeros(src.shape()).fill(-1);
            Sequences.reverseWithinLengths(src.segment(), rev.segment(), layout, steps, batch, f, lengths);
            Tensor back = Tensor.zeros(src.shape()).fill(-1);
            Sequences.reverseWithinLengths(rev.segment(), back.segment(), layout, steps, batch, f, lengths);
            for (int t = 0; t < steps; t++) {
                for (int b = 0; b < batch; b++) {
                    for (int j = 0; j < f; j++) {
                        long at = (long) layout.row(t, b, steps, batch) * f + j;
                        int len = lengths[b];
                        float expectedRev = t < len ? 100 * (len - 1 - t) + 10 * b + j + 1 : 0;
                        assertEquals(expectedRev, rev.getFlat(at), layout + " reversed t=" + t + " b=" + b);
                        assertEquals(t < len ? src.getFlat(at) : 0, back.getFlat(at), layout + " twice t=" + t + " b=" + b);
                    }
                }
            }
        }
        Tensor one = Tensor.of(new float[] {1, 2, 3}, 3, 1, 1);
        Tensor out = Tensor.zeros(3, 1, 1);
        Sequences.reverseWithinLengths(one.segment(), out.segment(), Layout.SEQUENCE_MAJOR, 3, 1, 1, null);
        assertEquals(3f, out.getFlat(0));
        assertEquals(1f, out.getFlat(2));
    }

    @Test
    void byteSizesCheckOverflow() {
        assertEquals(4L * 3 * 5 * 7, Sequences.floatBytes(3, 5, 7));
        org.junit.jupiter.api.Assertions.assertThrows(ArithmeticException.class,
                () -> Sequences.floatBytes(Integer.MAX_VALUE, Integer.MAX_VALUE, Integer.MAX_VALUE));
    }
}
