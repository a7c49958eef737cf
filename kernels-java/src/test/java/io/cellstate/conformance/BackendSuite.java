package io.cellstate.conformance;

import static org.junit.jupiter.api.Assertions.fail;

import io.cellstate.Availability;
import io.cellstate.Backend;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.TestInstance;

/**
 * What every backend suite shares: the backend under test, whether the run must have it, and what
 * happens before each test when it cannot run here: the test fails where the run requires the
 * backend, else it is skipped with the reason, printed once per suite as a SKIPPED line.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class BackendSuite {
    private boolean skipReported;

    /** The backend under test. */
    protected abstract Backend backend();

    /** Whether this run must have the backend: then unavailability fails instead of skipping. */
    protected boolean required() {
        return false;
    }

    /** Whether the suite's tests were skipped for an unavailable backend (then it reports no figures). */
    protected final boolean skipped() {
        return skipReported;
    }

    @BeforeEach
    final void requireBackend() {
        Availability a = backend().availability();
        if (a.available()) {
            return;
        }
        String why = "backend '" + backend().name() + "' is unavailable: " + a.reason();
        if (required()) {
            fail(why + " (and this run requires it)");
        }
        if (!skipReported) {
            skipReported = true;
            System.out.println("SKIPPED " + getClass().getSimpleName() + " (every test): " + why);
        }
        Assumptions.abort(why);
    }
}
