package io.cellstate.cpu;

import io.cellstate.Cell;
import io.cellstate.Layout;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeightGrads;
import io.cellstate.RnnWeights;
import io.cellstate.RnnWeights.Param;
import io.cellstate.Tensor;
import io.cellstate.WorkerGroup;
import io.cellstate.spi.AbstractRnnPlan;
import io.cellstate.spi.BackwardCall;
import io.cellstate.spi.ForwardCall;
import io.cellstate.spi.TrainingWorkspace;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.function.IntConsumer;

/**
 * Backpropagation through time for every cell on the CPU, shared by the backends that lend it their
 * {@link CpuGemm} and {@link TrainingPointwise}, in oneDNN's shape ({@code ref_rnn}, {@code cell_common}):
 *
 * <p><b>Forward</b>, per layer (bottom up) and direction: the input projection of all steps as one GEMM,
 * {@code G = X W_ih^T + b} ({@code [T*B x in] x [in x G*H]}); per step {@code h_prev W_hh^T} over the
 * batch (the original GRU: over {@code [W_hr | W_hz]}, then {@code (r ⊙ h) W_hn^T}) and the pointwise
 * part, which leaves the activated gates in G. The workspace keeps, per step, the gates, h before the
 * step, c before and after it (LSTM), {@code W_hn h + b_hn} (the linear-before-reset GRU) or {@code r ⊙ h}
 * (the original GRU), and every layer's input sequence. Sequence lengths as in {@link CpuPlan}: a row
 * whose sequence has ended (or, in reverse, not begun) keeps its state and outputs 0.
 *
 * <p><b>Backward</b>, top layer down, each direction in the reverse of its processing order: per step the
 * pointwise backward into the gate gradients {@code dG} (0 for a row past its length, whose dh and dc
 * pass through unchanged), then {@code dh_prev += dG W_hh} ({@code [B x G*H] x [G*H x H]}; the original GRU
 * first {@code d(r ⊙ h) = dn W_hn}, then the r, z rows). After the time loop, the weight gradients as a
 * few GEMMs over all T*B rows (oneDNN's {@code merge_gemm_layer}, {@code merge_gemm_iter}):
 * {@code dW_ih = dG^T X}, {@code dW_hh = dG_h^T H_prev}, biases as column sums, and
 * {@code dX = sum over directions of dG W_ih}, the lower layer's dy. The GRU of PyTorch's formula has
 * two gate gradients: the recurrent side's n block is {@code dn ⊙ r}.
 *
 * <p><b>Cells with options</b> ({@link Cell#isPlain()} false) run the same loops with the pointwise parts of
 * {@link GeneralCell} (any activation per direction, peepholes, clip, coupled gates), which also keep each
 * step's raw pre-activations. h has H_out columns (P for a projected LSTM, else H): the recurrent GEMMs have
 * {@code K = H_out}. A projection is one more GEMM per step, {@code h' = R W_hr^T} over the batch's rows of
 * {@code r = o ⊙ h(c')} ({@code [B x H] x [H x P]}), and in the backward {@code dR = dH' W_hr} per step and
 * {@code dW_hr = dH'^T R} over all steps; the peepholes' gradients are column sums of {@code dG ⊙ c}.
 * Such a cell's inference forward and streaming step run here too ({@link #infer}), keeping one layer and
 * direction's buffers and only what the next step reads.
 *
 * <p>The GEMMs use two shapes: NN (the forward, over the weights transposed once per set of weights, and the
 * data gradients) and TN (weight gradients). Buffers come
 * from the backend's {@link CpuGemm} and grow only for a larger call. A step's pointwise part runs row by row over
 * rows staged in small heap arrays, a plain cell's split among the team's threads where the batch has rows enough
 * ({@link #eachRow}).
 */
final class TrainingEngine implements AutoCloseable {
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /**
     * Floats of padding after each row of the weight copies: rows of a power-of-two length (2 KiB, 8 KiB)
     * fall in the same cache sets, so a GEMM streaming a panel of them down k evicts its own panel.
     */
    private static final int PAD = 16;
    /**
     * Rows of a step's batch a participant must get before a plain cell's pointwise part is split among the team:
     * a row is a few microseconds of work, a split a microsecond or two.
     */
    private static final int ROWS_PER_THREAD = 4;
    /** The row parts {@link #rows} runs: {@link #forwardRow}, {@link #newRow}, {@link #backwardRow}, {@link #resetRow}. */
    private static final int FORWARD_ROW = 0;
    private static final int NEW_ROW = 1;
    private static final int BACKWARD_ROW = 2;
    private static final int RESET_ROW = 3;

    private enum Kind { LSTM, GRU, GRU_ORIGINAL, RNN }

    // scratch buffers of a call
    private static final int OUT = 0;
    private static final int GH_STEP = 1;
    private static final int DG = 2;
    private static final int DGH = 3;
    private static final int DHP0 = 4;
    private static final int DHP1 = 5;
    private static final int DRH = 6;
    private static final int DY0 = 7;
    private static final int DY1 = 8;
    private static final int WG = 9;
    private static final int BG = 10;
    private static final int ONES = 11;
    private static final int HPROJ = 12;
    private static final int DH = 13;
    private static final int DR = 14;
    private static final int SCRATCH = 15;

