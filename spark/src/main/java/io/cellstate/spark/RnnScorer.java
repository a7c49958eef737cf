package io.cellstate.spark;

import io.cellstate.Backend;
import io.cellstate.Backends;
import io.cellstate.PlanOptions;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.bindings.Models;
import io.cellstate.bindings.RnnModel;
import io.cellstate.bindings.StateDicts;
import java.io.IOException;
import java.lang.ref.WeakReference;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Scores the sequences of a Spark {@link Dataset} with a recurrent network: {@link #transform} returns
 * the Dataset with new columns, the last hidden state of each row's sequence (an embedding) and, on
 * request, the whole output sequence. Rows keep their partitions and their order within them.
 *
 * <pre>{@code
 * RnnScorer scorer = RnnScorer.builder(Path.of("encoder.onnx"))   // or builder(spec, weights)
 *         .sequenceColumn("events")                               // array<array<float>>: steps of inputSize
 *         .embeddingColumn("embedding")                           // array<float> of D*H
 *         .build();
 * Dataset<Row> scored = scorer.transform(spark.table("user_events"));
 * }</pre>
 *
 * <p><b>Input.</b> The sequence column is either an array of steps, each an array of
 * {@code inputSize} floats ({@code array<array<float>>} or of doubles, rounded to float32), or
 * ({@link Builder#flatSequenceColumn}) one flat array of {@code steps * inputSize} floats with an
 * optional integer length column saying how many of its steps are valid. Initial states are zeros.
 *
 * <p><b>Output.</b> The embedding is the last layer's final hidden state at each sequence's last valid
 * step, {@code array<float>} of {@code directions * hiddenSize}: PyTorch's {@code h_n[-1]}, or for a
 * bidirectional network {@code torch.cat([h_n[-2], h_n[-1]], dim=1)} (the forward direction first).
 * The output sequence ({@link Builder#outputSequenceColumn}) is the last layer's output at each of the
 * row's own steps ({@code y[:len]}), in the input's form: {@code array<array<float>>} for an array of
 * steps, a flat {@code array<float>} for a flat input.
 *
 * <p><b>How it runs.</b> {@link #transform} broadcasts the weights once per {@code SparkContext} (the
 * tasks carry only a handle). Each executor makes one plan per task thread on first use, with
 * {@code spark.task.cpus} threads and the backend named in {@link Builder#backend} ({@code auto}: the
 * best this executor runs), and reuses it for every later partition, task and job of this scorer;
 * {@link CellstatePlugin} closes them when the executor stops. A partition is scored
 * {@link Builder#batchSize} rows at a time, sequences of different lengths in one batch with their
 * lengths, the results equal to the plain library's on each sequence.
 *
 * <p><b>Bad rows.</b> A null or empty sequence, a step of the wrong size, a null, NaN or infinite
 * value, or a bad length fails the task with an {@link IllegalArgumentException} naming the partition,
 * the row within it ({@link Builder#idColumn}'s value too), the column and the problem; or, with
 * {@link Builder#errorColumn}, the row keeps its place with null results and the problem in that
 * column. No row is dropped.
 *
 * <p>Thread-safe; close it (after the last action on its Datasets) to release the broadcast on the
 * executors, and with it their plans of this model.
 */
public final class RnnScorer implements AutoCloseable {
    /** The embedding column's default name. */
    public static final String DEFAULT_EMBEDDING_COLUMN = "embedding";
    /** Rows per forward pass by default. */
    public static final int DEFAULT_BATCH_SIZE = 64;

    private final String modelId;
    private final RnnSpec spec;
    private final String sequenceColumn;
    private final boolean flat;
    private final String lengthColumn;
    private final String embeddingColumn;
    private final String outputSequenceColumn;
    private final String errorColumn;
    private final String idColumn;
    private final int batchSize;
    private final String backend;

    /** Guarded by {@code this}; null once closed (in local mode the executor's copy is this object). */
    private ModelPayload payload;
    private Broadcast<ModelPayload> broadcast;
    private WeakReference<SparkContext> broadcastIn = new WeakReference<>(null);
    private boolean closed;

    private RnnScorer(Builder b) {
        this.payload = ModelPayload.of(b.spec, b.weights);
        this.modelId = payload.id();
        this.spec = b.spec;
        this.sequenceColumn = b.sequenceColumn;
        this.flat = b.flat;
        this.lengthColumn = b.lengthColumn;
        this.embeddingColumn = b.embeddingColumn;
        this.outputSequenceColumn = b.outputSequenceColumn;
        this.errorColumn = b.errorColumn;
        this.idColumn = b.idColumn;
        this.batchSize = b.batchSize;
        this.backend = b.backend;
    }

    /**
     * A scorer of {@code weights}.
     *
     * @param spec    the network
     * @param weights its weights
     * @return a builder; set at least the sequence column
     * @throws IllegalArgumentException for weights of another spec
     */
    public static Builder builder(RnnSpec spec, RnnWeights weights) {
        Objects.requireNonNull(spec, "spec");
        Objects.requireNonNull(weights, "weights");
        if (!weights.spec().equals(spec)) {
            throw new IllegalArgumentException("weights: expected weights of " + spec + ", got weights of " + weights.spec());
        }
        return new Builder(spec, weights);
    }

    /**
     * A scorer of a model read with the formats library ({@code io.cellstate.bindings}). Its inputs
     * beyond the sequence (initial states) are zeros here.
     *
     * @param model the model
     * @return a builder; set at least the sequence column
     */
    public static Builder builder(RnnModel model) {
        Objects.requireNonNull(model, "model");
        return builder(model.spec(), model.weights());
    }

    /**
     * A scorer of a model file, read on the driver: a {@code .onnx} model, or a PyTorch state_dict in
     * {@code .safetensors} read with {@link StateDicts.Options#DEFAULT}.
     *
     * @param modelFile the file
     * @return a builder; set at least the sequence column
     * @throws IOException if the file cannot be read
     * @throws io.cellstate.bindings.ModelFormatException for a malformed file
     * @throws IllegalArgumentException for another extension
     */
    public static Builder builder(Path modelFile) throws IOException {
        return builder(modelFile, StateDicts.Options.DEFAULT);
    }

    /**
     * A scorer of a model file, read on the driver.
     *
     * @param modelFile the {@code .onnx} or {@code .safetensors} file
     * @param options   for a state_dict: its prefix and cell (see {@link StateDicts.Options})
     * @return a builder; set at least the sequence column
     * @throws IOException if the file cannot be read
     * @throws io.cellstate.bindings.ModelFormatException for a malformed file
     * @throws IllegalArgumentException for another extension
     */
    public static Builder builder(Path modelFile, StateDicts.Options options) throws IOException {
        return builder(Models.read(modelFile, options));
    }

    /**
     * The network this scorer runs.
     *
     * @return the spec
     */
    public RnnSpec spec() {
        return spec;
    }

    /** The id of the broadcast {@link #transform} ships, or -1 before the first. */
    synchronized long broadcastId() {
        return broadcast == null ? -1 : broadcast.id();
    }

    /** The model's id in the executors' plan caches. */
    String modelId() {
        return modelId;
    }

    /**
     * The schema {@link #transform} returns for input of {@code schema}: its columns, then the
     * embedding, the output sequence (if asked for) and the error column (if asked for).
     *
     * @param schema the input's schema
     * @return the output's schema
     * @throws IllegalArgumentException naming the column, if a column named in the options is missing or
     *                                  of another type, or a new column's name is taken
     */
    public StructType transformSchema(StructType schema) {
        job(schema);
        boolean nullable = errorColumn != null;
        ArrayType floats = DataTypes.createArrayType(DataTypes.FloatType, false);
        StructType out = schema.add(embeddingColumn, floats, nullable);
        if (outputSequenceColumn != null) {
            out = out.add(outputSequenceColumn, flat ? floats : DataTypes.createArrayType(floats, false), nullable);
        }
        if (errorColumn != null) {
            out = out.add(errorColumn, DataTypes.StringType, true);
        }
        return out;
    }

    /**
     * The Dataset with the new columns ({@link #transformSchema}); lazy, as any Spark transformation.
     *
     * @param data the rows to score
     * @return the scored rows, in the same partitions and order
     * @throws IllegalArgumentException as {@link #transformSchema}
     * @throws IllegalStateException    if the scorer is closed
     */
    public Dataset<Row> transform(Dataset<Row> data) {
        Objects.requireNonNull(data, "data");
        StructType out = transformSchema(data.schema());
        ScoringJob job = job(data.schema());
        return data.mapPartitions(new ScoreFunction(broadcast(data.sparkSession().sparkContext()), job), Encoders.row(out));
    }

    /** The model broadcast in {@code sc}: once per context, whatever the number of transforms. */
    private synchronized Broadcast<ModelPayload> broadcast(SparkContext sc) {
        if (closed) {
            throw new IllegalStateException("this scorer is closed");
        }
        if (broadcast == null || broadcastIn.get() != sc) {
            broadcast = JavaSparkContext.fromSparkContext(sc).broadcast(payload);
            broadcastIn = new WeakReference<>(sc);
        }
        return broadcast;
    }

    /**
     * Releases the broadcast weights on the driver and the executors; the executors close their plans of
     * this model when they next use their plan cache. Datasets this scorer transformed cannot run
     * afterwards. Idempotent.
     */
    @Override
    public synchronized void close() {
        closed = true;
        payload = null;
        if (broadcast != null) {
            broadcast.destroy();
            broadcast = null;
        }
    }

    /** The options resolved against {@code schema}, checked. */
    private ScoringJob job(StructType schema) {
        Objects.requireNonNull(schema, "schema");
        List<String> names = Arrays.asList(schema.fieldNames());
        int sequence = field(schema, names, "sequenceColumn", sequenceColumn);
        DataType type = schema.fields()[sequence].dataType();
        DataType expected = flat ? DataTypes.createArrayType(DataTypes.FloatType)
                : DataTypes.createArrayType(DataTypes.createArrayType(DataTypes.FloatType));
        if (!(flat ? isFloats(type) : type instanceof ArrayType a && isFloats(a.elementType()))) {
            throw new IllegalArgumentException("sequenceColumn '" + sequenceColumn + "': expected " + expected.simpleString()
                    + " (or of double)" + (flat ? ": a flat sequence, steps * " : ": steps of ") + spec.inputSize()
                    + " features, got " + type.simpleString());
        }
        int length = -1;
        if (lengthColumn != null) {
            length = field(schema, names, "lengthColumn", lengthColumn);
            DataType lt = schema.fields()[length].dataType();
            if (!(lt.equals(DataTypes.IntegerType) || lt.equals(DataTypes.LongType) || lt.equals(DataTypes.ShortType)
                    || lt.equals(DataTypes.ByteType))) {
                throw new IllegalArgumentException("lengthColumn '" + lengthColumn + "': expected an integer type (int, bigint,"
                        + " smallint, tinyint), got " + lt.simpleString());
            }
        }
        int id = idColumn == null ? -1 : field(schema, names, "idColumn", idColumn);
        Set<String> added = new HashSet<>();
        for (String[] c : new String[][] {{"embeddingColumn", embeddingColumn}, {"outputSequenceColumn", outputSequenceColumn},
                {"errorColumn", errorColumn}}) {
            if (c[1] == null) {
                continue;
            }
            if (names.contains(c[1])) {
                throw new IllegalArgumentException(c[0] + ": expected a new column, got '" + c[1] + "', which the Dataset has "
                        + names);
            }
            if (!added.add(c[1])) {
                throw new IllegalArgumentException(c[0] + ": expected a name of its own, got '" + c[1]
                        + "', the name of another new column");
            }
        }
        return new ScoringJob(sequenceColumn, sequence, flat, lengthColumn, length, idColumn, id, names.size(),
                outputSequenceColumn != null, errorColumn != null, batchSize, backend);
    }

    private static int field(StructType schema, List<String> names, String option, String column) {
        int i = names.indexOf(column);
        if (i < 0) {
            throw new IllegalArgumentException(option + ": expected one of the Dataset's columns " + names + ", got '"
                    + column + "'");
        }
        return i;
    }

    private static boolean isFloats(DataType t) {
        return t instanceof ArrayType a && (a.elementType().equals(DataTypes.FloatType) || a.elementType().equals(DataTypes.DoubleType));
    }

    @Override
    public String toString() {
        return "RnnScorer[" + spec + ", " + (flat ? "flat " : "") + "sequence '" + sequenceColumn + "'"
                + (lengthColumn != null ? ", length '" + lengthColumn + "'" : "") + " -> '" + embeddingColumn + "'"
                + (outputSequenceColumn != null ? ", '" + outputSequenceColumn + "'" : "")
                + (errorColumn != null ? ", errors to '" + errorColumn + "'" : "") + ", batch " + batchSize + ", backend "
                + backend + "]";
    }

    /** The options of a scorer; {@link #sequenceColumn} or {@link #flatSequenceColumn} is required. */
    public static final class Builder {
        private final RnnSpec spec;
        private final RnnWeights weights;
        private String sequenceColumn;
        private boolean flat;
        private String lengthColumn;
        private String embeddingColumn = DEFAULT_EMBEDDING_COLUMN;
        private String outputSequenceColumn;
        private String errorColumn;
        private String idColumn;
        private int batchSize = DEFAULT_BATCH_SIZE;
        private String backend = Backends.AUTO;

        private Builder(RnnSpec spec, RnnWeights weights) {
            this.spec = spec;
            this.weights = weights;
        }

        /**
         * The column of sequences as arrays of steps: {@code array<array<float>>} (or of double), each step
         * {@code inputSize} values.
         *
         * @param column the column's name
         * @return this builder
         */
        public Builder sequenceColumn(String column) {
            this.sequenceColumn = name("sequenceColumn", column);
            this.flat = false;
            this.lengthColumn = null;
            return this;
        }

        /**
         * The column of sequences as flat arrays, {@code array<float>} (or of double) of
         * {@code steps * inputSize} values, step after step, with the number of valid steps in
         * {@code lengthColumn} (the steps after it are padding and are not read).
         *
         * @param column       the column's name
         * @param lengthColumn an integer column, or null when every array is all valid steps
         * @return this builder
         */
        public Builder flatSequenceColumn(String column, String lengthColumn) {
            this.sequenceColumn = name("sequenceColumn", column);
            this.flat = true;
            this.lengthColumn = lengthColumn == null ? null : name("lengthColumn", lengthColumn);
            return this;
        }

        /**
         * The new column of embeddings (the last layer's final hidden state).
         *
         * @param column its name (default {@value RnnScorer#DEFAULT_EMBEDDING_COLUMN})
         * @return this builder
         */
        public Builder embeddingColumn(String column) {
            this.embeddingColumn = name("embeddingColumn", column);
            return this;
        }

        /**
         * Adds the whole output sequence, the last layer's output at every valid step, as a new column.
         *
         * @param column its name, or null for none (the default)
         * @return this builder
         */
        public Builder outputSequenceColumn(String column) {
            this.outputSequenceColumn = column == null ? null : name("outputSequenceColumn", column);
            return this;
        }

        /**
         * Routes bad rows to a new string column instead of failing the task: a bad row gets null results
         * and the problem there, a good row null there.
         *
         * @param column its name, or null to fail on the first bad row (the default)
         * @return this builder
         */
        public Builder errorColumn(String column) {
            this.errorColumn = column == null ? null : name("errorColumn", column);
            return this;
        }

        /**
         * A column whose value error messages show beside the row's place (a user or device id).
         *
         * @param column its name, or null for none (the default)
         * @return this builder
         */
        public Builder idColumn(String column) {
            this.idColumn = column == null ? null : name("idColumn", column);
            return this;
        }

        /**
         * The most rows run as one batch: larger batches run the kernels' matrix products more efficiently,
         * and hold more rows at once.
         *
         * @param rows at least 1 (default {@value RnnScorer#DEFAULT_BATCH_SIZE})
         * @return this builder
         * @throws IllegalArgumentException below 1
         */
        public Builder batchSize(int rows) {
            if (rows < 1) {
                throw new IllegalArgumentException("batchSize: expected >= 1, got " + rows);
            }
            this.batchSize = rows;
            return this;
        }

        /**
         * The backend each executor makes its plans with: {@code auto} (the default: the best available on
         * that executor) or a name ({@code vector}, {@code blas}, {@code cudnn}, {@code scalar}), which an
         * executor that cannot run it refuses, failing the task with the reason.
         *
         * @param name {@code auto} or a backend's name
         * @return this builder
         * @throws IllegalArgumentException      for a name no backend on the driver's class path has
         * @throws UnsupportedOperationException if the named backend cannot run the network
         */
        public Builder backend(String name) {
            Objects.requireNonNull(name, "backend");
            if (!Backends.AUTO.equals(name)) {
                Backend b = Backends.byName(name);
                String lacks = b.unsupported(spec, PlanOptions.defaults());
                if (!lacks.isEmpty()) {
                    throw new UnsupportedOperationException("backend '" + name + "' cannot run " + spec + ": " + lacks);
                }
            }
            this.backend = name;
            return this;
        }

        /**
         * The scorer.
         *
         * @return the scorer
         * @throws IllegalArgumentException without a sequence column, or for a cell whose options the
         *                                  executors could not be sent
         */
        public RnnScorer build() {
            if (sequenceColumn == null) {
                throw new IllegalArgumentException("sequenceColumn: expected a column name (sequenceColumn or"
                        + " flatSequenceColumn), got none");
            }
            return new RnnScorer(this);
        }

        private static String name(String option, String column) {
            if (column == null || column.isEmpty()) {
                throw new IllegalArgumentException(option + ": expected a column name, got " + (column == null ? "null" : "''"));
            }
            return column;
        }
    }
}
