package io.cellstate;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.ServiceLoader;

/**
 * The registry of kernels: every {@link Backend} on the class path, found once through
 * {@link ServiceLoader}, by name or by {@code auto}.
 *
 * <p>{@code auto} never slows down silently: when it passes over a better backend that this machine
 * could run but the JVM was not started for ({@link Availability#fixable()}: {@code vector} without
 * {@code --add-modules jdk.incubator.vector}), it logs a warning with the fix, once per backend and
 * process, through {@link System.Logger} {@code io.cellstate}; {@link #choose} says the same to code.
 */
public final class Backends {

    /** The name that picks the best available backend for a spec. */
    public static final String AUTO = "auto";
    private static final System.Logger LOG = System.getLogger("io.cellstate");
    /** Backends {@code auto} has warned about passing over. */
    private static final java.util.Set<String> WARNED = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private Backends() {
    }

    /** Found once, on first use (holder idiom: thread-safe without locks). */
    private static final class Holder {
        static final List<Backend> ALL = load();

        private static List<Backend> load() {
            List<Backend> found = new ArrayList<>();
            for (Backend b : ServiceLoader.load(Backend.class, Backends.class.getClassLoader())) {
                found.add(b);
            }
            found.sort(Comparator.comparingInt(Backend::priority).reversed().thenComparing(Backend::name));
            return List.copyOf(found);
        }
    }

    /**
     * One row of {@link #list()}.
     *
     * @param name        the backend's name
     * @param description one line on what it is
     * @param available   whether it can run here
     * @param reason      why not, and the fix; empty when available
     * @param priority    its rank for {@code auto}
     */
    public record Info(String name, String description, boolean available, String reason, int priority) {
    }

    /**
     * Every backend found, best first, with whether it is available here and why not.
     *
     * @return one row per backend
     */
    public static List<Info> list() {
        List<Info> out = new ArrayList<>();
        for (Backend b : Holder.ALL) {
            Availability a = b.availability();
            out.add(new Info(b.name(), b.description(), a.available(), a.reason(), b.priority()));
        }
        return out;
    }

    /**
     * Every backend found, best first, available or not.
     *
     * @return the backends
     */
    public static List<Backend> all() {
        return Holder.ALL;
    }

    /**
     * What {@code auto} picks for a spec, and why each backend ranked above it was passed over.
     *
     * @param backend    the backend {@code auto} picks
     * @param passedOver the better-ranked backends, each with why it cannot run the spec here (its
     *                   unavailability, or the feature it lacks), best first
     */
    public record Choice(Backend backend, List<Info> passedOver) {
        /**
         * The passed-over backends that this machine could run if the JVM were started for them.
         *
         * @return the fixable rows of {@link #passedOver()}
         */
        public List<Info> fixable() {
            return passedOver.stream().filter(i -> Backends.byName(i.name()).availability().fixable()).toList();
        }
    }

    /**
     * The choice {@code auto} makes for {@code spec} with the default plan options, with the reasons.
     *
     * @param spec the network
     * @return the backend and what was passed over
     * @throws UnsupportedOperationException if no available backend supports {@code spec}
     */
    public static Choice choose(RnnSpec spec) {
        return choose(spec, PlanOptions.defaults());
    }

    /**
     * The choice {@code auto} makes for a request (the spec and the plan options), with the reasons.
     *
     * @param spec    the network
     * @param options the plan options
     * @return the backend and what was passed over
     * @throws UnsupportedOperationException if no available backend supports the request, naming what
     *                                       each lacks
     */
    public static Choice choose(RnnSpec spec, PlanOptions options) {
        Objects.requireNonNull(spec, "spec");
        Objects.requireNonNull(options, "options");
        List<Info> passed = new ArrayList<>();
        for (Backend b : Holder.ALL) {
            String why = whyNot(b, spec, options);
            if (why.isEmpty()) {
                return new Choice(b, List.copyOf(passed));
            }
            passed.add(new Info(b.name(), b.description(), b.availability().available(), why, b.priority()));
        }
        StringBuilder why = new StringBuilder();
        for (Info i : passed) {
            why.append("\n  ").append(i.name()).append(": ").append(i.reason());
        }
        throw new UnsupportedOperationException("no available backend supports " + spec + ":" + why);
    }

    /**
     * Every available backend that can run {@code spec}, best first.
     *
     * @param spec the network
     * @return the backends, possibly none
     */
    public static List<Backend> available(RnnSpec spec) {
        return available(spec, PlanOptions.defaults());
    }

