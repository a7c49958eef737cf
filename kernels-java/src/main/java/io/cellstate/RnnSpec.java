package io.cellstate;

import java.util.Objects;

/**
 * What a recurrent network is: an immutable description, validated on construction.
 *
 * <p>Sizes follow PyTorch's {@code nn.LSTM}: {@code inputSize} features go into layer 0, every
 * layer has {@code hiddenSize} units per direction, and layer {@code l > 0} reads the
 * {@code directions * hiddenSize} outputs of layer {@code l - 1}.
 *
 * @param cell       the cell kind
 * @param inputSize  features per time step into layer 0, at least 1
 * @param hiddenSize hidden units per layer and direction, at least 1
 * @param layers     stacked layers, at least 1
 * @param direction  forward, reverse or bidirectional
 * @param bias       whether the cell has the two bias vectors {@code b_ih} and {@code b_hh}
 */
public record RnnSpec(CellKind cell, int inputSize, int hiddenSize, int layers, Direction direction, boolean bias) {

    public RnnSpec {
        Objects.requireNonNull(cell, "cell");
        Objects.requireNonNull(direction, "direction");
        positive("inputSize", inputSize);
        positive("hiddenSize", hiddenSize);
        positive("layers", layers);
        long rows = (long) cell.gates() * hiddenSize;
        long widest = Math.max(inputSize, (long) direction.count() * hiddenSize);
        if (rows * widest > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("hiddenSize: expected gates*hiddenSize*max(inputSize, directions*hiddenSize)"
                    + " <= " + Integer.MAX_VALUE + " (one weight matrix in a Java array), got " + rows * widest);
        }
    }

    /** An LSTM with one layer, forward, with bias. Use {@link #builder()} for the rest. */
    public static RnnSpec lstm(int inputSize, int hiddenSize) {
        return builder().inputSize(inputSize).hiddenSize(hiddenSize).build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Number of directions D (1 or 2). */
    public int directions() {
        return direction.count();
    }

    /** Gates G of the cell. */
    public int gates() {
        return cell.gates();
    }

    /** Features into layer {@code layer}: {@code inputSize} for layer 0, else {@code D * hiddenSize}. */
    public int layerInputSize(int layer) {
        return layer == 0 ? inputSize : directions() * hiddenSize;
    }

    /** Features of the output sequence: {@code D * hiddenSize}. */
    public int outputSize() {
        return directions() * hiddenSize;
    }

    /** First dimension of the initial and final state tensors: {@code layers * D}. */
    public int stateCount() {
        return layers * directions();
    }

    /** Multiply-adds of one forward pass over {@code steps} steps of {@code batch} sequences (the GEMMs). */
    public double forwardFlops(int steps, int batch) {
        double flops = 0;
        for (int l = 0; l < layers; l++) {
            flops += 2.0 * steps * batch * directions() * gates() * hiddenSize * (layerInputSize(l) + (double) hiddenSize);
        }
        return flops;
    }

    private static void positive(String name, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(name + ": expected >= 1, got " + value);
        }
    }

    /** Builder with PyTorch's defaults: LSTM, one layer, forward, bias on. */
    public static final class Builder {
        private CellKind cell = CellKind.LSTM;
        private int inputSize;
        private int hiddenSize;
        private int layers = 1;
        private Direction direction = Direction.FORWARD;
        private boolean bias = true;

        private Builder() {
        }

        public Builder cell(CellKind cell) {
            this.cell = cell;
            return this;
        }

        public Builder inputSize(int inputSize) {
            this.inputSize = inputSize;
            return this;
        }

        public Builder hiddenSize(int hiddenSize) {
            this.hiddenSize = hiddenSize;
            return this;
        }

        public Builder layers(int layers) {
            this.layers = layers;
            return this;
        }

        public Builder direction(Direction direction) {
            this.direction = direction;
            return this;
        }

        public Builder bias(boolean bias) {
            this.bias = bias;
            return this;
        }

        public RnnSpec build() {
            return new RnnSpec(cell, inputSize, hiddenSize, layers, direction, bias);
        }
    }
}
