package io.cellstate;

import java.util.Objects;

/**
 * What a recurrent network is: an immutable description, validated on construction.
 *
 * <p>Sizes follow PyTorch's {@code nn.LSTM}: {@code inputSize} features go into layer 0, every
 * layer has {@code hiddenSize} units per direction, and layer {@code l > 0} reads the
 * {@code directions * H_out} outputs of layer {@code l - 1}, where H_out is the hidden size, or an LSTM's
 * projection size ({@link #outputHiddenSize()}).
 *
 * @param cell       the cell, with its options (an LSTM's projection must be smaller than hiddenSize; six
 *                   LSTM activations, four GRU ones or two RNN ones need a bidirectional network)
 * @param inputSize  features per time step into layer 0, at least 1
 * @param hiddenSize hidden units per layer and direction, at least 1
 * @param layers     stacked layers, at least 1
 * @param direction  forward, reverse or bidirectional
 * @param bias       whether the cell has the two bias vectors {@code b_ih} and {@code b_hh}
 */
public record RnnSpec(Cell cell, int inputSize, int hiddenSize, int layers, Direction direction, boolean bias) {

    /**
     * Validates every component.
     *
     * @throws NullPointerException     for a null cell or direction
     * @throws IllegalArgumentException for a size below 1, or a weight matrix too large for a Java array
     */
    public RnnSpec {
        Objects.requireNonNull(cell, "cell");
        Objects.requireNonNull(direction, "direction");
        positive("inputSize", inputSize);
        positive("hiddenSize", hiddenSize);
        positive("layers", layers);
        if (cell instanceof Cell.Lstm lstm && lstm.projectionSize() >= hiddenSize) {
            throw new IllegalArgumentException("projectionSize: expected 1 <= projectionSize < hiddenSize = " + hiddenSize
                    + " (PyTorch's proj_size), got " + lstm.projectionSize());
        }
        if (cell.activations().size() > cell.roles() && direction.count() == 1) {
            throw new IllegalArgumentException("activations: expected " + cell.roles() + " for a network with one direction ("
                    + direction + "), got " + cell.activations().size() + " " + cell.activations());
        }
        long rows = (long) cell.gates() * hiddenSize;
        int out = cell instanceof Cell.Lstm lstm && lstm.projectionSize() > 0 ? lstm.projectionSize() : hiddenSize;
        long widest = Math.max(Math.max(inputSize, (long) direction.count() * out), hiddenSize);
        if (rows * widest > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("hiddenSize: expected gates*hiddenSize*max(inputSize, directions*hiddenSize)"
                    + " <= " + Integer.MAX_VALUE + " (one weight matrix in a Java array), got " + rows * widest);
        }
    }

    /**
     * An LSTM with one layer, forward, with bias. Use {@link #builder()} for the rest.
     *
     * @param inputSize  features per time step
     * @param hiddenSize hidden units
     * @return the spec
     */
    public static RnnSpec lstm(int inputSize, int hiddenSize) {
        return builder().inputSize(inputSize).hiddenSize(hiddenSize).build();
    }

    /**
     * A GRU (PyTorch's, linear before reset) with one layer, forward, with bias.
     *
     * @param inputSize  features per time step
     * @param hiddenSize hidden units
     * @return the spec
     */
    public static RnnSpec gru(int inputSize, int hiddenSize) {
        return builder().cell(Cell.gru()).inputSize(inputSize).hiddenSize(hiddenSize).build();
    }

    /**
     * An Elman RNN with tanh, one layer, forward, with bias.
     *
     * @param inputSize  features per time step
     * @param hiddenSize hidden units
     * @return the spec
     */
    public static RnnSpec rnn(int inputSize, int hiddenSize) {
        return builder().cell(Cell.rnnTanh()).inputSize(inputSize).hiddenSize(hiddenSize).build();
    }

