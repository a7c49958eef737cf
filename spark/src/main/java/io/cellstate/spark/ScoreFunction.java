package io.cellstate.spark;

import java.io.Serial;
import java.util.Iterator;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;

/**
 * The function each task runs over its partition: small (the job's options and a handle on the
 * broadcast model), so a task carries no weights.
 */
final class ScoreFunction implements MapPartitionsFunction<Row, Row> {
    @Serial
    private static final long serialVersionUID = 1L;

    private final Broadcast<ModelPayload> model;
    private final ScoringJob job;

    ScoreFunction(Broadcast<ModelPayload> model, ScoringJob job) {
        this.model = model;
        this.job = job;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
        return new PartitionScorer(job, model, PlanCache.shared(), rows, TaskContext.get());
    }
}
