package io.cellstate;

import java.util.Objects;

/**
 * Whether a backend can run here; if not, why and what fixes it.
 *
 * @param available whether the backend can make plans
 * @param reason    empty when available; otherwise what is missing and how to fix it
 * @param fixable   whether this machine could run the backend and what is missing is in how the JVM
 *                  was started (a JVM option, a jar on the class path): then {@link Backends#auto}
 *                  warns, once, when it passes the backend over, since the user most likely wants it.
 *                  False for what the machine lacks (no GPU, no SIMD).
 */
public record Availability(boolean available, String reason, boolean fixable) {

    /**
     * Checks the reason.
     *
     * @throws NullPointerException for a null reason
     */
    public Availability {
        Objects.requireNonNull(reason, "reason");
    }

    /**
     * Available.
     *
     * @return an availability with no reason
     */
    public static Availability yes() {
        return new Availability(true, "", false);
    }

    /**
     * Unavailable because of what this machine lacks.
     *
     * @param reason what is missing and how to fix it
     * @return the unavailability
     */
    public static Availability no(String reason) {
        return new Availability(false, reason, false);
    }

    /**
     * Unavailable because of how the JVM was started: the reason names the option or jar that fixes it.
     *
     * @param reason what is missing and the fix
     * @return the unavailability, {@link #fixable()}
     */
    public static Availability fixable(String reason) {
        return new Availability(false, reason, true);
    }
}
