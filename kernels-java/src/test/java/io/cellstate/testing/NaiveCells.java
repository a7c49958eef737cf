package io.cellstate.testing;

import io.cellstate.Activation;
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
 * Slow and plain. The cells' options are read straight from {@link Cell.Lstm}'s Javadoc: peepholes,
 * clip, coupled gates, projection, and any {@link Activation} per role and direction.
 */
public final class NaiveCells {
    private NaiveCells() {
    }

    /** Runs {@code in} through the network and returns float32-rounded outputs. */
    public static RnnOutput run(RnnSpec spec, RnnWeights w, RnnInput in) {
        int steps = in.steps();
        int batch = in.batch();
        int hidden = spec.hiddenSize();
        int width = spec.outputHiddenSize();
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
            double[][][] next = new double[batch][steps][dirs * width];
            for (int d = 0; d < dirs; d++) {
                int slot = layer * dirs + d;
                Gates g = new Gates(spec, w, layer, d);
                Cell cell = spec.cell();
                Activation fa = cell.activation(0, d);
                Activation ga = cell.roles() > 1 ? cell.activation(1, d) : null;
                Activation ha = cell.roles() > 2 ? cell.activation(2, d) : null;
                for (int b = 0; b < batch; b++) {
                    double[] h = new double[width];
                    double[] c = new double[hidden];
                    for (int j = 0; j < width; j++) {
                        h[j] = in.h0() == null ? 0 : in.h0().get(slot, b, j);
                    }
                    for (int j = 0; j < hidden; j++) {
                        c[j] = in.c0() == null ? 0 : in.c0().get(slot, b, j);
                    }
                    int len = in.lengths() == null ? steps : in.lengths()[b];
                    int[] order = new int[len];
                    for (int i = 0; i < len; i++) {
                        order[i] = spec.direction().reversed(d) ? len - 1 - i : i;
                    }
                    for (int t : order) {
                        double[] x = seq[b][t];
                        if (cell instanceof Cell.Lstm lstm) {
                            double clip = lstm.hasClip() ? lstm.clip() : Double.POSITIVE_INFINITY;
                            double[] ai = add(mv(g.w[0], x), g.b[0], mv(g.u[0], h), g.c[0]);
                            double[] af = add(mv(g.w[1], x), g.b[1], mv(g.u[1], h), g.c[1]);
                            double[] ao = add(mv(g.w[3], x), g.b[3], mv(g.u[3], h), g.c[3]);
                            if (lstm.peepholes()) {
                                ai = add(ai, times(g.p[0], c));
                                af = add(af, times(g.p[1], c));
                            }
                            double[] ig = act(fa, clip(ai, clip));
                            double[] fg = act(fa, clip(af, clip));
                            double[] gg = act(ga, clip(add(mv(g.w[2], x), g.b[2], mv(g.u[2], h), g.c[2]), clip));
                            for (int j = 0; j < hidden; j++) {
                                double f = lstm.inputForget() ? 1 - ig[j] : fg[j];
                                c[j] = f * c[j] + ig[j] * gg[j];
                            }
                            if (lstm.peepholes()) {
                                ao = add(ao, times(g.p[2], c));
                            }
                            double[] r = times(act(fa, clip(ao, clip)), act(ha, c));
                            h = lstm.projectionSize() > 0 ? mv(g.proj, r) : r;
                        } else if (cell instanceof Cell.Gru gru) {
                            double[] r = act(fa, add(mv(g.w[0], x), g.b[0], mv(g.u[0], h), g.c[0]));
                            double[] z = act(fa, add(mv(g.w[1], x), g.b[1], mv(g.u[1], h), g.c[1]));
                            double[] n;
                            if (gru.linearBeforeReset()) {
                                n = act(ga, add(mv(g.w[2], x), g.b[2], times(r, add(mv(g.u[2], h), g.c[2])), null));
                            } else {
                                n = act(ga, add(mv(g.w[2], x), g.b[2], mv(g.u[2], times(r, h)), g.c[2]));
                            }
                            for (int j = 0; j < hidden; j++) {
                                h[j] = (1 - z[j]) * n[j] + z[j] * h[j];
                            }
                        } else {
                            h = act(fa, add(mv(g.w[0], x), g.b[0], mv(g.u[0], h), g.c[0]));
                        }
                        System.arraycopy(h, 0, next[b][t], d * width, width);
                    }
                    for (int j = 0; j < width; j++) {
                        out.hN().set((float) h[j], slot, b, j);
                    }
                    for (int j = 0; j < hidden && out.cN() != null; j++) {
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

    /**
     * The matrices and bias vectors of one layer and direction, by gate k: {@code w[k]} of W_ih,
     * {@code u[k]} of W_hh, {@code b[k]} of b_ih, {@code c[k]} of b_hh; an LSTM's peepholes {@code p[0..2]}
     * (i, f, o) and projection {@code proj} (W_hr), where it has them.
     */
    private static final class Gates {
        final double[][][] w;
        final double[][][] u;
        final double[][] b;
        final double[][] c;
        final double[][] p;
        final double[][] proj;

        Gates(RnnSpec spec, RnnWeights weights, int layer, int d) {
            int h = spec.hiddenSize();
            int hOut = spec.outputHiddenSize();
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
                u[k] = rows(whh, k * h, h, hOut);
                b[k] = part(bih, k * h, h);
                c[k] = part(bhh, k * h, h);
            }
            boolean peepholes = spec.cell() instanceof Cell.Lstm l && l.peepholes();
            float[] pv = peepholes ? weights.array(RnnWeights.Param.PEEPHOLE, layer, d) : new float[3 * h];
            p = new double[][] {part(pv, 0, h), part(pv, h, h), part(pv, 2 * h, h)};
            proj = spec.projectionSize() > 0
                    ? rows(weights.array(RnnWeights.Param.WEIGHT_HR, layer, d), 0, hOut, h) : null;
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

    /** ONNX's activation functions, written out again here from ONNX's operator documentation. */
    private static double[] act(Activation a, double[] v) {
        double al = a.alpha();
        double be = a.beta();
        double[] r = new double[v.length];
        for (int i = 0; i < r.length; i++) {
            double x = v[i];
            r[i] = switch (a.function()) {
                case RELU -> Math.max(0, x);
                case TANH -> Math.tanh(x);
                case SIGMOID -> 1 / (1 + Math.exp(-x));
                case AFFINE -> al * x + be;
                case LEAKY_RELU -> x < 0 ? al * x : x;
                case THRESHOLDED_RELU -> x > al ? x : 0;
                case SCALED_TANH -> al * Math.tanh(be * x);
                case HARD_SIGMOID -> Math.max(0, Math.min(1, al * x + be));
                case ELU -> x < 0 ? al * (Math.exp(x) - 1) : x;
                case SOFTSIGN -> x / (1 + Math.abs(x));
                case SOFTPLUS -> Math.log(1 + Math.exp(x));
            };
        }
        return r;
    }

    /** Each pre-activation clipped to [-clip, clip] (ONNX's clip). */
    private static double[] clip(double[] v, double clip) {
        double[] r = new double[v.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = Math.max(-clip, Math.min(clip, v[i]));
        }
        return r;
    }
}
