package io.cellstate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The fallback, run twice by the build: once with {@code --add-modules jdk.incubator.vector}
 * (then {@code vector} must be available and {@code auto} must pick it) and once without (then
 * {@code vector} must say why and how to fix it, and {@code auto} must fall back to {@code scalar}).
 * {@code -Dcellstate.expectVectorModule} tells the test which run it is in, so a build that
 * silently loses the module fails instead of quietly testing the fallback only.
 */
class WithoutVectorModuleTest {
    private final boolean expectModule = !"false".equals(System.getProperty("cellstate.expectVectorModule"));
    private final RnnSpec spec = RnnSpec.lstm(3, 4);

    @Test
    void vectorAvailabilityMatchesTheJvm() {
        boolean readable = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
        assertEquals(expectModule, readable, "this run was meant to be " + (expectModule ? "with" : "without")
                + " the jdk.incubator.vector module");
        Availability a = Backends.byName("vector").availability();
        assertEquals(expectModule, a.available(), a.reason());
        if (!expectModule) {
            assertTrue(a.reason().contains("--add-modules jdk.incubator.vector"), "the reason names the fix: " + a.reason());
        }
    }

    @Test
    void autoPicksVectorOrFallsBackToScalar() {
        assertEquals(expectModule ? "vector" : "scalar", Backends.auto(spec).name());
        assertEquals(expectModule ? "vector" : "scalar", Backends.get("auto", spec).name());
    }

    @Test
    void forcingAnUnavailableBackendThrowsWithTheReason() {
        if (expectModule) {
            return;
        }
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Backends.get("vector", spec));
        assertTrue(e.getMessage().contains("--add-modules jdk.incubator.vector"), e.getMessage());
        IllegalStateException p = assertThrows(IllegalStateException.class,
                () -> Backends.byName("vector").plan(spec, RnnWeights.random(spec, 1)));
        assertTrue(p.getMessage().contains("unavailable"), p.getMessage());
    }

    @Test
    void listReportsEveryBackend() {
        var list = Backends.list();
        assertTrue(list.stream().anyMatch(i -> i.name().equals("scalar") && i.available()));
        assertTrue(list.stream().anyMatch(i -> i.name().equals("vector") && i.available() == expectModule));
        assertFalse(list.stream().anyMatch(i -> !i.available() && i.reason().isEmpty()), "every unavailable backend says why");
    }
}
