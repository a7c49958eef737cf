package io.cellstate.bench;

import io.cellstate.Backends;
import io.cellstate.Direction;
import io.cellstate.ForwardMode;
import io.cellstate.Layout;
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
import io.cellstate.Tolerance;
import io.cellstate.WeightGradMode;
import java.util.Arrays;
import java.util.Map;

/** Fails a benchmark trial whose backend does not agree with the scalar oracle. */
final class OracleCheck {
    private OracleCheck() {
    }

    /**
     * Checks the first {@code xPrefix.dim(0)} steps of {@code y}, the output sequence a kernel
     * under test computed (zero initial state) from an input that begins with {@code xPrefix},
     * against the scalar oracle on that prefix alone, and throws if any differs by more than the
     * {@link Tolerance} of the prefix. Valid for forward, unidirectional specs only: there the
     * output at step t depends on steps 0..t alone, so the benchmarked call itself is checked
     * without running the oracle over the whole sequence.
     *
     * <p>Where the kernel is one of our plans ({@code plan} not null), the plan is also run on the
     * prefix alone and its y and final hidden state compared with the same oracle run.
     */
    static void verifyPrefix(String backend, Tensor y, RnnSpec spec, RnnWeights weights, Tensor xPrefix, RnnPlan plan) {
        if (spec.direction() != Direction.FORWARD) {
            throw new IllegalArgumentException("spec: expected direction FORWARD for a prefix check (a reverse"
                    + " direction's first outputs depend on the whole sequence), got " + spec.direction());
        }
        int steps = xPrefix.dim(0);
        int batch = xPrefix.dim(1);
        long floats = (long) steps * batch * spec.outputSize();
        if (y.rank() != 3 || y.dim(1) != batch || y.dim(2) != spec.outputSize() || y.dim(0) < steps) {
            throw new IllegalArgumentException("y: expected [T >= " + steps + ", " + batch + ", " + spec.outputSize()
                    + "], got " + Arrays.toString(y.shape()));
        }
        Tensor got = Tensor.wrap(y.segment().asSlice(0, floats * Float.BYTES), steps, batch, spec.outputSize());
        RnnOutput want;
        try (RnnPlan oracle = Backends.byName("scalar").plan(spec, weights, PlanOptions.defaults())) {
            want = oracle.forward(RnnInput.of(xPrefix));
        }
        double tol = Tolerance.forward(spec, steps);
        double err = Tolerance.maxAbsDifference(want.y(), got);
        if (plan != null) {
            RnnOutput alone = plan.forward(RnnInput.of(xPrefix));
            err = Math.max(err, Math.max(Tolerance.maxAbsDifference(want.y(), alone.y()),
                    Tolerance.maxAbsDifference(want.hN(), alone.hN())));
        }
        if (!(err <= tol)) {
            throw new IllegalStateException(backend + " disagrees with the scalar oracle on the first " + steps
                    + " steps: max |diff| " + err + " > tolerance " + tol + " for " + spec);
        }
    }

    /**
     * The gradients of one training step: with respect to the input, the initial states (dc0 null
     * without a cell state) and every weight.
     *
     * @param dx      d loss / d x
     * @param dh0     d loss / d h0
     * @param dc0     d loss / d c0, or null
     * @param weights d loss / d weights
     */
    record Gradients(Tensor dx, Tensor dh0, Tensor dc0, RnnWeightGrads weights) {

        /** Zero heap gradients for a step of {@code steps} x {@code batch}. */
        static Gradients zeros(RnnSpec spec, int steps, int batch) {
            RnnInputGrad in = RnnInputGrad.allocate(spec, Layout.SEQUENCE_MAJOR, steps, batch);
            return new Gradients(in.dx(), in.dh0(), in.dc0(), RnnWeightGrads.zeros(spec));
        }

        /** Zero off-heap data gradients in {@code arena} (as oneDNN needs them), heap weight gradients. */
        static Gradients allocate(java.lang.foreign.Arena arena, RnnSpec spec, int steps, int batch) {
            int states = spec.stateCount();
            return new Gradients(Tensor.allocate(arena, steps, batch, spec.inputSize()),
                    Tensor.allocate(arena, states, batch, spec.outputHiddenSize()),
                    spec.cell().hasCellState() ? Tensor.allocate(arena, states, batch, spec.hiddenSize()) : null,
                    RnnWeightGrads.zeros(spec));
        }

        /** Where {@link RnnPlan#backward} writes the data gradients. */
        RnnInputGrad inputGrad() {
            return new RnnInputGrad(dx, dh0, dc0);
        }
    }

