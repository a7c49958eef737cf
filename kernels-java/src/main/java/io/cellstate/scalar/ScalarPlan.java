package io.cellstate.scalar;

import io.cellstate.Layout;
import io.cellstate.PlanOptions;
import io.cellstate.RnnSpec;
import io.cellstate.RnnState;
import io.cellstate.RnnWeights;
import io.cellstate.RnnWeights.Param;
import io.cellstate.Tensor;
import io.cellstate.spi.AbstractRnnPlan;
import io.cellstate.spi.BackwardCall;
import io.cellstate.spi.ForwardCall;
import io.cellstate.spi.TrainingWorkspace;

/**
 * Every cell straight from its equations ({@link io.cellstate.Cell} has them):
 * <pre>
 *   LSTM (i, f, g, o)   i = σ(W_ii x + b_ii + W_hi h + b_hi), f and o alike, g with tanh
 *                       c' = f ⊙ c + i ⊙ g,  h' = o ⊙ tanh(c')
 *   GRU (r, z, n)       r = σ(W_ir x + b_ir + W_hr h + b_hr), z alike
 *                       n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))   linear before reset
 *                       n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn)   the original formula
 *                       h' = (1 − z) ⊙ n + z ⊙ h
 *   RNN                 h' = act(W_ih x + b_ih + W_hh h + b_hh),  act = tanh or ReLU
 * </pre>
 * Each pre-activation is summed in float64, the gates and the state update are computed in
 * float64, and the new {@code h} and {@code c} are rounded to float32 once per step, as every
 * float32 kernel stores them. So this is the exactly rounded float32 cell, up to the double
 * rounding of one step: the yardstick the fast kernels are measured against.
 *
 * <p>Training keeps the float64 values of every step on a {@link Bptt.Tape} in the workspace, and
 * the backward pass runs in float64 from the chain rule ({@link Bptt}); its results are rounded to
 * float32 once, at the end.
 */
final class ScalarPlan extends AbstractRnnPlan {
    private Bptt math;

    ScalarPlan(RnnSpec spec, RnnWeights weights, PlanOptions options) {
        super("scalar", spec, weights, options);
        reload(weights);
    }

    @Override
    protected void reload(RnnWeights weights) {
        int n = spec.stateCount();
        double[][][] w = new double[Param.values().length][n][];
        for (int l = 0; l < spec.layers(); l++) {
            for (int d = 0; d < spec.directions(); d++) {
                for (Param p : Param.values()) {
                    w[p.ordinal()][l * spec.directions() + d] = widen(weights.array(p, l, d));
                }
            }
        }
        math = new Bptt(spec, w);
    }

    @Override
    protected void run(ForwardCall call) {
        forward(call, null);
    }

    private void forward(ForwardCall call, Bptt.Tape tape) {
        int steps = call.steps();
        int batch = call.batch();
        double[] y = new double[steps * batch * spec.outputSize()];
        double[] hN = new double[spec.stateCount() * batch * spec.outputHiddenSize()];
        double[] cN = new double[spec.stateCount() * batch * spec.hiddenSize()];
        math.forward(sequenceMajor(call.x(), call.layout(), steps, batch), steps, batch, call.lengths(),
                widen(call.h0()), widen(call.c0()), true, y, hN, cN, tape);
        fromSequenceMajor(y, call.y(), call.layout(), steps, batch);
        narrow(hN, call.hN());
        narrow(cN, call.cN());
    }

    @Override
    protected void runStep(Tensor x, RnnState state, Tensor y) {
        int batch = x.dim(0);
        Tensor x3 = Tensor.wrap(x.segment(), 1, batch, spec.inputSize());
        Tensor y3 = Tensor.wrap(y.segment(), 1, batch, spec.outputHiddenSize());
        // [layers, B, H] is [layers*D, B, H] for a forward-only spec: read as h0, written as hN
        run(new ForwardCall(x3, Layout.SEQUENCE_MAJOR, 1, batch, null, state.h(), state.c(), y3, state.h(), state.c()));
    }

