package io.cellstate.cpu;

/**
 * The pointwise parts of the cells, over one batch row whose gate pre-activations lie in G blocks
 * {@code [g0 | g1 | ...]}, each {@code stride} floats long (PyTorch's gate order, padded): for CPU
 * kernels whose GEMMs produce that layout (the BLAS kernel). The Vector API kernel fuses its own
 * over its panel layout. A kernel is handed its implementation by its backend: plain Java
 * ({@link #scalar()}) or the Vector API's, where that is available.
 */
public interface Pointwise {

    /**
     * The LSTM over one row: gates at {@code gates[g + k * stride ...]} for gate k (i, f, g, o), the
     * first {@code hidden} of each block valid; {@code c' = f c + i g} from {@code cPrev} into
     * {@code cNext} at {@code cOff}; {@code h' = o tanh(c')} written at {@code hOff}. {@code stride} is
     * a multiple of {@link #alignment()}, and the state rows have room for {@code stride} floats there
     * (the lanes past {@code hidden} are scratch).
     *
     * @param gates  the pre-activations, overwritten
     * @param g      where the row's first gate block starts
     * @param stride floats per gate block
     * @param cPrev  c before the step
     * @param cNext  c after the step
     * @param cOff   where the row's c starts
     * @param h      h after the step
     * @param hOff   where the row's h starts
     * @param hidden H
     */
    void lstmRow(float[] gates, int g, int stride, float[] cPrev, float[] cNext, int cOff, float[] h, int hOff, int hidden);

    /**
     * PyTorch's GRU over one row: r, z = σ(px + ph), n = tanh(px_n + r ph_n), {@code h' = n + z (h - n)},
     * with px the step's projection (b_ih in it) at {@code g} and ph = {@code W_hh h + b_hh} at {@code q},
     * both in blocks {@code [r | z | n]} of {@code stride} floats.
     *
     * @param px     the projection, overwritten
     * @param g      where the row's projection starts
     * @param ph     the recurrent product
     * @param q      where the row's recurrent product starts
     * @param stride floats per gate block
     * @param hPrev  h before the step
     * @param hNext  h after the step
     * @param hOff   where the row's h starts
     * @param hidden H
     */
    void gruRow(float[] px, int g, float[] ph, int q, int stride, float[] hPrev, float[] hNext, int hOff, int hidden);

    /**
     * The original GRU's first part over one row: r, z = σ(px + rz), z kept in px's z block for
     * {@link #gruNewRow}, and {@code r ⊙ h} into {@code rh}. rz holds {@code h [W_hr | W_hz]^T} in
     * blocks {@code [r | z]}.
     *
     * @param px     the projection (every bias in it), overwritten
     * @param g      where the row's projection starts
     * @param rz     the recurrent product of r and z
     * @param q      where the row's rz starts
     * @param stride floats per gate block
     * @param hPrev  h before the step
     * @param rh     receives r ⊙ h
     * @param hOff   where the row's h (and rh) starts
     * @param hidden H
     */
    void gruResetRow(float[] px, int g, float[] rz, int q, int stride, float[] hPrev, float[] rh, int hOff, int hidden);

    /**
     * The original GRU's second part over one row: n = tanh(px_n + hn), {@code h' = n + z (h - n)},
     * with z from {@link #gruResetRow} and hn = {@code (r ⊙ h) W_hn^T} at {@code q}.
     *
     * @param px     the projection, z already in its z block, overwritten
     * @param g      where the row's projection starts
     * @param hn     the recurrent product of n
     * @param q      where the row's hn starts
     * @param stride floats per gate block
     * @param hPrev  h before the step
     * @param hNext  h after the step
     * @param hOff   where the row's h starts
     * @param hidden H
     */
    void gruNewRow(float[] px, int g, float[] hn, int q, int stride, float[] hPrev, float[] hNext, int hOff, int hidden);

    /**
     * The Elman RNN over one row: {@code h' = tanh(a)} or {@code max(0, a)}, a the step's gate
     * pre-activations (projection plus recurrent product) at {@code g}.
     *
     * @param gates  the pre-activations
     * @param g      where the row starts
     * @param hNext  h after the step
     * @param hOff   where the row's h starts
     * @param hidden H (a multiple of {@link #alignment()} may be done, up to the padded width)
     * @param relu   ReLU, else tanh
     */
    void rnnRow(float[] gates, int g, float[] hNext, int hOff, int hidden, boolean relu);

    /**
     * The multiple that {@code stride} must be.
     *
     * @return the vector lanes; 1 for scalar code
     */
    int alignment();

    /**
     * Plain Java, float32 with {@link Math#exp} and {@link Math#tanh} rounded.
     *
     * @return the scalar implementation
     */
    static Pointwise scalar() {
        return new ScalarPointwise();
    }

    /** Plain Java, float32 with {@link Math#exp} and {@link Math#tanh} rounded. */
    final class ScalarPointwise implements Pointwise {
        @Override
        public void lstmRow(float[] gates, int g, int stride, float[] cPrev, float[] cNext, int cOff, float[] h, int hOff,
                            int hidden) {
            for (int j = 0; j < hidden; j++) {
                float i = sigmoid(gates[g + j]);
                float f = sigmoid(gates[g + stride + j]);
                float z = (float) Math.tanh(gates[g + 2 * stride + j]);
                float o = sigmoid(gates[g + 3 * stride + j]);
                float cn = f * cPrev[cOff + j] + i * z;
                cNext[cOff + j] = cn;
                h[hOff + j] = o * (float) Math.tanh(cn);
            }
        }

        @Override
        public void gruRow(float[] px, int g, float[] ph, int q, int stride, float[] hPrev, float[] hNext, int hOff,
                           int hidden) {
            for (int j = 0; j < hidden; j++) {
                float r = sigmoid(px[g + j] + ph[q + j]);
                float z = sigmoid(px[g + stride + j] + ph[q + stride + j]);
                float n = (float) Math.tanh(px[g + 2 * stride + j] + r * ph[q + 2 * stride + j]);
                hNext[hOff + j] = n + z * (hPrev[hOff + j] - n);
            }
        }

        @Override
        public void gruResetRow(float[] px, int g, float[] rz, int q, int stride, float[] hPrev, float[] rh, int hOff,
                                int hidden) {
            for (int j = 0; j < hidden; j++) {
                float r = sigmoid(px[g + j] + rz[q + j]);
                px[g + stride + j] = sigmoid(px[g + stride + j] + rz[q + stride + j]);
                rh[hOff + j] = r * hPrev[hOff + j];
            }
        }

        @Override
        public void gruNewRow(float[] px, int g, float[] hn, int q, int stride, float[] hPrev, float[] hNext, int hOff,
                              int hidden) {
            for (int j = 0; j < hidden; j++) {
                float z = px[g + stride + j];
                float n = (float) Math.tanh(px[g + 2 * stride + j] + hn[q + j]);
                hNext[hOff + j] = n + z * (hPrev[hOff + j] - n);
            }
        }

        @Override
        public void rnnRow(float[] gates, int g, float[] hNext, int hOff, int hidden, boolean relu) {
            for (int j = 0; j < hidden; j++) {
                float a = gates[g + j];
                hNext[hOff + j] = relu ? Math.max(0f, a) : (float) Math.tanh(a);
            }
        }

        @Override
        public int alignment() {
            return 1;
        }

        static float sigmoid(float x) {
            return (float) (1 / (1 + Math.exp(-x)));
        }
    }
}
