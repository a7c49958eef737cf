package io.cellstate.cli.train;

import java.util.List;
import java.util.Objects;

/**
 * Adam (Kingma and Ba 2015), exactly as PyTorch's {@code torch.optim.Adam} computes it without
 * weight decay or AMSGrad: at step t, for each element with gradient g,
 * <pre>
 *   m = beta1 m + (1 - beta1) g
 *   v = beta2 v + (1 - beta2) g^2
 *   p = p - (lr / (1 - beta1^t)) m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * </pre>
 * (PyTorch's arrangement: eps is added after the bias correction of v, not before). Keras's Adam
 * is the same algorithm with eps 1e-7 added to an uncorrected sqrt(v), which differs only in the
 * smallest gradients; PyTorch's is the one followed here.
 */
public final class Adam {
    /** PyTorch's default learning rate. */
    public static final double DEFAULT_LR = 1e-3;
    /** PyTorch's default decay of the first moment. */
    public static final double DEFAULT_BETA1 = 0.9;
    /** PyTorch's default decay of the second moment. */
    public static final double DEFAULT_BETA2 = 0.999;
    /** PyTorch's default term added to the denominator. */
    public static final double DEFAULT_EPS = 1e-8;

    private final List<Parameter> params;
    private final double lr;
    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double[][] m;
    private final double[][] v;
    private long step;

    /**
     * An optimiser over {@code params} with the given settings.
     *
     * @param params the parameters it updates, in place
     * @param lr     the learning rate, positive
     * @param beta1  the first moment's decay, in [0, 1)
     * @param beta2  the second moment's decay, in [0, 1)
     * @param eps    added to the denominator, at least 0
     * @throws IllegalArgumentException for a setting out of its range, naming it
     */
    public Adam(List<Parameter> params, double lr, double beta1, double beta2, double eps) {
        this.params = List.copyOf(Objects.requireNonNull(params, "params"));
        if (!(lr > 0) || Double.isInfinite(lr)) {
            throw new IllegalArgumentException("lr: expected a finite value > 0, got " + lr);
        }
        if (!(beta1 >= 0 && beta1 < 1)) {
            throw new IllegalArgumentException("beta1: expected 0 <= beta1 < 1, got " + beta1);
        }
        if (!(beta2 >= 0 && beta2 < 1)) {
            throw new IllegalArgumentException("beta2: expected 0 <= beta2 < 1, got " + beta2);
        }
        if (!(eps >= 0) || Double.isInfinite(eps)) {
            throw new IllegalArgumentException("eps: expected a finite value >= 0, got " + eps);
        }
        this.lr = lr;
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.m = new double[this.params.size()][];
        this.v = new double[this.params.size()][];
        for (int i = 0; i < this.params.size(); i++) {
            m[i] = new double[this.params.get(i).size()];
            v[i] = new double[this.params.get(i).size()];
        }
    }

    /**
     * PyTorch's defaults (betas 0.9 and 0.999, eps 1e-8) with the given learning rate.
     *
     * @param params the parameters it updates
     * @param lr     the learning rate, positive
     * @return the optimiser
     */
    public static Adam withLearningRate(List<Parameter> params, double lr) {
        return new Adam(params, lr, DEFAULT_BETA1, DEFAULT_BETA2, DEFAULT_EPS);
    }

    /**
     * One update of every parameter from the gradient it holds now.
     */
    public void step() {
        step++;
        double bc1 = 1 - Math.pow(beta1, step);
        double sqrtBc2 = Math.sqrt(1 - Math.pow(beta2, step));
        double stepSize = lr / bc1;
        for (int i = 0; i < params.size(); i++) {
            double[] p = params.get(i).value();
            double[] g = params.get(i).grad();
            double[] mi = m[i];
            double[] vi = v[i];
            for (int j = 0; j < p.length; j++) {
                mi[j] = beta1 * mi[j] + (1 - beta1) * g[j];
                vi[j] = beta2 * vi[j] + (1 - beta2) * g[j] * g[j];
                p[j] -= stepSize * mi[j] / (Math.sqrt(vi[j]) / sqrtBc2 + eps);
            }
        }
    }

    /**
     * Updates made so far.
     *
     * @return t, the number of {@link #step()} calls
     */
    public long steps() {
        return step;
    }

    /**
     * The learning rate.
     *
     * @return lr
     */
    public double learningRate() {
        return lr;
    }
}
