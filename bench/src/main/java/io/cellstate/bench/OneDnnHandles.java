package io.cellstate.bench;

import static io.cellstate.bench.OneDnn.check;
import static org.bytedeco.dnnl.global.dnnl.dnnl_cpu;
import static org.bytedeco.dnnl.global.dnnl.dnnl_f32;
import static org.bytedeco.dnnl.global.dnnl.dnnl_success;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import java.util.function.ToIntFunction;
import org.bytedeco.dnnl.dnnl_engine;
import org.bytedeco.dnnl.dnnl_exec_arg_t;
import org.bytedeco.dnnl.dnnl_memory;
import org.bytedeco.dnnl.dnnl_memory_desc;
import org.bytedeco.dnnl.dnnl_primitive;
import org.bytedeco.dnnl.dnnl_primitive_attr;
import org.bytedeco.dnnl.dnnl_primitive_desc;
import org.bytedeco.dnnl.dnnl_stream;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.javacpp.Pointer;

/**
 * The one owner of a set of oneDNN C handles: every factory here creates a handle, checks the
 * status and registers the matching {@code dnnl_*_destroy} in the same line, so a handle can be
 * neither leaked nor destroyed with the wrong call. {@link #close()} destroys them all once, newest
 * first (memories before the engine they live on), and reports the first failure after trying all.
 *
 * <p>Handles returned by queries ({@code dnnl_primitive_desc_query_md}) belong to their primitive
 * descriptor and never come through here.
 */
final class OneDnnHandles implements AutoCloseable {
    /** Destroy calls, newest first; each checks its own status. */
    private final Deque<Runnable> owned = new ArrayDeque<>();
    private boolean closed;

    private <T extends Pointer> T own(T handle, ToIntFunction<T> destroy, String destroyCall) {
        owned.push(() -> check(destroy.applyAsInt(handle), destroyCall));
        return handle;
    }

    dnnl_engine cpuEngine() {
        dnnl_engine e = new dnnl_engine();
        check(dnnl.dnnl_engine_create(e, dnnl_cpu, 0), "dnnl_engine_create(cpu, 0)");
        return own(e, dnnl::dnnl_engine_destroy, "dnnl_engine_destroy");
    }

    dnnl_stream stream(dnnl_engine engine) {
        dnnl_stream s = new dnnl_stream();
        check(dnnl.dnnl_stream_create(s, engine, dnnl.dnnl_stream_default_flags), "dnnl_stream_create");
        return own(s, dnnl::dnnl_stream_destroy, "dnnl_stream_destroy");
    }

    /** An f32 memory descriptor of the given dimensions and format tag ({@code dnnl_format_tag_any} included). */
    dnnl_memory_desc desc(int formatTag, long... dims) {
        dnnl_memory_desc md = new dnnl_memory_desc();
        check(dnnl.dnnl_memory_desc_create_with_tag(md, dims.length, dims, dnnl_f32, formatTag),
                "dnnl_memory_desc_create_with_tag(" + Arrays.toString(dims) + ", tag " + formatTag + ")");
        return own(md, dnnl::dnnl_memory_desc_destroy, "dnnl_memory_desc_destroy");
    }

    /** Attributes asking for a user-provided scratchpad, so nothing is allocated inside the timed call. */
    dnnl_primitive_attr userScratchpadAttr() {
        dnnl_primitive_attr a = new dnnl_primitive_attr();
        check(dnnl.dnnl_primitive_attr_create(a), "dnnl_primitive_attr_create");
        own(a, dnnl::dnnl_primitive_attr_destroy, "dnnl_primitive_attr_destroy");
        check(dnnl.dnnl_primitive_attr_set_scratchpad_mode(a, dnnl.dnnl_scratchpad_mode_user),
                "dnnl_primitive_attr_set_scratchpad_mode(user)");
        return a;
    }

