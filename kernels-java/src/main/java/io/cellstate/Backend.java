package io.cellstate;

/**
 * One kernel implementation, found through {@link java.util.ServiceLoader} (see {@link Backends}).
 *
 * <p>A backend that cannot run here says so through {@link #availability()} and never pretends:
 * {@link #plan} on an unavailable backend throws {@link IllegalStateException} with the reason.
 */
public interface Backend {

    /**
     * Short unique name.
     *
     * @return {@code scalar}, {@code vector}, {@code blas}, {@code cudnn}, ...
     */
    String name();

    /**
     * One line on what the backend is.
     *
     * @return the description, with what it runs on where it is available
     */
    String description();

    /**
     * Whether this backend can run in this JVM on this machine, and if not, why.
     *
     * @return the availability, probed once per JVM
     */
    Availability availability();

    /**
     * Rank for {@code auto}: among available backends that support a spec, the highest wins.
     *
     * @return the rank
     */
    int priority();

    /**
     * What this backend lacks to run a request: the cell, its options, the mode, anything of the
     * spec or the plan options. {@link Backends#auto} passes over a backend that lacks something,
     * and {@link #plan} refuses the request with this as the reason.
     *
     * @param spec    the network
     * @param options the plan options
     * @return empty if this backend can run the request; otherwise the feature it lacks
     */
    String unsupported(RnnSpec spec, PlanOptions options);

    /**
     * {@link #unsupported(RnnSpec, PlanOptions)} with {@link PlanOptions#defaults()}.
     *
     * @param spec the network
     * @return empty if this backend can run {@code spec}; otherwise the feature it lacks
     */
    default String unsupported(RnnSpec spec) {
        return unsupported(spec, PlanOptions.defaults());
    }

    /**
     * Prepares {@code weights} for repeated forward passes of {@code spec}.
     *
     * @param spec    the network
     * @param weights its parameters, of the same spec
     * @param options threads, workspace sizes, mode, worker group
     * @return the plan, open until closed
     * @throws IllegalArgumentException      if the weights are not of this spec
     * @throws IllegalStateException         if the backend is unavailable
     * @throws UnsupportedOperationException if the spec or the options ask for a feature this backend lacks
     */
    RnnPlan plan(RnnSpec spec, RnnWeights weights, PlanOptions options);

    /**
     * {@link #plan(RnnSpec, RnnWeights, PlanOptions)} with {@link PlanOptions#defaults()}.
     *
     * @param spec    the network
     * @param weights its parameters, of the same spec
     * @return the plan, open until closed
     */
    default RnnPlan plan(RnnSpec spec, RnnWeights weights) {
        return plan(spec, weights, PlanOptions.defaults());
    }
}
