package io.cellstate.scalar;

import io.cellstate.Cell;
import io.cellstate.PlanOptions;
import io.cellstate.RnnSpec;
import io.cellstate.RnnState;
import io.cellstate.RnnWeights;
import io.cellstate.Tensor;
import io.cellstate.spi.AbstractRnnPlan;
import io.cellstate.spi.ForwardCall;

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
 */
final class ScalarPlan extends AbstractRnnPlan {
    private float[][] wIh;
    private float[][] wHh;
    private float[][] bIh;
    private float[][] bHh;

    ScalarPlan(RnnSpec spec, RnnWeights weights, PlanOptions options) {
        super("scalar", spec, weights, options);
        reload(weights);
    }

    @Override
    protected void reload(RnnWeights weights) {
        int n = spec.stateCount();
        wIh = new float[n][];
        wHh = new float[n][];
        bIh = new float[n][];
        bHh = new float[n][];
        for (int l = 0; l < spec.layers(); l++) {
            for (int d = 0; d < spec.directions(); d++) {
                int s = l * spec.directions() + d;
                wIh[s] = weights.array(RnnWeights.Param.WEIGHT_IH, l, d);
                wHh[s] = weights.array(RnnWeights.Param.WEIGHT_HH, l, d);
                bIh[s] = weights.array(RnnWeights.Param.BIAS_IH, l, d);
                bHh[s] = weights.array(RnnWeights.Param.BIAS_HH, l, d);
            }
        }
    }

    @Override
    protected void run(ForwardCall call) {
        int steps = call.steps();
        int batch = call.batch();
        int hidden = spec.hiddenSize();
        int dirs = spec.directions();
        // layer input, sequence-major [T][B][F]
        int features = spec.inputSize();
        float[] in = new float[steps * batch * features];
        for (int t = 0; t < steps; t++) {
            for (int b = 0; b < batch; b++) {
                int src = call.layout().row(t, b, steps, batch) * features;
                for (int k = 0; k < features; k++) {
                    in[(t * batch + b) * features + k] = call.x().getFlat(src + k);
                }
            }
        }
        float[] h = new float[hidden];
        float[] c = new float[hidden];
        float[] hNext = new float[hidden];
        float[] cNext = new float[hidden];
        for (int l = 0; l < spec.layers(); l++) {
            int outFeatures = dirs * hidden;
            float[] out = new float[steps * batch * outFeatures];
            for (int d = 0; d < dirs; d++) {
                int s = l * dirs + d;
                boolean reversed = spec.direction().reversed(d);
                for (int b = 0; b < batch; b++) {
                    load(call.h0(), s, b, h);
                    load(call.c0(), s, b, c);
                    int len = call.length(b);
                    for (int i = 0; i < len; i++) {
                        int t = reversed ? len - 1 - i : i;
                        cell(s, in, (t * batch + b) * features, features, h, c, hNext, cNext);
                        System.arraycopy(hNext, 0, h, 0, hidden);
                        System.arraycopy(cNext, 0, c, 0, hidden);
                        System.arraycopy(h, 0, out, (t * batch + b) * outFeatures + d * hidden, hidden);
                    }
                    store(call.hN(), s, b, h);
                    store(call.cN(), s, b, c);
                }
            }
            in = out;
            features = outFeatures;
        }
        for (int t = 0; t < steps; t++) {
            for (int b = 0; b < batch; b++) {
                int dst = call.layout().row(t, b, steps, batch) * features;
                for (int k = 0; k < features; k++) {
                    call.y().setFlat(dst + k, in[(t * batch + b) * features + k]);
                }
            }
        }
    }

    @Override
    protected void runStep(Tensor x, RnnState state, Tensor y) {
        int hidden = spec.hiddenSize();
        int batch = x.dim(0);
        float[] h = new float[hidden];
        float[] c = new float[hidden];
        float[] hNext = new float[hidden];
        float[] cNext = new float[hidden];
        for (int b = 0; b < batch; b++) {
            float[] in = new float[spec.inputSize()];
            for (int k = 0; k < in.length; k++) {
                in[k] = x.getFlat((long) b * in.length + k);
            }
            for (int l = 0; l < spec.layers(); l++) {
                load(state.h(), l, b, h);
                load(state.c(), l, b, c);
                cell(l, in, 0, in.length, h, c, hNext, cNext);
                store(state.h(), l, b, hNext);
                store(state.c(), l, b, cNext);
                in = hNext.clone();
            }
            for (int j = 0; j < hidden; j++) {
                y.setFlat((long) b * hidden + j, in[j]);
            }
        }
    }