    /**
     * The forward primitive descriptor of {@code cell} over the descriptors {@code mds}: {@code lstm} (with
     * its peepholes and projection where {@code mds} has them), {@code lbr_gru}, {@code gru}, or
     * {@code vanilla_rnn} with tanh or ReLU.
     */
    dnnl_primitive_desc rnnForward(dnnl_engine engine, io.cellstate.Cell cell, int propKind, int direction, RnnMds mds,
                                   dnnl_primitive_attr attr) {
        dnnl_primitive_desc pd = new dnnl_primitive_desc();
        int flags = dnnl.dnnl_rnn_flags_undef;
        switch (cell) {
            case io.cellstate.Cell.Lstm l -> check(dnnl.dnnl_lstm_forward_primitive_desc_create(pd, engine, propKind,
                    direction, mds.srcLayer(), mds.srcIter(), mds.srcIterC(), mds.weightsLayer(), mds.weightsIter(),
                    mds.weightsPeephole(), mds.weightsProjection(), mds.bias(), mds.dstLayer(), mds.dstIter(),
                    mds.dstIterC(), flags, attr), "dnnl_lstm_forward_primitive_desc_create");
            case io.cellstate.Cell.Gru g when g.linearBeforeReset() -> check(dnnl.dnnl_lbr_gru_forward_primitive_desc_create(
                    pd, engine, propKind, direction, mds.srcLayer(), mds.srcIter(), mds.weightsLayer(), mds.weightsIter(),
                    mds.bias(), mds.dstLayer(), mds.dstIter(), flags, attr), "dnnl_lbr_gru_forward_primitive_desc_create");
            case io.cellstate.Cell.Gru g -> check(dnnl.dnnl_gru_forward_primitive_desc_create(pd, engine, propKind,
                    direction, mds.srcLayer(), mds.srcIter(), mds.weightsLayer(), mds.weightsIter(), mds.bias(),
                    mds.dstLayer(), mds.dstIter(), flags, attr), "dnnl_gru_forward_primitive_desc_create");
            case io.cellstate.Cell.Rnn r -> check(dnnl.dnnl_vanilla_rnn_forward_primitive_desc_create(pd, engine, propKind,
                    r.nonlinearity() == io.cellstate.Cell.Nonlinearity.TANH ? dnnl.dnnl_eltwise_tanh : dnnl.dnnl_eltwise_relu,
                    direction, mds.srcLayer(), mds.srcIter(), mds.weightsLayer(), mds.weightsIter(), mds.bias(),
                    mds.dstLayer(), mds.dstIter(), flags, 0f, 0f, attr), "dnnl_vanilla_rnn_forward_primitive_desc_create");
        }
        return own(pd, dnnl::dnnl_primitive_desc_destroy, "dnnl_primitive_desc_destroy");
    }

    /**
     * The memory descriptors of one side of an RNN primitive: its tensors, or their gradients
     * ({@code iterC} the LSTM's only, the peephole and projection weights an LSTM's with them, else
     * null: oneDNN takes a null descriptor for an absent tensor). oneDNN copies them; they may be
     * destroyed afterwards.
     */
    record RnnMds(dnnl_memory_desc srcLayer, dnnl_memory_desc srcIter, dnnl_memory_desc srcIterC,
                  dnnl_memory_desc weightsLayer, dnnl_memory_desc weightsIter, dnnl_memory_desc weightsPeephole,
                  dnnl_memory_desc weightsProjection, dnnl_memory_desc bias,
                  dnnl_memory_desc dstLayer, dnnl_memory_desc dstIter, dnnl_memory_desc dstIterC) {
    }

