package io.cellstate.cpu;

import io.cellstate.Activation;

/**
 * The pointwise parts of the training engine ({@link TrainingEngine}), forward and backward, over one
 * batch row staged in heap arrays: gate rows in blocks {@code [g0 | g1 | ...]} of {@code p} floats
 * each, state rows of {@code p} floats, every array starting at 0. {@code p} is a multiple of
 * {@link #alignment()} and at least H; the lanes past H are scratch, whose values never reach the
 * first H (every operation is lane by lane). Forward parts turn pre-activations into activated gates
 * in place, which the backward parts read; backward parts write the gradients with respect to the
 * gate pre-activations ({@code dg}) and carry the state gradients. The engine calls an implementation from
 * several threads at once (each with its own rows' arrays), so it keeps no state of its own.
 */
public interface TrainingPointwise {

    /**
     * The LSTM forward: i, f, o = σ, g = tanh of {@code gates} in place; {@code c' = f c + i g},
     * {@code h' = o tanh(c')}.
     *
     * @param gates pre-activations [i | f | g | o], activated in place
     * @param cPrev c before the step
     * @param cNext receives c'
     * @param hNext receives h'
     * @param p     floats per block
     */
    void lstm(float[] gates, float[] cPrev, float[] cNext, float[] hNext, int p);

    /**
     * The linear-before-reset GRU forward: r, z = σ(gx + gh), n = tanh(gx_n + r gh_n),
     * {@code h' = n + z (h - n)}; gx becomes [r | z | n].
     *
     * @param gx    the input projection (b_ih in it), activated in place
     * @param gh    {@code W_hh h + b_hh}, read only
     * @param hPrev h before the step
     * @param hNext receives h'
     * @param p     floats per block
     */
    void gru(float[] gx, float[] gh, float[] hPrev, float[] hNext, int p);

    /**
     * The original GRU forward, first part: r, z = σ of gx's first two blocks in place, and
     * {@code rh = r ⊙ h}.
     *
     * @param gx    pre-activations [r | z | .] (every product and bias in them)
     * @param hPrev h before the step
     * @param rh    receives r ⊙ h
     * @param p     floats per block
     */
    void gruReset(float[] gx, float[] hPrev, float[] rh, int p);

    /**
     * The original GRU forward, second part: n = tanh of gx's third block in place (its
     * pre-activation holding {@code W_hn (r ⊙ h) + b_hn}), {@code h' = n + z (h - n)}.
     *
     * @param gx    [r | z | n pre-activation], z activated
     * @param hPrev h before the step
     * @param hNext receives h'
     * @param p     floats per block
     */
    void gruNew(float[] gx, float[] hPrev, float[] hNext, int p);

    /**
     * The Elman RNN forward: {@code h' = tanh(a)} or {@code max(0, a)}.
     *
     * @param a     the pre-activation
     * @param hNext receives h' (what the backward part reads as the activated gate)
     * @param p     floats per block
     * @param relu  ReLU, else tanh
     */
    void rnn(float[] a, float[] hNext, int p, boolean relu);

    /**
     * The LSTM backward: from dh (d loss / d h', the output's and the later step's) and dc (the later
     * step's d loss / d c'), the gate gradients and d loss / d c.
     *
     * @param act   activated [i | f | g | o]
     * @param cPrev c before the step
     * @param c     c' (overwritten with tanh(c'))
     * @param dh    d loss / d h'
     * @param dc    in: d loss / d c' from the later step; out: d loss / d c
     * @param dg    receives [di | df | dg | do] with respect to the pre-activations
     * @param p     floats per block
     */
    void lstmBackward(float[] act, float[] cPrev, float[] c, float[] dh, float[] dc, float[] dg, int p);

    /**
     * The linear-before-reset GRU backward. The input side's gradient {@code dgx = [dr | dz | dn]}
     * differs from the recurrent side's {@code dgh = [dr | dz | dn ⊙ r]} in the n block.
     *
     * @param act   activated [r | z | n]
     * @param hn    {@code W_hn h + b_hn} of the step
     * @param hPrev h before the step
     * @param dh    in: d loss / d h'; out: its direct part of d loss / d h, {@code dh ⊙ z}
     * @param dgx   receives the input side's gate gradients
     * @param dgh   receives the recurrent side's gate gradients
     * @param p     floats per block
     */
    void gruBackward(float[] act, float[] hn, float[] hPrev, float[] dh, float[] dgx, float[] dgh, int p);