    private final RnnSpec spec;
    private final Kind kind;
    private final boolean relu;
    private final int hidden;
    /** H_out, the columns of h: P for a projected LSTM, else H. */
    private final int out;
    /** P, or 0 without a projection. */
    private final int proj;
    /** Per direction, the pointwise parts of a cell with options; null for a plain cell. */
    private final GeneralCell[] general;
    /** Per slot, the peephole weights staged in blocks [p_i | p_f | p_o]; null without peepholes. */
    private final float[][] peep;
    /** Gates G and the gate row G*H. */
    private final int g;
    private final int gh;
    private final int dirs;
    private final int layers;
    /** Floats per block of the staged rows: H rounded up to the pointwise part's alignment. */
    private final int p;
    private final TrainingPointwise pw;
    private final CpuGemm.Factory factory;
    private final WorkerGroup.Team team;
    private final int threads;
    /** Runs every GEMM; holds no buffers. */
    private final CpuGemm gemm;
    /** W_ih and W_hh of slot s at 2s and 2s + 1, as given ([G*H x in]): the data gradients' B. */
    private final Memory weights;
    /**
     * Their transposes ([in x G*H]), the forward's B: so every GEMM of a training pass is NN or TN, whose
     * kernels stream B's rows, and none needs B transposed.
     */
    private final Memory transposed;
    /** The bias added to the projection (every bias outside a product by r), and the linear-before-reset GRU's b_hh. */
    private final float[][] biasX;
    private final float[][] biasH;
    /**
     * Per slot, the recurrent weights as the GEMM's constant operands (made again by {@link #reload}): for the
     * forward, W_hh^T by gates ([0] all gates, or r and z; [1] n of the original GRU); for the backward, W_hh
     * ([2] all gates, or r and z; [3] n).
     */
    private final CpuGemm.Constant[][] recurrent;
    /**
     * Per slot, the input weights as constant operands (made again by {@link #reload}): [0] W_ih^T for the input
     * projection of every step, [1] W_ih for the gradient of the input.
     */
    private final CpuGemm.Constant[][] inputs;
    /** Per slot, W_hr ([P x H]) at 2s and its transpose at 2s + 1, when projected (else null). */
    private final Memory projection;
    /** Per slot, the projection's constant operands: [0] W_hr^T (forward), [1] W_hr (backward). */
    private final CpuGemm.Constant[][] projections;
    private final Memory scratch;
    /** The buffers of {@link #infer}: the workspace of a pass that keeps nothing for a backward. */
    private final Memory inference;
    /**
     * Buffers per slot of the workspace: the gates [T*B x G*H], h before the step [T*B x H_out], what the cell
     * keeps more ([T*B x H] each), then, for a cell with options, the raw pre-activations ({@link #pre}, like the
     * gates) and a projected LSTM's r ({@link #rAt}).
     */
    private final int perSlot;
    /** Index among a slot's buffers of the raw pre-activations, and of r; -1 where none. */
    private final int pre;
    private final int rAt;
    /** The sizes a call asks of a training workspace, of the inference buffers and of the scratch: filled per call. */
    private final long[] needKept;
    private final long[] needInference;
    private final long[] needScratch = new long[SCRATCH];
    /** Per participant of a step's rows, the rows staged for the pointwise parts ([0]: this thread's). */
    private final Stage[] stages;
    private final float[] peepGrad;
    private final float[] zeros;
    // the state of a call: h ([B x H_out]) and c ([B x H]) of the batch, and the carried dc
    private float[] hCur = new float[0];
    private float[] cCur = new float[0];
    private float[] carryC = new float[0];
    // the step in flight, as its row parts read it (set per layer and direction, t and the first rows per step)
    private ForwardCall fwdCall;
    private BackwardCall bwdCall;
    private int batchStep;
    private boolean keepStep;
    private int dirStep;
    private int slotStep;
    private int tStep;
    private long r0Step;
    private long s0Step;
    private GeneralCell genStep;
    private MemorySegment actBuf;
    private MemorySegment hpBuf;
    private MemorySegment auxBuf;
    private MemorySegment csBuf;
    private MemorySegment preBuf;
    private MemorySegment rowBuf;
    private MemorySegment ghBuf;
    private MemorySegment yBuf;
    private MemorySegment dgBuf;
    private MemorySegment dghBuf;
    private MemorySegment drhBuf;
    private MemorySegment dhsBuf;
    private MemorySegment drsBuf;
    private MemorySegment dyBuf;
    private MemorySegment carryBuf;
    private MemorySegment nextBuf;
    /** Whether the step's rows are split among the team's participants ({@link #eachRow}). */
    private boolean split;
    private final IntConsumer forwardRows = w -> rows(w, FORWARD_ROW);
    private final IntConsumer newRows = w -> rows(w, NEW_ROW);
    private final IntConsumer backwardRows = w -> rows(w, BACKWARD_ROW);
    private final IntConsumer resetRows = w -> rows(w, RESET_ROW);

    /** One participant's rows staged for the pointwise parts, each block of a gate row p floats. */
    private static final class Stage {
        final float[] gates;
        /** The linear-before-reset GRU's recurrent gates {@code W_h h + b_h}. */
        final float[] recurrent;
        final float[] dg;
        final float[] dgh;
        final float[] cPrev;
        final float[] c;
        final float[] hPrev;
        final float[] h;
        final float[] dh;
        final float[] dc;
        final float[] aux;
        final float[] pre;
        final float[] r;

        Stage(int gates, int p) {
            this.gates = new float[gates * p];
            this.recurrent = new float[gates * p];
            this.dg = new float[gates * p];
            this.dgh = new float[gates * p];
            this.cPrev = new float[p];
            this.c = new float[p];
            this.hPrev = new float[p];
            this.h = new float[p];
            this.dh = new float[p];
            this.dc = new float[p];
            this.aux = new float[p];
            this.pre = new float[gates * p];
            this.r = new float[p];
        }
    }

    TrainingEngine(RnnSpec spec, RnnWeights w, TrainingPointwise pointwise, CpuGemm.Factory factory,
                   WorkerGroup.Team team, int threads) {
        this.spec = spec;
        this.kind = switch (spec.cell()) {
            case Cell.Lstm lstm -> Kind.LSTM;
            case Cell.Gru gru -> gru.linearBeforeReset() ? Kind.GRU : Kind.GRU_ORIGINAL;
            case Cell.Rnn rnn -> Kind.RNN;
        };
        this.relu = spec.cell() instanceof Cell.Rnn rnn && rnn.nonlinearity() == Cell.Nonlinearity.RELU;
        this.hidden = spec.hiddenSize();
        this.out = spec.outputHiddenSize();
        this.proj = spec.projectionSize();
        this.g = spec.gates();
        this.gh = g * hidden;
        this.dirs = spec.directions();
        this.layers = spec.layers();
        int a = pointwise.alignment();
        this.p = (hidden + a - 1) / a * a;
        this.pw = pointwise;
        this.factory = factory;
        this.team = team;
        this.threads = threads;
        int plainSlot = switch (kind) {
            case LSTM -> 4;        // gates, h before, c before, c after
            case GRU, GRU_ORIGINAL -> 3; // gates, h before, W_hn h + b_hn or r ⊙ h
            case RNN -> 2;         // gates (h after), h before
        };
        boolean plain = spec.cell().isPlain();
        this.pre = plain ? -1 : plainSlot;
        this.rAt = proj > 0 ? plainSlot + 1 : -1;
        this.perSlot = plainSlot + (plain ? 0 : 1) + (proj > 0 ? 1 : 0);
        this.needKept = new long[layers + spec.stateCount() * perSlot];
        this.needInference = new long[layers + perSlot];
        this.general = plain ? null : new GeneralCell[dirs];
        for (int d = 0; !plain && d < dirs; d++) {
            general[d] = new GeneralCell(spec, d, pointwise, p);
        }
        boolean peepholes = spec.cell() instanceof Cell.Lstm lstm && lstm.peepholes();
        this.peep = peepholes ? new float[spec.stateCount()][3 * p] : null;
        this.peepGrad = new float[peepholes ? 3 * hidden : 0];
        stages = new Stage[Math.max(1, threads)];
        for (int i = 0; i < stages.length; i++) {
            stages[i] = new Stage(g, p);
        }
        zeros = new float[g * p];
        biasX = new float[spec.stateCount()][];
        recurrent = new CpuGemm.Constant[spec.stateCount()][];
        projections = new CpuGemm.Constant[spec.stateCount()][];
        inputs = new CpuGemm.Constant[spec.stateCount()][];
        biasH = new float[spec.stateCount()][];
        gemm = factory.create(team, threads);
        weights = new Memory(factory, team, threads);
        transposed = new Memory(factory, team, threads);
        projection = proj > 0 ? new Memory(factory, team, threads) : null;
        scratch = new Memory(factory, team, threads);
        inference = new Memory(factory, team, threads);
        try {
            long[] sizes = new long[2 * spec.stateCount()];
            long[] sizesT = new long[2 * spec.stateCount()];
            long[] sizesP = new long[2 * spec.stateCount()];
            for (int s = 0; s < spec.stateCount(); s++) {
                int in = spec.layerInputSize(s / dirs);
                sizes[2 * s] = (long) gh * (in + PAD);
                sizes[2 * s + 1] = (long) gh * (out + PAD);
                sizesT[2 * s] = (long) in * (gh + PAD);
                sizesT[2 * s + 1] = (long) out * (gh + PAD);
                sizesP[2 * s] = (long) proj * (hidden + PAD);
                sizesP[2 * s + 1] = (long) hidden * (proj + PAD);
            }
            weights.reserve(sizes);
            transposed.reserve(sizesT);
            if (projection != null) {
                projection.reserve(sizesP);
            }
            reload(w);
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        }
    }

