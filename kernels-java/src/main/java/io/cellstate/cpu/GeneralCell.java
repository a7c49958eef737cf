package io.cellstate.cpu;

import io.cellstate.Activation;
import io.cellstate.Cell;
import io.cellstate.RnnSpec;

/**
 * The pointwise parts of a cell with options ({@link Cell#isPlain()} false) for one direction, forward and
 * backward, in float32: the LSTM with peepholes, ONNX's clip, coupled input and forget gates and any
 * activations (its projection is the engine's GEMM on the {@code r} rows this leaves), the GRU of either
 * formula and the RNN with any activations. The equations are the oracle's ({@code scalar.Bptt}: {@code step},
 * {@code cellBackward}). Rows are staged as {@link TrainingPointwise}'s, in blocks of {@code p} floats; the
 * activations run over whole blocks through {@link TrainingPointwise#apply} and
 * {@link TrainingPointwise#derivative} (the backend's vector code for σ and tanh where it has it), the rest
 * in plain loops.
 *
 * <p>Where the plain parts take a gate's slope from its activated value alone, an arbitrary activation needs
 * its argument: the forward parts leave the raw pre-activations (peepholes in, before the clip) in
 * {@code pre}, which the engine keeps beside the activated gates and hands back to the backward parts.
 * The clip's slope is 0 where it held the pre-activation.
 */
final class GeneralCell {
    private final TrainingPointwise pw;
    /** The LSTM's f (i, f, o), g, h; the GRU's f (r, z) and g (n); the RNN's f. */
    private final Activation f;
    private final Activation g;
    private final Activation h;
    private final boolean clipped;
    private final float clip;
    private final boolean inputForget;
    /** Rows of four blocks each: slopes of the gates, and h(c') and h'(c'). */
    private final float[] slope;
    private final float[] hc;

    /**
     * @param spec      the network, of a cell that is not plain
     * @param direction 0 forward, 1 reverse: whose activations
     * @param pw        the backend's pointwise parts, for the activations' runs
     * @param p         floats per block
     */
    GeneralCell(RnnSpec spec, int direction, TrainingPointwise pw, int p) {
        Cell cell = spec.cell();
        this.pw = pw;
        this.f = cell.activation(0, direction);
        this.g = cell.roles() > 1 ? cell.activation(1, direction) : null;
        this.h = cell.roles() > 2 ? cell.activation(2, direction) : null;
        Cell.Lstm lstm = cell instanceof Cell.Lstm l ? l : null;
        this.clipped = lstm != null && lstm.hasClip();
        this.clip = lstm != null ? lstm.clip() : Float.POSITIVE_INFINITY;
        this.inputForget = lstm != null && lstm.inputForget();
        this.slope = new float[4 * p];
        this.hc = new float[2 * p];
    }

    // ---------------------------------------------------------------- LSTM

    /**
     * The LSTM forward of one row: peepholes, clip, activations, {@code c' = f c + i g}, then the output gate
     * (its peephole reads c'), and {@code r = o ⊙ h(c')}, which is h' without a projection.
     *
     * @param gates pre-activations [i | f | g | o] (both products and the biases), activated in place: i,
     *              f (1 − i where coupled), g, o
     * @param pre   receives the raw pre-activations, peepholes included, before the clip
     * @param cPrev c before the step
     * @param peep  the peephole weights in blocks [p_i | p_f | p_o], or null
     * @param cNext receives c'
     * @param r     receives o ⊙ h(c')
     * @param p     floats per block
     */
    void lstm(float[] gates, float[] pre, float[] cPrev, float[] peep, float[] cNext, float[] r, int p) {
        if (peep != null) {
            for (int j = 0; j < p; j++) {
                gates[j] += peep[j] * cPrev[j];
                gates[p + j] += peep[p + j] * cPrev[j];
            }
        }
        System.arraycopy(gates, 0, pre, 0, 3 * p);
        clamp(gates, 0, 3 * p);
        pw.apply(f, gates, 0, inputForget ? p : 2 * p);
        pw.apply(g, gates, 2 * p, p);
        for (int j = 0; j < p; j++) {
            float i = gates[j];
            float fg = inputForget ? 1 - i : gates[p + j];
            gates[p + j] = fg;
            cNext[j] = fg * cPrev[j] + i * gates[2 * p + j];
        }
        if (peep != null) {
            for (int j = 0; j < p; j++) {
                gates[3 * p + j] += peep[2 * p + j] * cNext[j];
            }
        }
        System.arraycopy(gates, 3 * p, pre, 3 * p, p);
        clamp(gates, 3 * p, p);
        pw.apply(f, gates, 3 * p, p);
        System.arraycopy(cNext, 0, r, 0, p);
        pw.apply(h, r, 0, p);
        for (int j = 0; j < p; j++) {
            r[j] *= gates[3 * p + j];
        }
    }

