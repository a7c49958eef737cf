package io.cellstate.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cellstate.Backends;
import io.cellstate.Cell;
import io.cellstate.Direction;
import io.cellstate.Layout;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.bindings.Onnx;
import io.cellstate.bindings.StateDicts;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Scoring on a local Spark against the plain library on the same data, row for row and bit for bit:
 * the CPU backends give every sequence the same result whatever batch it runs in and however it is
 * padded, so a Spark batch of mixed lengths must reproduce each sequence's lone run exactly.
 */
@ExtendWith(LocalSpark.class)
class RnnScorerTest {
    static final StructType NESTED = new StructType()
            .add("id", DataTypes.LongType, false)
            .add("label", DataTypes.StringType)
            .add("seq", DataTypes.createArrayType(DataTypes.createArrayType(DataTypes.FloatType, false), false));

    /** {@code sequences} as rows (id, label, seq) in {@code partitions} partitions, in order. */
    static Dataset<Row> nested(List<float[][]> sequences, int partitions) {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < sequences.size(); i++) {
            rows.add(RowFactory.create((long) i, "row-" + i, sequences.get(i)));
        }
        return frame(rows, NESTED, partitions);
    }

    /** {@code rows} in {@code partitions} partitions of the shared session, as Spark's parallelize splits a list. */
    static Dataset<Row> frame(List<Row> rows, StructType schema, int partitions) {
        return frameIn(LocalSpark.session(), rows, schema, partitions);
    }

    static Dataset<Row> frameIn(SparkSession spark, List<Row> rows, StructType schema, int partitions) {
        return spark.createDataFrame(JavaSparkContext.fromSparkContext(spark.sparkContext()).parallelize(rows, partitions),
                schema);
    }

    /** The rows of each partition, in order. */
    static List<List<Row>> partitions(Dataset<Row> data) {
        return data.javaRDD().glom().collect();
    }

    @Test
    void scoresEveryRowAsThePlainLibraryDoes() {
        RnnSpec spec = RnnSpec.builder().inputSize(5).hiddenSize(7).layers(2).direction(Direction.BIDIRECTIONAL).build();
        RnnWeights weights = RnnWeights.random(spec, 11);
        List<float[][]> data = Reference.sequences(12, 37, 12, 5);
        List<Reference.Scored> expected = Reference.score(spec, weights, Backends.AUTO, data);

        Dataset<Row> input = nested(data, 3);
        try (RnnScorer scorer = RnnScorer.builder(spec, weights).sequenceColumn("seq").outputSequenceColumn("y")
                .batchSize(8).build()) {
            Dataset<Row> scored = scorer.transform(input);
            assertEquals(scorer.transformSchema(input.schema()), scored.schema());
            assertEquals(List.of("id", "label", "seq", "embedding", "y"), List.of(scored.schema().fieldNames()));

            List<List<Row>> before = partitions(input);
            List<List<Row>> after = partitions(scored);
            assertEquals(before.size(), after.size(), "partitions");
            int rows = 0;
            for (int p = 0; p < before.size(); p++) {
                assertEquals(before.get(p).size(), after.get(p).size(), "rows of partition " + p);
                for (int i = 0; i < after.get(p).size(); i++) {
                    Row in = before.get(p).get(i);
                    Row out = after.get(p).get(i);
                    int id = (int) out.getLong(0);
                    assertEquals(in.getLong(0), out.getLong(0), "partition " + p + ", row " + i + ": order kept");
                    assertEquals("row-" + id, out.getString(1));
                    assertArrayEquals(data.get(id), Reference.steps(out.get(2)), "row " + id + ": the sequence passes through");
                    Reference.Scored want = expected.get(id);
                    assertArrayEquals(want.embedding(), Reference.floats(out.get(3)), "row " + id + ": embedding");
                    float[][] y = Reference.steps(out.get(4));
                    assertEquals(data.get(id).length, y.length, "row " + id + ": output steps = its length");
                    for (int t = 0; t < y.length; t++) {
                        assertArrayEquals(want.sequence()[t], y[t], "row " + id + ", step " + t);
                    }
                    rows++;
                }
            }
            assertEquals(data.size(), rows);
        }
    }

    @Test
    void flatSequencesWithALengthColumn() {
        RnnSpec spec = RnnSpec.gru(3, 6);
        RnnWeights weights = RnnWeights.random(spec, 5);
        List<float[][]> data = Reference.sequences(6, 20, 9, 3);
        List<Reference.Scored> expected = Reference.score(spec, weights, Backends.AUTO, data);

        // doubles, each padded with junk past its length to 9 steps: the length column says what is valid
        StructType schema = new StructType()
                .add("id", DataTypes.IntegerType)
                .add("x", DataTypes.createArrayType(DataTypes.DoubleType))
                .add("n", DataTypes.IntegerType);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < data.size(); i++) {
            float[][] s = data.get(i);
            double[] flat = new double[9 * 3];
            for (int t = 0; t < 9; t++) {
                for (int k = 0; k < 3; k++) {
                    flat[t * 3 + k] = t < s.length ? s[t][k] : Double.NaN;
                }
            }
            rows.add(RowFactory.create(i, flat, s.length));
        }
        try (RnnScorer scorer = RnnScorer.builder(spec, weights).flatSequenceColumn("x", "n").embeddingColumn("h")
                .outputSequenceColumn("y").batchSize(6).build()) {
            List<Row> out = scorer.transform(frame(rows, schema, 2)).collectAsList();
            assertEquals(data.size(), out.size());
            for (Row r : out) {
                int id = r.getInt(0);
                assertArrayEquals(expected.get(id).embedding(), Reference.floats(r.getAs("h")), "row " + id);
                float[] y = Reference.floats(r.getAs("y"));
                float[][] want = expected.get(id).sequence();
                assertEquals(want.length * 6, y.length, "row " + id + ": flat output of its own steps");
                for (int t = 0; t < want.length; t++) {
                    for (int k = 0; k < 6; k++) {
                        assertEquals(want[t][k], y[t * 6 + k], "row " + id + ", step " + t + ", unit " + k);
                    }
                }
            }
        }
    }

    @Test
    void aPartitionOfOneRowAndEmptyPartitions() {
        RnnSpec spec = RnnSpec.builder().cell(Cell.rnnTanh()).inputSize(4).hiddenSize(5).direction(Direction.REVERSE).build();
        RnnWeights weights = RnnWeights.random(spec, 3);
        List<float[][]> data = Reference.sequences(4, 3, 6, 4);
        List<Reference.Scored> expected = Reference.score(spec, weights, Backends.AUTO, data);

        // 3 rows in 5 slices: Spark's split puts them in partitions 1, 3 and 4, and leaves 0 and 2 empty
        Dataset<Row> input = nested(data, 5);
        List<Integer> sizes = partitions(input).stream().map(List::size).toList();
        assertEquals(List.of(0, 1, 0, 1, 1), sizes, "the test's partitioning");
        try (RnnScorer scorer = RnnScorer.builder(spec, weights).sequenceColumn("seq").build()) {
            List<List<Row>> out = partitions(scorer.transform(input));
            assertEquals(sizes, out.stream().map(List::size).toList());
            for (List<Row> part : out) {
                for (Row r : part) {
                    int id = (int) r.getLong(0);
                    assertArrayEquals(expected.get(id).embedding(), Reference.floats(r.get(3)), "row " + id);
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"onnx", "safetensors"})
    void aModelReadFromAFile(String format, @TempDir Path dir) throws IOException {
        RnnSpec spec = RnnSpec.builder().inputSize(4).hiddenSize(8).layers(2).build();
        RnnWeights weights = RnnWeights.random(spec, 21);
        Path file = dir.resolve("model." + format);
        if (format.equals("onnx")) {
            Onnx.write(file, weights, Onnx.ExportOptions.DEFAULT);
        } else {
            StateDicts.write(file, weights);
        }
        List<float[][]> data = Reference.sequences(22, 10, 7, 4);
        List<Reference.Scored> expected = Reference.score(spec, weights, Backends.AUTO, data);
        try (RnnScorer scorer = RnnScorer.builder(file).sequenceColumn("seq").build()) {
            assertEquals(spec, scorer.spec());
            for (Row r : scorer.transform(nested(data, 2)).collectAsList()) {
                int id = (int) r.getLong(0);
                assertArrayEquals(expected.get(id).embedding(), Reference.floats(r.getAs("embedding")), format + ", row " + id);
            }
        }
    }

    @Test
    void aBackendNamedInTheOptions() {
        RnnSpec spec = RnnSpec.builder().cell(Cell.gruOriginal()).inputSize(3).hiddenSize(4).build();
        RnnWeights weights = RnnWeights.random(spec, 8);
        List<float[][]> data = Reference.sequences(9, 6, 5, 3);
        List<Reference.Scored> expected = Reference.score(spec, weights, "scalar", data);
        try (RnnScorer scorer = RnnScorer.builder(spec, weights).sequenceColumn("seq").backend("scalar").build()) {
            for (Row r : scorer.transform(nested(data, 2)).collectAsList()) {
                int id = (int) r.getLong(0);
                assertArrayEquals(expected.get(id).embedding(), Reference.floats(r.getAs("embedding")), "row " + id);
            }
            PlanCache.PoolInfo pool = PlanCache.shared().pools().stream()
                    .filter(p -> p.model().equals(scorer.modelId())).findFirst().orElseThrow();
            assertEquals("scalar", pool.chosen());
        }
    }

    @Test
    void plansAreMadeOncePerTaskThreadAndReusedAcrossPartitionsTasksAndJobs() {
        RnnSpec spec = RnnSpec.lstm(3, 4);
        RnnWeights weights = RnnWeights.random(spec, 1);
        Dataset<Row> input = nested(Reference.sequences(2, 24, 4, 3), 8);
        try (RnnScorer scorer = RnnScorer.builder(spec, weights).sequenceColumn("seq").batchSize(2).build()) {
            long broadcast = -1;
            for (int job = 0; job < 3; job++) {
                assertEquals(24, scorer.transform(input).count());
                if (job > 0) {
                    assertEquals(broadcast, scorer.broadcastId(), "the weights broadcast once");
                }
                broadcast = scorer.broadcastId();
            }
            List<PlanCache.PoolInfo> pools = PlanCache.shared().pools().stream()
                    .filter(p -> p.model().equals(scorer.modelId())).toList();
            assertEquals(1, pools.size(), "one pool: " + pools);
            PlanCache.PoolInfo pool = pools.get(0);
            // 24 partitions' tasks over 3 jobs, on local[2]: at most one plan per task thread
            assertTrue(pool.made() >= 1 && pool.made() <= 2, "plans made: " + pool);
            assertEquals(pool.made(), pool.idle(), "every plan given back: " + pool);
            assertEquals(0, pool.lent(), pool.toString());
            assertEquals(1, pool.threads(), "spark.task.cpus = 1");
            assertEquals(Backends.auto(spec).name(), pool.chosen());
        }
    }

    @Test
    void aLimitEndsTheTaskEarlyAndThePlanIsGivenBack() {
        RnnSpec spec = RnnSpec.rnn(2, 3);
        RnnWeights weights = RnnWeights.random(spec, 4);
        try (RnnScorer scorer = RnnScorer.builder(spec, weights).sequenceColumn("seq").batchSize(1).build()) {
            List<Row> first = scorer.transform(nested(Reference.sequences(5, 40, 3, 2), 1)).limit(2).collectAsList();
            assertEquals(2, first.size());
            PlanCache.PoolInfo pool = PlanCache.shared().pools().stream()
                    .filter(p -> p.model().equals(scorer.modelId())).findFirst().orElseThrow();
            assertEquals(0, pool.lent(), "given back by the task's completion listener: " + pool);
        }
    }

    @Test
    void closingTheScorerReleasesItsPlansOnTheExecutor() throws InterruptedException {
        RnnSpec spec = RnnSpec.lstm(2, 3);
        RnnWeights weights = RnnWeights.random(spec, 6);
        RnnScorer scorer = RnnScorer.builder(spec, weights).sequenceColumn("seq").build();
        assertEquals(5, scorer.transform(nested(Reference.sequences(7, 5, 3, 2), 2)).count());
        String id = scorer.modelId();
        assertTrue(PlanCache.shared().pools().stream().anyMatch(p -> p.model().equals(id)));
        scorer.close();
        // the broadcast's blocks go asynchronously; the payload then becomes unreachable
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (PlanCache.shared().pools().stream().anyMatch(p -> p.model().equals(id))) {
            assertTrue(System.nanoTime() < deadline, "the plans of a closed scorer were not released within 20 s");
            System.gc();
            Thread.sleep(50);
        }
    }
}
