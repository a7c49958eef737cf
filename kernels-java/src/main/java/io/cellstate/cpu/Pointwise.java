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
        public int alignment() {
            return 1;
        }

        static float sigmoid(float x) {
            return (float) (1 / (1 + Math.exp(-x)));
        }
    }
}
