package io.cellstate.testing;

import static org.junit.jupiter.api.Assertions.fail;

import io.cellstate.RnnOutput;
import io.cellstate.Tensor;
import io.cellstate.Tolerance;
import java.util.Arrays;

/** Element-wise comparison with a useful failure message (where, how far, which seed). */
public final class Compare {
    private Compare() {
    }

    /** Largest |expected - actual|, NaN where exactly one of a pair is NaN: see {@link Tolerance#maxAbsDifference}. */
    public static double maxAbsDiff(Tensor expected, Tensor actual) {
        return Tolerance.maxAbsDifference(expected, actual);
    }

    /** Fails unless every element is within {@code tol}; returns the largest difference. */
    public static double assertClose(String what, Tensor expected, Tensor actual, double tol, Object context) {
        if (!Arrays.equals(expected.shape(), actual.shape())) {
            fail(what + ": shape " + Arrays.toString(actual.shape()) + ", expected " + Arrays.toString(expected.shape())
                    + " [" + context + "]");
        }
        double worst = maxAbsDiff(expected, actual);
        if (!(worst <= tol)) {
            long at = worstIndex(expected, actual);
            fail(String.format("%s: max |diff| %.3g > tolerance %.3g at flat index %d (expected %s, got %s) [%s]",
                    what, worst, tol, at, expected.getFlat(at), actual.getFlat(at), context));
        }
        return worst;
    }

    /** Compares y, hN and (when both have it) cN; returns the largest difference. */
    public static double assertClose(RnnOutput expected, RnnOutput actual, double tol, Object context) {
        double w = assertClose("y", expected.y(), actual.y(), tol, context);
        w = Math.max(w, assertClose("hN", expected.hN(), actual.hN(), tol, context));
        if (expected.cN() != null && actual.cN() != null) {
            w = Math.max(w, assertClose("cN", expected.cN(), actual.cN(), tol, context));
        }
        return w;
    }

    private static long worstIndex(Tensor expected, Tensor actual) {
        long at = 0;
        double worst = -1;
        for (long i = 0; i < expected.size(); i++) {
            double d = Math.abs((double) expected.getFlat(i) - actual.getFlat(i));
            if (Double.isNaN(d) && Float.isNaN(expected.getFlat(i)) != Float.isNaN(actual.getFlat(i))) {
                return i;
            }
            if (d > worst) {
                worst = d;
                at = i;
            }
        }
        return at;
    }
}
