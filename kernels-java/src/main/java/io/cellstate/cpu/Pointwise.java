package io.cellstate.cpu;

import io.cellstate.vector.VectorBackend;

/**
 * The LSTM's pointwise pass over one batch row whose gate pre-activations lie in four blocks
 * {@code [i | f | g | o]}, each {@code stride} floats long (PyTorch's order, padded): activations,
 * {@code c' = f c + i g}, {@code h' = o tanh(c')}. For CPU kernels whose GEMMs produce that layout
 * (the BLAS kernel); the Vector API kernel fuses its own over its panel layout.
 */
public interface Pointwise {

    /**
     * One row: gates at {@code gates[g + k * stride ...]} for gate k, the first {@code hidden} of
     * each block valid; {@code c} updated in place at {@code cOff}; the new h written at {@code hOff}.
     * {@code stride} is a multiple of {@link #alignment()}, and {@code c}, {@code h} have room for
     * {@code stride} floats there (the lanes past {@code hidden} are scratch).
     */
    void lstmRow(float[] gates, int g, int stride, float[] c, int cOff, float[] h, int hOff, int hidden);

    /** The multiple that {@code stride} must be (vector lanes; 1 for scalar code). */
    int alignment();

    /** The Vector API pass where the vector backend is available here, else plain Java. */
    static Pointwise best() {
        return VectorBackend.pointwise().orElseGet(ScalarPointwise::new);
    }

    /** Plain Java, float32 with {@link Math#exp} and {@link Math#tanh} rounded: the fallback. */
    final class ScalarPointwise implements Pointwise {
        @Override
        public void lstmRow(float[] gates, int g, int stride, float[] c, int cOff, float[] h, int hOff, int hidden) {
            for (int j = 0; j < hidden; j++) {
                float i = sigmoid(gates[g + j]);
                float f = sigmoid(gates[g + stride + j]);
                float z = (float) Math.tanh(gates[g + 2 * stride + j]);
                float o = sigmoid(gates[g + 3 * stride + j]);
                float cn = f * c[cOff + j] + i * z;
                c[cOff + j] = cn;
                h[hOff + j] = o * (float) Math.tanh(cn);
            }
        }

        @Override
        public int alignment() {
            return 1;
        }

        private static float sigmoid(float x) {
            return (float) (1 / (1 + Math.exp(-x)));
        }
    }
}
