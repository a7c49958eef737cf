package io.cellstate.scalar;

import io.cellstate.Activation;
import io.cellstate.Cell;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights.Param;
import java.util.Arrays;

/**
 * The oracle's arithmetic in float64: the forward pass of every cell straight from its equations
 * (see {@link ScalarPlan}), keeping on a {@link Tape} what the backward pass needs, and
 * backpropagation through time written from the chain rule, step by step and sequence by sequence,
 * with no GEMM and no fusion, so that nothing in it is shared with the fast kernels it judges.
 *
 * <p>Per step, with a = W_ih x + b_ih (the projection, "px") and W_hh h + b_hh ("ph"):
 * <pre>
 *   LSTM     c' = f c + i g, h' = o tanh(c')
 *            dc~ = dc + dh o (1 - tanh²c'),  do = dh tanh c',  di = dc~ g,  dg = dc~ i,  df = dc~ c
 *            d(pre) = di i(1-i), df f(1-f), dg (1-g²), do o(1-o);  dc_prev = dc~ f
 *   GRU      h' = (1 - z) n + z h;  dn = dh (1-z), dz = dh (h - n), dh_prev = dh z + ...
 *            linear before reset: n = tanh(px_n + r ph_n):  dr = dn(1-n²) ph_n, and the h side of
 *            the n block is dn(1-n²) r
 *            original: n = tanh(px_n + W_hn (r h) + b_hn):  d(r h) = W_hn^T dn(1-n²),
 *            dr = d(r h) h, dh_prev += d(r h) r, and W_hn's gradient is against r h
 *   RNN      h' = tanh(a) or max(0, a):  d(pre) = dh (1 - h'²) or dh [h' > 0]
 * </pre>
 * With the cell's options ({@link Cell.Lstm}: peepholes, clip, coupled gates, projection; any
 * {@link Activation}), the same chain rule: each gate's derivative is its activation's at the raw
 * pre-activation, times 0 where the clip held it; a peephole adds {@code d(pre) p} to dc (o's to dc',
 * i's and f's to dc_prev) and {@code d(pre) c} to p's gradient; f = 1 − i sends −df to i; and a
 * projection h' = W_hr r makes {@code dr = W_hr^T dh'} the gradient the cell sees, with
 * {@code dW_hr += dh' ⊗ r}.
 * Then {@code dW_ih += d(pre)_x ⊗ x}, {@code dW_hh += d(pre)_h ⊗ h_prev}, the biases take d(pre),
 * {@code dx = W_ih^T d(pre)_x} and {@code dh_prev += W_hh^T d(pre)_h}. A sequence's steps past its
 * length are skipped both ways: its state passes through them, and so does its gradient.
 *
 * <p>With {@code round} set, each step's new h and c are rounded to float32, as every float32 kernel
 * stores them (the oracle's plans run so); unset, the pass is float64 throughout, which is what a
 * finite-difference check of the gradients needs.
 */
final class Bptt {
    private static final int WIH = Param.WEIGHT_IH.ordinal();
    private static final int WHH = Param.WEIGHT_HH.ordinal();
    private static final int BIH = Param.BIAS_IH.ordinal();
    private static final int BHH = Param.BIAS_HH.ordinal();
    private static final int WHR = Param.WEIGHT_HR.ordinal();
    private static final int PEEP = Param.PEEPHOLE.ordinal();

    private final RnnSpec spec;
    /** H, the cell's width; H_out, h's (P when projected); G. */
    private final int hidden;
    private final int out;
    private final int gates;
    private final int proj;
    private final Cell.Lstm lstm;
    private final double clip;
    /**
     * Per {@link Param} ordinal and weight slot (layer * D + direction), PyTorch's layouts: W_ih [G*H x in_l],
     * W_hh [G*H x H_out], b_ih and b_hh [G*H] (zeros without bias), W_hr [P x H], the peepholes [3H] (i, f, o;
     * zeros without them).
     */
    final double[][][] w;