    /** The oracle's workspace: the tape of the last training forward. */
    private static final class Workspace extends TrainingWorkspace {
        Bptt.Tape tape;

        Workspace(ScalarPlan plan) {
            super(plan);
        }

        @Override
        public long bytes() {
            Bptt.Tape t = tape;
            if (t == null) {
                return 0;
            }
            long n = 0;
            for (double[][] a : new double[][][] {t.layerIn, t.act, t.pre, t.hPrev, t.cPrev, t.cNew, t.phn, t.r}) {
                for (double[] b : a) {
                    n += b == null ? 0 : b.length;
                }
            }
            return n * Double.BYTES;
        }

        @Override
        protected void released() {
            tape = null;
        }
    }

    @Override
    protected TrainingWorkspace createWorkspace() {
        return new Workspace(this);
    }

    @Override
    protected void runTraining(ForwardCall call, TrainingWorkspace ws) {
        Workspace w = (Workspace) ws;
        w.tape = null;
        Bptt.Tape tape = new Bptt.Tape(spec, call.steps(), call.batch(), call.lengths());
        forward(call, tape);
        w.tape = tape;
    }

    @Override
    protected void runBackward(BackwardCall call) {
        Bptt.Tape tape = ((Workspace) call.workspace()).tape;
        int steps = call.steps();
        int batch = call.batch();
        double[] dy = call.dy() == null ? null : sequenceMajor(call.dy(), call.layout(), steps, batch);
        Bptt.Grads g = math.backward(tape, dy, widen(call.dhN()), widen(call.dcN()));
        if (call.dx() != null) {
            fromSequenceMajor(g.dx, call.dx(), call.layout(), steps, batch);
        }
        narrow(g.dh0, call.dh0());
        narrow(g.dc0, call.dc0());
        if (call.weights() != null) {
            for (int l = 0; l < spec.layers(); l++) {
                for (int d = 0; d < spec.directions(); d++) {
                    int s = l * spec.directions() + d;
                    for (Param p : Param.values()) {
                        if (p.in(spec)) {
                            write(g.dw[p.ordinal()][s], call.weights().data(p, l, d), call.accumulate());
                        }
                    }
                }
            }
        }
    }

    private static void write(double[] from, float[] into, boolean accumulate) {
        for (int i = 0; i < from.length; i++) {
            // accumulating adds the float32 result, so two calls give exactly the float32 sum of each alone
            into[i] = accumulate ? into[i] + (float) from[i] : (float) from[i];
        }
    }

    /** A tensor of [T, B, F] or [B, T, F] as sequence-major float64. */
    private static double[] sequenceMajor(Tensor t, Layout layout, int steps, int batch) {
        int f = t.dim(2);
        double[] out = new double[steps * batch * f];
        for (int s = 0; s < steps; s++) {
            for (int b = 0; b < batch; b++) {
                long src = (long) layout.row(s, b, steps, batch) * f;
                for (int k = 0; k < f; k++) {
                    out[(s * batch + b) * f + k] = t.getFlat(src + k);
                }
            }
        }
        return out;
    }

    private static void fromSequenceMajor(double[] from, Tensor t, Layout layout, int steps, int batch) {
        int f = t.dim(2);
        for (int s = 0; s < steps; s++) {
            for (int b = 0; b < batch; b++) {
                long dst = (long) layout.row(s, b, steps, batch) * f;
                for (int k = 0; k < f; k++) {
                    t.setFlat(dst + k, (float) from[(s * batch + b) * f + k]);
                }
            }
        }
    }

    private static double[] widen(Tensor t) {
        if (t == null) {
            return null;
        }
        double[] d = new double[(int) t.size()];
        for (int i = 0; i < d.length; i++) {
            d[i] = t.getFlat(i);
        }
        return d;
    }

    private static double[] widen(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i];
        }
        return d;
    }

    private static void narrow(double[] from, Tensor into) {
        if (into != null) {
            for (int i = 0; i < into.size(); i++) {
                into.setFlat(i, (float) from[i]);
            }
        }
    }
}
