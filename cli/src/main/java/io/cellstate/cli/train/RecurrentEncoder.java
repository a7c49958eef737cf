package io.cellstate.cli.train;

import io.cellstate.Backend;
import io.cellstate.Cell;
import io.cellstate.ForwardMode;
import io.cellstate.PlanOptions;
import io.cellstate.RnnInput;
import io.cellstate.RnnInputGrad;
import io.cellstate.RnnOutput;
import io.cellstate.RnnOutputGrad;
import io.cellstate.RnnPlan;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeightGrads;
import io.cellstate.RnnWeights;
import io.cellstate.RnnWorkspace;
import io.cellstate.Tensor;
import io.cellstate.WeightGradMode;
import io.cellstate.Direction;
import io.cellstate.Layout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A recurrent network run by a Cellstate plan in training mode, read out at its last time step:
 * it maps a batch of sequences {@code [T, B, inputSize]} to the last layer's final hidden state
 * {@code [B x H]} (Keras's {@code LSTM} with {@code return_sequences=False}; PyTorch's
 * {@code h_n[-1]}). The loss's gradient enters the kernel's backward pass as {@code dhN}, with no
 * gradient on the output sequence.
 *
 * <p>The weights are {@link Parameter}s in float64 under PyTorch's names, the master copy an
 * optimiser updates; {@link #weightsUpdated()} rounds them to float32 and hands them to the plan.
 * Not thread-safe, as its plan.
 */
public final class RecurrentEncoder implements AutoCloseable {
    private final RnnSpec spec;
    private final RnnPlan plan;
    private final RnnWorkspace workspace;
    private final List<Parameter> params = new ArrayList<>();
    private final List<float[]> rounded = new ArrayList<>();
    private final RnnWeightGrads grads;
    private RnnOutput out;
    private Tensor dhN;
    private int trainedBatch;

    /**
     * A plan of {@code backend} for {@code spec} in training mode, with {@code initial} weights.
     *
     * @param spec    the network: forward direction only (the read-out is the last step's state)
     * @param initial the weights to start from (copied into the float64 parameters)
     * @param backend the backend to train on
     * @param options plan options in {@link ForwardMode#TRAINING}
     * @throws IllegalArgumentException      for a bidirectional spec, weights of another spec, or options not for training
     * @throws UnsupportedOperationException if the backend cannot train this network (its message says why)
     */
    public RecurrentEncoder(RnnSpec spec, RnnWeights initial, Backend backend, PlanOptions options) {
        Objects.requireNonNull(spec, "spec");
        Objects.requireNonNull(initial, "initial");
        Objects.requireNonNull(backend, "backend");
        Objects.requireNonNull(options, "options");
        if (spec.direction() != Direction.FORWARD) {
            throw new IllegalArgumentException("spec: expected direction FORWARD (read out at the last step), got "
                    + spec.direction());
        }
        if (!initial.spec().equals(spec)) {
            throw new IllegalArgumentException("initial: expected weights of " + spec + ", got weights of " + initial.spec());
        }
        if (options.mode() != ForwardMode.TRAINING) {
            throw new IllegalArgumentException("options.mode: expected TRAINING, got " + options.mode());
        }
        this.spec = spec;
        for (Map.Entry<String, float[]> e : initial.toPyTorch().entrySet()) {
            float[] f = e.getValue();
            double[] d = new double[f.length];
            for (int i = 0; i < f.length; i++) {
                d[i] = f[i];
            }
            params.add(Parameter.of(e.getKey(), d));
            rounded.add(new float[f.length]);
        }
        this.grads = RnnWeightGrads.zeros(spec);
        RnnPlan p = backend.plan(spec, initial, options);
        try {
            this.workspace = p.newWorkspace();
        } catch (RuntimeException e) {
            p.close();
            throw e;
        }
        this.plan = p;
    }

    /**
     * {@code weights} with every LSTM layer's forget-gate bias set to {@code bias}: {@code b_ih} of the
     * forget gate (rows H to 2H) becomes {@code bias} and {@code b_hh}'s 0, so their sum is
     * {@code bias}, as Keras's {@code unit_forget_bias=True} initialises its single bias. A forget gate
     * that starts near sigmoid(1) = 0.73 instead of 0.5 keeps the cell state, and its gradient, over
     * more steps from the start (Gers, Schmidhuber and Cummins 2000; Jozefowicz, Zaremba and
     * Sutskever 2015, who found it to close most of the LSTM's gap on long dependencies).
     *
     * @param weights the weights of an LSTM with bias
     * @param bias    the forget gate's total bias
     * @return new weights, the other tensors unchanged
     * @throws IllegalArgumentException for weights of another cell or without bias
     */
    public static RnnWeights withForgetBias(RnnWeights weights, float bias) {
        RnnSpec spec = weights.spec();
        if (!spec.cell().equals(Cell.lstm()) || !spec.bias()) {
            throw new IllegalArgumentException("weights: expected an LSTM's weights with bias, got weights of " + spec);
        }
        int h = spec.hiddenSize();
        Map<String, float[]> tensors = weights.toPyTorch();
        for (int l = 0; l < spec.layers(); l++) {
            for (int d = 0; d < spec.directions(); d++) {
                Arrays.fill(tensors.get(RnnWeights.Param.BIAS_IH.name(l, d)), h, 2 * h, bias);
                Arrays.fill(tensors.get(RnnWeights.Param.BIAS_HH.name(l, d)), h, 2 * h, 0f);
            }
        }
        return RnnWeights.builder(spec).putAll(tensors).build();
    }

    /**
     * The network.
     *
     * @return the spec
     */
    public RnnSpec spec() {
        return spec;
    }

    /**
     * The backend the plan runs on.
     *
     * @return its name
     */
    public String backend() {
        return plan.backend();
    }

    /**
     * The weights and biases, by PyTorch name, in {@code state_dict()} order.
     *
     * @return the parameters (live: an optimiser updates them, then calls {@link #weightsUpdated()})
     */
    public List<Parameter> parameters() {
        return List.copyOf(params);
    }

    /**
     * A training forward pass, kept for {@link #backward}.
     *
     * @param x the sequences, {@code [T, B, inputSize]}
     * @return the last layer's hidden state at the last step, {@code [B x H]}
     */
    public double[] forward(Tensor x) {
        RnnOutput o = output(x);
        plan.forward(RnnInput.of(x), o, workspace);
        trainedBatch = x.dim(1);
        return lastHidden(o, trainedBatch);
    }

    /**
     * An inference pass, which leaves the training pass held for {@link #backward} as it was.
     *
     * @param x the sequences, {@code [T, B, inputSize]}
     * @return the last layer's hidden state at the last step, {@code [B x H]}
     */
    public double[] infer(Tensor x) {
        RnnOutput o = output(x);
        plan.forward(RnnInput.of(x), o);
        return lastHidden(o, x.dim(1));
    }

    /**
     * Backpropagation through time of the last {@link #forward}: writes every parameter's gradient.
     *
     * @param dLast d loss / d (the last hidden state {@link #forward} returned), {@code [B x H]}
     * @throws IllegalStateException    before any forward pass
     * @throws IllegalArgumentException for a gradient of another size
     */
    public void backward(double[] dLast) {
        if (trainedBatch == 0) {
            throw new IllegalStateException("backward: no training forward pass to go back through; call forward first");
        }
        int h = spec.hiddenSize();
        if (dLast.length != trainedBatch * h) {
            throw new IllegalArgumentException("dLast: expected B x H = " + trainedBatch + " x " + h + " elements, got "
                    + dLast.length);
        }
        if (dhN == null || dhN.dim(1) != trainedBatch) {
            dhN = Tensor.zeros(spec.stateCount(), trainedBatch, h);
        }
        long top = (long) (spec.layers() - 1) * trainedBatch * h;
        for (int i = 0; i < dLast.length; i++) {
            dhN.setFlat(top + i, (float) dLast[i]);
        }
        plan.backward(workspace, new RnnOutputGrad(null, dhN, null), RnnInputGrad.none(), grads,
                WeightGradMode.OVERWRITE);
        for (Parameter p : params) {
            Tensor g = grads.get(p.name());
            double[] d = p.grad();
            for (int i = 0; i < d.length; i++) {
                d[i] = g.getFlat(i);
            }
        }
    }

    /** Hands the parameters, rounded to float32, to the plan: call after each optimiser step. */
    public void weightsUpdated() {
        RnnWeights.Builder b = RnnWeights.builder(spec);
        for (int k = 0; k < params.size(); k++) {
            double[] d = params.get(k).value();
            float[] f = rounded.get(k);
            for (int i = 0; i < d.length; i++) {
                f[i] = (float) d[i];
            }
            b.put(params.get(k).name(), f);
        }
        plan.setWeights(b.build());
    }

    private RnnOutput output(Tensor x) {
        if (x.rank() != 3) {
            throw new IllegalArgumentException("x: expected [T, B, inputSize], got " + Arrays.toString(x.shape()));
        }
        int steps = x.dim(0);
        int batch = x.dim(1);
        if (out == null || out.y().dim(0) != steps || out.y().dim(1) != batch) {
            out = RnnOutput.allocate(spec, Layout.SEQUENCE_MAJOR, steps, batch);
        }
        return out;
    }

    private double[] lastHidden(RnnOutput o, int batch) {
        int h = spec.hiddenSize();
        double[] last = new double[batch * h];
        long top = (long) (spec.layers() - 1) * batch * h;
        for (int i = 0; i < last.length; i++) {
            last[i] = o.hN().getFlat(top + i);
        }
        return last;
    }

    /** Closes the workspace and the plan. */
    @Override
    public void close() {
        try {
            workspace.close();
        } finally {
            plan.close();
        }
    }
}
