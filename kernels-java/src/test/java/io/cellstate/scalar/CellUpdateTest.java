package io.cellstate.scalar;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * The guide's worked example on the oracle's cell update, taken literally (g outside tanh's range
 * is fine for the update alone). It states i = 0.8, g = [1, 2, 3], c = [4, 5, 6], f = 0.5 and
 * c' = [4.8, 6.6, 8.4]; but 0.5 [4, 5, 6] + 0.8 [1, 2, 3] = [2.8, 4.1, 5.4]. The stated c' is the
 * update with f = 1. Both readings are pinned here so the discrepancy stays visible.
 */
class CellUpdateTest {
    private static final double[] C = {4, 5, 6};
    private static final double[] G = {1, 2, 3};

    @Test
    void forgetHalf() {
        double[] expected = {2.8, 4.1, 5.4};
        for (int j = 0; j < 3; j++) {
            assertEquals(expected[j], Bptt.cellState(0.5, C[j], 0.8, G[j]), 1e-12);
        }
    }

    @Test
    void forgetOneGivesTheGuidesNumbers() {
        double[] expected = {4.8, 6.6, 8.4};
        for (int j = 0; j < 3; j++) {
            assertEquals(expected[j], Bptt.cellState(1.0, C[j], 0.8, G[j]), 1e-12);
        }
    }

    @Test
    void sigmoidAndItsInverse() {
        // the oracle's gates go through Activation's float64 functions
        assertEquals(0.8, io.cellstate.Activation.sigmoid().apply(Math.log(4)), 1e-15);
        assertEquals(0.5, io.cellstate.Activation.sigmoid().apply(0.0), 0);
    }
}
