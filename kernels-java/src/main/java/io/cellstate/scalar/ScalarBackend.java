package io.cellstate.scalar;

import io.cellstate.Availability;
import io.cellstate.Backend;
import io.cellstate.PlanOptions;
import io.cellstate.RnnPlan;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.spi.AbstractRnnPlan;

/** The oracle: plain loops straight from the equations, float64 accumulation, every cell. Always available. */
public final class ScalarBackend implements Backend {

    @Override
    public String name() {
        return "scalar";
    }

    @Override
    public String description() {
        return "reference: plain Java loops, float64 accumulation (the oracle)";
    }

    @Override
    public Availability availability() {
        return Availability.yes();
    }

    @Override
    public int priority() {
        return 0;
    }

    @Override
    public String unsupported(RnnSpec spec, PlanOptions options) {
        return AbstractRnnPlan.supportOf(spec, options, cell -> true, true);
    }

    @Override
    public RnnPlan plan(RnnSpec spec, RnnWeights weights, PlanOptions options) {
        AbstractRnnPlan.checkPlan(this, spec, weights, options);
        return new ScalarPlan(spec, weights, options);
    }
}
