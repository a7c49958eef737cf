package io.cellstate.testing;

import io.cellstate.Cell;
import io.cellstate.Layout;
import io.cellstate.RnnInput;
import io.cellstate.RnnOutput;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;

/**
 * A second implementation of every cell, deliberately naive and written apart from the scalar
 * oracle so the two can check each other: float64 everywhere (state included, never rounded between
 * steps), each gate's matrices pulled out by name, one sequence at a time, one time step at a time.
 * Slow and plain.
 */
public final class NaiveCells {
    private NaiveCells() {
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
                Cell cell = spec.cell();
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
                        if (cell instanceof Cell.Lstm) {
                            double[] ig = sigmoid(add(mv(g.w[0], x), g.b[0], mv(g.u[0], h), g.c[0]));
                            double[] fg = sigmoid(add(mv(g.w[1], x), g.b[1], mv(g.u[1], h), g.c[1]));
                            double[] gg = tanh(add(mv(g.w[2], x), g.b[2], mv(g.u[2], h), g.c[2]));
                            double[] og = sigmoid(add(mv(g.w[3], x), g.b[3], mv(g.u[3], h), g.c[3]));
                            for (int j = 0; j < hidden; j++) {
                                c[j] = fg[j] * c[j] + ig[j] * gg[j];
                                h[j] = og[j] * Math.tanh(c[j]);
                            }
                        } else if (cell instanceof Cell.Gru gru) {
                            double[] r = sigmoid(add(mv(g.w[0], x), g.b[0], mv(g.u[0], h), g.c[0]));
                            double[] z = sigmoid(add(mv(g.w[1], x), g.b[1], mv(g.u[1], h), g.c[1]));
                            double[] n;
                            if (gru.linearBeforeReset()) {
                                n = tanh(add(mv(g.w[2], x), g.b[2], times(r, add(mv(g.u[2], h), g.c[2])), null));
                            } else {
                                n = tanh(add(mv(g.w[2], x), g.b[2], mv(g.u[2], times(r, h)), g.c[2]));
                            }
                            for (int j = 0; j < hidden; j++) {
                                h[j] = (1 - z[j]) * n[j] + z[j] * h[j];
                            }
                        } else {
                            double[] a = add(mv(g.w[0], x), g.b[0], mv(g.u[0], h), g.c[0]);
                            boolean relu = ((Cell.Rnn) cell).nonlinearity() == Cell.Nonlinearity.RELU;
                            for (int j = 0; j < hidden; j++) {
                                h[j] = relu ? Math.max(0, a[j]) : Math.tanh(a[j]);
                            }
                        }
                        System.arraycopy(h, 0, next[b][t], d * hidden, hidden);
                    }
                    for (int j = 0; j < hidden; j++) {
                        out.hN().set((float) h[j], slot, b, j);
                        if (out.cN() != null) {
                            out.cN().set((float) c[j], slot, b, j);
                        }
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

    /**
     * The matrices and bias vectors of one layer and direction, by gate k: {@code w[k]} of W_ih,
     * {@code u[k]} of W_hh, {@code b[k]} of b_ih, {@code c[k]} of b_hh.
     */
    private static final class Gates {
        final double[][][] w;
        final double[][][] u;
        final double[][] b;
        final double[][] c;

        Gates(RnnSpec spec, RnnWeights weights, int layer, int d) {
            int h = spec.hiddenSize();
            int in = spec.layerInputSize(layer);
            int gates = spec.gates();
            float[] wih = weights.array(RnnWeights.Param.WEIGHT_IH, layer, d);
            float[] whh = weights.array(RnnWeights.Param.WEIGHT_HH, layer, d);
            float[] bih = weights.array(RnnWeights.Param.BIAS_IH, layer, d);
            float[] bhh = weights.array(RnnWeights.Param.BIAS_HH, layer, d);
            w = new double[gates][][];
            u = new double[gates][][];
            b = new double[gates][];
            c = new double[gates][];
            for (int k = 0; k < gates; k++) {
                w[k] = rows(wih, k * h, h, in);
                u[k] = rows(whh, k * h, h, h);
                b[k] = part(bih, k * h, h);
                c[k] = part(bhh, k * h, h);
            }
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

    /** a + b + c + d, elementwise; d may be null. */
    private static double[] add(double[] a, double[] b, double[] c, double[] d) {
        double[] r = new double[a.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = a[i] + b[i] + c[i] + (d == null ? 0 : d[i]);
        }
        return r;
    }

    /** a + b, elementwise. */
    private static double[] add(double[] a, double[] b) {
        return add(a, b, new double[a.length], null);
    }

    /** a ⊙ b. */
    private static double[] times(double[] a, double[] b) {
        double[] r = new double[a.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = a[i] * b[i];
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
