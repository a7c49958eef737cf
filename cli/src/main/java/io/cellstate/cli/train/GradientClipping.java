package io.cellstate.cli.train;

import java.util.List;

/**
 * Gradient clipping by global norm, as PyTorch's {@code torch.nn.utils.clip_grad_norm_} (and Keras's
 * {@code global_clipnorm}): every gradient is scaled by one factor so that their joint 2-norm is at
 * most {@code maxNorm}, which keeps each update's direction and bounds its length (Pascanu et al.
 * 2013: the exploding gradients of recurrent networks).
 */
public final class GradientClipping {
    /** Added to the norm in the divisor, as PyTorch does, so that a zero gradient divides safely. */
    static final double NORM_EPS = 1e-6;

    private GradientClipping() {
    }

    /**
     * Scales every gradient by {@code min(1, maxNorm / (norm + 1e-6))}, norm being the 2-norm of all
     * gradients together, as PyTorch does (it multiplies by the clamped factor, so gradients under
     * the bound are unchanged).
     *
     * @param params  the parameters whose gradients are clipped, in place
     * @param maxNorm the largest joint norm, positive
     * @return the joint norm before clipping (NaN or infinite if a gradient is; the gradients then
     *         become NaN, as PyTorch's do unless asked to raise)
     * @throws IllegalArgumentException if {@code maxNorm} is not a positive number
     */
    public static double clipByGlobalNorm(List<Parameter> params, double maxNorm) {
        if (!(maxNorm > 0)) {
            throw new IllegalArgumentException("maxNorm: expected > 0, got " + maxNorm);
        }
        double norm = globalNorm(params);
        double coef = Math.min(1.0, maxNorm / (norm + NORM_EPS));
        for (Parameter p : params) {
            double[] g = p.grad();
            for (int j = 0; j < g.length; j++) {
                g[j] *= coef;
            }
        }
        return norm;
    }

    /**
     * The 2-norm of all the gradients taken as one vector.
     *
     * @param params the parameters
     * @return sqrt of the sum of every gradient element squared
     */
    public static double globalNorm(List<Parameter> params) {
        double sum = 0;
        for (Parameter p : params) {
            for (double x : p.grad()) {
                sum += x * x;
            }
        }
        return Math.sqrt(sum);
    }
}