    /** Copies {@code w} into the engine's buffers (same sizes: nothing is allocated but the bias arrays). */
    void reload(RnnWeights w) {
        for (int l = 0; l < layers; l++) {
            for (int d = 0; d < dirs; d++) {
                int s = l * dirs + d;
                int in = spec.layerInputSize(l);
                copyPadded(w.weightIh(l, d), gh, in, weights.get(2 * s));
                copyPadded(w.weightHh(l, d), gh, out, weights.get(2 * s + 1));
                transpose(w.weightIh(l, d), gh, in, transposed.get(2 * s));
                transpose(w.weightHh(l, d), gh, out, transposed.get(2 * s + 1));
                inputs[s] = new CpuGemm.Constant[] {
                    gemm.constant(transposed.get(2 * s), 0, gh + PAD, in, gh),
                    gemm.constant(weights.get(2 * s), 0, in + PAD, gh, in)};
                MemorySegment hT = transposed.get(2 * s + 1);
                MemorySegment h = weights.get(2 * s + 1);
                recurrent[s] = kind == Kind.GRU_ORIGINAL
                        ? new CpuGemm.Constant[] {
                            gemm.constant(hT, 0, gh + PAD, hidden, 2 * hidden),
                            gemm.constant(hT, 2L * hidden, gh + PAD, hidden, hidden),
                            gemm.constant(h, 0, hidden + PAD, 2 * hidden, hidden),
                            gemm.constant(h, 2L * hidden * (hidden + PAD), hidden + PAD, hidden, hidden)}
                        : new CpuGemm.Constant[] {
                            gemm.constant(hT, 0, gh + PAD, out, gh), null,
                            gemm.constant(h, 0, out + PAD, gh, out), null};
                if (projection != null) {
                    MemorySegment r = projection.get(2 * s);
                    MemorySegment rT = projection.get(2 * s + 1);
                    MemorySegment whr = w.tensor(Param.WEIGHT_HR, l, d);
                    copyPadded(whr, proj, hidden, r);
                    transpose(whr, proj, hidden, rT);
                    projections[s] = new CpuGemm.Constant[] {
                        gemm.constant(rT, 0, proj + PAD, hidden, proj),
                        gemm.constant(r, 0, hidden + PAD, proj, hidden)};
                }
                if (peep != null) {
                    float[] pv = w.array(Param.PEEPHOLE, l, d);
                    for (int q = 0; q < 3; q++) {
                        System.arraycopy(pv, q * hidden, peep[s], q * p, hidden);
                    }
                }
                float[] bi = w.array(Param.BIAS_IH, l, d);
                float[] bh = w.array(Param.BIAS_HH, l, d);
                if (kind == Kind.GRU) {
                    biasX[s] = bi;
                    biasH[s] = bh;
                } else {
                    for (int r = 0; r < gh; r++) {
                        bi[r] += bh[r];
                    }
                    biasX[s] = bi;
                }
            }
        }
    }

    /** w, of {@code rows} rows by {@code cols}, into rows of {@code cols + PAD} floats. */
    private static void copyPadded(MemorySegment w, int rows, int cols, MemorySegment into) {
        for (int r = 0; r < rows; r++) {
            MemorySegment.copy(w, (long) r * cols * 4, into, (long) r * (cols + PAD) * 4, (long) cols * 4);
        }
    }

    /** {@code into[k][r] = w[r][k]} for w of {@code rows} rows by {@code cols}, into rows of {@code rows + PAD} floats. */
    private static void transpose(MemorySegment w, int rows, int cols, MemorySegment into) {
        for (int r = 0; r < rows; r++) {
            for (int k = 0; k < cols; k++) {
                into.setAtIndex(FLOAT, (long) k * (rows + PAD) + r, w.getAtIndex(FLOAT, (long) r * cols + k));
            }
        }
    }

    /** A new, empty workspace of {@code plan}. */
    Workspace newWorkspace(AbstractRnnPlan plan) {
        return new Workspace(plan, new Memory(factory, team, threads));
    }

    /** What a CPU plan's training forward pass keeps, in buffers of its backend's {@link CpuGemm}. */
    static final class Workspace extends TrainingWorkspace {
        private final Memory memory;

        Workspace(AbstractRnnPlan plan, Memory memory) {
            super(plan);
            this.memory = memory;
            releaseWith(memory);
        }

        @Override
        public long bytes() {
            return memory.bytes();
        }
    }

    // ---------------------------------------------------------------- the workspace's buffers

    private static MemorySegment x0(Memory m) {
        return m.get(0);
    }

    /** The output of layer {@code l < layers - 1}, [T*B x D*H_out]: the input of layer l + 1. */
    private static MemorySegment layerOut(Memory m, int l) {
        return m.get(1 + l);
    }

    /**
     * Buffer {@code k} of slot {@code s}: 0 the gates, 1 h before the step, 2 and 3 what the cell keeps more,
     * then {@link #pre} and {@link #rAt}. The inference pass has one slot's buffers, slot 0's.
     */
    private MemorySegment saved(Memory m, int s, int k) {
        return m.get(layers + s * perSlot + k);
    }

    /**
     * Sizes {@code m} for a forward pass of T steps and B sequences. With {@code keep}, a training workspace:
     * every slot's buffers, every step's rows. Without, the inference pass's: the layers and directions run one
     * after another in one slot's buffers, the gates of every step (the hoisted input GEMM fills them), of the
     * buffers a step's GEMM reads (h, the original GRU's r ⊙ h, a projection's r) one step's rows, and nothing
     * that only a backward pass reads.
     */
    private void reserve(Memory m, int steps, int batch, boolean keep) {
        long rows = (long) steps * batch;
        long stepRows = keep ? rows : batch;
        int slots = keep ? spec.stateCount() : 1;
        long[] need = keep ? needKept : needInference;
        need[0] = rows * spec.inputSize();
        for (int l = 0; l + 1 < layers; l++) {
            need[1 + l] = rows * spec.outputSize();
        }
        for (int s = 0; s < slots; s++) {
            int at = layers + s * perSlot;
            need[at] = rows * gh;
            need[at + 1] = stepRows * out;
            for (int k = 2; k < perSlot; k++) {
                need[at + k] = keep ? rows * hidden : 0;
            }
            if (kind == Kind.GRU_ORIGINAL) {
                need[at + 2] = stepRows * hidden;
            }
            if (pre >= 0) {
                need[at + pre] = keep ? rows * gh : 0;
            }
            if (rAt >= 0) {
                need[at + rAt] = stepRows * hidden;
            }
        }
        m.reserve(need);
        reserveScratch(steps, batch, keep);
    }

    /** Sizes the scratch for a call of T steps and B sequences: its forward's, and with {@code backward} a backward's. */
    private void reserveScratch(int steps, int batch, boolean backward) {
        long rows = (long) steps * batch;
        long backRows = backward ? rows : 0;
        long backBatch = backward ? batch : 0;
        int widest = Math.max(spec.inputSize(), spec.outputSize());
        long[] need = needScratch;
        need[OUT] = rows * spec.outputSize();
        need[GH_STEP] = (long) batch * gh;
        need[DG] = backRows * gh;
        need[DGH] = kind == Kind.GRU ? backRows * gh : 0;
        need[DHP0] = backBatch * out;
        need[DHP1] = backBatch * out;
        need[DRH] = kind == Kind.GRU_ORIGINAL ? backBatch * hidden : 0;
        need[DY0] = backRows * widest;
        need[DY1] = backRows * widest;
        need[WG] = backward ? (long) gh * Math.max(widest, hidden) : 0;
        need[BG] = backward ? gh : 0;
        need[ONES] = backRows;
        need[HPROJ] = (long) batch * proj;
        need[DH] = backRows * proj;
        need[DR] = general != null && kind == Kind.LSTM ? backBatch * hidden : 0;
        if (scratch.reserve(need)) {
            MemorySegment ones = scratch.get(ONES);
            for (long i = 0; i < ones.byteSize() / 4; i++) {
                ones.setAtIndex(FLOAT, i, 1f);
            }
        }
        if (hCur.length < batch * out) {
            hCur = new float[batch * out];
        }
        if (cCur.length < batch * hidden) {
            cCur = new float[batch * hidden];
            carryC = new float[batch * hidden];
        }
    }

