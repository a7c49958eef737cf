package io.cellstate.spark;

import io.cellstate.Backends;
import io.cellstate.Layout;
import io.cellstate.PlanOptions;
import io.cellstate.RnnInput;
import io.cellstate.RnnOutput;
import io.cellstate.RnnPlan;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.Tensor;
import java.io.Serial;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.DoubleSupplier;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Sequences per second on one machine: the plain library in one JVM (one plan per thread, batches
 * with lengths, the data as {@code float[][]}) against {@link RnnScorer} on a local Spark at
 * {@code local[1]} and {@code local[2]}, on the same data; and the Spark jobs' cost without the
 * network (each row read and checked as the scorer does, an embedding-sized array written back), which
 * is what Spark's row conversion costs. Run by {@code spark/throughput.sh}; prints Markdown.
 *
 * <p>The Spark data is checkpointed in memory before timing, and each job writes to Spark's {@code noop}
 * sink, which consumes every row: a job's time is reading the checkpointed rows, converting them to
 * {@link Row}s, scoring, and converting the results back. Each figure is the median of
 * {@code --repeats} runs after {@code --warmups}.
 */
public final class SparkThroughput {
    private int sequences = 4096;
    private int input = 32;
    private int hidden = 128;
    private int minSteps = 20;
    private int maxSteps = 80;
    private int batch = RnnScorer.DEFAULT_BATCH_SIZE;
    private int partitions = 8;
    private int warmups = 2;
    private int repeats = 5;

    private SparkThroughput() {
    }