    /**
     * @param spec the network
     * @param w    every parameter per {@link Param} ordinal and slot; W_hr and the peepholes may be empty
     *             where the cell has none
     */
    Bptt(RnnSpec spec, double[][][] w) {
        this.spec = spec;
        this.hidden = spec.hiddenSize();
        this.out = spec.outputHiddenSize();
        this.gates = spec.gates();
        this.proj = spec.projectionSize();
        this.lstm = spec.cell() instanceof Cell.Lstm l ? l : null;
        this.clip = lstm != null && lstm.hasClip() ? lstm.clip() : Double.POSITIVE_INFINITY;
        this.w = w;
    }

    /** What a forward pass keeps for the backward pass, per slot and per (t, b). */
    static final class Tape {
        final int steps;
        final int batch;
        final int[] lengths;
        /** Each layer's input, sequence-major [T][B][in_l]. */
        final double[][] layerIn;
        /** Activated gates per slot, [T][B][G*H]. */
        final double[][] act;
        /** The gates' pre-activations before any clip, [T][B][G*H] (the original GRU's n: with W_hn (r ⊙ h) + b_hn). */
        final double[][] pre;
        /** h before the step, [T][B][H_out]. */
        final double[][] hPrev;
        final double[][] cPrev;
        final double[][] cNew;
        /** The linear-before-reset GRU's W_hn h + b_hn per slot, [T][B][H]. */
        final double[][] phn;
        /** A projected LSTM's r = o ⊙ h(c') per slot, [T][B][H]. */
        final double[][] r;

        Tape(RnnSpec spec, int steps, int batch, int[] lengths) {
            this.steps = steps;
            this.batch = batch;
            this.lengths = lengths;
            int n = spec.stateCount();
            int rows = steps * batch;
            int h = spec.hiddenSize();
            layerIn = new double[spec.layers()][];
            act = new double[n][rows * spec.gates() * h];
            pre = new double[n][rows * spec.gates() * h];
            hPrev = new double[n][rows * spec.outputHiddenSize()];
            cPrev = new double[n][spec.cell().hasCellState() ? rows * h : 0];
            cNew = new double[n][spec.cell().hasCellState() ? rows * h : 0];
            phn = new double[n][spec.cell() instanceof Cell.Gru g && g.linearBeforeReset() ? rows * h : 0];
            r = new double[n][spec.projectionSize() > 0 ? rows * h : 0];
        }

        int length(int b) {
            return lengths == null ? steps : lengths[b];
        }
    }

    /** Gradients of one backward pass: inputs, initial states, and every parameter per {@link Param} and slot. */
    static final class Grads {
        final double[] dx;
        final double[] dh0;
        final double[] dc0;
        /** Like {@link Bptt#w}. */
        final double[][][] dw;

        Grads(Bptt m, int steps, int batch) {
            RnnSpec spec = m.spec;
            int n = spec.stateCount();
            dx = new double[steps * batch * spec.inputSize()];
            dh0 = new double[n * batch * spec.outputHiddenSize()];
            dc0 = new double[n * batch * spec.hiddenSize()];
            dw = new double[m.w.length][n][];
            for (int p = 0; p < m.w.length; p++) {
                for (int s = 0; s < n; s++) {
                    dw[p][s] = new double[m.w[p][s].length];
                }
            }
        }
    }