    // ---------------------------------------------------------------- forward

    /** The training forward pass of {@code c} into {@code ws}. */
    void forward(ForwardCall c, Workspace ws) {
        forward(c, ws.memory, true);
    }

    /**
     * The forward pass of an inference call or a streaming step for a cell with options (a plain cell's run on
     * its backend's {@link CellKernel}): the training forward, keeping nothing for a backward, in buffers of the
     * engine's own that grow only for a larger call than any before.
     */
    void infer(ForwardCall c) {
        forward(c, inference, false);
    }

    /** Sizes {@link #infer}'s buffers for calls of up to T steps and B sequences, ahead of the first. */
    void reserveInference(int steps, int batch) {
        reserve(inference, steps, batch, false);
    }

    private void forward(ForwardCall c, Memory m, boolean keep) {
        int steps = c.steps();
        int batch = c.batch();
        long rows = (long) steps * batch;
        reserve(m, steps, batch, keep);
        MemorySegment x0 = x0(m);
        int in0 = spec.inputSize();
        // sequence-major, rows past a sequence's length zero (their dG is 0, and 0 * NaN padding would not be)
        for (int t = 0; t < steps; t++) {
            for (int b = 0; b < batch; b++) {
                long dst = ((long) t * batch + b) * in0 * 4;
                if (t < c.length(b)) {
                    long src = (long) c.layout().row(t, b, steps, batch) * in0 * 4;
                    MemorySegment.copy(c.x().segment(), src, x0, dst, (long) in0 * 4);
                } else {
                    zero(x0, dst / 4, in0);
                }
            }
        }
        MemorySegment y = scratch.get(OUT);
        gemm.beginCall();
        try {
            for (int l = 0; l < layers; l++) {
                MemorySegment in = l == 0 ? x0 : layerOut(m, l - 1);
                MemorySegment o = l == layers - 1 ? y : layerOut(m, l);
                for (int d = 0; d < dirs; d++) {
                    forwardSlot(c, m, keep, l, d, in, o, rows);
                }
            }
        } finally {
            gemm.endCall();
            fwdCall = null; // the caller's tensors are not kept past the call
        }
        int width = spec.outputSize();
        for (int t = 0; t < steps; t++) {
            for (int b = 0; b < batch; b++) {
                long dst = (long) c.layout().row(t, b, steps, batch) * width * 4;
                MemorySegment.copy(y, ((long) t * batch + b) * width * 4, c.y().segment(), dst, (long) width * 4);
            }
        }
    }

    private void forwardSlot(ForwardCall c, Memory m, boolean keep, int l, int d, MemorySegment in, MemorySegment y,
                             long rows) {
        int steps = c.steps();
        int batch = c.batch();
        int s = l * dirs + d;
        int inW = spec.layerInputSize(l);
        boolean reversed = spec.direction().reversed(d);
        CpuGemm.Constant[] rec = recurrent[s];
        int k = keep ? s : 0;
        MemorySegment act = saved(m, k, 0);
        MemorySegment hp = saved(m, k, 1);
        MemorySegment aux = kind != Kind.RNN ? saved(m, k, 2) : null;
        MemorySegment rBuf = rAt >= 0 ? saved(m, k, rAt) : null;
        MemorySegment ghStep = scratch.get(GH_STEP);
        fwdCall = c;
        batchStep = batch;
        keepStep = keep;
        dirStep = d;
        slotStep = s;
        genStep = general == null ? null : general[d];
        actBuf = act;
        auxBuf = aux;
        csBuf = kind == Kind.LSTM ? saved(m, k, 3) : null;
        preBuf = pre >= 0 ? saved(m, k, pre) : null;
        rowBuf = rBuf;
        ghBuf = ghStep;
        yBuf = y;
        fillRows(act, 0, rows, biasX[s]);
        gemm.gemm((int) rows, 1f, in, 0, inW, inputs[s][0], 1f, act, 0, gh);
        loadState(c.h0(), s, batch, hCur, out);
        if (kind == Kind.LSTM) {
            loadState(c.c0(), s, batch, cCur, hidden);
        }
        for (int i = 0; i < steps; i++) {
            int t = reversed ? steps - 1 - i : i;
            long r0 = (long) t * batch;
            // the step's first row in the buffers a step's GEMM reads: its own when kept, else the one step's
            long s0 = keep ? r0 : 0;
            tStep = t;
            r0Step = r0;
            s0Step = s0;
            MemorySegment.copy(hCur, 0, hp, FLOAT, s0 * out * 4, batch * out);
            if (kind == Kind.LSTM && keep) {
                MemorySegment.copy(cCur, 0, aux, FLOAT, r0 * hidden * 4, batch * hidden);
            }
            switch (kind) {
                case LSTM, RNN -> gemm.gemm(batch, 1f, hp, s0 * out, out, rec[0], 1f, act, r0 * gh, gh);
                case GRU -> {
                    fillRows(ghStep, 0, batch, biasH[s]);
                    gemm.gemm(batch, 1f, hp, s0 * hidden, hidden, rec[0], 1f, ghStep, 0, gh);
                }
                case GRU_ORIGINAL -> gemm.gemm(batch, 1f, hp, s0 * hidden, hidden, rec[0], 1f, act, r0 * gh, gh);
            }
            eachRow(forwardRows, batch);
            if (rBuf != null) {
                // h' = r W_hr^T, over the batch's rows
                MemorySegment hProj = scratch.get(HPROJ);
                gemm.gemm(batch, 1f, rBuf, s0 * hidden, hidden, projections[s][0], 0f, hProj, 0, proj);
                int outW = spec.outputSize();
                for (int b = 0; b < batch; b++) {
                    if (t < c.length(b)) {
                        long at = (long) b * proj * 4;
                        MemorySegment.copy(hProj, FLOAT, at, hCur, b * out, proj);
                        MemorySegment.copy(hProj, at, y, ((r0 + b) * outW + (long) d * out) * 4, (long) proj * 4);
                    }
                }
            }
            if (kind == Kind.GRU_ORIGINAL) {
                // n = tanh(px_n + W_hn (r ⊙ h) + b_hn): the second GEMM, over the rows of r ⊙ h
                gemm.gemm(batch, 1f, aux, s0 * hidden, hidden, rec[1], 1f, act, r0 * gh + 2L * hidden, gh);
                eachRow(newRows, batch);
            }
        }
        storeState(c.hN(), s, batch, hCur, out);
        if (kind == Kind.LSTM) {
            storeState(c.cN(), s, batch, cCur, hidden);
        }
    }

