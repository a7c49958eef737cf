package io.cellstate.testing;

import io.cellstate.Layout;
import io.cellstate.RnnInput;
import io.cellstate.RnnOutput;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;

/**
 * A second LSTM, deliberately naive and written apart from the scalar oracle so the two can check
 * each other: float64 everywhere (state included, never rounded between steps), each gate's
 * matrices pulled out by name, one sequence at a time, one time step at a time. Slow and plain.
 */
public final class NaiveLstm {
    private NaiveLstm() {
    }

    /** Runs {@code in} through the network and returns float32-rounded outputs. */
    public static RnnOutput run(RnnSpec spec, RnnWeights w, RnnInput in) {
        int steps = in.steps();
        int batch = in.batch();
        int hidden = spec.hiddenSize();
        int dirs = spec.directions();
        RnnOutput out = RnnOutput.allocate(spec, in.layout(), steps, batch);
        // seq[b][t] = the layer input vector at (t, b), in float64
        double[][][] seq = new double[batch][steps][];
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < steps; t++) {
                double[] v = new double[spec.inputSize()];
                for (int k = 0; k < v.length; k++) {
                    v[k] = in.layout() == Layout.SEQUENCE_MAJOR ? in.x().get(t, b, k) : in.x().get(b, t, k);
                }
                seq[b][t] = v;
            }
        }
        for (int layer = 0; layer < spec.layers(); layer++) {
            double[][][] next = new double[batch][steps][dirs * hidden];
            for (int d = 0; d < dirs; d++) {
                int slot = layer * dirs + d;
                Gates g = new Gates(spec, w, layer, d);
                for (int b = 0; b < batch; b++) {
                    double[] h = new double[hidden];
                    double[] c = new double[hidden];
                    for (int j = 0; j < hidden; j++) {
                        h[j] = in.h0() == null ? 0 : in.h0().get(slot, b, j);
                        c[j] = in.c0() == null ? 0 : in.c0().get(slot, b, j);
                    }
                    int len = in.lengths() == null ? steps : in.lengths()[b];
                    int[] order = new int[len];
                    for (int i = 0; i < len; i++) {
                        order[i] = spec.direction().reversed(d) ? len - 1 - i : i;
                    }
                    for (int t : order) {
                        double[] x = seq[b][t];
                        double[] ig = sigmoid(add(mv(g.wi, x), g.bi, mv(g.ui, h), g.ci));
                        double[] fg = sigmoid(add(mv(g.wf, x), g.bf, mv(g.uf, h), g.cf));
                        double[] gg = tanh(add(mv(g.wg, x), g.bg, mv(g.ug, h), g.cg));
                        double[] og = sigmoid(add(mv(g.wo, x), g.bo, mv(g.uo, h), g.co));
                        for (int j = 0; j < hidden; j++) {
                            c[j] = fg[j] * c[j] + ig[j] * gg[j];
                            h[j] = og[j] * Math.tanh(c[j]);
                        }
                        System.arraycopy(h, 0, next[b][t], d * hidden, hidden);
                    }
                    for (int j = 0; j < hidden; j++) {
                        out.hN().set((float) h[j], slot, b, j);
                        out.cN().set((float) c[j], slot, b, j);
                    }
                }
            }
            seq = next;
        }
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < steps; t++) {
                for (int k = 0; k < spec.outputSize(); k++) {
                    float v = (float) seq[b][t][k];
                    if (in.layout() == Layout.SEQUENCE_MAJOR) {
                        out.y().set(v, t, b, k);
                    } else {
                        out.y().set(v, b, t, k);
                    }
                }
            }
        }
        return out;
    }

    /** The 8 matrices and 8 bias vectors of one layer and direction, by gate. */
    private static final class Gates {
        final double[][] wi, wf, wg, wo, ui, uf, ug, uo;
        final double[] bi, bf, bg, bo, ci, cf, cg, co;

        Gates(RnnSpec spec, RnnWeights w, int layer, int d) {
            int h = spec.hiddenSize();
            int in = spec.layerInputSize(layer);
            float[] wih = w.array(RnnWeights.Param.WEIGHT_IH, layer, d);
            float[] whh = w.array(RnnWeights.Param.WEIGHT_HH, layer, d);
            float[] bih = w.array(RnnWeights.Param.BIAS_IH, layer, d);
            float[] bhh = w.array(RnnWeights.Param.BIAS_HH, layer, d);
            wi = rows(wih, 0, h, in);
            wf = rows(wih, h, h, in);
            wg = rows(wih, 2 * h, h, in);
            wo = rows(wih, 3 * h, h, in);
            ui = rows(whh, 0, h, h);
            uf = rows(whh, h, h, h);
            ug = rows(whh, 2 * h, h, h);
            uo = rows(whh, 3 * h, h, h);
            bi = part(bih, 0, h);
            bf = part(bih, h, h);
            bg = part(bih, 2 * h, h);
            bo = part(bih, 3 * h, h);
            ci = part(bhh, 0, h);
            cf = part(bhh, h, h);
            cg = part(bhh, 2 * h, h);
            co = part(bhh, 3 * h, h);
        }

        private static double[][] rows(float[] m, int first, int n, int cols) {
            double[][] r = new double[n][cols];
            for (int i = 0; i < n; i++) {
                for (int k = 0; k < cols; k++) {
                    r[i][k] = m[(first + i) * cols + k];
                }
            }
            return r;
        }

        private static double[] part(float[] v, int first, int n) {
            double[] r = new double[n];
            for (int i = 0; i < n; i++) {
                r[i] = v[first + i];
            }
            return r;
        }
    }

    private static double[] mv(double[][] m, double[] v) {
        double[] r = new double[m.length];
        for (int i = 0; i < m.length; i++) {
            double s = 0;
            for (int k = 0; k < v.length; k++) {
                s += m[i][k] * v[k];
            }
            r[i] = s;
        }
        return r;
    }

    private static double[] add(double[] a, double[] b, double[] c, double[] d) {
        double[] r = new double[a.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = a[i] + b[i] + c[i] + d[i];
        }
        return r;
    }

    private static double[] sigmoid(double[] v) {
        double[] r = new double[v.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = 1 / (1 + Math.exp(-v[i]));
        }
        return r;
    }

    private static double[] tanh(double[] v) {
        double[] r = new double[v.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = Math.tanh(v[i]);
        }
        return r;
    }
}
