package io.cellstate.cuda;

import static org.junit.jupiter.api.Assertions.fail;

import io.cellstate.Availability;
import io.cellstate.Backends;
import org.junit.jupiter.api.Assumptions;

/** For GPU-only tests: skip with the backend's reason, or fail when the run requires a GPU. */
final class Gpu {
    private Gpu() {
    }

    static boolean required() {
        return Boolean.getBoolean("cellstate.requireGpu");
    }

    static void assume(String test) {
        Availability a = Backends.byName("cudnn").availability();
        if (!a.available()) {
            String why = "backend 'cudnn' is unavailable: " + a.reason();
            if (required()) {
                fail(why + " (and this run requires it: -Dcellstate.requireGpu=true)");
            }
            System.out.println("SKIPPED " + test + ": " + why);
            Assumptions.abort(why);
        }
    }
}
