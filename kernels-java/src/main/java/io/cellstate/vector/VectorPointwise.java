package io.cellstate.vector;

import static io.cellstate.vector.VectorConfig.FLOATS;
import static io.cellstate.vector.VectorConfig.LANES;
import static io.cellstate.vector.VectorMath.Kind.SIGMOID;
import static io.cellstate.vector.VectorMath.Kind.TANH;
import static io.cellstate.vector.VectorMath.activate;

import io.cellstate.cpu.Pointwise;
import jdk.incubator.vector.FloatVector;

/** {@link Pointwise} on the Vector API, with the vector kernel's activations. */
final class VectorPointwise implements Pointwise {

    @Override
    public void lstmRow(float[] gates, int g, int stride, float[] cPrev, float[] cNext, int cOff, float[] h, int hOff,
                        int hidden) {
        activate(gates, g, 1, 0, 2 * stride, SIGMOID);          // i, f
        activate(gates, g + 2 * stride, 1, 0, stride, TANH);    // g
        activate(gates, g + 3 * stride, 1, 0, stride, SIGMOID); // o
        for (int j = 0; j < stride; j += LANES) {
            FloatVector i = FloatVector.fromArray(FLOATS, gates, g + j);
            FloatVector f = FloatVector.fromArray(FLOATS, gates, g + stride + j);
            FloatVector z = FloatVector.fromArray(FLOATS, gates, g + 2 * stride + j);
            FloatVector cn = f.fma(FloatVector.fromArray(FLOATS, cPrev, cOff + j), i.mul(z));
            cn.intoArray(cNext, cOff + j);
            cn.intoArray(h, hOff + j);
        }
        activate(h, hOff, 1, 0, stride, TANH);
        for (int j = 0; j < stride; j += LANES) {
            FloatVector.fromArray(FLOATS, gates, g + 3 * stride + j)
                    .mul(FloatVector.fromArray(FLOATS, h, hOff + j)).intoArray(h, hOff + j);
        }
    }

    @Override
    public int alignment() {
        return LANES;
    }
}