    /**
     * The LSTM backward of one row, from {@code dr = d loss / d r} (the projection's {@code dh' W_hr}, or dh'
     * itself) and the carried dc: the gate gradients and d loss / d c. The peepholes' own gradients are
     * column sums the engine takes after the time loop (of {@code dg ⊙ c}).
     *
     * @param act   the gates as {@link #lstm} left them
     * @param pre   their raw pre-activations
     * @param cPrev c before the step
     * @param cNew  c'
     * @param peep  the peephole weights in blocks [p_i | p_f | p_o], or null
     * @param dr    d loss / d r
     * @param dc    in: d loss / d c' from the later step; out: d loss / d c
     * @param dg    receives [di | df | dg | do] with respect to the pre-activations (df 0 where coupled)
     * @param p     floats per block
     */
    void lstmBackward(float[] act, float[] pre, float[] cPrev, float[] cNew, float[] peep, float[] dr, float[] dc,
                      float[] dg, int p) {
        System.arraycopy(cNew, 0, hc, 0, p);
        pw.apply(h, hc, 0, p);
        pw.derivative(h, cNew, 0, hc, 0, hc, p, p);
        // the gates' slopes at their clipped pre-activations
        System.arraycopy(pre, 0, slope, 0, 4 * p);
        clamp(slope, 0, 4 * p);
        pw.derivative(f, slope, 0, act, 0, slope, 0, inputForget ? p : 2 * p);
        pw.derivative(g, slope, 2 * p, act, 2 * p, slope, 2 * p, p);
        pw.derivative(f, slope, 3 * p, act, 3 * p, slope, 3 * p, p);
        if (clipped) {
            for (int j = 0; j < 4 * p; j++) {
                if (pre[j] > clip || pre[j] < -clip) {
                    slope[j] = 0;
                }
            }
        }
        for (int j = 0; j < p; j++) {
            float i = act[j];
            float fg = act[p + j];
            float o = act[3 * p + j];
            float d = dr[j];
            float dao = d * hc[j] * slope[3 * p + j];
            float dct = dc[j] + d * o * hc[p + j];
            if (peep != null) {
                dct += dao * peep[2 * p + j];
            }
            float di = dct * act[2 * p + j];
            float df = dct * cPrev[j];
            if (inputForget) {
                di -= df;
                df = 0;
            }
            float dai = di * slope[j];
            float daf = inputForget ? 0 : df * slope[p + j];
            dg[j] = dai;
            dg[p + j] = daf;
            dg[2 * p + j] = dct * i * slope[2 * p + j];
            dg[3 * p + j] = dao;
            float dcPrev = dct * fg;
            if (peep != null) {
                dcPrev += dai * peep[j] + daf * peep[p + j];
            }
            dc[j] = dcPrev;
        }
    }

    /** ONNX's clip of {@code v[off, off + n)} to [−clip, clip], in place (NaN stays NaN). */
    private void clamp(float[] v, int off, int n) {
        if (!clipped) {
            return;
        }
        for (int i = off; i < off + n; i++) {
            v[i] = Math.min(clip, Math.max(-clip, v[i]));
        }
    }

    // ---------------------------------------------------------------- GRU, linear before reset

    /**
     * The linear-before-reset GRU forward: r, z = f(gx + gh), n = g(gx_n + r gh_n), h' = n + z (h − n).
     *
     * @param gx    the input projection (b_ih in it), activated in place to [r | z | n]
     * @param gh    {@code W_hh h + b_hh}, read only
     * @param hPrev h before the step
     * @param pre   receives the pre-activations of r, z, n
     * @param hNext receives h'
     * @param p     floats per block
     */
    void gru(float[] gx, float[] gh, float[] hPrev, float[] pre, float[] hNext, int p) {
        for (int j = 0; j < 2 * p; j++) {
            gx[j] += gh[j];
        }
        System.arraycopy(gx, 0, pre, 0, 2 * p);
        pw.apply(f, gx, 0, 2 * p);
        for (int j = 0; j < p; j++) {
            gx[2 * p + j] += gx[j] * gh[2 * p + j];
        }
        System.arraycopy(gx, 2 * p, pre, 2 * p, p);
        pw.apply(g, gx, 2 * p, p);
        blend(gx, hPrev, hNext, p);
    }

    /**
     * The linear-before-reset GRU backward: the input side's {@code [dr | dz | dn]} and the recurrent side's
     * {@code [dr | dz | dn ⊙ r]}.
     *
     * @param act   activated [r | z | n]
     * @param pre   their pre-activations
     * @param hn    {@code W_hn h + b_hn} of the step
     * @param hPrev h before the step
     * @param dh    in: d loss / d h'; out: its direct part of d loss / d h, {@code dh ⊙ z}
     * @param dgx   receives the input side's gate gradients
     * @param dgh   receives the recurrent side's
     * @param p     floats per block
     */
    void gruBackward(float[] act, float[] pre, float[] hn, float[] hPrev, float[] dh, float[] dgx, float[] dgh, int p) {
        pw.derivative(f, pre, 0, act, 0, slope, 0, 2 * p);
        pw.derivative(g, pre, 2 * p, act, 2 * p, slope, 2 * p, p);
        for (int j = 0; j < p; j++) {
            float r = act[j];
            float z = act[p + j];
            float n = act[2 * p + j];
            float d = dh[j];
            float dn = d * (1 - z) * slope[2 * p + j];
            float dz = d * (hPrev[j] - n) * slope[p + j];
            float dr = dn * hn[j] * slope[j];
            dgx[j] = dr;
            dgx[p + j] = dz;
            dgx[2 * p + j] = dn;
            dgh[j] = dr;
            dgh[p + j] = dz;
            dgh[2 * p + j] = dn * r;
            dh[j] = d * z;
        }
    }

