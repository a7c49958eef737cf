package io.cellstate.vector;

import static io.cellstate.vector.Panels.L;
import static io.cellstate.vector.VectorMath.Kind.SIGMOID;
import static io.cellstate.vector.VectorMath.Kind.TANH;
import static io.cellstate.vector.VectorMath.activate;

import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.cpu.Step;

/**
 * PyTorch's and cuDNN's GRU, linear before reset: n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)). The
 * recurrent n-bias sits inside the product by r, so it cannot join the projection: the projection
 * holds b_ih only, and the recurrent GEMM writes {@code W_hh h + b_hh} into a buffer of the kernel's
 * own, in the same three-gate layout. Then, per unit-vector {@code [r | z | n]}:
 * {@code r, z = σ(px + ph)}, {@code n = tanh(px_n + r ph_n)}, {@code h' = n + z (h - n)}.
 */
final class VectorGru extends VectorKernel {
    private static final int G3 = 3 * L;

    private final float[][] wHh;
    private final float[][] recurrentBias;
    /** W_hh h + b_hh of the step, rows of {@link #gs} floats. */
    private float[] recurrent = new float[0];

    VectorGru(RnnSpec spec, RnnWeights weights) {
        super(spec, weights, false);
        wHh = perSlot(spec, (l, d) -> Panels.pack(weights.weightHh(l, d), hidden, hidden, 0, 3));
        recurrentBias = perSlot(spec, (l, d) -> Panels.packBias(weights.biasHh(l, d), null, hidden, 0, 3));
    }

    @Override
    public void reserve(int batch) {
        recurrent = atLeast(recurrent, batch * gs);
    }

    @Override
    public void recurrent(int phase, int slot, Step s, int u0, int u1) {
        float[] px = s.gates();
        int gOff = s.gateOffset();
        int batch = s.batch();
        int uv0 = firstUnit(u0);
        int uv1 = endUnit(u1);
        float[] hPrev = s.hPrev();
        float[] ph = recurrent;
        Panels.multiply(hPrev, 0, hs, batch, hidden, wHh[slot], Panels.firstPanel(uv0, 3), Panels.endPanel(uv1, 3),
                ph, 0, gs, recurrentBias[slot]);
        int n = uv1 - uv0;
        float[] hNext = s.hNext();
        for (int b = 0; b < batch; b++) {
            int g = gOff + b * gs + uv0 * G3;
            int q = b * gs + uv0 * G3;
            VectorPointwise.add(px, g, G3, ph, q, G3, n, 2 * L);
            activate(px, g, n, G3, 2 * L, SIGMOID); // r, z
            VectorPointwise.addResetTimes(px, g + 2 * L, g, G3, ph, q + 2 * L, G3, n, L);
            activate(px, g + 2 * L, n, G3, L, TANH); // n
            VectorPointwise.blend(px, g + L, g + 2 * L, G3, hPrev, hNext, b * hs + uv0 * L, n, L);
        }
    }
}
