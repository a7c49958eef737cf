package io.cellstate.vector;

import io.cellstate.ForwardMode;
import io.cellstate.PlanOptions;
import io.cellstate.RnnPlan;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.cpu.CpuPlan;
import io.cellstate.cpu.ReferenceGemm;
import io.cellstate.cpu.TrainingPointwise;

/**
 * The CPU training engine on plain Java ({@link ReferenceGemm}, {@link TrainingPointwise#scalar()}), one
 * thread: what the gradient suite compares the fast backends with until the {@code scalar} oracle has a
 * backward pass. Its inference forward is the vector kernel's (the suite does not use it), so it needs
 * the Vector API module.
 */
public final class ReferenceTraining {
    private ReferenceTraining() {
    }

    /** A training plan of the reference engine. */
    public static RnnPlan plan(RnnSpec spec, RnnWeights weights) {
        return new CpuPlan("reference-training", spec, weights,
                PlanOptions.defaults().withMode(ForwardMode.TRAINING).withThreads(1), w -> VectorKernel.of(spec, w),
                ReferenceGemm.factory(), TrainingPointwise.scalar());
    }
}