    /**
     * Row {@code b} of the step in flight, the pointwise part: the gates activated (kept for a backward), the state
     * and the output written; a row whose sequence has ended (or, in reverse, not begun) keeps its state and
     * outputs 0. The first phase only of the original GRU; for a cell with options, see {@link #generalRow}.
     */
    private void forwardRow(Stage st, int b) {
        long row = r0Step + b;
        long sRow = s0Step + b;
        long yAt = (row * spec.outputSize() + (long) dirStep * out) * 4;
        MemorySegment act = actBuf;
        if (tStep >= fwdCall.length(b)) {
            MemorySegment.copy(zeros, 0, yBuf, FLOAT, yAt, out);
            if (kind == Kind.GRU_ORIGINAL) {
                MemorySegment.copy(zeros, 0, auxBuf, FLOAT, sRow * hidden * 4, hidden);
            }
            if (rowBuf != null) {
                // dW_hr = dH'^T R reads every row: a stale NaN here would survive its zero dH'
                MemorySegment.copy(zeros, 0, rowBuf, FLOAT, sRow * hidden * 4, hidden);
            }
            if (genStep != null && kind == Kind.LSTM && keepStep) {
                MemorySegment.copy(zeros, 0, csBuf, FLOAT, row * hidden * 4, hidden); // the peepholes' sums, likewise
            }
            return;
        }
        System.arraycopy(hCur, b * out, st.hPrev, 0, out);
        if (genStep != null) {
            generalRow(st, b, row, sRow);
        } else {
            switch (kind) {
                case LSTM -> {
                    stageBlocks(act, row * gh, st.gates, 0, 4);
                    System.arraycopy(cCur, b * hidden, st.cPrev, 0, hidden);
                    pw.lstm(st.gates, st.cPrev, st.c, st.h, p);
                    storeBlocks(st.gates, 0, 4, act, row * gh);
                    MemorySegment.copy(st.c, 0, csBuf, FLOAT, row * hidden * 4, hidden);
                    System.arraycopy(st.c, 0, cCur, b * hidden, hidden);
                }
                case RNN -> {
                    stageBlocks(act, row * gh, st.gates, 0, 1);
                    pw.rnn(st.gates, st.h, p, relu);
                    MemorySegment.copy(st.h, 0, act, FLOAT, row * gh * 4, hidden);
                }
                case GRU -> {
                    stageBlocks(act, row * gh, st.gates, 0, 3);
                    stageBlocks(ghBuf, (long) b * gh, st.recurrent, 0, 3);
                    pw.gru(st.gates, st.recurrent, st.hPrev, st.h, p);
                    storeBlocks(st.gates, 0, 3, act, row * gh);
                    MemorySegment.copy(st.recurrent, 2 * p, auxBuf, FLOAT, row * hidden * 4, hidden);
                }
                case GRU_ORIGINAL -> {
                    stageBlocks(act, row * gh, st.gates, 0, 2);
                    pw.gruReset(st.gates, st.hPrev, st.aux, p);
                    storeBlocks(st.gates, 0, 2, act, row * gh);
                    MemorySegment.copy(st.aux, 0, auxBuf, FLOAT, row * hidden * 4, hidden);
                }
            }
        }
        if (kind != Kind.GRU_ORIGINAL && rowBuf == null) {
            System.arraycopy(st.h, 0, hCur, b * out, out);
            MemorySegment.copy(st.h, 0, yBuf, FLOAT, yAt, out);
        }
    }

    /** Row {@code b} of the original GRU's second phase: n from the second GEMM, then h' and the output. */
    private void newRow(Stage st, int b) {
        if (tStep >= fwdCall.length(b)) {
            return;
        }
        long row = r0Step + b;
        System.arraycopy(hCur, b * hidden, st.hPrev, 0, hidden);
        stageBlocks(actBuf, row * gh, st.gates, 0, 3);
        if (genStep != null) {
            genStep.gruNew(st.gates, st.pre, st.hPrev, st.h, p);
            if (keepStep) {
                MemorySegment.copy(st.pre, 2 * p, preBuf, FLOAT, (row * gh + 2L * hidden) * 4, hidden);
            }
        } else {
            pw.gruNew(st.gates, st.hPrev, st.h, p);
        }
        MemorySegment.copy(st.gates, 2 * p, actBuf, FLOAT, (row * gh + 2L * hidden) * 4, hidden);
        System.arraycopy(st.h, 0, hCur, b * hidden, hidden);
        MemorySegment.copy(st.h, 0, yBuf, FLOAT, (row * spec.outputSize() + (long) dirStep * hidden) * 4, hidden);
    }

    /**
     * One row's pointwise part for a cell with options: the gates activated (kept for a backward, with their
     * raw pre-activations and what the cell keeps more), and h' into the stage's h, or, projected, r into its
     * buffer for the step's projection GEMM. The first phase only of the original GRU.
     */
    private void generalRow(Stage st, int b, long row, long sRow) {
        GeneralCell gen = genStep;
        boolean keep = keepStep;
        MemorySegment act = actBuf;
        switch (kind) {
            case LSTM -> {
                stageBlocks(act, row * gh, st.gates, 0, 4);
                System.arraycopy(cCur, b * hidden, st.cPrev, 0, hidden);
                gen.lstm(st.gates, st.pre, st.cPrev, peep == null ? null : peep[slotStep], st.c, st.r, p);
                System.arraycopy(st.c, 0, cCur, b * hidden, hidden);
                if (keep) {
                    storeBlocks(st.gates, 0, 4, act, row * gh);
                    storeBlocks(st.pre, 0, 4, preBuf, row * gh);
                    MemorySegment.copy(st.c, 0, csBuf, FLOAT, row * hidden * 4, hidden);
                }
                if (rowBuf != null) {
                    MemorySegment.copy(st.r, 0, rowBuf, FLOAT, sRow * hidden * 4, hidden);
                } else {
                    System.arraycopy(st.r, 0, st.h, 0, hidden);
                }
            }
            case RNN -> {
                stageBlocks(act, row * gh, st.gates, 0, 1);
                gen.rnn(st.gates, st.pre, st.h, p);
                if (keep) {
                    MemorySegment.copy(st.h, 0, act, FLOAT, row * gh * 4, hidden);
                    MemorySegment.copy(st.pre, 0, preBuf, FLOAT, row * gh * 4, hidden);
                }
            }
            case GRU -> {
                stageBlocks(act, row * gh, st.gates, 0, 3);
                stageBlocks(ghBuf, (long) b * gh, st.recurrent, 0, 3);
                gen.gru(st.gates, st.recurrent, st.hPrev, st.pre, st.h, p);
                if (keep) {
                    storeBlocks(st.gates, 0, 3, act, row * gh);
                    storeBlocks(st.pre, 0, 3, preBuf, row * gh);
                    MemorySegment.copy(st.recurrent, 2 * p, auxBuf, FLOAT, row * hidden * 4, hidden);
                }
            }
            case GRU_ORIGINAL -> {
                stageBlocks(act, row * gh, st.gates, 0, 2);
                gen.gruReset(st.gates, st.pre, st.hPrev, st.aux, p);
                storeBlocks(st.gates, 0, 2, act, row * gh); // the second phase reads z here
                if (keep) {
                    storeBlocks(st.pre, 0, 2, preBuf, row * gh);
                }
                MemorySegment.copy(st.aux, 0, auxBuf, FLOAT, sRow * hidden * 4, hidden);
            }
        }
    }


    // ---------------------------------------------------------------- backward

