package io.cellstate.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.cellstate.Direction;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

/** The options and the schema checks, on the driver, before any job: no Spark needed. */
class RnnScorerOptionsTest {
    private static final RnnSpec SPEC = RnnSpec.builder().inputSize(4).hiddenSize(3).direction(Direction.BIDIRECTIONAL).build();
    private static final RnnWeights WEIGHTS = RnnWeights.random(SPEC, 1);
    private static final StructType SCHEMA = new StructType()
            .add("id", DataTypes.StringType)
            .add("seq", DataTypes.createArrayType(DataTypes.createArrayType(DataTypes.DoubleType)))
            .add("flat", DataTypes.createArrayType(DataTypes.FloatType))
            .add("n", DataTypes.IntegerType)
            .add("name", DataTypes.StringType);

    private static RnnScorer.Builder builder() {
        return RnnScorer.builder(SPEC, WEIGHTS);
    }

    private static void assertMessage(String expected, Class<? extends Throwable> type, Runnable r) {
        assertEquals(expected, assertThrows(type, r::run).getMessage());
    }

    @Test
    void theOutputSchema() {
        var floats = DataTypes.createArrayType(DataTypes.FloatType, false);
        StructType plain = builder().sequenceColumn("seq").build().transformSchema(SCHEMA);
        assertEquals(SCHEMA.add("embedding", floats, false), plain);
        StructType all = builder().sequenceColumn("seq").embeddingColumn("h").outputSequenceColumn("y").errorColumn("e").build()
                .transformSchema(SCHEMA);
        assertEquals(SCHEMA.add("h", floats, true).add("y", DataTypes.createArrayType(floats, false), true)
                .add("e", DataTypes.StringType, true), all);
        StructType flat = builder().flatSequenceColumn("flat", "n").outputSequenceColumn("y").build().transformSchema(SCHEMA);
        assertEquals(SCHEMA.add("embedding", floats, false).add("y", floats, false), flat);
    }

    @Test
    void columnsNamedInTheOptionsAreChecked() {
        assertMessage("sequenceColumn: expected one of the Dataset's columns [id, seq, flat, n, name], got 'events'",
                IllegalArgumentException.class, () -> builder().sequenceColumn("events").build().transformSchema(SCHEMA));
        assertMessage("sequenceColumn 'flat': expected array<array<float>> (or of double): steps of 4 features, got array<float>",
                IllegalArgumentException.class, () -> builder().sequenceColumn("flat").build().transformSchema(SCHEMA));
        assertMessage("sequenceColumn 'seq': expected array<float> (or of double): a flat sequence, steps * 4 features, got"
                        + " array<array<double>>",
                IllegalArgumentException.class, () -> builder().flatSequenceColumn("seq", null).build().transformSchema(SCHEMA));
        assertMessage("lengthColumn 'name': expected an integer type (int, bigint, smallint, tinyint), got string",
                IllegalArgumentException.class, () -> builder().flatSequenceColumn("flat", "name").build().transformSchema(SCHEMA));
        assertMessage("idColumn: expected one of the Dataset's columns [id, seq, flat, n, name], got 'user'",
                IllegalArgumentException.class, () -> builder().sequenceColumn("seq").idColumn("user").build().transformSchema(SCHEMA));
        assertMessage("embeddingColumn: expected a new column, got 'name', which the Dataset has [id, seq, flat, n, name]",
                IllegalArgumentException.class, () -> builder().sequenceColumn("seq").embeddingColumn("name").build()
                        .transformSchema(SCHEMA));
        assertMessage("errorColumn: expected a name of its own, got 'y', the name of another new column",
                IllegalArgumentException.class, () -> builder().sequenceColumn("seq").outputSequenceColumn("y").errorColumn("y")
                        .build().transformSchema(SCHEMA));
    }

    @Test
    void theBuildersArgumentsAreChecked() {
        assertMessage("sequenceColumn: expected a column name (sequenceColumn or flatSequenceColumn), got none",
                IllegalArgumentException.class, () -> builder().build());
        assertMessage("batchSize: expected >= 1, got 0", IllegalArgumentException.class, () -> builder().batchSize(0));
        assertMessage("embeddingColumn: expected a column name, got ''", IllegalArgumentException.class,
                () -> builder().embeddingColumn(""));
        assertThrows(IllegalArgumentException.class, () -> builder().backend("no-such-backend"));
        RnnSpec other = RnnSpec.lstm(4, 5);
        assertMessage("weights: expected weights of " + other + ", got weights of " + SPEC, IllegalArgumentException.class,
                () -> RnnScorer.builder(other, WEIGHTS));
    }
}
