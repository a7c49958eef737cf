package io.cellstate.vector;

import io.cellstate.Availability;
import io.cellstate.Backend;
import io.cellstate.PlanOptions;
import io.cellstate.RnnPlan;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.spi.AbstractRnnPlan;

/**
 * The Panama Vector API kernel. This class touches no {@code jdk.incubator.vector} type, so it
 * loads (and reports why it is unavailable) on a JVM started without that module; the kernel
 * classes are only reached once the module is known to be readable.
 */
public final class VectorBackend implements Backend {
    static final String MODULE = "jdk.incubator.vector";

    /** Computed once per JVM (holder idiom). */
    private static final class Probe {
        static final Availability AVAILABILITY = probe();

        private static Availability probe() {
            if (ModuleLayer.boot().findModule(MODULE).isEmpty()) {
                return Availability.fixable("the JDK module " + MODULE + " is not readable: start the JVM with"
                        + " --add-modules " + MODULE);
            }
            String problem = Kernel.problem();
            return problem.isEmpty() ? Availability.yes() : Availability.no(problem);
        }
    }

    /** The only way into the vector classes; loaded after the module check. */
    private static final class Kernel {
        static String problem() {
            return VectorConfig.problem();
        }

        static String describe() {
            return VectorConfig.BITS + "-bit vectors (" + VectorConfig.LANES + " floats, widest here "
                    + VectorConfig.MAX_BITS + "), " + VectorConfig.ROWS + "x" + (VectorConfig.HALF_PANELS ? 2 : 4)
                    + "-vector micro-kernel";
        }

        static io.cellstate.cpu.Pointwise pointwise() {
            return new VectorPointwise();
        }

        static RnnPlan plan(RnnSpec spec, RnnWeights weights, PlanOptions options) {
            return new io.cellstate.cpu.CpuPlan("vector", spec, weights, options, w -> VectorKernel.of(spec, w),
                    VectorGemm::new, new VectorTrainingPointwise());
        }

        static io.cellstate.cpu.TrainingPointwise trainingPointwise() {
            return new VectorTrainingPointwise();
        }
    }

    @Override
    public String name() {
        return "vector";
    }

    @Override
    public String description() {
        return "Panama Vector API SIMD kernel"
                + (availability().available() ? ": " + Kernel.describe() : "");
    }

    @Override
    public Availability availability() {
        return Probe.AVAILABILITY;
    }

    @Override
    public int priority() {
        return 200;
    }

    @Override
    public String unsupported(RnnSpec spec, PlanOptions options) {
        return AbstractRnnPlan.supportOf(spec, options, cell -> true, true);
    }

    @Override
    public RnnPlan plan(RnnSpec spec, RnnWeights weights, PlanOptions options) {
        AbstractRnnPlan.checkPlan(this, spec, weights, options);
        return Kernel.plan(spec, weights, options);
    }

    /** The vector pointwise pass for other CPU kernels, where this backend is available. */
    public static java.util.Optional<io.cellstate.cpu.Pointwise> pointwise() {
        return Probe.AVAILABILITY.available() ? java.util.Optional.of(Kernel.pointwise()) : java.util.Optional.empty();
    }

    /** The vector pointwise parts of the training engine for other CPU kernels, where this backend is available. */
    public static java.util.Optional<io.cellstate.cpu.TrainingPointwise> trainingPointwise() {
        return Probe.AVAILABILITY.available() ? java.util.Optional.of(Kernel.trainingPointwise())
                : java.util.Optional.empty();
    }

    /** Short description of the width in use, or the reason the backend is unavailable. */
    public static String widthInUse() {
        Availability a = Probe.AVAILABILITY;
        return a.available() ? Kernel.describe() : a.reason();
    }
}