    /**
     * Every available backend that can run a request, best first.
     *
     * @param spec    the network
     * @param options the plan options
     * @return the backends, possibly none
     */
    public static List<Backend> available(RnnSpec spec, PlanOptions options) {
        Objects.requireNonNull(spec, "spec");
        Objects.requireNonNull(options, "options");
        return Holder.ALL.stream().filter(b -> whyNot(b, spec, options).isEmpty()).toList();
    }

    /** Empty if {@code b} can run the request here; otherwise its unavailability, or what it lacks. */
    private static String whyNot(Backend b, RnnSpec spec, PlanOptions options) {
        Availability a = b.availability();
        return a.available() ? b.unsupported(spec, options) : a.reason();
    }

    /**
     * Throws unless {@code backend} can run the request here: what {@link #get(String, RnnSpec, PlanOptions)}
     * checks of a backend named, and every {@link Backend#plan} of its request.
     *
     * @param backend the backend
     * @param spec    the network
     * @param options the plan options
     * @throws IllegalStateException         if the backend is unavailable here (the message says why)
     * @throws UnsupportedOperationException if it cannot run the request (the message names what it lacks)
     */
    public static void requireRunnable(Backend backend, RnnSpec spec, PlanOptions options) {
        Availability a = Objects.requireNonNull(backend, "backend").availability();
        if (!a.available()) {
            throw new IllegalStateException("backend '" + backend.name() + "' is unavailable: " + a.reason());
        }
        String lacks = backend.unsupported(Objects.requireNonNull(spec, "spec"), Objects.requireNonNull(options, "options"));
        if (!lacks.isEmpty()) {
            throw new UnsupportedOperationException("backend '" + backend.name() + "' cannot run " + spec + ": " + lacks);
        }
    }

    /**
     * The backend called {@code name}, or for {@code "auto"} the best available one for {@code spec}.
     *
     * @param name a backend's name, or {@code "auto"}
     * @param spec the network (for {@code "auto"})
     * @return the backend
     * @throws IllegalArgumentException      if no backend has that name
     * @throws IllegalStateException          if the named backend is unavailable here (the message says why)
     * @throws UnsupportedOperationException if the backend cannot run {@code spec} (the message names
     *                                       what it lacks)
     */
    public static Backend get(String name, RnnSpec spec) {
        return get(name, spec, PlanOptions.defaults());
    }

    /**
     * The backend called {@code name}, or for {@code "auto"} the best available one for the request.
     *
     * @param name    a backend's name, or {@code "auto"}
     * @param spec    the network
     * @param options the plan options
     * @return the backend
     * @throws IllegalArgumentException      if no backend has that name
     * @throws IllegalStateException          if the named backend is unavailable here (the message says why)
     * @throws UnsupportedOperationException if the backend cannot run the request (the message names
     *                                       what it lacks)
     */
    public static Backend get(String name, RnnSpec spec, PlanOptions options) {
        Objects.requireNonNull(name, "name");
        if (AUTO.equals(name)) {
            return auto(spec, options);
        }
        Backend b = byName(name);
        requireRunnable(b, spec, options);
        return b;
    }

    /**
     * The backend called {@code name}, available or not.
     *
     * @param name the backend's name
     * @return the backend
     * @throws IllegalArgumentException if no backend has that name
     */
    public static Backend byName(String name) {
        for (Backend b : Holder.ALL) {
            if (b.name().equals(name)) {
                return b;
            }
        }
        throw new IllegalArgumentException("backend: expected one of " + names() + " or '" + AUTO + "', got '" + name + "'");
    }

    /**
     * The best available backend that supports {@code spec}; warns once (see the class comment) if it
     * passed over one the JVM was not started for.
     *
     * @param spec the network
     * @return the backend
     * @throws UnsupportedOperationException if no available backend supports {@code spec}
     */
    public static Backend auto(RnnSpec spec) {
        return auto(spec, PlanOptions.defaults());
    }

    /**
     * The best available backend that supports the request; warns once (see the class comment) if it
     * passed over one the JVM was not started for.
     *
     * @param spec    the network
     * @param options the plan options
     * @return the backend
     * @throws UnsupportedOperationException if no available backend supports the request
     */
    public static Backend auto(RnnSpec spec, PlanOptions options) {
        Choice c = choose(spec, options);
        for (Info i : c.fixable()) {
            if (WARNED.add(i.name())) {
                LOG.log(System.Logger.Level.WARNING, "backend 'auto' chose '" + c.backend().name() + "' for " + spec
                        + ", passing over '" + i.name() + "', which would run here and is faster: " + i.reason()
                        + ". (Said once per process.)");
            }
        }
        return c.backend();
    }

    private static List<String> names() {
        return Holder.ALL.stream().map(Backend::name).toList();
    }
}
