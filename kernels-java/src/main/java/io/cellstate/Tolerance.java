package io.cellstate;

/**
 * How far two correct float32 networks may differ: the rule the conformance suite, the benchmarks'
 * oracle check and the demo all apply, derived from the accumulation length rather than
 * guessed (as benchdnn does for its RNN tests).
 *
 * <p>Each gate pre-activation is a sum of n = in + H + 2 terms (inputs, recurrent inputs, two
 * biases), in every cell: the LSTM's four gates, the GRU's r and z, its n in either formula
 * (W_in x + b_in and r ⊙ (W_hn h + b_hn), or W_hn (r ⊙ h) + b_hn: in + H + 2 products and biases
 * again, and one product by r more, a rounding of its own), and the RNN's one gate. With unit roundoff u = 2^-24 and rounding errors that behave like a random walk, the
 * error of such a sum grows like u sqrt(n) times the size of the terms (Higham and Mary,
 * "A new approach to probabilistic rounding error analysis", 2019); the deterministic worst case,
 * n u, is never approached in practice. The gates and the cell carry that error from step to step
 * and from layer to layer, so it grows, at worst like a random walk again, with the depth of the
 * computation, T * layers. Hence
 * <pre>
 *   tol = C * u * sqrt(n * T * layers),    n = max over layers of (in_l + H_out) + 2
 * </pre>
 * (an LSTM's peephole adds one term per gate, and its projection's sum of H terms adds H to n).
 * with C = 8 covering the few ulp of the activation functions per step and the gap between a
 * random walk and its maximum over many elements. Inputs are in [-1, 1] and weights within
 * 1/sqrt(H), so the terms are of order 1 or less. Measured here: the Vector API kernel against the
 * scalar oracle stays below 0.1 of this bound over the whole suite (with C = 64 it was 0.009,
 * loose enough to hide a wrongly rounded kernel), and the suite prints the worst ratio, so a
 * kernel creeping towards the bound shows before it fails.
 */
public final class Tolerance {
    /** Unit roundoff of float32. */
    public static final double U = Math.scalb(1.0, -24);
    /** Safety factor C of the formula above. */
    public static final double C = 8;

    private Tolerance() {
    }

    /**
     * Terms per gate pre-activation, worst layer.
     *
     * @param spec the network
     * @return n of the formula above
     */
    public static int accumulationLength(RnnSpec spec) {
        int n = 0;
        for (int l = 0; l < spec.layers(); l++) {
            // a peephole adds a term; a projection's H terms add to the next step's error
            int extra = (spec.cell() instanceof Cell.Lstm lstm && lstm.peepholes() ? 1 : 0)
                    + (spec.projectionSize() > 0 ? spec.hiddenSize() : 0);
            n = Math.max(n, spec.layerInputSize(l) + spec.outputHiddenSize() + 2 + extra);
        }
        return n;
    }

    /**
     * The tolerance for a forward pass of {@code steps} steps.
     *
     * @param spec  the network
     * @param steps T
     * @return the largest absolute difference two correct float32 kernels may show
     */
    public static double forward(RnnSpec spec, int steps) {
        return C * U * Math.sqrt((double) accumulationLength(spec) * steps * spec.layers());
    }

    /**
     * Largest |a - b| over two tensors of the same size; NaN where exactly one of a pair is NaN
     * (a NaN must propagate, not be hidden), while a pair of NaNs agrees.
     *
     * @param a one tensor
     * @param b another of the same size
     * @return the largest difference, or NaN
     * @throws IllegalArgumentException if the sizes differ
     */
    public static double maxAbsDifference(Tensor a, Tensor b) {
        if (a.size() != b.size()) {
            throw new IllegalArgumentException("b: expected " + a.size() + " elements like a, got " + b.size());
        }
        double worst = 0;
        for (long i = 0; i < a.size(); i++) {
            float x = a.getFlat(i);
            float y = b.getFlat(i);
            if (Float.isNaN(x) || Float.isNaN(y)) {
                if (Float.isNaN(x) != Float.isNaN(y)) {
                    return Double.NaN;
                }
                continue;
            }
            worst = Math.max(worst, Math.abs((double) x - y));
        }
        return worst;
    }
}