    // ---------------------------------------------------------------- GRU, the original formula

    /**
     * The original GRU forward, first part: r, z = f of gx's first two blocks in place, {@code rh = r ⊙ h}.
     *
     * @param gx    pre-activations [r | z | .]
     * @param pre   receives r's and z's
     * @param hPrev h before the step
     * @param rh    receives r ⊙ h
     * @param p     floats per block
     */
    void gruReset(float[] gx, float[] pre, float[] hPrev, float[] rh, int p) {
        System.arraycopy(gx, 0, pre, 0, 2 * p);
        pw.apply(f, gx, 0, 2 * p);
        for (int j = 0; j < p; j++) {
            rh[j] = gx[j] * hPrev[j];
        }
    }

    /**
     * The original GRU forward, second part: n = g of gx's third block in place (holding
     * {@code W_hn (r ⊙ h) + b_hn} and the input's part), {@code h' = n + z (h − n)}.
     *
     * @param gx    [r | z | n pre-activation], z activated
     * @param pre   receives n's pre-activation in its third block
     * @param hPrev h before the step
     * @param hNext receives h'
     * @param p     floats per block
     */
    void gruNew(float[] gx, float[] pre, float[] hPrev, float[] hNext, int p) {
        System.arraycopy(gx, 2 * p, pre, 2 * p, p);
        pw.apply(g, gx, 2 * p, p);
        blend(gx, hPrev, hNext, p);
    }

    /**
     * The original GRU backward, first part: dz and dn into {@code dg}'s last two blocks.
     *
     * @param act   activated [r | z | n]
     * @param pre   their pre-activations
     * @param hPrev h before the step
     * @param dh    in: d loss / d h'; out: {@code dh ⊙ z}
     * @param dg    receives dz and dn in its second and third blocks
     * @param p     floats per block
     */
    void gruNewBackward(float[] act, float[] pre, float[] hPrev, float[] dh, float[] dg, int p) {
        pw.derivative(f, pre, p, act, p, slope, p, p);
        pw.derivative(g, pre, 2 * p, act, 2 * p, slope, 2 * p, p);
        for (int j = 0; j < p; j++) {
            float z = act[p + j];
            float n = act[2 * p + j];
            float d = dh[j];
            dg[p + j] = d * (hPrev[j] - n) * slope[p + j];
            dg[2 * p + j] = d * (1 - z) * slope[2 * p + j];
            dh[j] = d * z;
        }
    }

    /**
     * The original GRU backward, second part, from {@code drh = d loss / d (r ⊙ h)}: dr into {@code dg}'s
     * first block, and {@code dh += drh ⊙ r}.
     *
     * @param act   activated [r | z | n]
     * @param pre   their pre-activations
     * @param hPrev h before the step
     * @param drh   d loss / d (r ⊙ h)
     * @param dh    the direct part of d loss / d h so far, added to
     * @param dg    receives dr in its first block
     * @param p     floats per block
     */
    void gruResetBackward(float[] act, float[] pre, float[] hPrev, float[] drh, float[] dh, float[] dg, int p) {
        pw.derivative(f, pre, 0, act, 0, slope, 0, p);
        for (int j = 0; j < p; j++) {
            dg[j] = drh[j] * hPrev[j] * slope[j];
            dh[j] += drh[j] * act[j];
        }
    }

    /** {@code h' = n + z (h − n)} from gx's z and n blocks. */
    private static void blend(float[] gx, float[] hPrev, float[] hNext, int p) {
        for (int j = 0; j < p; j++) {
            float z = gx[p + j];
            float n = gx[2 * p + j];
            hNext[j] = n + z * (hPrev[j] - n);
        }
    }

    // ---------------------------------------------------------------- RNN

    /**
     * The RNN forward: {@code h' = f(a)}.
     *
     * @param a     the pre-activation
     * @param pre   receives it
     * @param hNext receives h'
     * @param p     floats per block
     */
    void rnn(float[] a, float[] pre, float[] hNext, int p) {
        System.arraycopy(a, 0, pre, 0, p);
        System.arraycopy(a, 0, hNext, 0, p);
        pw.apply(f, hNext, 0, p);
    }

    /**
     * The RNN backward: {@code dg = dh f'(a)}.
     *
     * @param hNext h' of the step
     * @param pre   its pre-activation
     * @param dh    d loss / d h'
     * @param dg    receives d loss / d pre-activation
     * @param p     floats per block
     */
    void rnnBackward(float[] hNext, float[] pre, float[] dh, float[] dg, int p) {
        pw.derivative(f, pre, 0, hNext, 0, dg, 0, p);
        for (int j = 0; j < p; j++) {
            dg[j] *= dh[j];
        }
    }
}