    /**
     * A builder with PyTorch's defaults: LSTM, one layer, forward, bias on.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Number of directions D.
     *
     * @return 1, or 2 when bidirectional
     */
    public int directions() {
        return direction.count();
    }

    /**
     * Gates G of the cell.
     *
     * @return 4 for the LSTM, 3 for the GRU, 1 for the RNN
     */
    public int gates() {
        return cell.gates();
    }

    /**
     * Columns of h, H_out: the projection's size P for a projected LSTM, else the hidden size H. The
     * output, h0 and hN have H_out columns per direction; c has H.
     *
     * @return P or H
     */
    public int outputHiddenSize() {
        return projectionSize() > 0 ? projectionSize() : hiddenSize;
    }

    /**
     * The LSTM's projection size P.
     *
     * @return P, or 0 where there is no projection
     */
    public int projectionSize() {
        return cell instanceof Cell.Lstm lstm ? lstm.projectionSize() : 0;
    }

    /**
     * Features into a layer.
     *
     * @param layer the layer, from 0
     * @return {@code inputSize} for layer 0, else {@code D * H_out}
     */
    public int layerInputSize(int layer) {
        return layer == 0 ? inputSize : directions() * outputHiddenSize();
    }

    /**
     * Features of the output sequence.
     *
     * @return {@code D * H_out}
     */
    public int outputSize() {
        return directions() * outputHiddenSize();
    }

    /**
     * First dimension of the initial and final state tensors.
     *
     * @return {@code layers * D}
     */
    public int stateCount() {
        return layers * directions();
    }

    /**
     * Floating-point operations of the GEMMs of one forward pass (two per multiply-add), the figure
     * speeds are quoted in.
     *
     * @param steps T
     * @param batch B
     * @return the operations
     */
    public double forwardFlops(int steps, int batch) {
        double flops = 0;
        for (int l = 0; l < layers; l++) {
            flops += 2.0 * steps * batch * directions() * gates() * hiddenSize * (layerInputSize(l) + (double) outputHiddenSize());
            flops += 2.0 * steps * batch * directions() * projectionSize() * (double) hiddenSize;
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
        private Cell cell = Cell.lstm();
        private int inputSize;
        private int hiddenSize;
        private int layers = 1;
        private Direction direction = Direction.FORWARD;
        private boolean bias = true;

        private Builder() {
        }

        /**
         * The cell.
         *
         * @param cell the cell with its options (default {@link Cell#lstm()})
         * @return this builder
         */
        public Builder cell(Cell cell) {
            this.cell = cell;
            return this;
        }

        /**
         * Features per time step into layer 0.
         *
         * @param inputSize at least 1
         * @return this builder
         */
        public Builder inputSize(int inputSize) {
            this.inputSize = inputSize;
            return this;
        }

        /**
         * Hidden units per layer and direction.
         *
         * @param hiddenSize at least 1
         * @return this builder
         */
        public Builder hiddenSize(int hiddenSize) {
            this.hiddenSize = hiddenSize;
            return this;
        }

        /**
         * Stacked layers.
         *
         * @param layers at least 1 (default 1)
         * @return this builder
         */
        public Builder layers(int layers) {
            this.layers = layers;
            return this;
        }

        /**
         * Which way the layers run.
         *
         * @param direction forward (default), reverse or bidirectional
         * @return this builder
         */
        public Builder direction(Direction direction) {
            this.direction = direction;
            return this;
        }

        /**
         * Whether the cell has the bias vectors {@code b_ih} and {@code b_hh}.
         *
         * @param bias default true
         * @return this builder
         */
        public Builder bias(boolean bias) {
            this.bias = bias;
            return this;
        }

        /**
         * The spec, validated.
         *
         * @return the spec
         * @throws IllegalArgumentException for a size below 1 or too large
         */
        public RnnSpec build() {
            return new RnnSpec(cell, inputSize, hiddenSize, layers, direction, bias);
        }
    }
}
