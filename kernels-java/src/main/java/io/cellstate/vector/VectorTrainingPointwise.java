package io.cellstate.vector;

import static io.cellstate.vector.VectorConfig.FLOATS;
import static io.cellstate.vector.VectorConfig.LANES;
import static io.cellstate.vector.VectorMath.Kind.SIGMOID;
import static io.cellstate.vector.VectorMath.Kind.TANH;
import static io.cellstate.vector.VectorMath.activate;

import io.cellstate.Activation;
import io.cellstate.cpu.TrainingPointwise;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * {@link TrainingPointwise} on the Vector API: the forward parts are {@link VectorPointwise}'s rows
 * (the same statics, so training and inference activate alike), the backward parts the cells'
 * derivatives in whole vectors, with {@link VectorMath}'s tanh of c'. Constants are scalar operands
 * ({@code x.neg().add(1f)} for 1 - x), not vectors made per call: a vector made before the loop was
 * boxed on the heap once per row.
 */
final class VectorTrainingPointwise implements TrainingPointwise {

    @Override
    public void lstm(float[] gates, float[] cPrev, float[] cNext, float[] hNext, int p) {
        activate(gates, 0, 1, 0, 2 * p, SIGMOID);     // i, f
        activate(gates, 2 * p, 1, 0, p, TANH);        // g
        activate(gates, 3 * p, 1, 0, p, SIGMOID);     // o
        VectorPointwise.updateCell(gates, 0, p, 0, cPrev, cNext, 0, hNext, 0, 1, p);
        activate(hNext, 0, 1, 0, p, TANH);
        VectorPointwise.scaleByOutputGate(gates, 3 * p, 0, hNext, 0, 1, p);
    }

    @Override
    public void gru(float[] gx, float[] gh, float[] hPrev, float[] hNext, int p) {
        VectorPointwise.add(gx, 0, 0, gh, 0, 0, 1, 2 * p);
        activate(gx, 0, 1, 0, 2 * p, SIGMOID); // r, z
        VectorPointwise.addResetTimes(gx, 2 * p, 0, 0, gh, 2 * p, 0, 1, p);
        activate(gx, 2 * p, 1, 0, p, TANH); // n
        VectorPointwise.blend(gx, p, 2 * p, 0, hPrev, hNext, 0, 1, p);
    }

    @Override
    public void gruReset(float[] gx, float[] hPrev, float[] rh, int p) {
        activate(gx, 0, 1, 0, 2 * p, SIGMOID); // r, z
        VectorPointwise.reset(gx, 0, 0, hPrev, rh, 0, 1, p);
    }

    @Override
    public void gruNew(float[] gx, float[] hPrev, float[] hNext, int p) {
        activate(gx, 2 * p, 1, 0, p, TANH); // n
        VectorPointwise.blend(gx, p, 2 * p, 0, hPrev, hNext, 0, 1, p);
    }

    @Override
    public void rnn(float[] a, float[] hNext, int p, boolean relu) {
        VectorPointwise.elman(a, 0, hNext, 0, p, relu);
    }

    @Override
    public void lstmBackward(float[] act, float[] cPrev, float[] c, float[] dh, float[] dc, float[] dg, int p) {
        activate(c, 0, 1, 0, p, TANH);
        for (int j = 0; j < p; j += LANES) {
            FloatVector i = FloatVector.fromArray(FLOATS, act, j);
            FloatVector f = FloatVector.fromArray(FLOATS, act, p + j);
            FloatVector g = FloatVector.fromArray(FLOATS, act, 2 * p + j);
            FloatVector o = FloatVector.fromArray(FLOATS, act, 3 * p + j);
            FloatVector tc = FloatVector.fromArray(FLOATS, c, j);
            FloatVector d = FloatVector.fromArray(FLOATS, dh, j);
            // dc_t = dc + dh o (1 - tanh^2 c')
            FloatVector dct = d.mul(o).fma(tc.mul(tc).neg().add(1f), FloatVector.fromArray(FLOATS, dc, j));
            dct.mul(g).mul(i.mul(i.neg().add(1f))).intoArray(dg, j);
            dct.mul(FloatVector.fromArray(FLOATS, cPrev, j)).mul(f.mul(f.neg().add(1f))).intoArray(dg, p + j);
            dct.mul(i).mul(g.mul(g).neg().add(1f)).intoArray(dg, 2 * p + j);
            d.mul(tc).mul(o.mul(o.neg().add(1f))).intoArray(dg, 3 * p + j);
            dct.mul(f).intoArray(dc, j);
        }
    }

