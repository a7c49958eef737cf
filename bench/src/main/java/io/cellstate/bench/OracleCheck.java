package io.cellstate.bench;

import io.cellstate.Backends;
import io.cellstate.Direction;
import io.cellstate.PlanOptions;
import io.cellstate.RnnInput;
import io.cellstate.RnnOutput;
import io.cellstate.RnnPlan;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.Tensor;
import io.cellstate.Tolerance;
import java.util.Arrays;

/** Fails a benchmark trial whose backend does not agree with the scalar oracle. */
final class OracleCheck {
    private OracleCheck() {
    }

    /**
     * Checks the first {@code xPrefix.dim(0)} steps of {@code y}, the output sequence a kernel
     * under test computed (zero initial state) from an input that begins with {@code xPrefix},
     * against the scalar oracle on that prefix alone, and throws if any differs by more than the
     * {@link Tolerance} of the prefix. Valid for forward, unidirectional specs only: there the
     * output at step t depends on steps 0..t alone, so the benchmarked call itself is checked
     * without running the oracle over the whole sequence.
     *
     * <p>Where the kernel is one of our plans ({@code plan} not null), the plan is also run on the
     * prefix alone and its y and final hidden state compared with the same oracle run.
     */
    static void verifyPrefix(String backend, Tensor y, RnnSpec spec, RnnWeights weights, Tensor xPrefix, RnnPlan plan) {
        if (spec.direction() != Direction.FORWARD) {
            throw new IllegalArgumentException("spec: expected direction FORWARD for a prefix check (a reverse"
                    + " direction's first outputs depend on the whole sequence), got " + spec.direction());
        }
        int steps = xPrefix.dim(0);
        int batch = xPrefix.dim(1);
        long floats = (long) steps * batch * spec.outputSize();
        if (y.rank() != 3 || y.dim(1) != batch || y.dim(2) != spec.outputSize() || y.dim(0) < steps) {
            throw new IllegalArgumentException("y: expected [T >= " + steps + ", " + batch + ", " + spec.outputSize()
                    + "], got " + Arrays.toString(y.shape()));
        }
        Tensor got = Tensor.wrap(y.segment().asSlice(0, floats * Float.BYTES), steps, batch, spec.outputSize());
        RnnOutput want;
        try (RnnPlan oracle = Backends.byName("scalar").plan(spec, weights, PlanOptions.defaults())) {
            want = oracle.forward(RnnInput.of(xPrefix));
        }
        double tol = Tolerance.forward(spec, steps);
        double err = Tolerance.maxAbsDifference(want.y(), got);
        if (plan != null) {
            RnnOutput alone = plan.forward(RnnInput.of(xPrefix));
            err = Math.max(err, Math.max(Tolerance.maxAbsDifference(want.y(), alone.y()),
                    Tolerance.maxAbsDifference(want.hN(), alone.hN())));
        }
        if (!(err <= tol)) {
            throw new IllegalStateException(backend + " disagrees with the scalar oracle on the first " + steps
                    + " steps: max |diff| " + err + " > tolerance " + tol + " for " + spec);
        }
    }
}
