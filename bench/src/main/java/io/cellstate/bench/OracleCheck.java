package io.cellstate.bench;

import io.cellstate.Backends;
import io.cellstate.PlanOptions;
import io.cellstate.RnnInput;
import io.cellstate.RnnOutput;
import io.cellstate.RnnPlan;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.Tensor;
import io.cellstate.Tolerance;

/** Fails a benchmark trial whose backend does not agree with the scalar oracle. */
final class OracleCheck {
    private OracleCheck() {
    }

    /**
     * Runs {@code plan} and the scalar oracle on {@code x} and throws if any output differs by
     * more than the conformance suite's {@link Tolerance}.
     */
    static void verify(RnnPlan plan, RnnSpec spec, RnnWeights weights, Tensor x) {
        RnnInput in = RnnInput.of(x);
        RnnOutput got = plan.forward(in);
        RnnOutput want;
        try (RnnPlan oracle = Backends.byName("scalar").plan(spec, weights, PlanOptions.defaults())) {
            want = oracle.forward(in);
        }
        double tol = Tolerance.lstm(spec, in.steps());
        double err = Math.max(Tolerance.maxAbsDifference(want.y(), got.y()),
                Tolerance.maxAbsDifference(want.hN(), got.hN()));
        if (!(err <= tol)) {
            throw new IllegalStateException(plan.backend() + " disagrees with the scalar oracle: max |diff| " + err
                    + " > tolerance " + tol + " for " + spec);
        }
    }
}