    /**
     * The forward pass.
     *
     * @param x       input, sequence-major [T][B][inputSize]
     * @param steps   T
     * @param batch   B
     * @param lengths per sequence, or null for all T
     * @param h0      [layers*D][B][H_out], or null for zeros
     * @param c0      [layers*D][B][H] (LSTM), or null for zeros
     * @param round   round each step's h and c to float32
     * @param y       receives the output, sequence-major [T][B][D*H_out] (0 past a length)
     * @param hN      receives the final h, [layers*D][B][H_out]
     * @param cN      receives the final c (LSTM), [layers*D][B][H], or null
     * @param tape    receives what backward needs, or null
     */
    void forward(double[] x, int steps, int batch, int[] lengths, double[] h0, double[] c0, boolean round,
                 double[] y, double[] hN, double[] cN, Tape tape) {
        int dirs = spec.directions();
        int features = spec.inputSize();
        double[] in = x;
        double[] h = new double[out];
        double[] c = new double[hidden];
        double[] hNext = new double[out];
        double[] cNext = new double[hidden];
        double[] act = new double[gates * hidden];
        double[] pre = new double[gates * hidden];
        double[] phn = new double[hidden];
        double[] r = new double[hidden];
        for (int l = 0; l < spec.layers(); l++) {
            int outFeatures = dirs * out;
            double[] o = l == spec.layers() - 1 ? y : new double[steps * batch * outFeatures];
            Arrays.fill(o, 0, steps * batch * outFeatures, 0);
            if (tape != null) {
                tape.layerIn[l] = Arrays.copyOf(in, steps * batch * features);
            }
            for (int d = 0; d < dirs; d++) {
                int s = l * dirs + d;
                boolean reversed = spec.direction().reversed(d);
                for (int b = 0; b < batch; b++) {
                    load(h0, s, b, batch, h, out);
                    load(c0, s, b, batch, c, hidden);
                    int len = lengths == null ? steps : lengths[b];
                    for (int i = 0; i < len; i++) {
                        int t = reversed ? len - 1 - i : i;
                        int row = t * batch + b;
                        step(s, d, in, row * features, features, h, c, hNext, cNext, act, pre, phn, r, round);
                        if (round) {
                            for (int j = 0; j < out; j++) {
                                hNext[j] = (float) hNext[j];
                            }
                        }
                        if (tape != null) {
                            System.arraycopy(act, 0, tape.act[s], row * gates * hidden, gates * hidden);
                            System.arraycopy(pre, 0, tape.pre[s], row * gates * hidden, gates * hidden);
                            System.arraycopy(h, 0, tape.hPrev[s], row * out, out);
                            if (spec.cell().hasCellState()) {
                                System.arraycopy(c, 0, tape.cPrev[s], row * hidden, hidden);
                                System.arraycopy(cNext, 0, tape.cNew[s], row * hidden, hidden);
                            }
                            if (tape.phn[s].length > 0) {
                                System.arraycopy(phn, 0, tape.phn[s], row * hidden, hidden);
                            }
                            if (proj > 0) {
                                System.arraycopy(r, 0, tape.r[s], row * hidden, hidden);
                            }
                        }
                        System.arraycopy(hNext, 0, h, 0, out);
                        System.arraycopy(cNext, 0, c, 0, hidden);
                        System.arraycopy(h, 0, o, row * outFeatures + d * out, out);
                    }
                    store(hN, s, b, batch, h, out);
                    store(cN, s, b, batch, c, hidden);
                }
            }
            in = o;
            features = outFeatures;
        }
    }

