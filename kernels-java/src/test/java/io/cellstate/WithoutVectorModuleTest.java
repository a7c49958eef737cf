package io.cellstate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.BeforeAll;
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
    /** What reached the logger io.cellstate (System.Logger's default backend is java.util.logging). */
    private static final List<LogRecord> LOGGED = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void captureTheLog() {
        Logger.getLogger("io.cellstate").addHandler(new Handler() {
            @Override
            public void publish(LogRecord r) {
                LOGGED.add(r);
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        });
    }

    /**
     * Without the module, auto's fallback to scalar is said once, as a warning with the fix, and
     * Backends.choose says why vector was passed over; with the module nothing is said.
     */
    @Test
    void theFallbackIsSaidOnceWithTheFix() {
        for (int i = 0; i < 3; i++) {
            Backends.auto(spec);
            Backends.get("auto", RnnSpec.lstm(5, 6));
        }
        List<String> warnings = LOGGED.stream().filter(r -> r.getLevel() == java.util.logging.Level.WARNING)
                .map(LogRecord::getMessage).filter(m -> m.contains("passing over 'vector'")).toList();
        Backends.Choice choice = Backends.choose(spec);
        if (expectModule) {
            assertEquals(List.of(), warnings);
            assertEquals("vector", choice.backend().name());
        } else {
            assertEquals(1, warnings.size(), "one warning per process: " + warnings);
            assertTrue(warnings.get(0).contains("--add-modules jdk.incubator.vector")
                    && warnings.get(0).contains("chose 'scalar'"), warnings.get(0));
            assertEquals("scalar", choice.backend().name());
            assertTrue(choice.fixable().stream().anyMatch(i -> i.name().equals("vector")
                    && i.reason().contains("--add-modules jdk.incubator.vector")), choice.toString());
        }
        assertTrue(choice.passedOver().stream().noneMatch(i -> i.reason().isEmpty()), "every pass-over says why");
    }

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
