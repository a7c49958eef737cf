package io.cellstate.vector;

import static io.cellstate.vector.Panels.L;
import static io.cellstate.vector.Panels.PANEL;
import static io.cellstate.vector.VectorConfig.FLOATS;
import static io.cellstate.vector.VectorMath.Kind.SIGMOID;
import static io.cellstate.vector.VectorMath.Kind.TANH;
import static io.cellstate.vector.VectorMath.activate;

import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.cpu.Step;
import jdk.incubator.vector.FloatVector;

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
        Panels.multiply(s.hPrev(), 0, hs, batch, hidden, wHh[slot], uv0, uv1, gates, gOff, gs, null);
        int n = uv1 - uv0;
        float[] hNext = s.hNext();
        for (int b = 0; b < batch; b++) {
            int g = gOff + b * gs + uv0 * PANEL;
            int r = b * hs + uv0 * L;
            activate(gates, g, n, PANEL, 2 * L, SIGMOID);      // i, f
            activate(gates, g + 2 * L, n, PANEL, L, TANH);    // g
            activate(gates, g + 3 * L, n, PANEL, L, SIGMOID); // o
            updateCell(gates, g, s.cPrev(), s.cNext(), hNext, r, n);
            activate(hNext, r, 1, 0, n * L, TANH);
            scaleByOutputGate(gates, g, hNext, r, n);
        }
    }

    /** c' = f c + i g from {@code cPrev} into {@code cNext} and (to take its tanh next) into h, for {@code units} units. */
    private static void updateCell(float[] gates, int g, float[] cPrev, float[] cNext, float[] h, int s, int units) {
        for (int u = 0; u < units; u++) {
            int gu = g + u * PANEL;
            int su = s + u * L;
            FloatVector i = FloatVector.fromArray(FLOATS, gates, gu);
            FloatVector f = FloatVector.fromArray(FLOATS, gates, gu + L);
            FloatVector z = FloatVector.fromArray(FLOATS, gates, gu + 2 * L);
            FloatVector cn = f.fma(FloatVector.fromArray(FLOATS, cPrev, su), i.mul(z));
            cn.intoArray(cNext, su);
            cn.intoArray(h, su);
        }
    }

    /** h' = o tanh(c'), with tanh(c') already in h. */
    private static void scaleByOutputGate(float[] gates, int g, float[] h, int s, int units) {
        for (int u = 0; u < units; u++) {
            int su = s + u * L;
            FloatVector.fromArray(FLOATS, gates, g + u * PANEL + 3 * L)
                    .mul(FloatVector.fromArray(FLOATS, h, su)).intoArray(h, su);
        }
    }
}
