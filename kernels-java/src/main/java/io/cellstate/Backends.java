package io.cellstate;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.ServiceLoader;

/**
 * The registry of kernels: every {@link Backend} on the class path, found once through
 * {@link ServiceLoader}, by name or by {@code auto}.
 */
public final class Backends {

    /** The name that picks the best available backend for a spec. */
    public static final String AUTO = "auto";

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

    /** One row of {@link #list()}. */
    public record Info(String name, String description, boolean available, String reason, int priority) {
    }

    /** Every backend found, best first, with whether it is available here and why not. */
    public static List<Info> list() {
        List<Info> out = new ArrayList<>();
        for (Backend b : Holder.ALL) {
            Availability a = b.availability();
            out.add(new Info(b.name(), b.description(), a.available(), a.reason(), b.priority()));
        }
        return out;
    }

    /** Every backend found, best first, available or not. */
    public static List<Backend> all() {
        return Holder.ALL;
    }

    /** Every available backend that can run {@code spec}, best first. */
    public static List<Backend> available(RnnSpec spec) {
        Objects.requireNonNull(spec, "spec");
        return Holder.ALL.stream().filter(b -> b.availability().available() && b.unsupported(spec).isEmpty()).toList();
    }

    /**
     * The backend called {@code name}, or for {@code "auto"} the best available one for {@code spec}.
     *
     * @throws IllegalArgumentException if no backend has that name
     * @throws IllegalStateException    if the named backend is unavailable here (the message says why)
     */
    public static Backend get(String name, RnnSpec spec) {
        Objects.requireNonNull(name, "name");
        if (AUTO.equals(name)) {
            return auto(spec);
        }
        Backend b = byName(name);
        Availability a = b.availability();
        if (!a.available()) {
            throw new IllegalStateException("backend '" + name + "' is unavailable: " + a.reason());
        }
        return b;
    }

    /** The backend called {@code name}, available or not. */
    public static Backend byName(String name) {
        for (Backend b : Holder.ALL) {
            if (b.name().equals(name)) {
                return b;
            }
        }
        throw new IllegalArgumentException("backend: expected one of " + names() + " or '" + AUTO + "', got '" + name + "'");
    }

    /** The best available backend that supports {@code spec}. */
    public static Backend auto(RnnSpec spec) {
        List<Backend> ok = available(spec);
        if (ok.isEmpty()) {
            StringBuilder why = new StringBuilder();
            for (Backend b : Holder.ALL) {
                Availability a = b.availability();
                why.append("\n  ").append(b.name()).append(": ")
                        .append(a.available() ? b.unsupported(spec) : a.reason());
            }
            throw new UnsupportedOperationException("no available backend supports " + spec + ":" + why);
        }
        return ok.get(0);
    }

    private static List<String> names() {
        return Holder.ALL.stream().map(Backend::name).toList();
    }
}
