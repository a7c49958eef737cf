package io.cellstate.conformance;

import static org.junit.jupiter.api.Assertions.fail;

import io.cellstate.Availability;
import io.cellstate.Backend;
import org.junit.jupiter.api.Assumptions;

/** What the suites do before each test when their backend cannot run here. */
final class BackendUnderTest {
    private BackendUnderTest() {
    }

    /**
     * Returns if {@code backend} is available; otherwise fails the test when the run requires the
     * backend, or skips it with the reason, printing a SKIPPED line for {@code suite} when {@code say}.
     */
    static void require(Backend backend, boolean required, String suite, boolean say) {
        Availability a = backend.availability();
        if (a.available()) {
            return;
        }
        String why = "backend '" + backend.name() + "' is unavailable: " + a.reason();
        if (required) {
            fail(why + " (and this run requires it)");
        }
        if (say) {
            System.out.println("SKIPPED " + suite + " (every test): " + why);
        }
        Assumptions.abort(why);
    }
}
