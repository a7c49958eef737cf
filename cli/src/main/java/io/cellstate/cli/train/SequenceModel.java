package io.cellstate.cli.train;

import io.cellstate.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The example's model: a {@link RecurrentEncoder} read out at its last step, then a {@link Dense}
 * layer, trained with {@link Adam} and, when asked, {@link GradientClipping} by global norm (PyTorch's
 * order: backward, clip, step). It owns the encoder's plan.
 */
public final class SequenceModel implements AutoCloseable {

    /** A loss over a batch of the model's outputs. */
    @FunctionalInterface
    public interface BatchLoss {
        /**
         * The loss of {@code outputs} and its gradient.
         *
         * @param outputs the model's outputs, {@code [B x out]}
         * @param grad    receives d loss / d outputs, {@code [B x out]}
         * @return the loss
         */
        double apply(double[] outputs, double[] grad);
    }

    private final RecurrentEncoder encoder;
    private final Dense head;
    private final List<Parameter> params;
    private final Adam adam;
    private final double clip;
    private double lastNorm = Double.NaN;

    /**
     * A model of an encoder and a head, with its optimiser.
     *
     * @param encoder the recurrent part (this model closes it)
     * @param head    the read-out, whose input size is the encoder's hidden size
     * @param lr      Adam's learning rate (PyTorch's other defaults)
     * @param clip    the largest global gradient norm, or 0 for no clipping
     * @throws IllegalArgumentException for a head of the wrong input size, or a bad lr or clip
     */
    public SequenceModel(RecurrentEncoder encoder, Dense head, double lr, double clip) {
        this.encoder = Objects.requireNonNull(encoder, "encoder");
        this.head = Objects.requireNonNull(head, "head");
        if (head.inputSize() != encoder.spec().hiddenSize()) {
            throw new IllegalArgumentException("head: expected input size " + encoder.spec().hiddenSize()
                    + " (the encoder's hidden size), got " + head.inputSize());
        }
        if (!(clip >= 0) || Double.isInfinite(clip)) {
            throw new IllegalArgumentException("clip: expected a finite value >= 0 (0: no clipping), got " + clip);
        }
        List<Parameter> all = new ArrayList<>(encoder.parameters());
        all.addAll(head.parameters());
        this.params = List.copyOf(all);
        this.adam = Adam.withLearningRate(params, lr);
        this.clip = clip;
    }

    /**
     * Every parameter: the encoder's, then the head's.
     *
     * @return the parameters
     */
    public List<Parameter> parameters() {
        return params;
    }

    /**
     * The encoder's backend.
     *
     * @return its name
     */
    public String backend() {
        return encoder.backend();
    }

    /**
     * One training step on a batch: forward, the loss, backward, clipping, Adam's update.
     *
     * @param x    the batch, {@code [T, B, inputSize]}
     * @param loss the loss of the head's outputs
     * @return the loss before the update
     * @throws IllegalStateException if the loss or the gradient is not finite (training diverged);
     *                               the weights are then left as they were
     */
    public double trainStep(Tensor x, BatchLoss loss) {
        int batch = x.dim(1);
        double[] h = encoder.forward(x);
        double[] outputs = new double[batch * head.outputSize()];
        head.forward(h, batch, outputs);
        double[] dOut = new double[outputs.length];
        double value = loss.apply(outputs, dOut);
        if (!Double.isFinite(value)) {
            throw new IllegalStateException("training diverged after " + adam.steps() + " updates: the loss is " + value
                    + "; try a lower --lr or a --clip");
        }
        double[] dh = new double[h.length];
        head.backward(h, dOut, batch, dh);
        encoder.backward(dh);
        lastNorm = clip > 0 ? GradientClipping.clipByGlobalNorm(params, clip) : GradientClipping.globalNorm(params);
        if (!Double.isFinite(lastNorm)) {
            throw new IllegalStateException("training diverged after " + adam.steps() + " updates: the gradient's norm is "
                    + lastNorm + "; try a lower --lr or a --clip");
        }
        adam.step();
        encoder.weightsUpdated();
        return value;
    }

    /**
     * The model's outputs without training (an inference pass).
     *
     * @param x the batch, {@code [T, B, inputSize]}
     * @return the head's outputs, {@code [B x out]}
     */
    public double[] predict(Tensor x) {
        int batch = x.dim(1);
        double[] h = encoder.infer(x);
        double[] outputs = new double[batch * head.outputSize()];
        head.forward(h, batch, outputs);
        return outputs;
    }

    /**
     * The global norm of the last step's gradient, before clipping.
     *
     * @return the norm, NaN before the first step
     */
    public double lastGradientNorm() {
        return lastNorm;
    }

    /**
     * Updates made.
     *
     * @return Adam's step count
     */
    public long updates() {
        return adam.steps();
    }

    /** Closes the encoder's plan. */
    @Override
    public void close() {
        encoder.close();
    }
}
