package io.cellstate.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cellstate.Backends;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The executor's side of a plan's life, on the real thing: {@link CellstatePlugin} closes the plans
 * when the executor stops (here, with the local session), and a plan's thread count follows
 * {@code spark.task.cpus}. Restarts the shared session; the next test gets a fresh one.
 */
@ExtendWith(LocalSpark.class)
class ExecutorStopTest {

    @Test
    void plansCloseWhenTheExecutorStopsAndFollowSparkTaskCpus() {
        RnnSpec spec = RnnSpec.lstm(3, 5);
        RnnWeights weights = RnnWeights.random(spec, 31);
        List<float[][]> data = Reference.sequences(32, 12, 6, 3);
        List<Reference.Scored> expected = Reference.score(spec, weights, Backends.AUTO, data);
        PlanCache cache = PlanCache.shared();
        try (RnnScorer scorer = RnnScorer.builder(spec, weights).sequenceColumn("seq").batchSize(4).build()) {
            assertEquals(12, scorer.transform(RnnScorerTest.nested(data, 4)).count());
            assertTrue(cache.openPlans() > 0, "plans open while the executor runs");

            LocalSpark.stop();
            assertEquals(0, cache.openPlans(), "every plan closed with the executor: " + cache.pools());
            assertEquals(List.of(), cache.pools());

            LocalSpark.restart(Map.of("spark.task.cpus", "2"));
            List<Row> out = scorer.transform(RnnScorerTest.nested(data, 4)).collectAsList();
            assertEquals(12, out.size());
            for (Row r : out) {
                int id = (int) r.getLong(0);
                assertArrayEquals(expected.get(id).embedding(), Reference.floats(r.get(3)), "row " + id);
            }
            PlanCache.PoolInfo pool = cache.pools().stream().filter(p -> p.model().equals(scorer.modelId())).findFirst()
                    .orElseThrow();
            assertEquals(2, pool.threads(), "spark.task.cpus = 2: " + pool);
            assertEquals(1, pool.made(), "local[2] with 2 cpus a task runs one task at a time: " + pool);
        } finally {
            LocalSpark.stop();
        }
        assertEquals(0, cache.openPlans(), "closed with the second executor");
    }
}
