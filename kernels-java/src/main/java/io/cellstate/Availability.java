package io.cellstate;

import java.util.Objects;

/**
 * Whether a backend can run here; if not, why and what fixes it.
 *
 * @param available whether the backend can make plans
 * @param reason    empty when available; otherwise what is missing and how to fix it
 */
public record Availability(boolean available, String reason) {

    public Availability {
        Objects.requireNonNull(reason, "reason");
    }

    public static Availability yes() {
        return new Availability(true, "");
    }

    public static Availability no(String reason) {
        return new Availability(false, reason);
    }
}
