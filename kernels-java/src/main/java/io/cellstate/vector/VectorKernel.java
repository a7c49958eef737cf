package io.cellstate.vector;

import static io.cellstate.vector.Panels.L;

import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.cpu.CellKernel;

/**
 * What every cell's vector kernel shares: the input projection over panels ({@link Panels}) of the
 * cell's G gates, and the cut of the hidden units into work units that start on panel boundaries.
 * The cells ({@link VectorLstm}, {@link VectorGru}, {@link VectorGruOriginal}, {@link VectorRnn})
 * add their recurrent GEMMs and fused pointwise parts, chosen once, by the cell, when the plan is made
 * ({@link #of}).
 */
abstract class VectorKernel implements CellKernel {
    final int hidden;
    /** Unit-vectors of L hidden units. */
    final int units;
    /** Gates of the projection's layout. */
    final int gates;
    /** Unit-vectors per work unit. */
    final int perWork;
    final int hs;
    final int gs;
    final float[][] wIh;
    final float[][] projectionBias;
    final int[] inSize;

    /**
     * Packs W_ih of every slot; the projection's bias is b_ih, plus b_hh where the cell adds it
     * outside every product by a gate ({@code foldRecurrentBias}).
     */
    VectorKernel(RnnSpec spec, RnnWeights weights, boolean foldRecurrentBias) {
        hidden = spec.hiddenSize();
        units = Panels.unitVectors(hidden);
        gates = spec.gates();
        perWork = Panels.unitsPerWork(gates);
        hs = units * L;
        gs = Panels.panels(units, gates) * Panels.PANEL;
        inSize = new int[spec.stateCount()];
        for (int s = 0; s < inSize.length; s++) {
            inSize[s] = spec.layerInputSize(s / spec.directions());
        }
        wIh = perSlot(spec, (l, d) -> Panels.pack(weights.weightIh(l, d), spec.layerInputSize(l), hidden, 0, gates));
        projectionBias = perSlot(spec, (l, d) -> Panels.packBias(weights.biasIh(l, d),
                foldRecurrentBias ? weights.biasHh(l, d) : null, hidden, 0, gates));
    }

    /** What {@link #perSlot} makes for the slot of layer {@code l}, direction {@code d}. */
    @FunctionalInterface
    interface SlotArray {
        float[] of(int l, int d);
    }

    /** One array per state slot ({@code l * directions + d}), as {@code make} makes it: packed weights, biases. */
    static float[][] perSlot(RnnSpec spec, SlotArray make) {
        float[][] arrays = new float[spec.stateCount()][];
        for (int l = 0; l < spec.layers(); l++) {
            for (int d = 0; d < spec.directions(); d++) {
                arrays[l * spec.directions() + d] = make.of(l, d);
            }
        }
        return arrays;
    }

    /** The vector kernel of {@code spec}'s cell. */
    static VectorKernel of(RnnSpec spec, RnnWeights weights) {
        return switch (spec.cell()) {
            case io.cellstate.Cell.Lstm lstm -> new VectorLstm(spec, weights);
            case io.cellstate.Cell.Gru gru -> gru.linearBeforeReset() ? new VectorGru(spec, weights)
                    : new VectorGruOriginal(spec, weights);
            case io.cellstate.Cell.Rnn rnn -> new VectorRnn(spec, weights, rnn.nonlinearity());
        };
    }

    @Override
    public final int units() {
        return (units + perWork - 1) / perWork;
    }

    @Override
    public final int unitWidth() {
        return perWork * L;
    }

    @Override
    public final int hiddenStride() {
        return hs;
    }

    @Override
    public final int gateStride() {
        return gs;
    }

    /** The first unit-vector of work unit {@code w}. */
    final int firstUnit(int w) {
        return w * perWork;
    }

    /** One past the last unit-vector of work units before {@code w}. */
    final int endUnit(int w) {
        return Math.min(units, w * perWork);
    }

    @Override
    public final void project(int slot, float[] x, int xOff, int xStride, int rows, float[] out, int u0, int u1) {
        Panels.multiply(x, xOff, xStride, rows, inSize[slot], wIh[slot], Panels.firstPanel(firstUnit(u0), gates),
                Panels.endPanel(endUnit(u1), gates), out, 0, gs, projectionBias[slot]);
    }

    /** {@code a} grown to at least {@code n} floats (a new zeroed array if smaller). */
    static float[] atLeast(float[] a, int n) {
        return a.length >= n ? a : new float[n];
    }
}
