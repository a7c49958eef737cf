package io.cellstate.spark;

import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The module's one local Spark ({@code local[2]}), shared by every test class that uses this
 * extension: starting Spark takes seconds, scoring the tests' data milliseconds. Started on first use,
 * stopped when the whole test run ends (or by a test that stops it on purpose, after which the next
 * test gets a new one). {@link CellstatePlugin} is on, as a job would have it.
 */
final class LocalSpark implements BeforeAllCallback {
    private static SparkSession session;

    /** The running session, started with the default settings if none runs. */
    static synchronized SparkSession session() {
        if (session == null) {
            session = start(Map.of());
        }
        return session;
    }

    /**
     * Stops the running session (and its executor), and starts one with {@code settings} beside the
     * defaults.
     */
    static synchronized SparkSession restart(Map<String, String> settings) {
        stop();
        session = start(settings);
        return session;
    }

    /** Stops the running session, if any: its executor stops, and with it the plugin closes the plans. */
    static synchronized void stop() {
        if (session != null) {
            session.stop();
            session = null;
        }
    }

    private static SparkSession start(Map<String, String> settings) {
        SparkSession.Builder b = SparkSession.builder()
                .master("local[2]")
                .appName("cellstate-spark-tests")
                .config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.sql.shuffle.partitions", "2")
                .config("spark.plugins", CellstatePlugin.class.getName());
        settings.forEach(b::config);
        return b.getOrCreate();
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        // stop the session once, when the whole run is over (the root store closes its values last)
        context.getRoot().getStore(ExtensionContext.Namespace.GLOBAL)
                .getOrComputeIfAbsent(LocalSpark.class, k -> (AutoCloseable) LocalSpark::stop, AutoCloseable.class);
    }
}