    /**
     * The backward primitive descriptor of {@code cell} ({@code dnnl_backward}), for the forward-training
     * descriptor {@code hint}: {@code fwd} describes the forward's tensors, {@code diff} their gradients.
     */
    dnnl_primitive_desc rnnBackward(dnnl_engine engine, io.cellstate.Cell cell, int direction, RnnMds fwd, RnnMds diff,
                                    dnnl_primitive_desc hint, dnnl_primitive_attr attr) {
        dnnl_primitive_desc pd = new dnnl_primitive_desc();
        int prop = dnnl.dnnl_backward;
        int flags = dnnl.dnnl_rnn_flags_undef;
        switch (cell) {
            case io.cellstate.Cell.Lstm l -> check(dnnl.dnnl_lstm_backward_primitive_desc_create(pd, engine, prop,
                    direction, fwd.srcLayer(), fwd.srcIter(), fwd.srcIterC(), fwd.weightsLayer(), fwd.weightsIter(),
                    fwd.weightsPeephole(), fwd.weightsProjection(), fwd.bias(), fwd.dstLayer(), fwd.dstIter(), fwd.dstIterC(),
                    diff.srcLayer(), diff.srcIter(), diff.srcIterC(), diff.weightsLayer(), diff.weightsIter(),
                    diff.weightsPeephole(), diff.weightsProjection(), diff.bias(), diff.dstLayer(),
                    diff.dstIter(), diff.dstIterC(), flags, hint, attr), "dnnl_lstm_backward_primitive_desc_create");
            case io.cellstate.Cell.Gru g when g.linearBeforeReset() -> check(dnnl.dnnl_lbr_gru_backward_primitive_desc_create(
                    pd, engine, prop, direction, fwd.srcLayer(), fwd.srcIter(), fwd.weightsLayer(), fwd.weightsIter(),
                    fwd.bias(), fwd.dstLayer(), fwd.dstIter(), diff.srcLayer(), diff.srcIter(), diff.weightsLayer(),
                    diff.weightsIter(), diff.bias(), diff.dstLayer(), diff.dstIter(), flags, hint, attr),
                    "dnnl_lbr_gru_backward_primitive_desc_create");
            case io.cellstate.Cell.Gru g -> check(dnnl.dnnl_gru_backward_primitive_desc_create(pd, engine, prop,
                    direction, fwd.srcLayer(), fwd.srcIter(), fwd.weightsLayer(), fwd.weightsIter(), fwd.bias(),
                    fwd.dstLayer(), fwd.dstIter(), diff.srcLayer(), diff.srcIter(), diff.weightsLayer(),
                    diff.weightsIter(), diff.bias(), diff.dstLayer(), diff.dstIter(), flags, hint, attr),
                    "dnnl_gru_backward_primitive_desc_create");
            case io.cellstate.Cell.Rnn r -> check(dnnl.dnnl_vanilla_rnn_backward_primitive_desc_create(pd, engine, prop,
                    r.nonlinearity() == io.cellstate.Cell.Nonlinearity.TANH ? dnnl.dnnl_eltwise_tanh : dnnl.dnnl_eltwise_relu,
                    direction, fwd.srcLayer(), fwd.srcIter(), fwd.weightsLayer(), fwd.weightsIter(), fwd.bias(),
                    fwd.dstLayer(), fwd.dstIter(), diff.srcLayer(), diff.srcIter(), diff.weightsLayer(),
                    diff.weightsIter(), diff.bias(), diff.dstLayer(), diff.dstIter(), flags, 0f, 0f, hint, attr),
                    "dnnl_vanilla_rnn_backward_primitive_desc_create");
        }
        return own(pd, dnnl::dnnl_primitive_desc_destroy, "dnnl_primitive_desc_destroy");
    }

    dnnl_primitive_desc reorder(dnnl_engine engine, dnnl_memory_desc from, dnnl_memory_desc to) {
        dnnl_primitive_desc pd = new dnnl_primitive_desc();
        check(dnnl.dnnl_reorder_primitive_desc_create(pd, from, engine, to, engine, null),
                "dnnl_reorder_primitive_desc_create");
        return own(pd, dnnl::dnnl_primitive_desc_destroy, "dnnl_primitive_desc_destroy");
    }

    dnnl_primitive primitive(dnnl_primitive_desc pd) {
        dnnl_primitive p = new dnnl_primitive();
        check(dnnl.dnnl_primitive_create(p, pd), "dnnl_primitive_create");
        return own(p, dnnl::dnnl_primitive_destroy, "dnnl_primitive_destroy");
    }

    /**
     * A memory object over {@code data} (not owned: the caller keeps it alive as long as this
     * memory), or over no buffer at all when {@code data} is null, to be pointed at one per call
     * with {@code dnnl_memory_set_data_handle}.
     */
    dnnl_memory memory(dnnl_memory_desc md, dnnl_engine engine, Pointer data) {
        dnnl_memory m = new dnnl_memory();
        check(dnnl.dnnl_memory_create(m, md, engine, data), "dnnl_memory_create");
        return own(m, dnnl::dnnl_memory_destroy, "dnnl_memory_destroy");
    }

    /** A native array of {@code n} execution arguments, freed with this owner (JavaCPP's deallocator). */
    dnnl_exec_arg_t execArgs(int n) {
        return own(new dnnl_exec_arg_t(n), p -> {
            p.close();
            return dnnl_success;
        }, "dnnl_exec_arg_t[] deallocate");
    }

    /** Destroys every handle, newest first, once; then throws the first failure, if any. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        RuntimeException first = null;
        while (!owned.isEmpty()) {
            Runnable destroy = owned.pop();
            try {
                destroy.run();
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