    /** Backpropagation through time of the forward pass {@code c.workspace()} holds. */
    void backward(BackwardCall c) {
        Workspace ws = (Workspace) c.workspace();
        int steps = c.steps();
        int batch = c.batch();
        reserveScratch(steps, batch, true);
        int outW = spec.outputSize();
        MemorySegment dy = scratch.get(DY0);
        MemorySegment dx = scratch.get(DY1);
        boolean haveDy = c.dy() != null;
        if (haveDy) {
            for (int t = 0; t < steps; t++) {
                for (int b = 0; b < batch; b++) {
                    long src = (long) c.layout().row(t, b, steps, batch) * outW * 4;
                    MemorySegment.copy(c.dy().segment(), src, dy, ((long) t * batch + b) * outW * 4, (long) outW * 4);
                }
            }
        }
        gemm.beginCall();
        try {
            for (int l = layers - 1; l >= 0; l--) {
                MemorySegment in = l == 0 ? x0(ws.memory) : layerOut(ws.memory, l - 1);
                boolean wantDx = l > 0 || c.dx() != null;
                for (int d = 0; d < dirs; d++) {
                    backwardSlot(c, ws.memory, l, d, haveDy ? dy : null);
                    weightGradients(c, ws.memory, l, d, in);
                    if (wantDx) {
                        int inW = spec.layerInputSize(l);
                        gemm.gemm(steps * batch, 1f, scratch.get(DG), 0, gh, inputs[l * dirs + d][1], d == 0 ? 0f : 1f,
                                dx, 0, inW);
                    }
                }
                MemorySegment swap = dy;
                dy = dx;
                dx = swap;
                haveDy = true;
            }
        } finally {
            gemm.endCall();
            bwdCall = null;
        }
        if (c.dx() != null) {
            int inW = spec.inputSize();
            for (int t = 0; t < steps; t++) {
                for (int b = 0; b < batch; b++) {
                    long dst = (long) c.layout().row(t, b, steps, batch) * inW * 4;
                    MemorySegment.copy(dy, ((long) t * batch + b) * inW * 4, c.dx().segment(), dst, (long) inW * 4);
                }
            }
        }
    }

    /** The time loop of one layer and direction: dG of every step into the scratch, dh0 and dc0 out. */
    private void backwardSlot(BackwardCall c, Memory m, int l, int d, MemorySegment dy) {
        int steps = c.steps();
        int batch = c.batch();
        int s = l * dirs + d;
        boolean reversed = spec.direction().reversed(d);
        CpuGemm.Constant[] rec = recurrent[s];
        MemorySegment act = saved(m, s, 0);
        MemorySegment dg = scratch.get(DG);
        MemorySegment dgh = kind == Kind.GRU ? scratch.get(DGH) : dg;
        MemorySegment drh = scratch.get(DRH);
        MemorySegment dhs = scratch.get(DH);
        MemorySegment drs = scratch.get(DR);
        MemorySegment carry = scratch.get(DHP0);
        MemorySegment next = scratch.get(DHP1);
        GeneralCell gen = general == null ? null : general[d];
        boolean generalLstm = gen != null && kind == Kind.LSTM;
        bwdCall = c;
        batchStep = batch;
        dirStep = d;
        genStep = gen;
        actBuf = act;
        hpBuf = saved(m, s, 1);
        auxBuf = kind != Kind.RNN ? saved(m, s, 2) : null;
        csBuf = kind == Kind.LSTM ? saved(m, s, 3) : null;
        preBuf = pre >= 0 ? saved(m, s, pre) : null;
        dgBuf = dg;
        dghBuf = dgh;
        drhBuf = drh;
        dhsBuf = dhs;
        drsBuf = drs;
        dyBuf = dy;
        loadState(c.dhN(), s, batch, hCur, out);
        MemorySegment.copy(hCur, 0, carry, FLOAT, 0, batch * out);
        if (kind == Kind.LSTM) {
            loadState(c.dcN(), s, batch, carryC, hidden);
        }
        for (int i = 0; i < steps; i++) {
            int t = reversed ? i : steps - 1 - i;
            long r0 = (long) t * batch;
            tStep = t;
            r0Step = r0;
            carryBuf = carry;
            nextBuf = next;
            eachRow(backwardRows, batch);
            if (generalLstm) {
                if (proj > 0) {
                    // d loss / d r = dh' W_hr, over the batch's rows
                    gemm.gemm(batch, 1f, dhs, r0 * proj, proj, projections[s][1], 0f, drs, 0, hidden);
                }
                Stage st = stages[0];
                for (int b = 0; b < batch; b++) {
                    if (t >= c.length(b)) {
                        continue;
                    }
                    long row = r0 + b;
                    stageBlocks(act, row * gh, st.gates, 0, 4);
                    stageBlocks(preBuf, row * gh, st.pre, 0, 4);
                    MemorySegment.copy(auxBuf, FLOAT, row * hidden * 4, st.cPrev, 0, hidden);
                    MemorySegment.copy(csBuf, FLOAT, row * hidden * 4, st.c, 0, hidden);
                    MemorySegment.copy(drs, FLOAT, (long) b * hidden * 4, st.dh, 0, hidden);
                    System.arraycopy(carryC, b * hidden, st.dc, 0, hidden);
                    gen.lstmBackward(st.gates, st.pre, st.cPrev, st.c, peep == null ? null : peep[s], st.dh, st.dc,
                            st.dg, p);
                    storeBlocks(st.dg, 0, 4, dg, row * gh);
                    System.arraycopy(st.dc, 0, carryC, b * hidden, hidden);
                }
            }
            if (kind == Kind.GRU_ORIGINAL) {
                // d(r ⊙ h) = dn W_hn, then dr, and its share of dh through r ⊙ h
                gemm.gemm(batch, 1f, dg, r0 * gh + 2L * hidden, gh, rec[3], 0f, drh, 0, hidden);
                eachRow(resetRows, batch);
                gemm.gemm(batch, 1f, dg, r0 * gh, gh, rec[2], 1f, next, 0, hidden);
            } else {
                gemm.gemm(batch, 1f, dgh, r0 * gh, gh, rec[2], 1f, next, 0, out);
            }
            MemorySegment swap = carry;
            carry = next;
            next = swap;
        }
        if (c.dh0() != null) {
            MemorySegment.copy(carry, FLOAT, 0, hCur, 0, batch * out);
            storeState(c.dh0(), s, batch, hCur, out);
        }
        if (kind == Kind.LSTM) {
            storeState(c.dc0(), s, batch, carryC, hidden);
        }
    }

