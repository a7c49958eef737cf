package io.cellstate.vector;

import static io.cellstate.vector.Panels.L;
import static io.cellstate.vector.Panels.PANEL;
import static io.cellstate.vector.VectorMath.Kind.SIGMOID;
import static io.cellstate.vector.VectorMath.Kind.TANH;
import static io.cellstate.vector.VectorMath.activate;

import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.cpu.Step;

/**
 * The LSTM: the recurrent GEMM adds {@code h W_hh^T} to the step's projection (which holds both
 * biases), then the fused pass, per unit-vector, whose four gates {@code [i | f | g | o]} fill one
 * panel: activations, {@code c' = f c + i g}, {@code h' = o tanh(c')}, the cell update in registers.
 */
final class VectorLstm extends VectorKernel {
    private final float[][] wHh;

    VectorLstm(RnnSpec spec, RnnWeights weights) {
        super(spec, weights, true);
        wHh = perSlot(spec, (l, d) -> Panels.pack(weights.weightHh(l, d), hidden, hidden, 0, 4));
    }

    @Override
    public void recurrent(int phase, int slot, Step s, int u0, int u1) {
        float[] gates = s.gates();
        int gOff = s.gateOffset();
        int batch = s.batch();
        int uv0 = firstUnit(u0);
        int uv1 = endUnit(u1);
        Panels.multiply(s.hPrev(), 0, hs, batch, hidden, wHh[slot], Panels.firstPanel(uv0, 4), Panels.endPanel(uv1, 4),
                gates, gOff, gs, null);
        int n = uv1 - uv0;
        float[] hNext = s.hNext();
        for (int b = 0; b < batch; b++) {
            int g = gOff + b * gs + uv0 * PANEL;
            int r = b * hs + uv0 * L;
            activate(gates, g, n, PANEL, 2 * L, SIGMOID);      // i, f
            activate(gates, g + 2 * L, n, PANEL, L, TANH);    // g
            activate(gates, g + 3 * L, n, PANEL, L, SIGMOID); // o
            VectorPointwise.updateCell(gates, g, L, PANEL, s.cPrev(), s.cNext(), r, hNext, r, n, L);
            activate(hNext, r, 1, 0, n * L, TANH);
            VectorPointwise.scaleByOutputGate(gates, g + 3 * L, PANEL, hNext, r, n, L);
        }
    }
}