    /**
     * One step of one sequence for slot {@code s} (direction {@code d}): (x, h, c) to (hNext, cNext), the
     * activated gates into {@code act}, their raw pre-activations into {@code pre}, the linear-before-reset
     * GRU's {@code W_hn h + b_hn} into {@code phn}, and a projected LSTM's {@code o ⊙ h(c')} into {@code r}.
     * With {@code round}, c' is rounded to float32 before the output gate's peephole and h read it, as a
     * float32 kernel stores it.
     */
    void step(int s, int d, double[] x, int xOff, int features, double[] h, double[] c, double[] hNext,
              double[] cNext, double[] act, double[] pre, double[] phn, double[] r, boolean round) {
        int rows = gates * hidden;
        double[] px = new double[rows];
        double[] ph = new double[rows];
        double[] wi = w[WIH][s];
        double[] wh = w[WHH][s];
        for (int q = 0; q < rows; q++) {
            double a = w[BIH][s][q];
            for (int k = 0; k < features; k++) {
                a += wi[q * features + k] * x[xOff + k];
            }
            px[q] = a;
            double p = w[BHH][s][q];
            for (int k = 0; k < out; k++) {
                p += wh[q * out + k] * h[k];
            }
            ph[q] = p;
        }
        Cell cell = spec.cell();
        Activation f = cell.activation(0, d);
        switch (cell) {
            case Cell.Lstm unused -> {
                Activation g = cell.activation(1, d);
                Activation hAct = cell.activation(2, d);
                double[] peep = lstm.peepholes() ? w[PEEP][s] : null;
                for (int j = 0; j < hidden; j++) {
                    double ai = px[j] + ph[j];
                    double af = px[hidden + j] + ph[hidden + j];
                    double ag = px[2 * hidden + j] + ph[2 * hidden + j];
                    if (peep != null) {
                        ai += peep[j] * c[j];
                        af += peep[hidden + j] * c[j];
                    }
                    pre[j] = ai;
                    pre[hidden + j] = af;
                    pre[2 * hidden + j] = ag;
                    double i = f.apply(clip(ai));
                    double fg = lstm.inputForget() ? 1 - i : f.apply(clip(af));
                    double gg = g.apply(clip(ag));
                    act[j] = i;
                    act[hidden + j] = fg;
                    act[2 * hidden + j] = gg;
                    double cn = cellState(fg, c[j], i, gg);
                    cNext[j] = round ? (float) cn : cn;
                    double ao = px[3 * hidden + j] + ph[3 * hidden + j];
                    if (peep != null) {
                        ao += peep[2 * hidden + j] * cNext[j];
                    }
                    pre[3 * hidden + j] = ao;
                    double o = f.apply(clip(ao));
                    act[3 * hidden + j] = o;
                    r[j] = o * hAct.apply(cNext[j]);
                }
                if (proj > 0) {
                    double[] wr = w[WHR][s];
                    for (int k = 0; k < proj; k++) {
                        double a = 0;
                        for (int j = 0; j < hidden; j++) {
                            a += wr[k * hidden + j] * r[j];
                        }
                        hNext[k] = a;
                    }
                } else {
                    System.arraycopy(r, 0, hNext, 0, hidden);
                }
            }
            case Cell.Gru gru -> {
                Activation g = cell.activation(1, d);
                for (int j = 0; j < 2 * hidden; j++) {
                    pre[j] = px[j] + ph[j];
                    act[j] = f.apply(pre[j]);
                }
                for (int j = 0; j < hidden; j++) {
                    double rr = act[j];
                    double z = act[hidden + j];
                    double recurrent;
                    if (gru.linearBeforeReset()) {
                        phn[j] = ph[2 * hidden + j];
                        recurrent = rr * phn[j];
                    } else {
                        int q = 2 * hidden + j;
                        recurrent = w[BHH][s][q];
                        for (int k = 0; k < hidden; k++) {
                            recurrent += wh[q * hidden + k] * (act[k] * h[k]);
                        }
                    }
                    pre[2 * hidden + j] = px[2 * hidden + j] + recurrent;
                    double n = g.apply(pre[2 * hidden + j]);
                    act[2 * hidden + j] = n;
                    hNext[j] = (1 - z) * n + z * h[j];
                }
            }
            case Cell.Rnn unused -> {
                for (int j = 0; j < hidden; j++) {
                    pre[j] = px[j] + ph[j];
                    hNext[j] = f.apply(pre[j]);
                    act[j] = hNext[j];
                }
            }
        }
    }

    /** ONNX's clip of a pre-activation. */
    private double clip(double a) {
        return Math.min(clip, Math.max(-clip, a));
    }

    /** The clip's derivative: 0 where it held the pre-activation. */
    private double clipSlope(double a) {
        return a > clip || a < -clip ? 0 : 1;
    }

