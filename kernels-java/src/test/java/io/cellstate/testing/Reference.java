package io.cellstate.testing;

import io.cellstate.Backends;
import io.cellstate.PlanOptions;
import io.cellstate.RnnInput;
import io.cellstate.RnnOutput;
import io.cellstate.RnnPlan;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;

/** What a backend under test is compared with. */
@FunctionalInterface
public interface Reference {
    RnnOutput run(RnnSpec spec, RnnWeights weights, RnnInput in);

    /** The scalar oracle: what every fast backend is checked against. */
    Reference SCALAR = (spec, weights, in) -> {
        try (RnnPlan p = Backends.byName("scalar").plan(spec, weights, PlanOptions.defaults())) {
            return p.forward(in);
        }
    };

    /** The naive float64 cells written inside the tests: what the oracle itself is checked against. */
    Reference NAIVE = NaiveCells::run;
}
