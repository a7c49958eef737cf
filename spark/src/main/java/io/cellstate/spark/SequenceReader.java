package io.cellstate.spark;

import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.Row;
import scala.collection.Seq;
import scala.collection.mutable.ArraySeq;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Reads the sequences of a batch of rows, checked, one after another into one growing array of floats
 * (row-major {@code [steps, inputSize]} per row), so a batch costs no array per row. One per task.
 *
 * <p>A bad row is not an exception here: {@link #read} returns what is wrong with it, without the
 * row's place, which the caller knows, and leaves the buffer as it was before the row.
 */
final class SequenceReader {
    private final ScoringJob job;
    private final int features;
    private float[] floats = new float[1024];
    private int size;
    private int lastSteps;

    SequenceReader(ScoringJob job, int features) {
        this.job = job;
        this.features = features;
    }

    /** Forgets the batch read so far. */
    void clear() {
        size = 0;
    }

    /** The floats read so far. */
    float[] floats() {
        return floats;
    }

    /** How many floats were read so far: where the next row's sequence starts. */
    int size() {
        return size;
    }

    /** The steps of the row {@link #read} read last. */
    int lastSteps() {
        return lastSteps;
    }

    /**
     * Reads one row's sequence after the ones before.
     *
     * @return null if the row is good; otherwise what is wrong, naming the column
     */
    String read(Row row) {
        int start = size;
        String problem = job.flat() ? readFlat(row) : readNested(row);
        if (problem != null) {
            size = start;
        }
        return problem;
    }

    private String readNested(Row row) {
        String column = "column '" + job.sequenceColumn() + "': ";
        Object value = row.get(job.sequenceField());
        if (value == null) {
            return column + "expected a sequence (an array of steps of " + features + " features), got null";
        }
        Object[] steps = items(value);
        if (steps.length == 0) {
            return column + "expected at least 1 step, got an empty sequence";
        }
        reserve((long) steps.length * features);
        for (int t = 0; t < steps.length; t++) {
            if (steps[t] == null) {
                return column + "step " + t + ": expected " + features + " features, got null";
            }
            Object[] step = items(steps[t]);
            if (step.length != features) {
                return column + "step " + t + ": expected " + features + " features (the model's inputSize), got "
                        + step.length;
            }
            for (int k = 0; k < features; k++) {
                String bad = put(step[k]);
                if (bad != null) {
                    return column + "step " + t + ", feature " + k + ": " + bad;
                }
            }
        }
        lastSteps = steps.length;
        return null;
    }

    private String readFlat(Row row) {
        String column = "column '" + job.sequenceColumn() + "': ";
        Object value = row.get(job.sequenceField());
        if (value == null) {
            return column + "expected a sequence (an array of steps * " + features + " floats), got null";
        }
        Object[] items = items(value);
        if (items.length % features != 0) {
            return column + "expected a whole number of steps of " + features + " features (the model's inputSize), got "
                    + items.length + " floats";
        }
        int available = items.length / features;
        if (available == 0) {
            return column + "expected at least 1 step, got an empty sequence";
        }
        int steps = available;
        if (job.lengthField() >= 0) {
            String lengthColumn = "column '" + job.lengthColumn() + "': ";
            Object length = row.get(job.lengthField());
            if (length == null) {
                return lengthColumn + "expected a length, got null";
            }
            long l = ((Number) length).longValue();
            if (l < 1 || l > available) {
                return lengthColumn + "expected a length of 1 to " + available + " (the " + items.length
                        + " floats of column '" + job.sequenceColumn() + "' hold " + available + " steps), got " + l;
            }
            steps = (int) l;
        }
        reserve((long) steps * features);
        for (int i = 0; i < steps * features; i++) {
            String bad = put(items[i]);
            if (bad != null) {
                return column + "float " + i + " (step " + i / features + ", feature " + i % features + "): " + bad;
            }
        }
        lastSteps = steps;
        return null;
    }

    /** Appends one value; returns what is wrong with it, or null. */
    private String put(Object v) {
        if (v == null) {
            return "expected a number, got null";
        }
        float f = ((Number) v).floatValue();
        if (!Float.isFinite(f)) {
            double d = ((Number) v).doubleValue();
            return "expected a finite number, got " + v + (Double.isFinite(d) ? " (beyond float32's range)" : "");
        }
        floats[size++] = f;
        return null;
    }

    private void reserve(long more) {
        long needed = size + more;
        if (needed > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("batchSize: expected a batch of at most " + (Integer.MAX_VALUE - 8)
                    + " floats, got " + needed + " (make the batch smaller)");
        }
        if (needed > floats.length) {
            floats = Arrays.copyOf(floats, (int) Math.min(Integer.MAX_VALUE - 8, Math.max(needed, 2L * floats.length)));
        }
    }

    /**
     * The items of an array value as a {@link Row} holds it: a Scala {@code Seq} when Spark made the row
     * (an {@code ArraySeq} of boxed values, whose array is read without a copy), a Java list or array
     * when user code made it.
     */
    static Object[] items(Object value) {
        if (value instanceof ArraySeq.ofRef<?> a) {
            return a.array();
        }
        if (value instanceof Seq<?> s) {
            return CollectionConverters.asJava(s).toArray();
        }
        if (value instanceof List<?> l) {
            return l.toArray();
        }
        if (value instanceof Object[] a) {
            return a;
        }
        if (value instanceof float[] a) {
            Object[] boxed = new Object[a.length];
            for (int i = 0; i < a.length; i++) {
                boxed[i] = a[i];
            }
            return boxed;
        }
        if (value instanceof double[] a) {
            Object[] boxed = new Object[a.length];
            for (int i = 0; i < a.length; i++) {
                boxed[i] = a[i];
            }
            return boxed;
        }
        throw new IllegalStateException("expected an array value, got " + value.getClass().getName());
    }
}