    /**
     * Runs the measurement.
     *
     * @param args {@code --sequences N --input F --hidden H --min-steps A --max-steps B --batch B
     *             --partitions P --warmups W --repeats R}
     * @throws Exception if a run fails
     */
    public static void main(String[] args) throws Exception {
        SparkThroughput t = new SparkThroughput();
        for (int i = 0; i < args.length; i += 2) {
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(args[i] + ": expected a value");
            }
            int v = Integer.parseInt(args[i + 1]);
            switch (args[i]) {
                case "--sequences" -> t.sequences = v;
                case "--input" -> t.input = v;
                case "--hidden" -> t.hidden = v;
                case "--min-steps" -> t.minSteps = v;
                case "--max-steps" -> t.maxSteps = v;
                case "--batch" -> t.batch = v;
                case "--partitions" -> t.partitions = v;
                case "--warmups" -> t.warmups = v;
                case "--repeats" -> t.repeats = v;
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        t.run();
    }

    private record Figure(String run, int threads, double seconds) {
    }

    private void run() throws Exception {
        RnnSpec spec = RnnSpec.lstm(input, hidden);
        RnnWeights weights = RnnWeights.random(spec, 42);
        SplittableRandom rng = new SplittableRandom(7);
        List<float[][]> data = new ArrayList<>();
        long steps = 0;
        for (int i = 0; i < sequences; i++) {
            float[][] s = new float[minSteps + rng.nextInt(maxSteps - minSteps + 1)][input];
            for (float[] step : s) {
                for (int k = 0; k < input; k++) {
                    step[k] = (float) rng.nextDouble(-1, 1);
                }
            }
            data.add(s);
            steps += s.length;
        }
        String backend = Backends.auto(spec).name();
        System.out.printf(Locale.ROOT, "LSTM, input %d, hidden %d, one layer; %d sequences of %d to %d steps (%d in all,"
                        + " mean %.1f); batches of %d; backend %s (auto); %d Spark partitions; median of %d runs after %d warm-ups%n%n",
                input, hidden, sequences, minSteps, maxSteps, steps, (double) steps / sequences, batch, backend, partitions,
                repeats, warmups);

        List<Figure> figures = new ArrayList<>();
        figures.add(new Figure("plain library", 1, median(() -> plain(spec, weights, data, 1))));
        figures.add(new Figure("plain library", 2, median(() -> plain(spec, weights, data, 2))));
        for (int cores : new int[] {1, 2}) {
            SparkSession spark = SparkSession.builder().master("local[" + cores + "]").appName("cellstate-throughput")
                    .config("spark.ui.enabled", "false")
                    .config("spark.driver.host", "127.0.0.1")
                    .config("spark.driver.bindAddress", "127.0.0.1")
                    .config("spark.plugins", CellstatePlugin.class.getName())
                    .getOrCreate();
            try {
                for (boolean flat : new boolean[] {false, true}) {
                    // checkpointed in memory, apart from the list it came from: a job reads Spark's own rows, and its
                    // tasks do not carry the data (a parallelized list travels in each task, even when cached)
                    Dataset<Row> df = RnnScorerTest.frameIn(spark, rows(data, flat), flat ? FLAT : RnnScorerTest.NESTED,
                            partitions).localCheckpoint();
                    if (df.count() != sequences) {
                        throw new IllegalStateException("checkpointed " + df.count() + " rows, expected " + sequences);
                    }
                    RnnScorer.Builder b = RnnScorer.builder(spec, weights).batchSize(batch);
                    try (RnnScorer scorer = (flat ? b.flatSequenceColumn("seq", "n") : b.sequenceColumn("seq")).build()) {
                        String form = flat ? "flat array + length" : "array of steps";
                        Dataset<Row> scored = scorer.transform(df);
                        figures.add(new Figure("Spark local[" + cores + "], RnnScorer, " + form, cores, median(() -> sink(scored))));
                        StructType out = scorer.transformSchema(df.schema());
                        Dataset<Row> converted = df.mapPartitions(new ConversionOnly(spec.inputSize(), spec.outputSize(), batch,
                                flat, df.schema().size()), Encoders.row(out));
                        figures.add(new Figure("Spark local[" + cores + "], rows only, " + form, cores,
                                median(() -> sink(converted))));
                    }
                }
            } finally {
                spark.stop();
            }
        }

        System.out.println("| run | threads | seconds | sequences/s | vs plain library, same threads |");
        System.out.println("| :--- | ---: | ---: | ---: | ---: |");
        for (Figure f : figures) {
            double plain = figures.get(f.threads() - 1).seconds();
            System.out.printf(Locale.ROOT, "| %s | %d | %.3f | %.0f | %.2f |%n", f.run(), f.threads(), f.seconds(),
                    sequences / f.seconds(), plain / f.seconds());
        }
        System.out.println();
        System.out.println("rows only: each row read and checked as RnnScorer does, and written back with an embedding-sized"
                + " array, without the network; plain library: the same batches from float[][] in one JVM, a plan per thread.");
        for (Figure f : figures.subList(2, figures.size())) {
            if (f.run().contains("rows only")) {
                System.out.printf(Locale.ROOT, "%s: %.1f us of a thread per sequence%n", f.run(),
                        1e6 * f.seconds() * f.threads() / sequences);
            }
        }
    }

    private double median(DoubleSupplier run) {
        for (int i = 0; i < warmups; i++) {
            run.getAsDouble();
        }
        double[] t = new double[repeats];
        for (int i = 0; i < repeats; i++) {
            t[i] = run.getAsDouble();
        }
        Arrays.sort(t);
        return repeats % 2 == 1 ? t[repeats / 2] : (t[repeats / 2 - 1] + t[repeats / 2]) / 2;
    }

    /** Scores every sequence with the plain library on {@code threads} threads, a plan each; returns the seconds. */
    private double plain(RnnSpec spec, RnnWeights weights, List<float[][]> data, int threads) {
        PlanOptions one = PlanOptions.defaults().withThreads(1);
        List<RnnPlan> plans = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            for (int i = 0; i < threads; i++) {
                plans.add(Backends.get(Backends.AUTO, spec, one).plan(spec, weights, one));
            }
            long start = System.nanoTime();
            List<Future<Long>> done = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                RnnPlan plan = plans.get(i);
                List<float[][]> part = data.subList(i * data.size() / threads, (i + 1) * data.size() / threads);
                done.add(pool.submit(() -> scoreAll(plan, part)));
            }
            long embeddings = 0;
            for (Future<Long> f : done) {
                embeddings += f.get();
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            if (embeddings != data.size()) {
                throw new IllegalStateException("scored " + embeddings + " sequences, expected " + data.size());
            }
            return seconds;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        } finally {
            pool.shutdown();
            plans.forEach(RnnPlan::close);
        }
    }