    /**
     * Row {@code b} of the backward step in flight: dh (carried, plus dy) through the pointwise part into the
     * step's dG and the carried dc, and into the next step's dh where it passes outside the GEMM. No gradient
     * flows into a step past the sequence's end: dh and dc pass through unchanged. A cell with options' LSTM only
     * stages dh here, for the step's second loop; the original GRU's first phase (n) only.
     */
    private void backwardRow(Stage st, int b) {
        long row = r0Step + b;
        long at = (long) b * out * 4;
        MemorySegment dg = dgBuf;
        MemorySegment next = nextBuf;
        if (tStep >= bwdCall.length(b)) {
            MemorySegment.copy(zeros, 0, dg, FLOAT, row * gh * 4, gh);
            if (kind == Kind.GRU) {
                MemorySegment.copy(zeros, 0, dghBuf, FLOAT, row * gh * 4, gh);
            }
            if (proj > 0) {
                MemorySegment.copy(zeros, 0, dhsBuf, FLOAT, row * proj * 4, proj);
            }
            MemorySegment.copy(carryBuf, at, next, at, (long) out * 4);
            return;
        }
        float[] dh = st.dh;
        MemorySegment.copy(carryBuf, FLOAT, at, dh, 0, out);
        if (dyBuf != null) {
            long yAt = row * spec.outputSize() + (long) dirStep * out;
            for (int j = 0; j < out; j++) {
                dh[j] += dyBuf.getAtIndex(FLOAT, yAt + j);
            }
        }
        GeneralCell gen = genStep;
        if (gen != null && kind == Kind.LSTM) {
            // the cell's part waits for d loss / d r: through W_hr, a GEMM over the batch, when projected
            if (proj > 0) {
                MemorySegment.copy(dh, 0, dhsBuf, FLOAT, row * proj * 4, proj);
            } else {
                MemorySegment.copy(dh, 0, drsBuf, FLOAT, (long) b * hidden * 4, hidden);
            }
            MemorySegment.copy(zeros, 0, next, FLOAT, at, out);
            return;
        }
        MemorySegment act = actBuf;
        switch (kind) {
            case LSTM -> {
                stageBlocks(act, row * gh, st.gates, 0, 4);
                MemorySegment.copy(auxBuf, FLOAT, row * hidden * 4, st.cPrev, 0, hidden);
                MemorySegment.copy(csBuf, FLOAT, row * hidden * 4, st.c, 0, hidden);
                System.arraycopy(carryC, b * hidden, st.dc, 0, hidden);
                pw.lstmBackward(st.gates, st.cPrev, st.c, dh, st.dc, st.dg, p);
                storeBlocks(st.dg, 0, 4, dg, row * gh);
                System.arraycopy(st.dc, 0, carryC, b * hidden, hidden);
                MemorySegment.copy(zeros, 0, next, FLOAT, at, hidden);
            }
            case RNN -> {
                stageBlocks(act, row * gh, st.gates, 0, 1);
                if (gen != null) {
                    MemorySegment.copy(preBuf, FLOAT, row * gh * 4, st.pre, 0, hidden);
                    gen.rnnBackward(st.gates, st.pre, dh, st.dg, p);
                } else {
                    pw.rnnBackward(st.gates, dh, st.dg, p, relu);
                }
                MemorySegment.copy(st.dg, 0, dg, FLOAT, row * gh * 4, hidden);
                MemorySegment.copy(zeros, 0, next, FLOAT, at, hidden);
            }
            case GRU -> {
                stageBlocks(act, row * gh, st.gates, 0, 3);
                MemorySegment.copy(auxBuf, FLOAT, row * hidden * 4, st.aux, 0, hidden);
                MemorySegment.copy(hpBuf, FLOAT, row * hidden * 4, st.hPrev, 0, hidden);
                if (gen != null) {
                    stageBlocks(preBuf, row * gh, st.pre, 0, 3);
                    gen.gruBackward(st.gates, st.pre, st.aux, st.hPrev, dh, st.dg, st.dgh, p);
                } else {
                    pw.gruBackward(st.gates, st.aux, st.hPrev, dh, st.dg, st.dgh, p);
                }
                storeBlocks(st.dg, 0, 3, dg, row * gh);
                storeBlocks(st.dgh, 0, 3, dghBuf, row * gh);
                MemorySegment.copy(dh, 0, next, FLOAT, at, hidden);
            }
            case GRU_ORIGINAL -> {
                stageBlocks(act, row * gh, st.gates, 0, 3);
                MemorySegment.copy(hpBuf, FLOAT, row * hidden * 4, st.hPrev, 0, hidden);
                if (gen != null) {
                    stageBlocks(preBuf, row * gh, st.pre, 0, 3);
                    gen.gruNewBackward(st.gates, st.pre, st.hPrev, dh, st.dg, p);
                } else {
                    pw.gruNewBackward(st.gates, st.hPrev, dh, st.dg, p);
                }
                MemorySegment.copy(zeros, 0, dg, FLOAT, row * gh * 4, hidden);
                MemorySegment.copy(st.dg, p, dg, FLOAT, (row * gh + hidden) * 4, hidden);
                MemorySegment.copy(st.dg, 2 * p, dg, FLOAT, (row * gh + 2L * hidden) * 4, hidden);
                MemorySegment.copy(dh, 0, next, FLOAT, at, hidden);
            }
        }
    }

    /** Row {@code b} of the original GRU's second backward phase: dr from {@code d(r ⊙ h)}, and r's share of dh. */
    private void resetRow(Stage st, int b) {
        if (tStep >= bwdCall.length(b)) {
            return;
        }
        long row = r0Step + b;
        long at = (long) b * hidden * 4;
        stageBlocks(actBuf, row * gh, st.gates, 0, 1);
        MemorySegment.copy(hpBuf, FLOAT, row * hidden * 4, st.hPrev, 0, hidden);
        MemorySegment.copy(drhBuf, FLOAT, at, st.aux, 0, hidden);
        MemorySegment.copy(nextBuf, FLOAT, at, st.dh, 0, hidden);
        if (genStep != null) {
            MemorySegment.copy(preBuf, FLOAT, row * gh * 4, st.pre, 0, hidden);
            genStep.gruResetBackward(st.gates, st.pre, st.hPrev, st.aux, st.dh, st.dg, p);
        } else {
            pw.gruResetBackward(st.gates, st.hPrev, st.aux, st.dh, st.dg, p);
        }
        MemorySegment.copy(st.dg, 0, dgBuf, FLOAT, row * gh * 4, hidden);
        MemorySegment.copy(st.dh, 0, nextBuf, FLOAT, at, hidden);
    }

    // ---------------------------------------------------------------- the rows of a step

    /**
     * Runs a step's row part ({@code part.accept(w)}: participant w's share of the batch's rows) on this thread, or,
     * for a plain cell with two or more threads and {@link #ROWS_PER_THREAD} rows each, split among the team's
     * participants, each with its {@link Stage}: rows are independent, and each writes only its own rows of every
     * buffer. A cell with options runs here (its {@link GeneralCell}s keep scratch of their own).
     */
    private void eachRow(IntConsumer part, int batch) {
        int parts = general == null && team != null ? Math.min(threads, batch / ROWS_PER_THREAD) : 1;
        if (parts <= 1) {
            split = false;
            part.accept(0);
        } else {
            split = true;
            team.run(parts, part);
        }
    }

    /** Rows {@code [b0, b1)} of participant w's share of the step in flight's batch. */
    private void rows(int w, int part) {
        int batch = batchStep;
        int parts = split ? team.participants() : 1;
        int b0 = (int) ((long) w * batch / parts);
        int b1 = (int) ((long) (w + 1) * batch / parts);
        Stage st = stages[w];
        for (int b = b0; b < b1; b++) {
            switch (part) {
                case FORWARD_ROW -> forwardRow(st, b);
                case NEW_ROW -> newRow(st, b);
                case BACKWARD_ROW -> backwardRow(st, b);
                default -> resetRow(st, b);
            }
        }
    }


    /** The weight gradients of one layer and direction, from the dG of all its steps. */
    private void weightGradients(BackwardCall c, Memory m, int l, int d, MemorySegment in) {
        RnnWeightGrads grads = c.weights();
        if (grads == null) {
            return;
        }
        int rows = c.steps() * c.batch();
        int s = l * dirs + d;
        int inW = spec.layerInputSize(l);
        MemorySegment dg = scratch.get(DG);
        MemorySegment dgh = kind == Kind.GRU ? scratch.get(DGH) : dg;
        MemorySegment wg = scratch.get(WG);
        MemorySegment hp = saved(m, s, 1);
        gemm.gemm(true, gh, inW, rows, 1f, dg, 0, gh, in, 0, inW, 0f, wg, 0, inW);
        emit(grads, Param.WEIGHT_IH, l, d, wg, c.accumulate());
        if (kind == Kind.GRU_ORIGINAL) {
            // the n rows multiply r ⊙ h, not h
            gemm.gemm(true, 2 * hidden, hidden, rows, 1f, dg, 0, gh, hp, 0, hidden, 0f, wg, 0, hidden);
            gemm.gemm(true, hidden, hidden, rows, 1f, dg, 2L * hidden, gh, saved(m, s, 2), 0, hidden, 0f, wg,
                    2L * hidden * hidden, hidden);
        } else {
            gemm.gemm(true, gh, out, rows, 1f, dgh, 0, gh, hp, 0, out, 0f, wg, 0, out);
        }
        emit(grads, Param.WEIGHT_HH, l, d, wg, c.accumulate());
        if (spec.bias()) {
            MemorySegment ones = scratch.get(ONES);
            MemorySegment bg = scratch.get(BG);
            gemm.gemm(false, 1, gh, rows, 1f, ones, 0, rows, dg, 0, gh, 0f, bg, 0, gh);
            emit(grads, Param.BIAS_IH, l, d, bg, c.accumulate());
            if (kind == Kind.GRU) {
                gemm.gemm(false, 1, gh, rows, 1f, ones, 0, rows, dgh, 0, gh, 0f, bg, 0, gh);
            }
            emit(grads, Param.BIAS_HH, l, d, bg, c.accumulate());
        }
        if (proj > 0) {
            // dW_hr = dH'^T R over every step (rows past a length are 0 in dH')
            gemm.gemm(true, proj, hidden, rows, 1f, scratch.get(DH), 0, proj, saved(m, s, rAt), 0, hidden, 0f, wg, 0,
                    hidden);
            emit(grads, Param.WEIGHT_HR, l, d, wg, c.accumulate());
        }
        if (peep != null) {
            peepholeGradients(rows, m, s);
            emit(grads, Param.PEEPHOLE, l, d, peepGrad, c.accumulate());
        }
    }

