package io.cellstate.vector;

import io.cellstate.Availability;
import io.cellstate.Backend;
import io.cellstate.Backends;
import io.cellstate.PlanOptions;
import io.cellstate.RnnPlan;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.conformance.GradientConformanceSuite;
import io.cellstate.cpu.CpuPlan;
import io.cellstate.cpu.ReferenceGemm;
import io.cellstate.cpu.TrainingPointwise;
import io.cellstate.spi.AbstractRnnPlan;

/**
 * The CPU training engine in plain Java ({@link ReferenceGemm}, {@link TrainingPointwise#scalar()}: the
 * pointwise parts the {@code blas} backend runs where the Vector API is not readable) through the
 * gradient suite, against the scalar oracle. Its plans' inference forward is the vector kernel's.
 */
class PlainJavaTrainingTest extends GradientConformanceSuite {
    private final Backend plain = new Backend() {
        @Override
        public String name() {
            return "plain-java-training";
        }

        @Override
        public String description() {
            return "the CPU training engine on ReferenceGemm and the scalar pointwise parts";
        }

        @Override
        public Availability availability() {
            return Backends.byName("vector").availability();
        }

        @Override
        public int priority() {
            return 0;
        }

        /** Every cell, as the vector and blas backends: the engine runs the cells' options too. */
        @Override
        public String unsupported(RnnSpec spec, PlanOptions options) {
            return AbstractRnnPlan.supportOf(spec, options, cell -> true, true);
        }

        @Override
        public RnnPlan plan(RnnSpec spec, RnnWeights weights, PlanOptions options) {
            AbstractRnnPlan.checkPlan(name(), spec, weights, options);
            return new CpuPlan(name(), spec, weights, options, w -> VectorKernel.of(spec, w),
                    (team, threads) -> new ReferenceGemm(), TrainingPointwise.scalar());
        }
    };

    @Override
    protected Backend backend() {
        return plain;
    }
}