    /**
     * The original GRU backward, first part: dn and dz into {@code dg}'s last two blocks.
     *
     * @param act   activated [r | z | n]
     * @param hPrev h before the step
     * @param dh    in: d loss / d h'; out: {@code dh ⊙ z}
     * @param dg    receives dz and dn in its second and third blocks
     * @param p     floats per block
     */
    void gruNewBackward(float[] act, float[] hPrev, float[] dh, float[] dg, int p);

    /**
     * The original GRU backward, second part, from {@code drh = d loss / d (r ⊙ h) = dn W_hn}: dr into
     * {@code dg}'s first block, and {@code dh += drh ⊙ r}.
     *
     * @param act   activated [r | z | n]
     * @param hPrev h before the step
     * @param drh   d loss / d (r ⊙ h)
     * @param dh    the direct part of d loss / d h so far, added to
     * @param dg    receives dr in its first block
     * @param p     floats per block
     */
    void gruResetBackward(float[] act, float[] hPrev, float[] drh, float[] dh, float[] dg, int p);

    /**
     * The Elman RNN backward: {@code dg = dh (1 - h'^2)} or {@code dh [h' > 0]}.
     *
     * @param h    h' of the step
     * @param dh   d loss / d h'
     * @param dg   receives d loss / d pre-activation
     * @param p    floats per block
     * @param relu ReLU, else tanh
     */
    void rnnBackward(float[] h, float[] dh, float[] dg, int p, boolean relu);

    /**
     * {@code a} applied in place to {@code v[off, off + n)}: the runs of the cells with options
     * ({@link GeneralCell}), whose activations are any of {@link Activation}'s. {@code n} is a multiple of
     * {@link #alignment()}. By default {@link Activation#apply(float)} one lane at a time (float64, rounded
     * once); an implementation may compute the functions it has faster, within a few ulp.
     *
     * @param a   the activation
     * @param v   the values, activated in place
     * @param off the first
     * @param n   how many
     */
    default void apply(Activation a, float[] v, int off, int n) {
        for (int i = off; i < off + n; i++) {
            v[i] = a.apply(v[i]);
        }
    }

    /**
     * {@code into[intoOff + i] = a'(x[xOff + i])} for {@code i < n}, where {@code y[yOff + i] = a(x[xOff + i])}
     * as {@link #apply} left it: sigmoid and tanh take their slopes from y ({@code y (1 - y)},
     * {@code 1 - y²}, as the plain cells do), the others from x ({@link Activation#derivative(float)}).
     * {@code into} may be {@code x} or {@code y} at the same offset (lane by lane); {@code n} is a multiple of
     * {@link #alignment()}.
     *
     * @param a       the activation
     * @param x       its arguments
     * @param xOff    the first
     * @param y       its values there
     * @param yOff    the first
     * @param into    receives the slopes
     * @param intoOff the first
     * @param n       how many
     */
    default void derivative(Activation a, float[] x, int xOff, float[] y, int yOff, float[] into, int intoOff, int n) {
        switch (a.function()) {
            case SIGMOID -> {
                for (int i = 0; i < n; i++) {
                    float v = y[yOff + i];
                    into[intoOff + i] = v * (1 - v);
                }
            }
            case TANH -> {
                for (int i = 0; i < n; i++) {
                    float v = y[yOff + i];
                    into[intoOff + i] = 1 - v * v;
                }
            }
            default -> {
                for (int i = 0; i < n; i++) {
                    into[intoOff + i] = a.derivative(x[xOff + i]);
                }
            }
        }
    }

    /**
     * The multiple that {@code p} must be.
     *
     * @return the vector lanes; 1 for scalar code
     */
    int alignment();

    /**
     * Plain Java, float32 with {@link Math#exp} and {@link Math#tanh} rounded.
     *
     * @return the scalar implementation
     */
    static TrainingPointwise scalar() {
        return new Scalar();
    }

    /** Plain Java: the equations in float32, one lane at a time, up to H. */
    final class Scalar implements TrainingPointwise {
        private static float sigmoid(float x) {
            return Pointwise.ScalarPointwise.sigmoid(x);
        }

        private static float tanh(float x) {
            return (float) Math.tanh(x);
        }

