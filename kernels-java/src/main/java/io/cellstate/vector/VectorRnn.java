package io.cellstate.vector;

import static io.cellstate.vector.Panels.L;

import io.cellstate.Cell;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.cpu.Step;

/**
 * The Elman RNN: the recurrent GEMM adds {@code h W_hh^T} to the step's projection (which holds both
 * biases), then {@code h' = tanh(·)} or {@code max(0, ·)}. One gate: four unit-vectors fill a panel.
 */
final class VectorRnn extends VectorKernel {
    private final float[][] wHh;
    private final boolean relu;

    VectorRnn(RnnSpec spec, RnnWeights weights, Cell.Nonlinearity nonlinearity) {
        super(spec, weights, true);
        relu = nonlinearity == Cell.Nonlinearity.RELU;
        wHh = perSlot(spec, (l, d) -> Panels.pack(weights.weightHh(l, d), hidden, hidden, 0, 1));
    }

    @Override
    public void recurrent(int phase, int slot, Step s, int u0, int u1) {
        float[] gates = s.gates();
        int gOff = s.gateOffset();
        int batch = s.batch();
        int uv0 = firstUnit(u0);
        int uv1 = endUnit(u1);
        Panels.multiply(s.hPrev(), 0, hs, batch, hidden, wHh[slot], Panels.firstPanel(uv0, 1), Panels.endPanel(uv1, 1),
                gates, gOff, gs, null);
        int width = (uv1 - uv0) * L;
        float[] hNext = s.hNext();
        for (int b = 0; b < batch; b++) {
            VectorPointwise.elman(gates, gOff + b * gs + uv0 * L, hNext, b * hs + uv0 * L, width, relu);
        }
    }
}