    /** What a user of the library alone writes: batches of sequences with their lengths, an embedding per sequence. */
    private long scoreAll(RnnPlan plan, List<float[][]> data) {
        RnnSpec spec = plan.spec();
        int f = spec.inputSize();
        int h = spec.hiddenSize();
        ScoringBuffers buffers = new ScoringBuffers();
        long scored = 0;
        for (int from = 0; from < data.size(); from += batch) {
            List<float[][]> b = data.subList(from, Math.min(data.size(), from + batch));
            int n = b.size();
            int steps = 0;
            int[] lengths = new int[n];
            for (int i = 0; i < n; i++) {
                lengths[i] = b.get(i).length;
                steps = Math.max(steps, lengths[i]);
            }
            Tensor x = buffers.x(n, steps, f);
            float[] xa = buffers.xArray();
            for (int i = 0; i < n; i++) {
                float[][] s = b.get(i);
                for (int t = 0; t < s.length; t++) {
                    System.arraycopy(s[t], 0, xa, (i * steps + t) * f, f);
                }
                Arrays.fill(xa, (i * steps + s.length) * f, (i + 1) * steps * f, 0f);
            }
            Tensor hn = buffers.h(1, n, h);
            plan.forward(new RnnInput(x, Layout.BATCH_MAJOR, lengths, null, null),
                    new RnnOutput(buffers.y(n, steps, h), hn, null));
            float[] ha = buffers.hArray();
            for (int i = 0; i < n; i++) {
                float[] embedding = Arrays.copyOfRange(ha, i * h, (i + 1) * h);
                scored += embedding.length == h ? 1 : 0;
            }
        }
        return scored;
    }

    private static final StructType FLAT = new StructType()
            .add("id", DataTypes.LongType, false)
            .add("label", DataTypes.StringType)
            .add("seq", DataTypes.createArrayType(DataTypes.FloatType, false))
            .add("n", DataTypes.IntegerType);

    /** The sequences as rows: (id, label, seq as an array of steps), or flat with its length (id, label, seq, n). */
    private static List<Row> rows(List<float[][]> data, boolean flat) {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < data.size(); i++) {
            float[][] s = data.get(i);
            if (flat) {
                int f = s[0].length;
                float[] x = new float[s.length * f];
                for (int t = 0; t < s.length; t++) {
                    System.arraycopy(s[t], 0, x, t * f, f);
                }
                rows.add(RowFactory.create((long) i, "row-" + i, x, s.length));
            } else {
                rows.add(RowFactory.create((long) i, "row-" + i, s));
            }
        }
        return rows;
    }

    /** Runs a job into Spark's noop sink; returns the seconds. */
    private static double sink(Dataset<Row> job) {
        long start = System.nanoTime();
        job.write().format("noop").mode("overwrite").save();
        return (System.nanoTime() - start) / 1e9;
    }

    /**
     * The scorer's job without the network: each row read and checked into a batch as {@link RnnScorer}
     * does, and written back with an embedding-sized array, in the same output schema.
     */
    private static final class ConversionOnly implements MapPartitionsFunction<Row, Row> {
        @Serial
        private static final long serialVersionUID = 1L;
        private final int features;
        private final int width;
        private final int batch;
        private final boolean flat;
        private final int fields;

        ConversionOnly(int features, int width, int batch, boolean flat, int fields) {
            this.features = features;
            this.width = width;
            this.batch = batch;
            this.flat = flat;
            this.fields = fields;
        }

        @Override
        public Iterator<Row> call(Iterator<Row> rows) {
            ScoringJob job = new ScoringJob("seq", 2, flat, flat ? "n" : null, flat ? 3 : -1, null, -1, fields, false, false,
                    batch, Backends.AUTO);
            SequenceReader reader = new SequenceReader(job, features);
            return new Iterator<>() {
                private int inBatch;

                @Override
                public boolean hasNext() {
                    return rows.hasNext();
                }

                @Override
                public Row next() {
                    if (inBatch++ % batch == 0) {
                        reader.clear();
                    }
                    Row r = rows.next();
                    String problem = reader.read(r);
                    if (problem != null) {
                        throw new IllegalStateException(problem);
                    }
                    Object[] values = new Object[fields + 1];
                    for (int i = 0; i < fields; i++) {
                        values[i] = r.get(i);
                    }
                    values[fields] = new float[width];
                    return RowFactory.create(values);
                }
            };
        }
    }
}