        @Override
        public void lstm(float[] gates, float[] cPrev, float[] cNext, float[] hNext, int p) {
            for (int j = 0; j < p; j++) {
                float i = sigmoid(gates[j]);
                float f = sigmoid(gates[p + j]);
                float g = tanh(gates[2 * p + j]);
                float o = sigmoid(gates[3 * p + j]);
                gates[j] = i;
                gates[p + j] = f;
                gates[2 * p + j] = g;
                gates[3 * p + j] = o;
                float c = f * cPrev[j] + i * g;
                cNext[j] = c;
                hNext[j] = o * tanh(c);
            }
        }

        @Override
        public void gru(float[] gx, float[] gh, float[] hPrev, float[] hNext, int p) {
            for (int j = 0; j < p; j++) {
                float r = sigmoid(gx[j] + gh[j]);
                float z = sigmoid(gx[p + j] + gh[p + j]);
                float n = tanh(gx[2 * p + j] + r * gh[2 * p + j]);
                gx[j] = r;
                gx[p + j] = z;
                gx[2 * p + j] = n;
                hNext[j] = n + z * (hPrev[j] - n);
            }
        }

        @Override
        public void gruReset(float[] gx, float[] hPrev, float[] rh, int p) {
            for (int j = 0; j < p; j++) {
                float r = sigmoid(gx[j]);
                gx[j] = r;
                gx[p + j] = sigmoid(gx[p + j]);
                rh[j] = r * hPrev[j];
            }
        }

        @Override
        public void gruNew(float[] gx, float[] hPrev, float[] hNext, int p) {
            for (int j = 0; j < p; j++) {
                float z = gx[p + j];
                float n = tanh(gx[2 * p + j]);
                gx[2 * p + j] = n;
                hNext[j] = n + z * (hPrev[j] - n);
            }
        }

        @Override
        public void rnn(float[] a, float[] hNext, int p, boolean relu) {
            for (int j = 0; j < p; j++) {
                hNext[j] = relu ? Math.max(0f, a[j]) : tanh(a[j]);
            }
        }

        @Override
        public void lstmBackward(float[] act, float[] cPrev, float[] c, float[] dh, float[] dc, float[] dg, int p) {
            for (int j = 0; j < p; j++) {
                float i = act[j];
                float f = act[p + j];
                float g = act[2 * p + j];
                float o = act[3 * p + j];
                float tc = tanh(c[j]);
                c[j] = tc;
                float dct = dc[j] + dh[j] * o * (1 - tc * tc);
                dg[j] = dct * g * i * (1 - i);
                dg[p + j] = dct * cPrev[j] * f * (1 - f);
                dg[2 * p + j] = dct * i * (1 - g * g);
                dg[3 * p + j] = dh[j] * tc * o * (1 - o);
                dc[j] = dct * f;
            }
        }

        @Override
        public void gruBackward(float[] act, float[] hn, float[] hPrev, float[] dh, float[] dgx, float[] dgh, int p) {
            for (int j = 0; j < p; j++) {
                float r = act[j];
                float z = act[p + j];
                float n = act[2 * p + j];
                float d = dh[j];
                float dn = d * (1 - z) * (1 - n * n);
                float dz = d * (hPrev[j] - n) * z * (1 - z);
                float dr = dn * hn[j] * r * (1 - r);
                dgx[j] = dr;
                dgx[p + j] = dz;
                dgx[2 * p + j] = dn;
                dgh[j] = dr;
                dgh[p + j] = dz;
                dgh[2 * p + j] = dn * r;
                dh[j] = d * z;
            }
        }

        @Override
        public void gruNewBackward(float[] act, float[] hPrev, float[] dh, float[] dg, int p) {
            for (int j = 0; j < p; j++) {
                float z = act[p + j];
                float n = act[2 * p + j];
                float d = dh[j];
                dg[p + j] = d * (hPrev[j] - n) * z * (1 - z);
                dg[2 * p + j] = d * (1 - z) * (1 - n * n);
                dh[j] = d * z;
            }
        }

        @Override
        public void gruResetBackward(float[] act, float[] hPrev, float[] drh, float[] dh, float[] dg, int p) {
            for (int j = 0; j < p; j++) {
                float r = act[j];
                dg[j] = drh[j] * hPrev[j] * r * (1 - r);
                dh[j] += drh[j] * r;
            }
        }

        @Override
        public void rnnBackward(float[] h, float[] dh, float[] dg, int p, boolean relu) {
            for (int j = 0; j < p; j++) {
                dg[j] = relu ? (h[j] > 0 ? dh[j] : 0f) : dh[j] * (1 - h[j] * h[j]);
            }
        }

        @Override
        public int alignment() {
            return 1;
        }
    }
}
