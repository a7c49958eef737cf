package io.cellstate.spark;

import io.cellstate.Layout;
import io.cellstate.RnnInput;
import io.cellstate.RnnOutput;
import io.cellstate.RnnPlan;
import io.cellstate.RnnSpec;
import io.cellstate.Tensor;
import java.util.Arrays;
import java.util.Iterator;
import java.util.NoSuchElementException;
import org.apache.spark.TaskContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.util.TaskCompletionListener;

/**
 * Scores one partition as it is read: up to {@code batchSize} rows at a time, checked, run as one
 * batch with their lengths through a plan borrowed from the executor's {@link PlanCache}, and
 * returned in their order with the new columns. Only one batch of rows is held at once.
 *
 * <p>The plan is borrowed at the first batch (an empty partition borrows none, nor reads the
 * broadcast) and given back when the partition is done, or when the task ends early (a
 * {@code limit}, a failure) through a task completion listener.
 */
final class PartitionScorer implements Iterator<Row> {
    private final ScoringJob job;
    private final Broadcast<ModelPayload> model;
    private final PlanCache cache;
    private final Iterator<Row> rows;
    private final TaskContext task;
    private final int partition;
    private final int threads;

    private ModelPayload payload;
    private RnnSpec spec;
    private SequenceReader reader;
    private PlanCache.Lease lease;
    private boolean listening;

    /** The row index within the partition of the next row read. */
    private long next;
    private Row[] in;
    private int[] offsets;
    private int[] lengths;
    private String[] problems;
    private Row[] out;
    private int outCount;
    private int outPos;

    PartitionScorer(ScoringJob job, Broadcast<ModelPayload> model, PlanCache cache, Iterator<Row> rows, TaskContext task) {
        this.job = job;
        this.model = model;
        this.cache = cache;
        this.rows = rows;
        this.task = task;
        this.partition = task == null ? -1 : task.partitionId();
        // spark.task.cpus, or what the stage's resource profile gave the task
        this.threads = task == null ? 1 : Math.max(1, task.cpus());
    }

    @Override
    public boolean hasNext() {
        if (outPos < outCount) {
            return true;
        }
        if (!rows.hasNext()) {
            release();
            return false;
        }
        scoreBatch();
        return outPos < outCount;
    }

    @Override
    public Row next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        Row r = out[outPos];
        out[outPos++] = null;
        return r;
    }

    /** Reads the next batch of rows, runs the good ones, and fills {@link #out}. */
    private void scoreBatch() {
        if (payload == null) {
            start();
        }
        reader.clear();
        int n = 0;
        int good = 0;
        int steps = 0;
        while (n < job.batchSize() && rows.hasNext()) {
            Row r = rows.next();
            long index = next++;
            in[n] = r;
            offsets[n] = reader.size();
            String problem = reader.read(r);
            if (problem == null) {
                lengths[n] = reader.lastSteps();
                problems[n] = null;
                steps = Math.max(steps, lengths[n]);
                good++;
            } else if (job.errorColumn()) {
                lengths[n] = 0;
                problems[n] = problem;
            } else {
                throw new IllegalArgumentException(where(index, r) + ": " + problem);
            }
            n++;
        }
        if (good > 0) {
            forward(n, good, steps);
        } else {
            for (int i = 0; i < n; i++) {
                out[i] = row(in[i], null, null, problems[i]);
            }
        }
        Arrays.fill(in, 0, n, null);
        outCount = n;
        outPos = 0;
    }

    private void start() {
        payload = model.value();
        spec = payload.spec();
        reader = new SequenceReader(job, spec.inputSize());
        int b = job.batchSize();
        in = new Row[b];
        offsets = new int[b];
        lengths = new int[b];
        problems = new String[b];
        out = new Row[b];
    }

    /** Runs the {@code good} rows among the first {@code n} as one batch of {@code steps} steps. */
    private void forward(int n, int good, int steps) {
        PlanCache.PooledPlan p = lease();
        RnnPlan plan = p.plan;
        int f = spec.inputSize();
        int width = spec.outputSize();
        int hidden = spec.hiddenSize();
        int dirs = spec.directions();
        int states = spec.stateCount();

        Tensor x = p.buffers.x(good, steps, f);
        float[] xa = p.buffers.xArray();
        float[] packed = reader.floats();
        int[] batchLengths = new int[good];
        boolean ragged = false;
        for (int i = 0, b = 0; i < n; i++) {
            if (problems[i] != null) {
                continue;
            }
            int len = lengths[i];
            int at = b * steps * f;
            System.arraycopy(packed, offsets[i], xa, at, len * f);
            // padding: read by the input projection, masked by the lengths; zeros keep it finite
            Arrays.fill(xa, at + len * f, at + steps * f, 0f);
            batchLengths[b++] = len;
            ragged |= len != steps;
        }
        Tensor y = p.buffers.y(good, steps, width);
        Tensor h = p.buffers.h(states, good, hidden);
        RnnInput input = new RnnInput(x, Layout.BATCH_MAJOR, ragged ? batchLengths : null, null, null);
        plan.forward(input, new RnnOutput(y, h, null));

        float[] ya = p.buffers.yArray();
        float[] ha = p.buffers.hArray();
        int top = (spec.layers() - 1) * dirs;
        for (int i = 0, b = 0; i < n; i++) {
            if (problems[i] != null) {
                out[i] = row(in[i], null, null, problems[i]);
                continue;
            }
            // the last layer's final state, forward direction first: torch.cat([h_n[-2], h_n[-1]], 1) when bidirectional
            float[] embedding = new float[width];
            for (int d = 0; d < dirs; d++) {
                System.arraycopy(ha, ((top + d) * good + b) * hidden, embedding, d * hidden, hidden);
            }
            Object sequence = null;
            if (job.outputSequence()) {
                int len = lengths[i];
                int at = b * steps * width;
                if (job.flat()) {
                    sequence = Arrays.copyOfRange(ya, at, at + len * width);
                } else {
                    float[][] perStep = new float[len][];
                    for (int t = 0; t < len; t++) {
                        perStep[t] = Arrays.copyOfRange(ya, at + t * width, at + (t + 1) * width);
                    }
                    sequence = perStep;
                }
            }
            out[i] = row(in[i], embedding, sequence, null);
            b++;
        }
    }

    /** The input row's values followed by the new columns. */
    private Row row(Row r, float[] embedding, Object sequence, String problem) {
        Object[] values = new Object[job.outputFields()];
        for (int i = 0; i < job.inputFields(); i++) {
            values[i] = r.get(i);
        }
        int at = job.inputFields();
        values[at++] = embedding;
        if (job.outputSequence()) {
            values[at++] = sequence;
        }
        if (job.errorColumn()) {
            values[at] = problem;
        }
        return RowFactory.create(values);
    }

    /** Where a row is, for an error message. */
    private String where(long index, Row r) {
        StringBuilder s = new StringBuilder();
        s.append(partition >= 0 ? "partition " + partition + ", row " + index : "row " + index);
        if (job.idField() >= 0) {
            s.append(" (").append(job.idColumn()).append(" = ").append(r.get(job.idField())).append(')');
        }
        return s.toString();
    }

    private PlanCache.PooledPlan lease() {
        if (lease == null) {
            if (task != null && !listening) {
                listening = true;
                task.addTaskCompletionListener((TaskCompletionListener) context -> release());
            }
            lease = cache.borrow(payload, job.backend(), threads);
        }
        return lease.get();
    }

    /** Gives the plan back, once. */
    private void release() {
        if (lease != null) {
            PlanCache.Lease l = lease;
            lease = null;
            l.close();
        }
    }
}
