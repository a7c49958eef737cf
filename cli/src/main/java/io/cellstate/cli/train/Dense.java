package io.cellstate.cli.train;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A fully connected layer, {@code y = x W^T + b} (PyTorch's {@code nn.Linear}, Keras's {@code Dense}
 * without activation: the softmax lives in the loss), on a batch of rows, in float64.
 *
 * <p>{@code W} is {@code [out x in]} and {@code b} {@code [out]}, PyTorch's layout; both are drawn
 * from U(-1/sqrt(in), 1/sqrt(in)) as {@code nn.Linear} initialises them.
 */
public final class Dense {
    private final int in;
    private final int out;
    private final Parameter weight;
    private final Parameter bias;

    /**
     * A layer with PyTorch's initialisation from a seeded generator.
     *
     * @param in   input features, at least 1
     * @param out  output features, at least 1
     * @param rng  the generator the weights are drawn from
     * @param name the prefix of the parameters' names ({@code name.weight}, {@code name.bias})
     * @throws IllegalArgumentException for a size below 1
     */
    public Dense(int in, int out, SplittableRandom rng, String name) {
        if (in < 1) {
            throw new IllegalArgumentException("in: expected >= 1, got " + in);
        }
        if (out < 1) {
            throw new IllegalArgumentException("out: expected >= 1, got " + out);
        }
        this.in = in;
        this.out = out;
        double k = 1 / Math.sqrt(in);
        double[] w = new double[out * in];
        double[] b = new double[out];
        for (int i = 0; i < w.length; i++) {
            w[i] = rng.nextDouble(-k, k);
        }
        for (int i = 0; i < b.length; i++) {
            b[i] = rng.nextDouble(-k, k);
        }
        this.weight = Parameter.of(name + ".weight", w);
        this.bias = Parameter.of(name + ".bias", b);
    }

    /**
     * {@code W}, {@code [out x in]} row-major.
     *
     * @return the weight
     */
    public Parameter weight() {
        return weight;
    }

    /**
     * {@code b}, {@code [out]}.
     *
     * @return the bias
     */
    public Parameter bias() {
        return bias;
    }

    /**
     * The weight and the bias, in that order.
     *
     * @return both parameters
     */
    public List<Parameter> parameters() {
        return List.of(weight, bias);
    }

    /**
     * Input features.
     *
     * @return in
     */
    public int inputSize() {
        return in;
    }

    /**
     * Output features.
     *
     * @return out
     */
    public int outputSize() {
        return out;
    }

    /**
     * {@code y = x W^T + b} for {@code batch} rows.
     *
     * @param x     {@code [batch x in]}
     * @param batch rows
     * @param y     receives {@code [batch x out]}
     * @throws IllegalArgumentException if an array's length does not match the batch
     */
    public void forward(double[] x, int batch, double[] y) {
        check("x", x, batch, in);
        check("y", y, batch, out);
        double[] w = weight.value();
        double[] b = bias.value();
        for (int r = 0; r < batch; r++) {
            for (int o = 0; o < out; o++) {
                double s = b[o];
                for (int i = 0; i < in; i++) {
                    s += x[r * in + i] * w[o * in + i];
                }
                y[r * out + o] = s;
            }
        }
    }

    /**
     * The gradients of a loss given {@code dy = d loss / d y} at the input {@code x} of a forward pass:
     * {@code dW = dy^T x} and {@code db} the column sums of {@code dy} overwrite the parameters'
     * gradients; {@code dx = dy W} goes to {@code dx} unless it is null.
     *
     * @param x     the forward pass's input, {@code [batch x in]}
     * @param dy    d loss / d y, {@code [batch x out]}
     * @param batch rows
     * @param dx    receives d loss / d x, {@code [batch x in]}, or null when not wanted
     * @throws IllegalArgumentException if an array's length does not match the batch
     */
    public void backward(double[] x, double[] dy, int batch, double[] dx) {
        check("x", x, batch, in);
        check("dy", dy, batch, out);
        double[] w = weight.value();
        double[] dw = weight.grad();
        double[] db = bias.grad();
        Arrays.fill(dw, 0);
        Arrays.fill(db, 0);
        for (int r = 0; r < batch; r++) {
            for (int o = 0; o < out; o++) {
                double g = dy[r * out + o];
                db[o] += g;
                for (int i = 0; i < in; i++) {
                    dw[o * in + i] += g * x[r * in + i];
                }
            }
        }
        if (dx != null) {
            check("dx", dx, batch, in);
            for (int r = 0; r < batch; r++) {
                for (int i = 0; i < in; i++) {
                    double s = 0;
                    for (int o = 0; o < out; o++) {
                        s += dy[r * out + o] * w[o * in + i];
                    }
                    dx[r * in + i] = s;
                }
            }
        }
    }

    private static void check(String name, double[] a, int batch, int width) {
        if (batch < 1) {
            throw new IllegalArgumentException("batch: expected >= 1, got " + batch);
        }
        if (a.length != (long) batch * width) {
            throw new IllegalArgumentException(name + ": expected " + batch + " x " + width + " = "
                    + (long) batch * width + " elements, got " + a.length);
        }
    }
}
