package io.cellstate.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cellstate.Backends;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Bad rows: each kind fails the task naming the row and the column, or lands in the error column,
 * with the good rows around it scored as usual; none is dropped.
 */
@ExtendWith(LocalSpark.class)
class BadRowsTest {
    private static final RnnSpec SPEC = RnnSpec.lstm(4, 3);
    private static final RnnWeights WEIGHTS = RnnWeights.random(SPEC, 77);
    private static final StructType NESTED = new StructType()
            .add("id", DataTypes.IntegerType)
            .add("seq", DataTypes.createArrayType(DataTypes.createArrayType(DataTypes.FloatType, true), true));

    private static Float[] step(Float... values) {
        return values;
    }

    private static Float[] good(int seed) {
        return step(0.1f * seed, -0.2f, 0.3f, 0.4f - seed);
    }

    /** The test's rows, each good or bad as {@link #PROBLEMS} says. */
    private static final Float[][][] SEQUENCES = {
        {good(0), good(1)},
        {good(1), step(1f, 2f, 3f)},
        {},
        {step(1f, 2f, Float.NaN, 4f)},
        null,
        {good(2), null},
        {step(1f, null, 3f, 4f)},
        {good(3), good(4), good(5)},
        {good(6), step(Float.POSITIVE_INFINITY, 0f, 0f, 0f)},
        {good(7)},
    };

    private static final String[] PROBLEMS = {
        null,
        "column 'seq': step 1: expected 4 features (the model's inputSize), got 3",
        "column 'seq': expected at least 1 step, got an empty sequence",
        "column 'seq': step 0, feature 2: expected a finite number, got NaN",
        "column 'seq': expected a sequence (an array of steps of 4 features), got null",
        "column 'seq': step 1: expected 4 features, got null",
        "column 'seq': step 0, feature 1: expected a number, got null",
        null,
        "column 'seq': step 1, feature 0: expected a finite number, got Infinity",
        null,
    };

