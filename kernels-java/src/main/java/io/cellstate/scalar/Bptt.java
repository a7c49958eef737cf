package io.cellstate.scalar;

import io.cellstate.Cell;
import io.cellstate.RnnSpec;
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
 * Then {@code dW_ih += d(pre)_x ⊗ x}, {@code dW_hh += d(pre)_h ⊗ h_prev}, the biases take d(pre),
 * {@code dx = W_ih^T d(pre)_x} and {@code dh_prev += W_hh^T d(pre)_h}. A sequence's steps past its
 * length are skipped both ways: its state passes through them, and so does its gradient.
 *
 * <p>With {@code round} set, each step's new h and c are rounded to float32, as every float32 kernel
 * stores them (the oracle's plans run so); unset, the pass is float64 throughout, which is what a
 * finite-difference check of the gradients needs.
 */
final class Bptt {
    private final RnnSpec spec;
    private final int hidden;
    private final int gates;
    /** Per weight slot (layer * D + direction), PyTorch's layouts. */
    final double[][] wIh;
    final double[][] wHh;
    final double[][] bIh;
    final double[][] bHh;

    /**
     * @param spec the network
     * @param wIh  W_ih per slot, [G*H x in_l]
     * @param wHh  W_hh per slot, [G*H x H]
     * @param bIh  b_ih per slot (zeros without bias)
     * @param bHh  b_hh per slot
     */
    Bptt(RnnSpec spec, double[][] wIh, double[][] wHh, double[][] bIh, double[][] bHh) {
        this.spec = spec;
        this.hidden = spec.hiddenSize();
        this.gates = spec.gates();
        this.wIh = wIh;
        this.wHh = wHh;
        this.bIh = bIh;
        this.bHh = bHh;
    }

    /** What a forward pass keeps for the backward pass, per slot and per (t, b). */
    static final class Tape {
        final int steps;
        final int batch;
        final int[] lengths;
        /** Each layer's input, sequence-major [T][B][in_l]. */
        final double[][] layerIn;
        /** Activated gates per slot, [T][B][G*H] (the RNN: h' itself). */
        final double[][] act;
        final double[][] hPrev;
        final double[][] cPrev;
        final double[][] cNew;
        /** The linear-before-reset GRU's W_hn h + b_hn per slot, [T][B][H]. */
        final double[][] phn;

        Tape(RnnSpec spec, int steps, int batch, int[] lengths) {
            this.steps = steps;
            this.batch = batch;
            this.lengths = lengths;
            int n = spec.stateCount();
            int rows = steps * batch;
            int h = spec.hiddenSize();
            layerIn = new double[spec.layers()][];
            act = new double[n][rows * spec.gates() * h];
            hPrev = new double[n][rows * h];
            cPrev = new double[n][spec.cell().hasCellState() ? rows * h : 0];
            cNew = new double[n][spec.cell().hasCellState() ? rows * h : 0];
            phn = new double[n][spec.cell() instanceof Cell.Gru g && g.linearBeforeReset() ? rows * h : 0];
        }

        int length(int b) {
            return lengths == null ? steps : lengths[b];
        }
    }

    /** Gradients of one backward pass: inputs, initial states, and every parameter per slot. */
    static final class Grads {
        final double[] dx;
        final double[] dh0;
        final double[] dc0;
        final double[][] dWih;
        final double[][] dWhh;
        final double[][] dbIh;
        final double[][] dbHh;

        Grads(Bptt m, int steps, int batch) {
            RnnSpec spec = m.spec;
            int n = spec.stateCount();
            dx = new double[steps * batch * spec.inputSize()];
            dh0 = new double[n * batch * spec.hiddenSize()];
            dc0 = new double[n * batch * spec.hiddenSize()];
            dWih = new double[n][];
            dWhh = new double[n][];
            dbIh = new double[n][];
            dbHh = new double[n][];
            for (int s = 0; s < n; s++) {
                dWih[s] = new double[m.wIh[s].length];
                dWhh[s] = new double[m.wHh[s].length];
                dbIh[s] = new double[m.bIh[s].length];
                dbHh[s] = new double[m.bHh[s].length];
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
     * @param h0      [layers*D][B][H], or null for zeros
     * @param c0      [layers*D][B][H] (LSTM), or null for zeros
     * @param round   round each step's h and c to float32
     * @param y       receives the output, sequence-major [T][B][D*H] (0 past a length)
     * @param hN      receives the final h, [layers*D][B][H]
     * @param cN      receives the final c (LSTM), or null
     * @param tape    receives what backward needs, or null
     */
    void forward(double[] x, int steps, int batch, int[] lengths, double[] h0, double[] c0, boolean round,
                 double[] y, double[] hN, double[] cN, Tape tape) {
        int dirs = spec.directions();
        int features = spec.inputSize();
        double[] in = x;
        double[] h = new double[hidden];
        double[] c = new double[hidden];
        double[] hNext = new double[hidden];
        double[] cNext = new double[hidden];
        double[] act = new double[gates * hidden];
        double[] phn = new double[hidden];
        for (int l = 0; l < spec.layers(); l++) {
            int outFeatures = dirs * hidden;
            double[] out = l == spec.layers() - 1 ? y : new double[steps * batch * outFeatures];
            Arrays.fill(out, 0, steps * batch * outFeatures, 0);
            if (tape != null) {
                tape.layerIn[l] = Arrays.copyOf(in, steps * batch * features);
            }
            for (int d = 0; d < dirs; d++) {
                int s = l * dirs + d;
                boolean reversed = spec.direction().reversed(d);
                for (int b = 0; b < batch; b++) {
                    load(h0, s, b, batch, h);
                    load(c0, s, b, batch, c);
                    int len = lengths == null ? steps : lengths[b];
                    for (int i = 0; i < len; i++) {
                        int t = reversed ? len - 1 - i : i;
                        int row = t * batch + b;
                        step(s, in, row * features, features, h, c, hNext, cNext, act, phn);
                        if (round) {
                            for (int j = 0; j < hidden; j++) {
                                hNext[j] = (float) hNext[j];
                                cNext[j] = (float) cNext[j];
                            }
                        }
                        if (tape != null) {
                            System.arraycopy(act, 0, tape.act[s], row * gates * hidden, gates * hidden);
                            System.arraycopy(h, 0, tape.hPrev[s], row * hidden, hidden);
                            if (spec.cell().hasCellState()) {
                                System.arraycopy(c, 0, tape.cPrev[s], row * hidden, hidden);
                                System.arraycopy(cNext, 0, tape.cNew[s], row * hidden, hidden);
                            }
                            if (tape.phn[s].length > 0) {
                                System.arraycopy(phn, 0, tape.phn[s], row * hidden, hidden);
                            }
                        }
                        System.arraycopy(hNext, 0, h, 0, hidden);
                        System.arraycopy(cNext, 0, c, 0, hidden);
                        System.arraycopy(h, 0, out, row * outFeatures + d * hidden, hidden);
                    }
                    store(hN, s, b, batch, h);
                    store(cN, s, b, batch, c);
                }
            }
            in = out;
            features = outFeatures;
        }
    }

    /**
     * One step of one sequence for slot {@code s}: (x, h, c) to (hNext, cNext), the activated gates
     * into {@code act} and the linear-before-reset GRU's {@code W_hn h + b_hn} into {@code phn}.
     */
    void step(int s, double[] x, int xOff, int features, double[] h, double[] c, double[] hNext, double[] cNext,
              double[] act, double[] phn) {
        int rows = gates * hidden;
        double[] px = new double[rows];
        double[] ph = new double[rows];
        double[] wi = wIh[s];
        double[] wh = wHh[s];
        for (int r = 0; r < rows; r++) {
            double a = bIh[s][r];
            for (int k = 0; k < features; k++) {
                a += wi[r * features + k] * x[xOff + k];
            }
            px[r] = a;
            double p = bHh[s][r];
            for (int k = 0; k < hidden; k++) {
                p += wh[r * hidden + k] * h[k];
            }
            ph[r] = p;
        }
        switch (spec.cell()) {
            case Cell.Lstm lstm -> {
                for (int j = 0; j < hidden; j++) {
                    double i = sigmoid(px[j] + ph[j]);
                    double f = sigmoid(px[hidden + j] + ph[hidden + j]);
                    double g = Math.tanh(px[2 * hidden + j] + ph[2 * hidden + j]);
                    double o = sigmoid(px[3 * hidden + j] + ph[3 * hidden + j]);
                    act[j] = i;
                    act[hidden + j] = f;
                    act[2 * hidden + j] = g;
                    act[3 * hidden + j] = o;
                    cNext[j] = cellState(f, c[j], i, g);
                    hNext[j] = o * Math.tanh(cNext[j]);
                }
            }
            case Cell.Gru gru -> {
                for (int j = 0; j < hidden; j++) {
                    act[j] = sigmoid(px[j] + ph[j]);
                    act[hidden + j] = sigmoid(px[hidden + j] + ph[hidden + j]);
                }
                for (int j = 0; j < hidden; j++) {
                    double r = act[j];
                    double z = act[hidden + j];
                    double recurrent;
                    if (gru.linearBeforeReset()) {
                        phn[j] = ph[2 * hidden + j];
                        recurrent = r * phn[j];
                    } else {
                        int row = 2 * hidden + j;
                        recurrent = bHh[s][row];
                        for (int k = 0; k < hidden; k++) {
                            recurrent += wh[row * hidden + k] * (act[k] * h[k]);
                        }
                    }
                    double n = Math.tanh(px[2 * hidden + j] + recurrent);
                    act[2 * hidden + j] = n;
                    hNext[j] = (1 - z) * n + z * h[j];
                }
            }
            case Cell.Rnn rnn -> {
                for (int j = 0; j < hidden; j++) {
                    double a = px[j] + ph[j];
                    hNext[j] = rnn.nonlinearity() == Cell.Nonlinearity.TANH ? Math.tanh(a) : Math.max(0, a);
                    act[j] = hNext[j];
                }
            }
        }
    }

    /**
     * Backpropagation through time of the forward pass on {@code tape}.
     *
     * @param tape what the forward kept
     * @param dy   d loss / d y, sequence-major [T][B][D*H], or null
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
        double[] dh = new double[hidden];
        double[] dc = new double[hidden];
        double[] dpx = new double[rows];
        double[] dph = new double[rows];
        double[] dhPrev = new double[hidden];
        double[] dcPrev = new double[hidden];
        double[] drh = new double[hidden];
        for (int l = spec.layers() - 1; l >= 0; l--) {
            int features = spec.layerInputSize(l);
            double[] in = tape.layerIn[l];
            double[] dIn = l == 0 ? g.dx : new double[steps * batch * features];
            for (int d = 0; d < dirs; d++) {
                int s = l * dirs + d;
                boolean reversed = spec.direction().reversed(d);
                double[] wi = wIh[s];
                double[] wh = wHh[s];
                for (int b = 0; b < batch; b++) {
                    load(dhN, s, b, batch, dh);
                    load(dcN, s, b, batch, dc);
                    int len = tape.length(b);
                    for (int i = len - 1; i >= 0; i--) {
                        int t = reversed ? len - 1 - i : i;
                        int row = t * batch + b;
                        if (dOut != null) {
                            for (int j = 0; j < hidden; j++) {
                                dh[j] += dOut[row * dirs * hidden + d * hidden + j];
                            }
                        }
                        Arrays.fill(dhPrev, 0);
                        cellBackward(s, tape, row, dh, dc, dpx, dph, dhPrev, dcPrev, drh);
                        // weight and bias gradients, and the input's
                        for (int r = 0; r < rows; r++) {
                            g.dbIh[s][r] += dpx[r];
                            g.dbHh[s][r] += dph[r];
                            for (int k = 0; k < features; k++) {
                                g.dWih[s][r * features + k] += dpx[r] * in[row * features + k];
                                dIn[row * features + k] += wi[r * features + k] * dpx[r];
                            }
                            boolean resetN = r >= 2 * hidden && spec.cell() instanceof Cell.Gru gru
                                    && !gru.linearBeforeReset();
                            for (int k = 0; k < hidden; k++) {
                                double hk = tape.hPrev[s][row * hidden + k];
                                if (resetN) {
                                    // the original GRU's n rows multiply r ⊙ h; their h gradient went through drh
                                    g.dWhh[s][r * hidden + k] += dph[r] * tape.act[s][row * rows + k] * hk;
                                } else {
                                    g.dWhh[s][r * hidden + k] += dph[r] * hk;
                                    dhPrev[k] += wh[r * hidden + k] * dph[r];
                                }
                            }
                        }
                        System.arraycopy(dhPrev, 0, dh, 0, hidden);
                        System.arraycopy(dcPrev, 0, dc, 0, hidden);
                    }
                    store(g.dh0, s, b, batch, dh);
                    store(g.dc0, s, b, batch, dc);
                }
            }
            dOut = dIn;
        }
        return g;
    }

    /**
     * One step's cell backward: from dh (the step's output gradient, carry included) and dc,
     * the pre-activation gradients of the x side ({@code dpx}) and the h side ({@code dph}), the
     * part of dh_prev that does not go through W_hh's GEMM (added to {@code dhPrev}), and dc_prev.
     */
    private void cellBackward(int s, Tape tape, int row, double[] dh, double[] dc, double[] dpx, double[] dph,
                              double[] dhPrev, double[] dcPrev, double[] drh) {
        int rows = gates * hidden;
        double[] a = tape.act[s];
        int g0 = row * rows;
        int h0 = row * hidden;
        switch (spec.cell()) {
            case Cell.Lstm lstm -> {
                for (int j = 0; j < hidden; j++) {
                    double i = a[g0 + j];
                    double f = a[g0 + hidden + j];
                    double g = a[g0 + 2 * hidden + j];
                    double o = a[g0 + 3 * hidden + j];
                    double tc = Math.tanh(tape.cNew[s][h0 + j]);
                    double dct = dc[j] + dh[j] * o * (1 - tc * tc);
                    dpx[j] = dct * g * i * (1 - i);
                    dpx[hidden + j] = dct * tape.cPrev[s][h0 + j] * f * (1 - f);
                    dpx[2 * hidden + j] = dct * i * (1 - g * g);
                    dpx[3 * hidden + j] = dh[j] * tc * o * (1 - o);
                    dcPrev[j] = dct * f;
                }
                System.arraycopy(dpx, 0, dph, 0, rows);
            }
            case Cell.Gru gru -> {
                for (int j = 0; j < hidden; j++) {
                    double z = a[g0 + hidden + j];
                    double n = a[g0 + 2 * hidden + j];
                    double hp = tape.hPrev[s][h0 + j];
                    double dn = dh[j] * (1 - z) * (1 - n * n);
                    dpx[2 * hidden + j] = dn;
                    dpx[hidden + j] = dh[j] * (hp - n) * z * (1 - z);
                    dhPrev[j] += dh[j] * z;
                }
                if (gru.linearBeforeReset()) {
                    for (int j = 0; j < hidden; j++) {
                        double r = a[g0 + j];
                        double dn = dpx[2 * hidden + j];
                        dpx[j] = dn * tape.phn[s][h0 + j] * r * (1 - r);
                        dph[2 * hidden + j] = dn * r;
                    }
                } else {
                    // d(r ⊙ h) = W_hn^T dn
                    double[] wh = wHh[s];
                    Arrays.fill(drh, 0);
                    for (int j = 0; j < hidden; j++) {
                        double dn = dpx[2 * hidden + j];
                        for (int k = 0; k < hidden; k++) {
                            drh[k] += wh[(2 * hidden + j) * hidden + k] * dn;
                        }
                    }
                    for (int k = 0; k < hidden; k++) {
                        double r = a[g0 + k];
                        dpx[k] = drh[k] * tape.hPrev[s][h0 + k] * r * (1 - r);
                        dhPrev[k] += drh[k] * r;
                        dph[2 * hidden + k] = dpx[2 * hidden + k];
                    }
                }
                System.arraycopy(dpx, 0, dph, 0, 2 * hidden);
            }
            case Cell.Rnn rnn -> {
                for (int j = 0; j < hidden; j++) {
                    double h = a[g0 + j];
                    dpx[j] = rnn.nonlinearity() == Cell.Nonlinearity.TANH ? dh[j] * (1 - h * h) : h > 0 ? dh[j] : 0;
                }
                System.arraycopy(dpx, 0, dph, 0, rows);
            }
        }
    }

    /** The LSTM's cell update c' = f c + i g. */
    static double cellState(double f, double c, double i, double g) {
        return f * c + i * g;
    }

    static double sigmoid(double x) {
        return 1.0 / (1.0 + Math.exp(-x));
    }

    private void load(double[] state, int slot, int b, int batch, double[] into) {
        if (state == null) {
            Arrays.fill(into, 0);
            return;
        }
        System.arraycopy(state, (slot * batch + b) * hidden, into, 0, hidden);
    }

    private void store(double[] state, int slot, int b, int batch, double[] from) {
        if (state != null) {
            System.arraycopy(from, 0, state, (slot * batch + b) * hidden, hidden);
        }
    }
}
