package io.cellstate.vector;

import static io.cellstate.vector.Panels.L;
import static io.cellstate.vector.VectorMath.Kind.SIGMOID;
import static io.cellstate.vector.VectorMath.Kind.TANH;
import static io.cellstate.vector.VectorMath.activate;

import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.cpu.Step;

/**
 * The original GRU: n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn), as oneDNN's {@code gru} splits it
 * ({@code cell_gru.cpp}): two phases with a barrier between. Every bias is outside a product by a
 * gate, so the projection holds b_ih + b_hh.
 * <ol>
 *   <li>the GEMM {@code h [W_hr | W_hz]^T} (a two-gate layout), then r, z = σ(px + ·) and
 *       {@code r ⊙ h}, which the second GEMM needs for every hidden unit: hence the barrier;</li>
 *   <li>the GEMM {@code (r ⊙ h) W_hn^T} (a one-gate layout), then n = tanh(px_n + ·) and
 *       {@code h' = n + z (h - n)}.</li>
 * </ol>
 */
final class VectorGruOriginal extends VectorKernel {
    private static final int G3 = 3 * L;
    private static final int G2 = 2 * L;

    private final float[][] wHrz;
    private final float[][] wHn;
    private final int gs2;
    private final int gs1;
    private final float[] zeros2;
    private final float[] zeros1;
    /** h [W_hr | W_hz]^T, rows of gs2 floats. */
    private float[] rz = new float[0];
    /** r ⊙ h, rows of hs floats. */
    private float[] resetState = new float[0];
    /** (r ⊙ h) W_hn^T, rows of gs1 floats. */
    private float[] hn = new float[0];

    VectorGruOriginal(RnnSpec spec, RnnWeights weights) {
        super(spec, weights, true);
        wHrz = perSlot(spec, (l, d) -> Panels.pack(weights.weightHh(l, d), hidden, hidden, 0, 2));
        wHn = perSlot(spec, (l, d) -> Panels.pack(weights.weightHh(l, d), hidden, hidden, 2, 1));
        gs2 = Panels.panels(units, 2) * Panels.PANEL;
        gs1 = Panels.panels(units, 1) * Panels.PANEL;
        zeros2 = new float[gs2];
        zeros1 = new float[gs1];
    }

    @Override
    public int phases() {
        return 2;
    }

    @Override
    public void reserve(int batch) {
        rz = atLeast(rz, batch * gs2);
        resetState = atLeast(resetState, batch * hs);
        hn = atLeast(hn, batch * gs1);
    }

    @Override
    public void recurrent(int phase, int slot, Step s, int u0, int u1) {
        float[] px = s.gates();
        int gOff = s.gateOffset();
        int batch = s.batch();
        int uv0 = firstUnit(u0);
        int uv1 = endUnit(u1);
        int n = uv1 - uv0;
        float[] hPrev = s.hPrev();
        if (phase == 0) {
            Panels.multiply(hPrev, 0, hs, batch, hidden, wHrz[slot], Panels.firstPanel(uv0, 2), Panels.endPanel(uv1, 2),
                    rz, 0, gs2, zeros2);
            for (int b = 0; b < batch; b++) {
                int g = gOff + b * gs + uv0 * G3;
                VectorPointwise.add(px, g, G3, rz, b * gs2 + uv0 * G2, G2, n, 2 * L);
                activate(px, g, n, G3, 2 * L, SIGMOID); // r, z
                VectorPointwise.reset(px, g, G3, hPrev, resetState, b * hs + uv0 * L, n, L);
            }
        } else {
            Panels.multiply(resetState, 0, hs, batch, hidden, wHn[slot], Panels.firstPanel(uv0, 1),
                    Panels.endPanel(uv1, 1), hn, 0, gs1, zeros1);
            float[] hNext = s.hNext();
            for (int b = 0; b < batch; b++) {
                int g = gOff + b * gs + uv0 * G3;
                VectorPointwise.add(px, g + 2 * L, G3, hn, b * gs1 + uv0 * L, L, n, L);
                activate(px, g + 2 * L, n, G3, L, TANH); // n
                VectorPointwise.blend(px, g + L, g + 2 * L, G3, hPrev, hNext, b * hs + uv0 * L, n, L);
            }
        }
    }
}
