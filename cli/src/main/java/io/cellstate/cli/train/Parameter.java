package io.cellstate.cli.train;

import java.util.Objects;

/**
 * A trainable tensor of the example's models, flat and row-major, with its gradient beside it:
 * what {@link Adam} updates and {@link GradientClipping} scales. Held in float64, as a master copy:
 * the recurrent layer hands float32 copies to its plan ({@link RecurrentEncoder}), so rounding
 * enters once per step instead of accumulating in the weights.
 *
 * @param name  a name for messages, e.g. PyTorch's {@code weight_ih_l0} or {@code dense.weight}
 * @param value the values, updated in place by an optimiser
 * @param grad  d loss / d value, of the same length, written by the layer's backward pass
 */
public record Parameter(String name, double[] value, double[] grad) {

    /**
     * Checks that the value and the gradient match.
     *
     * @throws IllegalArgumentException if their lengths differ
     */
    public Parameter {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(value, "value");
        Objects.requireNonNull(grad, "grad");
        if (grad.length != value.length) {
            throw new IllegalArgumentException("grad: expected " + value.length + " elements (as value of " + name
                    + "), got " + grad.length);
        }
    }

    /**
     * A parameter holding {@code value} (not copied) with a zero gradient.
     *
     * @param name  its name
     * @param value its values
     * @return the parameter
     */
    public static Parameter of(String name, double[] value) {
        return new Parameter(name, value, new double[value.length]);
    }

    /**
     * Number of elements.
     *
     * @return the length of {@link #value()}
     */
    public int size() {
        return value.length;
    }
}