    private static Dataset<Row> rows(int partitions) {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < SEQUENCES.length; i++) {
            rows.add(RowFactory.create(i, SEQUENCES[i]));
        }
        return RnnScorerTest.frame(rows, NESTED, partitions);
    }

    private static float[][] unboxed(Float[][] s) {
        float[][] out = new float[s.length][];
        for (int t = 0; t < s.length; t++) {
            out[t] = new float[s[t].length];
            for (int k = 0; k < s[t].length; k++) {
                out[t][k] = s[t][k];
            }
        }
        return out;
    }

    @Test
    void badRowsGoToTheErrorColumnInTheirPlace() {
        // batches of 3: one of them (rows 3 to 5) has no good row at all
        try (RnnScorer scorer = RnnScorer.builder(SPEC, WEIGHTS).sequenceColumn("seq").errorColumn("error").batchSize(3)
                .build()) {
            Dataset<Row> scored = scorer.transform(rows(1));
            assertTrue(scored.schema().apply("embedding").nullable());
            List<Row> out = scored.collectAsList();
            assertEquals(SEQUENCES.length, out.size(), "no row dropped");
            for (int i = 0; i < out.size(); i++) {
                Row r = out.get(i);
                assertEquals(i, r.getInt(0), "order kept");
                assertEquals(PROBLEMS[i], r.getString(3), "row " + i);
                if (PROBLEMS[i] != null) {
                    assertNull(r.get(2), "row " + i + ": no embedding");
                } else {
                    float[] want = Reference.score(SPEC, WEIGHTS, Backends.AUTO, List.<float[][]>of(unboxed(SEQUENCES[i]))).get(0).embedding();
                    assertArrayEquals(want, Reference.floats(r.get(2)), "row " + i);
                }
            }
        }
    }

    @Test
    void aBadRowFailsTheJobNamingItsPartitionRowIdAndColumn() {
        // 6 rows in 2 slices: rows 3 to 5 are partition 1, so row 4 is its row 1
        Float[][][] sequences = {SEQUENCES[0], SEQUENCES[7], SEQUENCES[9], SEQUENCES[0], SEQUENCES[1], SEQUENCES[9]};
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < sequences.length; i++) {
            rows.add(RowFactory.create(i, sequences[i]));
        }
        Dataset<Row> data = RnnScorerTest.frame(rows, NESTED, 2);
        String problem = "column 'seq': step 1: expected 4 features (the model's inputSize), got 3";
        try (RnnScorer scorer = RnnScorer.builder(SPEC, WEIGHTS).sequenceColumn("seq").idColumn("id").build()) {
            Exception e = assertThrows(Exception.class, () -> scorer.transform(data).collectAsList());
            assertMentions(e, "IllegalArgumentException: partition 1, row 1 (id = 4): " + problem);
        }
        try (RnnScorer scorer = RnnScorer.builder(SPEC, WEIGHTS).sequenceColumn("seq").build()) {
            Exception e = assertThrows(Exception.class, () -> scorer.transform(data).count());
            assertMentions(e, "partition 1, row 1: " + problem);
        }
    }

    @Test
    void flatSequencesAndTheirLengths() {
        StructType schema = new StructType()
                .add("id", DataTypes.IntegerType)
                .add("x", DataTypes.createArrayType(DataTypes.DoubleType, true))
                .add("n", DataTypes.LongType);
        Double[][] values = {
            {1d, 2d, 3d, 4d, 5d, 6d, 7d, 8d},
            {1d, 2d, 3d, 4d, 5d, 6d, 7d},
            {1d, 2d, 3d, 4d},
            {1d, 2d, 3d, 4d},
            {1d, 2d, 3d, 4d},
            {},
            {1d, 2d, 1e39, 4d},
            {1d, 2d, 3d, 4d, Double.NaN, null, 7d, 8d},
            null,
        };
        Long[] lengths = {2L, 1L, 0L, 2L, null, 1L, 1L, 1L, 1L};
        String[] problems = {
            null,
            "column 'x': expected a whole number of steps of 4 features (the model's inputSize), got 7 floats",
            "column 'n': expected a length of 1 to 1 (the 4 floats of column 'x' hold 1 steps), got 0",
            "column 'n': expected a length of 1 to 1 (the 4 floats of column 'x' hold 1 steps), got 2",
            "column 'n': expected a length, got null",
            "column 'x': expected at least 1 step, got an empty sequence",
            "column 'x': float 2 (step 0, feature 2): expected a finite number, got 1.0E39 (beyond float32's range)",
            null,
            "column 'x': expected a sequence (an array of steps * 4 floats), got null",
        };
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < values.length; i++) {
            rows.add(RowFactory.create(i, values[i], lengths[i]));
        }
        try (RnnScorer scorer = RnnScorer.builder(SPEC, WEIGHTS).flatSequenceColumn("x", "n").errorColumn("why").build()) {
            List<Row> out = scorer.transform(RnnScorerTest.frame(rows, schema, 1)).collectAsList();
            assertEquals(values.length, out.size());
            for (int i = 0; i < out.size(); i++) {
                assertEquals(problems[i], out.get(i).getString(4), "row " + i);
            }
            // row 7: one valid step; the NaN and the null past it are padding, never read
            float[] want = Reference.score(SPEC, WEIGHTS, Backends.AUTO, List.<float[][]>of(new float[][] {{1, 2, 3, 4}})).get(0).embedding();
            assertArrayEquals(want, Reference.floats(out.get(7).get(3)));
        }
    }

    /** Spark wraps a task's exception; the message must reach the user somewhere in the chain. */
    private static void assertMentions(Throwable e, String text) {
        List<String> seen = new ArrayList<>();
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t.getMessage() != null && t.getMessage().contains(text)) {
                return;
            }
            seen.add(t.getClass().getName() + ": " + t.getMessage());
        }
        throw new AssertionError("expected the message '" + text + "' in the failure, got " + Arrays.toString(seen.toArray()));
    }
}
