package io.cellstate.blas;

import io.cellstate.Availability;
import io.cellstate.Backend;
import io.cellstate.PlanOptions;
import io.cellstate.RnnPlan;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.cpu.CpuPlan;
import io.cellstate.cpu.Pointwise;
import io.cellstate.cpu.TrainingPointwise;
import io.cellstate.vector.VectorBackend;
import io.cellstate.spi.AbstractRnnPlan;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.openblas.global.openblas_full;

/**
 * The OpenBLAS kernel: every cell's GEMMs on OpenBLAS's hand-written kernels (through JavaCPP),
 * the rest in the shared CPU driver; training on the CPU training engine with {@link BlasGemm}.
 *
 * <p>Threads: a plan's thread count ({@link PlanOptions#threads()}, 0 for every available
 * processor) becomes OpenBLAS's for the plan's calls; OpenBLAS's threads are its own, one pool for
 * the process (the plan's {@link io.cellstate.WorkerGroup} is not used). OpenBLAS has one
 * process-wide setting and its results depend on it, so a call holds the setting from its first GEMM
 * to its last: plans of the same thread count run at once, plans of different counts take turns
 * (see {@link OpenBlasThreads}). Results are then bitwise the same whatever other plans run.
 */
public final class BlasBackend implements Backend {

    /** Whether plans take the Vector API's pointwise pass where it is available, else plain Java. */
    private final boolean vectorPointwise;

    /** The backend, as {@link java.util.ServiceLoader} makes it. */
    public BlasBackend() {
        this(true);
    }

    /** {@code vectorPointwise} false: the plain-Java pointwise pass even where the Vector API runs (for tests). */
    BlasBackend(boolean vectorPointwise) {
        this.vectorPointwise = vectorPointwise;
    }

    /** Loaded once per JVM (holder idiom); the reason it could not be, if it could not. */
    private static final class Probe {
        static final Availability AVAILABILITY = probe();
        static final String CORE = AVAILABILITY.available() ? core() : "";

        private static Availability probe() {
            try {
                Loader.load(openblas_full.class);
                return Availability.yes();
            } catch (Throwable t) {
                return Availability.no("OpenBLAS could not be loaded through JavaCPP (org.bytedeco:openblas with its "
                        + Loader.getPlatform() + " jar must be on the class path): " + t);
            }
        }

        private static String core() {
            return openblas_full.openblas_get_corename().getString().trim();
        }
    }

    @Override
    public String name() {
        return "blas";
    }

    @Override
    public String description() {
        return "OpenBLAS GEMMs through JavaCPP" + (availability().available() ? ": core " + Probe.CORE : "");
    }

    @Override
    public Availability availability() {
        return Probe.AVAILABILITY;
    }

    /** Below {@code vector} (200): measured slower on the benchmark grid (see docs/benchmarks.md). */
    @Override
    public int priority() {
        return 150;
    }

    @Override
    public String unsupported(RnnSpec spec, PlanOptions options) {
        return AbstractRnnPlan.supportOf(spec, options, cell -> true, true);
    }

    @Override
    public RnnPlan plan(RnnSpec spec, RnnWeights weights, PlanOptions options) {
        AbstractRnnPlan.checkPlan(this, spec, weights, options);
        Pointwise pointwise = vectorPointwise ? VectorBackend.pointwise().orElseGet(Pointwise::scalar) : Pointwise.scalar();
        TrainingPointwise training = vectorPointwise ? VectorBackend.trainingPointwise().orElseGet(TrainingPointwise::scalar)
                : TrainingPointwise.scalar();
        int threads = options.resolvedThreads();
        return new CpuPlan(name(), spec, weights, options, w -> new BlasKernel(spec, w, threads, pointwise),
                (team, unused) -> new BlasGemm(threads), training);
    }

    /**
     * The OpenBLAS core in use.
     *
     * @return {@code openblas_get_corename}, or the reason OpenBLAS is unavailable
     */
    public static String core() {
        return Probe.AVAILABILITY.available() ? Probe.CORE : Probe.AVAILABILITY.reason();
    }
}