    /**
     * Backpropagation through time of the forward pass on {@code tape}.
     *
     * @param tape what the forward kept
     * @param dy   d loss / d y, sequence-major [T][B][D*H_out], or null
     * @param dhN  d loss / d hN, or null
     * @param dcN  d loss / d cN, or null
     * @return every gradient
     */
    Grads backward(Tape tape, double[] dy, double[] dhN, double[] dcN) {
        int steps = tape.steps;
        int batch = tape.batch;
        int dirs = spec.directions();
        int rows = gates * hidden;
        Grads g = new Grads(this, steps, batch);
        double[] dOut = dy;
        double[] dh = new double[out];
        double[] dc = new double[hidden];
        double[] dr = new double[hidden];
        double[] dpx = new double[rows];
        double[] dph = new double[rows];
        double[] dhPrev = new double[out];
        double[] dcPrev = new double[hidden];
        double[] drh = new double[hidden];
        for (int l = spec.layers() - 1; l >= 0; l--) {
            int features = spec.layerInputSize(l);
            double[] in = tape.layerIn[l];
            double[] dIn = l == 0 ? g.dx : new double[steps * batch * features];
            for (int d = 0; d < dirs; d++) {
                int s = l * dirs + d;
                boolean reversed = spec.direction().reversed(d);
                double[] wi = w[WIH][s];
                double[] wh = w[WHH][s];
                for (int b = 0; b < batch; b++) {
                    load(dhN, s, b, batch, dh, out);
                    load(dcN, s, b, batch, dc, hidden);
                    int len = tape.length(b);
                    for (int i = len - 1; i >= 0; i--) {
                        int t = reversed ? len - 1 - i : i;
                        int row = t * batch + b;
                        if (dOut != null) {
                            for (int j = 0; j < out; j++) {
                                dh[j] += dOut[row * dirs * out + d * out + j];
                            }
                        }
                        if (proj > 0) {
                            // h' = W_hr r: dr = W_hr^T dh', dW_hr += dh' ⊗ r
                            double[] wr = w[WHR][s];
                            Arrays.fill(dr, 0);
                            for (int k = 0; k < proj; k++) {
                                for (int j = 0; j < hidden; j++) {
                                    dr[j] += wr[k * hidden + j] * dh[k];
                                    g.dw[WHR][s][k * hidden + j] += dh[k] * tape.r[s][row * hidden + j];
                                }
                            }
                        } else {
                            System.arraycopy(dh, 0, dr, 0, out);
                        }
                        Arrays.fill(dhPrev, 0);
                        cellBackward(s, d, tape, row, dr, dc, dpx, dph, dhPrev, dcPrev, drh, g);
                        // weight and bias gradients, and the input's
                        for (int q = 0; q < rows; q++) {
                            g.dw[BIH][s][q] += dpx[q];
                            g.dw[BHH][s][q] += dph[q];
                            for (int k = 0; k < features; k++) {
                                g.dw[WIH][s][q * features + k] += dpx[q] * in[row * features + k];
                                dIn[row * features + k] += wi[q * features + k] * dpx[q];
                            }
                            boolean resetN = q >= 2 * hidden && spec.cell() instanceof Cell.Gru gru
                                    && !gru.linearBeforeReset();
                            for (int k = 0; k < out; k++) {
                                double hk = tape.hPrev[s][row * out + k];
                                if (resetN) {
                                    // the original GRU's n rows multiply r ⊙ h; their h gradient went through drh
                                    g.dw[WHH][s][q * out + k] += dph[q] * tape.act[s][row * rows + k] * hk;
                                } else {
                                    g.dw[WHH][s][q * out + k] += dph[q] * hk;
                                    dhPrev[k] += wh[q * out + k] * dph[q];
                                }
                            }
                        }
                        System.arraycopy(dhPrev, 0, dh, 0, out);
                        System.arraycopy(dcPrev, 0, dc, 0, hidden);
                    }
                    store(g.dh0, s, b, batch, dh, out);
                    store(g.dc0, s, b, batch, dc, hidden);
                }
            }
            dOut = dIn;
        }
        return g;
    }

