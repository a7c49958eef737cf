package io.cellstate.spark;

import java.util.Map;
import org.apache.spark.api.plugin.DriverPlugin;
import org.apache.spark.api.plugin.ExecutorPlugin;
import org.apache.spark.api.plugin.PluginContext;
import org.apache.spark.api.plugin.SparkPlugin;

/**
 * Closes the plans an executor made when the executor stops: add it to a job with
 * {@code --conf spark.plugins=io.cellstate.spark.CellstatePlugin}. Without it an executor's plans
 * are closed when Spark drops their model's broadcast, or with the executor's JVM; in local mode,
 * where the executor lives in the driver's JVM and outlives a stopped {@code SparkContext}, the plugin
 * is what closes them with the context.
 */
public final class CellstatePlugin implements SparkPlugin {

    /** Made by Spark, from the class named in {@code spark.plugins}. */
    public CellstatePlugin() {
    }

    /**
     * None: the driver holds no plans.
     *
     * @return null
     */
    @Override
    public DriverPlugin driverPlugin() {
        return null;
    }

    /**
     * The executor's part: closes its plans when it stops.
     *
     * @return the executor plugin
     */
    @Override
    public ExecutorPlugin executorPlugin() {
        return new ExecutorPlugin() {
            @Override
            public void init(PluginContext ctx, Map<String, String> extraConf) {
                // nothing to prepare: plans are made by the first task of each model
            }

            @Override
            public void shutdown() {
                PlanCache.shared().closeAll();
            }
        };
    }
}