    /**
     * The relative tolerance of a gradient: {@code C u sqrt(n T L + T B)}, of the largest gradient
     * or 1, whichever is larger. The reasoning follows {@link Tolerance}'s for the forward pass.
     * Going back through a step sums {@code n = max(in + H + 2, G H + 2)} terms per gradient (the
     * forward's pre-activations, whose rounding the saved gates carry, and the data gradient's
     * {@code W^T dgates}, over the G H gate rows), so as in the forward pass the relative error of
     * dx, dh0 and of each step's gate gradients grows like {@code u sqrt(n T L)}; a weight gradient
     * then sums T B such products (oneDNN's and our merged GEMMs over all steps), adding
     * {@code u sqrt(T B)} of the sum's scale. Dividing by the largest entry rather than entry by
     * entry keeps a gradient that sums to nearly 0 from failing a correct kernel, as benchdnn
     * compares its RNN gradients against a norm. C is {@link Tolerance#C}.
     *
     * @param spec  the network
     * @param steps T of the checked step
     * @param batch B of the checked step
     * @return the largest allowed {@code max |a - b| / max(1, max |a|)} per gradient tensor
     */
    static double gradientTolerance(RnnSpec spec, int steps, int batch) {
        double n = Math.max(Tolerance.accumulationLength(spec), spec.gates() * spec.hiddenSize() + 2);
        return Tolerance.C * Tolerance.U * Math.sqrt(n * steps * spec.layers() + (double) steps * batch);
    }

    /**
     * The worst relative difference ({@code max |a - b| / max(1, max |a|)}) over every gradient
     * tensor, naming it; NaN where exactly one side has a NaN.
     *
     * @return the worst tensor's name and its difference
     */
    static Map.Entry<String, Double> gradientError(RnnSpec spec, Gradients want, Gradients got) {
        Map.Entry<String, Double> worst = Map.entry("none", 0.0);
        worst = worse(worst, "dx", relative(want.dx(), got.dx()));
        worst = worse(worst, "dh0", relative(want.dh0(), got.dh0()));
        if (spec.cell().hasCellState()) {
            worst = worse(worst, "dc0", relative(want.dc0(), got.dc0()));
        }
        Map<String, Tensor> mine = got.weights().toStateDict();
        for (Map.Entry<String, Tensor> e : want.weights().toStateDict().entrySet()) {
            worst = worse(worst, e.getKey(), relative(e.getValue(), mine.get(e.getKey())));
        }
        return worst;
    }

    private static Map.Entry<String, Double> worse(Map.Entry<String, Double> a, String name, double err) {
        return Double.isNaN(a.getValue()) || a.getValue() >= err ? a : Map.entry(name, err);
    }

    private static double relative(Tensor want, Tensor got) {
        double scale = 1;
        for (long i = 0; i < want.size(); i++) {
            scale = Math.max(scale, Math.abs(want.getFlat(i)));
        }
        return Tolerance.maxAbsDifference(want, got) / scale;
    }

    /**
     * The scalar oracle's gradients of a training step from zero initial states.
     *
     * @throws UnsupportedOperationException where the scalar backend does not train (yet)
     */
    static Gradients scalarGradients(RnnSpec spec, RnnWeights weights, Tensor x, RnnOutputGrad gradOut) {
        PlanOptions training = PlanOptions.defaults().withMode(ForwardMode.TRAINING);
        int steps = x.dim(0);
        int batch = x.dim(1);
        Gradients g = Gradients.zeros(spec, steps, batch);
        try (RnnPlan oracle = Backends.get("scalar", spec, training).plan(spec, weights, training);
             RnnWorkspace ws = oracle.newWorkspace()) {
            oracle.forward(RnnInput.of(x), RnnOutput.allocate(spec, Layout.SEQUENCE_MAJOR, steps, batch), ws);
            oracle.backward(ws, gradOut, g.inputGrad(), g.weights(), WeightGradMode.OVERWRITE);
        }
        return g;
    }

    /**
     * Checks the gradients {@code got} of a training step from zero initial states over {@code x}
     * against the scalar oracle's, within {@link #gradientTolerance}, and throws if they differ more.
     *
     * @param backend  the kernel's name, for the message
     * @param x        the input, {@code [T, B, inputSize]}
     * @param gradOut  the step's output gradients, shaped for x
     * @param got      the kernel's gradients
     * @throws IllegalStateException         if they differ by more than the tolerance
     * @throws UnsupportedOperationException where the scalar backend does not train (yet): no check, no run
     */
    static void verifyGradients(String backend, RnnSpec spec, RnnWeights weights, Tensor x, RnnOutputGrad gradOut,
                                Gradients got) {
        Gradients want = scalarGradients(spec, weights, x, gradOut);
        double tol = gradientTolerance(spec, x.dim(0), x.dim(1));
        Map.Entry<String, Double> err = gradientError(spec, want, got);
        if (!(err.getValue() <= tol)) {
            throw new IllegalStateException(backend + "'s gradients disagree with the scalar oracle's over " + x.dim(0)
                    + " steps: " + err.getKey() + " differs by " + err.getValue() + " of its scale > tolerance " + tol
                    + " for " + spec);
        }
    }

    /**
     * Throws unless every gradient is finite: the check of a full-length step, whose gradients the
     * oracle is too slow to compute.
     */
    static void requireFinite(String backend, Gradients g) {
        requireFinite(backend, "dx", g.dx());
        requireFinite(backend, "dh0", g.dh0());
        if (g.dc0() != null) {
            requireFinite(backend, "dc0", g.dc0());
        }
        g.weights().toStateDict().forEach((name, t) -> requireFinite(backend, name, t));
    }

    private static void requireFinite(String backend, String name, Tensor t) {
        for (long i = 0; i < t.size(); i++) {
            if (!Float.isFinite(t.getFlat(i))) {
                throw new IllegalStateException(backend + "'s gradient " + name + " has " + t.getFlat(i) + " at flat index "
                        + i);
            }
        }
    }
}