    /** One step of one sequence for weight slot {@code s}: (x, h, c) to (hNext, cNext). */
    private void cell(int s, float[] x, int xOff, int features, float[] h, float[] c, float[] hNext, float[] cNext) {
        int hidden = spec.hiddenSize();
        int rows = spec.gates() * hidden;
        // px = W_ih x + b_ih, ph = W_hh h + b_hh, each row in float64
        double[] px = new double[rows];
        double[] ph = new double[rows];
        float[] wi = wIh[s];
        float[] wh = wHh[s];
        for (int r = 0; r < rows; r++) {
            double a = bIh[s][r];
            for (int k = 0; k < features; k++) {
                a += (double) wi[r * features + k] * x[xOff + k];
            }
            px[r] = a;
            double b = bHh[s][r];
            for (int k = 0; k < hidden; k++) {
                b += (double) wh[r * hidden + k] * h[k];
            }
            ph[r] = b;
        }
        switch (spec.cell()) {
            case Cell.Lstm lstm -> {
                for (int j = 0; j < hidden; j++) {
                    double i = sigmoid(px[j] + ph[j]);
                    double f = sigmoid(px[hidden + j] + ph[hidden + j]);
                    double g = Math.tanh(px[2 * hidden + j] + ph[2 * hidden + j]);
                    double o = sigmoid(px[3 * hidden + j] + ph[3 * hidden + j]);
                    double cNew = cellState(f, c[j], i, g);
                    cNext[j] = (float) cNew;
                    hNext[j] = (float) (o * Math.tanh(cNew));
                }
            }
            case Cell.Gru gru -> {
                double[] r = new double[hidden];
                for (int j = 0; j < hidden; j++) {
                    r[j] = sigmoid(px[j] + ph[j]);
                }
                for (int j = 0; j < hidden; j++) {
                    double z = sigmoid(px[hidden + j] + ph[hidden + j]);
                    double recurrent;
                    if (gru.linearBeforeReset()) {
                        recurrent = r[j] * ph[2 * hidden + j];
                    } else {
                        // W_hn (r ⊙ h) + b_hn: the n rows of W_hh again, over the reset state
                        int row = 2 * hidden + j;
                        recurrent = bHh[s][row];
                        for (int k = 0; k < hidden; k++) {
                            recurrent += (double) wh[row * hidden + k] * (r[k] * h[k]);
                        }
                    }
                    double n = Math.tanh(px[2 * hidden + j] + recurrent);
                    hNext[j] = (float) ((1 - z) * n + z * h[j]);
                }
            }
            case Cell.Rnn rnn -> {
                for (int j = 0; j < hidden; j++) {
                    double a = px[j] + ph[j];
                    hNext[j] = (float) (rnn.nonlinearity() == Cell.Nonlinearity.TANH ? Math.tanh(a) : Math.max(0, a));
                }
            }
        }
    }

    /** The cell update c' = f c + i g. */
    static double cellState(double f, double c, double i, double g) {
        return f * c + i * g;
    }

    static double sigmoid(double x) {
        return 1.0 / (1.0 + Math.exp(-x));
    }

    private void load(Tensor state, int slot, int b, float[] into) {
        if (state == null) {
            java.util.Arrays.fill(into, 0f);
            return;
        }
        long base = ((long) slot * state.dim(1) + b) * into.length;
        for (int j = 0; j < into.length; j++) {
            into[j] = state.getFlat(base + j);
        }
    }

    private void store(Tensor state, int slot, int b, float[] from) {
        if (state == null) {
            return;
        }
        long base = ((long) slot * state.dim(1) + b) * from.length;
        for (int j = 0; j < from.length; j++) {
            state.setFlat(base + j, from[j]);
        }
    }
}