    /**
     * The peepholes' gradients as column sums over every step's rows: {@code sum di ⊙ c}, {@code sum df ⊙ c}
     * and {@code sum do ⊙ c'}, into {@link #peepGrad} (rows past a length have dG = 0).
     */
    private void peepholeGradients(int rows, Memory m, int s) {
        MemorySegment dg = scratch.get(DG);
        MemorySegment cp = saved(m, s, 2);
        MemorySegment cn = saved(m, s, 3);
        float[] dgRow = stages[0].dg;
        float[] cPrevRow = stages[0].cPrev;
        float[] cRow = stages[0].c;
        java.util.Arrays.fill(peepGrad, 0f);
        for (long row = 0; row < rows; row++) {
            stageBlocks(dg, row * gh, dgRow, 0, 4);
            MemorySegment.copy(cp, FLOAT, row * hidden * 4, cPrevRow, 0, hidden);
            MemorySegment.copy(cn, FLOAT, row * hidden * 4, cRow, 0, hidden);
            for (int j = 0; j < hidden; j++) {
                peepGrad[j] += dgRow[j] * cPrevRow[j];
                peepGrad[hidden + j] += dgRow[p + j] * cPrevRow[j];
                peepGrad[2 * hidden + j] += dgRow[3 * p + j] * cRow[j];
            }
        }
    }

    /** Writes or adds the gradient in {@code from} to the caller's. */
    private static void emit(RnnWeightGrads grads, Param param, int l, int d, MemorySegment from, boolean accumulate) {
        float[] to = grads.data(param, l, d);
        if (accumulate) {
            for (int i = 0; i < to.length; i++) {
                to[i] += from.getAtIndex(FLOAT, i);
            }
        } else {
            MemorySegment.copy(from, FLOAT, 0, to, 0, to.length);
        }
    }

    /** {@link #emit(RnnWeightGrads, Param, int, int, MemorySegment, boolean)} from a heap array. */
    private static void emit(RnnWeightGrads grads, Param param, int l, int d, float[] from, boolean accumulate) {
        float[] to = grads.data(param, l, d);
        for (int i = 0; i < to.length; i++) {
            to[i] = accumulate ? to[i] + from[i] : from[i];
        }
    }

    // ---------------------------------------------------------------- rows and states

    /** Writes {@code bias} (G*H floats) into rows {@code [r0, r0 + n)} of a gate buffer, for a GEMM to add to. */
    private void fillRows(MemorySegment gates, long r0, long n, float[] bias) {
        for (long r = r0; r < r0 + n; r++) {
            MemorySegment.copy(bias, 0, gates, FLOAT, r * gh * 4, gh);
        }
    }

    /** Gate blocks {@code [0, blocks)} of the gate row at float {@code at} into {@code dst}'s blocks of p. */
    private void stageBlocks(MemorySegment src, long at, float[] dst, int first, int blocks) {
        for (int q = first; q < blocks; q++) {
            MemorySegment.copy(src, FLOAT, (at + (long) q * hidden) * 4, dst, q * p, hidden);
        }
    }

    /** Blocks of p floats of {@code src} back into the gate row at float {@code at}. */
    private void storeBlocks(float[] src, int first, int blocks, MemorySegment dst, long at) {
        for (int q = first; q < blocks; q++) {
            MemorySegment.copy(src, q * p, dst, FLOAT, (at + (long) q * hidden) * 4, hidden);
        }
    }

    /** Zeroes {@code n} floats from float {@code at}, without a slice object. */
    private void zero(MemorySegment s, long at, long n) {
        for (long done = 0; done < n; done += zeros.length) {
            MemorySegment.copy(zeros, 0, s, FLOAT, (at + done) * 4, (int) Math.min(zeros.length, n - done));
        }
    }

    /** Rows of {@code width} floats (H_out for h, H for c) of slot {@code slot} of a state tensor, or zeros. */
    private static void loadState(Tensor state, int slot, int batch, float[] into, int width) {
        if (state == null) {
            java.util.Arrays.fill(into, 0, batch * width, 0f);
        } else {
            MemorySegment.copy(state.segment(), FLOAT, (long) slot * batch * width * 4, into, 0, batch * width);
        }
    }

    private static void storeState(Tensor state, int slot, int batch, float[] from, int width) {
        if (state != null) {
            MemorySegment.copy(from, 0, state.segment(), FLOAT, (long) slot * batch * width * 4, batch * width);
        }
    }

    @Override
    public void close() {
        weights.close();
        transposed.close();
        if (projection != null) {
            projection.close();
        }
        scratch.close();
        inference.close();
        gemm.close();
    }

    /**
     * Buffers from one {@link CpuGemm} instance, sized together: when a call needs more, a fresh
     * instance allocates them all and the old one is closed, releasing its memory (the contents are lost:
     * only what a call fills before it reads lives here).
     */
    static final class Memory implements AutoCloseable {
        private final CpuGemm.Factory factory;
        private final WorkerGroup.Team team;
        private final int threads;
        private CpuGemm owner;
        private long[] sizes = new long[0];
        private MemorySegment[] buffers = new MemorySegment[0];

        Memory(CpuGemm.Factory factory, WorkerGroup.Team team, int threads) {
            this.factory = factory;
            this.team = team;
            this.threads = threads;
        }

        /** Makes buffer i hold at least {@code need[i]} floats, for every i; true if they were allocated anew. */
        boolean reserve(long[] need) {
            boolean fits = owner != null && need.length == sizes.length;
            for (int i = 0; fits && i < need.length; i++) {
                fits = sizes[i] >= need[i];
            }
            if (fits) {
                return false;
            }
            long[] grown = new long[need.length];
            for (int i = 0; i < need.length; i++) {
                grown[i] = Math.max(need[i], i < sizes.length ? sizes[i] : 0);
            }
            CpuGemm fresh = factory.create(team, threads);
            MemorySegment[] b = new MemorySegment[need.length];
            try {
                for (int i = 0; i < need.length; i++) {
                    b[i] = fresh.allocate(grown[i]);
                }
            } catch (RuntimeException | Error e) {
                fresh.close();
                throw e;
            }
            if (owner != null) {
                owner.close();
            }
            owner = fresh;
            sizes = grown;
            buffers = b;
            return true;
        }

        MemorySegment get(int i) {
            return buffers[i];
        }

        long bytes() {
            long n = 0;
            for (long s : sizes) {
                n += s * 4;
            }
            return n;
        }

        @Override
        public void close() {
            if (owner != null) {
                owner.close();
                owner = null;
            }
            sizes = new long[0];
            buffers = new MemorySegment[0];
        }
    }
}