    /**
     * One step's cell backward: from dr (d loss / d of the cell's output before any projection, carry
     * included) and dc, the pre-activation gradients of the x side ({@code dpx}) and the h side
     * ({@code dph}), the part of dh_prev that does not go through W_hh's GEMM (added to {@code dhPrev}),
     * dc_prev, and the peepholes' gradients.
     */
    private void cellBackward(int s, int d, Tape tape, int row, double[] dr, double[] dc, double[] dpx, double[] dph,
                              double[] dhPrev, double[] dcPrev, double[] drh, Grads grads) {
        int rows = gates * hidden;
        double[] a = tape.act[s];
        double[] pre = tape.pre[s];
        int g0 = row * rows;
        int h0 = row * hidden;
        Cell cell = spec.cell();
        Activation fAct = cell.activation(0, d);
        switch (cell) {
            case Cell.Lstm unused -> {
                Activation gAct = cell.activation(1, d);
                Activation hAct = cell.activation(2, d);
                double[] peep = lstm.peepholes() ? w[PEEP][s] : null;
                double[] dPeep = lstm.peepholes() ? grads.dw[PEEP][s] : null;
                for (int j = 0; j < hidden; j++) {
                    double i = a[g0 + j];
                    double f = a[g0 + hidden + j];
                    double g = a[g0 + 2 * hidden + j];
                    double o = a[g0 + 3 * hidden + j];
                    double cPrev = tape.cPrev[s][h0 + j];
                    double cNew = tape.cNew[s][h0 + j];
                    double ao = pre[g0 + 3 * hidden + j];
                    double dao = dr[j] * hAct.apply(cNew) * fAct.derivative(clip(ao)) * clipSlope(ao);
                    double dct = dc[j] + dr[j] * o * hAct.derivative(cNew);
                    if (peep != null) {
                        dct += dao * peep[2 * hidden + j];
                        dPeep[2 * hidden + j] += dao * cNew;
                    }
                    double di = dct * g;
                    double df = dct * cPrev;
                    if (lstm.inputForget()) {
                        di -= df;
                        df = 0;
                    }
                    double ai = pre[g0 + j];
                    double af = pre[g0 + hidden + j];
                    double ag = pre[g0 + 2 * hidden + j];
                    double dai = di * fAct.derivative(clip(ai)) * clipSlope(ai);
                    double daf = lstm.inputForget() ? 0 : df * fAct.derivative(clip(af)) * clipSlope(af);
                    dpx[j] = dai;
                    dpx[hidden + j] = daf;
                    dpx[2 * hidden + j] = dct * i * gAct.derivative(clip(ag)) * clipSlope(ag);
                    dpx[3 * hidden + j] = dao;
                    dcPrev[j] = dct * f;
                    if (peep != null) {
                        dcPrev[j] += dai * peep[j] + daf * peep[hidden + j];
                        dPeep[j] += dai * cPrev;
                        dPeep[hidden + j] += daf * cPrev;
                    }
                }
                System.arraycopy(dpx, 0, dph, 0, rows);
            }
            case Cell.Gru gru -> {
                Activation gAct = cell.activation(1, d);
                for (int j = 0; j < hidden; j++) {
                    double z = a[g0 + hidden + j];
                    double n = a[g0 + 2 * hidden + j];
                    double hp = tape.hPrev[s][h0 + j];
                    double dn = dr[j] * (1 - z) * gAct.derivative(pre[g0 + 2 * hidden + j]);
                    dpx[2 * hidden + j] = dn;
                    dpx[hidden + j] = dr[j] * (hp - n) * fAct.derivative(pre[g0 + hidden + j]);
                    dhPrev[j] += dr[j] * z;
                }
                if (gru.linearBeforeReset()) {
                    for (int j = 0; j < hidden; j++) {
                        double r = a[g0 + j];
                        double dn = dpx[2 * hidden + j];
                        dpx[j] = dn * tape.phn[s][h0 + j] * fAct.derivative(pre[g0 + j]);
                        dph[2 * hidden + j] = dn * r;
                    }
                } else {
                    // d(r ⊙ h) = W_hn^T dn
                    double[] wh = w[WHH][s];
                    Arrays.fill(drh, 0);
                    for (int j = 0; j < hidden; j++) {
                        double dn = dpx[2 * hidden + j];
                        for (int k = 0; k < hidden; k++) {
                            drh[k] += wh[(2 * hidden + j) * hidden + k] * dn;
                        }
                    }
                    for (int k = 0; k < hidden; k++) {
                        double r = a[g0 + k];
                        dpx[k] = drh[k] * tape.hPrev[s][h0 + k] * fAct.derivative(pre[g0 + k]);
                        dhPrev[k] += drh[k] * r;
                        dph[2 * hidden + k] = dpx[2 * hidden + k];
                    }
                }
                System.arraycopy(dpx, 0, dph, 0, 2 * hidden);
            }
            case Cell.Rnn unused -> {
                for (int j = 0; j < hidden; j++) {
                    dpx[j] = dr[j] * fAct.derivative(pre[g0 + j]);
                }
                System.arraycopy(dpx, 0, dph, 0, rows);
            }
        }
    }

    /** The LSTM's cell update c' = f c + i g. */
    static double cellState(double f, double c, double i, double g) {
        return f * c + i * g;
    }

    private static void load(double[] state, int slot, int b, int batch, double[] into, int width) {
        if (state == null) {
            Arrays.fill(into, 0);
            return;
        }
        System.arraycopy(state, (slot * batch + b) * width, into, 0, width);
    }

    private static void store(double[] state, int slot, int b, int batch, double[] from, int width) {
        if (state != null) {
            System.arraycopy(from, 0, state, (slot * batch + b) * width, width);
        }
    }
}