    @Override
    public void gruBackward(float[] act, float[] hn, float[] hPrev, float[] dh, float[] dgx, float[] dgh, int p) {
        for (int j = 0; j < p; j += LANES) {
            FloatVector r = FloatVector.fromArray(FLOATS, act, j);
            FloatVector z = FloatVector.fromArray(FLOATS, act, p + j);
            FloatVector n = FloatVector.fromArray(FLOATS, act, 2 * p + j);
            FloatVector d = FloatVector.fromArray(FLOATS, dh, j);
            FloatVector dn = d.mul(z.neg().add(1f)).mul(n.mul(n).neg().add(1f));
            FloatVector dz = d.mul(FloatVector.fromArray(FLOATS, hPrev, j).sub(n)).mul(z.mul(z.neg().add(1f)));
            FloatVector dr = dn.mul(FloatVector.fromArray(FLOATS, hn, j)).mul(r.mul(r.neg().add(1f)));
            dr.intoArray(dgx, j);
            dz.intoArray(dgx, p + j);
            dn.intoArray(dgx, 2 * p + j);
            dr.intoArray(dgh, j);
            dz.intoArray(dgh, p + j);
            dn.mul(r).intoArray(dgh, 2 * p + j);
            d.mul(z).intoArray(dh, j);
        }
    }

    @Override
    public void gruNewBackward(float[] act, float[] hPrev, float[] dh, float[] dg, int p) {
        for (int j = 0; j < p; j += LANES) {
            FloatVector z = FloatVector.fromArray(FLOATS, act, p + j);
            FloatVector n = FloatVector.fromArray(FLOATS, act, 2 * p + j);
            FloatVector d = FloatVector.fromArray(FLOATS, dh, j);
            d.mul(FloatVector.fromArray(FLOATS, hPrev, j).sub(n)).mul(z.mul(z.neg().add(1f))).intoArray(dg, p + j);
            d.mul(z.neg().add(1f)).mul(n.mul(n).neg().add(1f)).intoArray(dg, 2 * p + j);
            d.mul(z).intoArray(dh, j);
        }
    }

    @Override
    public void gruResetBackward(float[] act, float[] hPrev, float[] drh, float[] dh, float[] dg, int p) {
        for (int j = 0; j < p; j += LANES) {
            FloatVector r = FloatVector.fromArray(FLOATS, act, j);
            FloatVector d = FloatVector.fromArray(FLOATS, drh, j);
            d.mul(FloatVector.fromArray(FLOATS, hPrev, j)).mul(r.mul(r.neg().add(1f))).intoArray(dg, j);
            d.fma(r, FloatVector.fromArray(FLOATS, dh, j)).intoArray(dh, j);
        }
    }

    @Override
    public void rnnBackward(float[] h, float[] dh, float[] dg, int p, boolean relu) {
        for (int j = 0; j < p; j += LANES) {
            FloatVector v = FloatVector.fromArray(FLOATS, h, j);
            FloatVector d = FloatVector.fromArray(FLOATS, dh, j);
            FloatVector r = relu ? d.blend(0, v.compare(VectorOperators.GT, 0f).not()) : d.mul(v.mul(v).neg().add(1f));
            r.intoArray(dg, j);
        }
    }

    /**
     * σ and tanh with {@link VectorMath}'s (as the plain cells); the other activations one lane at a time. The
     * slopes ({@link #derivative}) stay the interface's plain loops, which C2 vectorises itself: written here with
     * {@code FloatVector}, a few calls deep inside the general cells' backward, they were sometimes compiled
     * without the Vector API's intrinsics (inlining cut off in a large compilation), every vector then boxed
     * on the heap, megabytes per training step.
     */
    @Override
    public void apply(Activation a, float[] v, int off, int n) {
        switch (a.function()) {
            case SIGMOID -> activate(v, off, 1, 0, n, SIGMOID);
            case TANH -> activate(v, off, 1, 0, n, TANH);
            default -> TrainingPointwise.super.apply(a, v, off, n);
        }
    }

    @Override
    public int alignment() {
        return LANES;
    }
}
