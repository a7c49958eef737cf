package io.cellstate.bindings;

import io.cellstate.Activation;
import io.cellstate.Cell;
import io.cellstate.Direction;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Maps an ONNX graph onto one {@link RnnSpec}: the recurrent nodes (LSTM, GRU, RNN) form a stack, one
 * node per layer, and the nodes around them (PyTorch's exporter's Shape, Gather, ConstantOfShape, Slice,
 * Transpose, Reshape, Squeeze, Concat, ...) only move data between them. The graph is read by abstract
 * interpretation: every value is a constant, a shape computed from the input's run-time sizes, a zero
 * tensor, or an {@link Arrangement} of a graph input or of the network's y, hN or cN. A node that does
 * something else, or an op outside that set, is refused naming the node, before anything runs.
 */
final class OnnxImport {
    /** The ops a graph may hold besides the recurrent ones. */
    static final Set<String> SHAPE_OPS = Set.of("Shape", "Gather", "Unsqueeze", "Squeeze", "Concat", "Constant",
            "ConstantOfShape", "Expand", "Slice", "Transpose", "Reshape", "Cast", "Identity");
    private static final Set<String> RECURRENT = Set.of("LSTM", "GRU", "RNN");
    private static final int[] LSTM_GATE_OF = {0, 2, 3, 1}; // ours i, f, g, o <- ONNX i, o, f, c
    private static final int[] GRU_GATE_OF = {1, 0, 2};     // ours r, z, n <- ONNX z, r, h
    private static final int[] RNN_GATE_OF = {0};
    /** ONNX's peepholes of each of ours: ours i, f, o are ONNX's P 0, 2, 1 (P is i, o, f). */
    static final int[] PEEPHOLE_OF = {0, 2, 1};

    /** For an LSTM, GRU or RNN node: ONNX's gate of each of ours (ours i, f, g, o are ONNX's 0, 2, 3, 1). */
    static int[] gateOrder(String op) {
        return (op.equals("LSTM") ? LSTM_GATE_OF : op.equals("GRU") ? GRU_GATE_OF : RNN_GATE_OF).clone();
    }

    /** Where an arranged value comes from. */
    enum SrcKind {
        INPUT, Y, H, C
    }

    record Src(SrcKind kind, String input, int layer) {
    }

    /** A size known at run time: axis {@code axis} of a source. */
    record Sym(Src src, int axis) {
    }

    sealed interface Value permits Ints, Floats, Zeros, View {
    }

    /** An integer tensor of rank 0 or 1 whose entries are {@code Long}s or {@link Sym}s; constants of any rank. */
    record Ints(long[] dims, Object[] entries) implements Value {
        boolean constant() {
            return Arrays.stream(entries).allMatch(e -> e instanceof Long);
        }

        long[] values() {
            return Arrays.stream(entries).mapToLong(e -> (Long) e).toArray();
        }
    }

    /** A float constant. */
    record Floats(OnnxProto.TensorData t) implements Value {
    }

    /** A tensor of zeros; each dimension a {@code Long} or a {@link Sym}. */
    record Zeros(Object[] dims) implements Value {
    }

    /** Part of a source, arranged. */
    record View(Src src, Arrangement a) implements Value {
    }

    private final String file;
    private final OnnxProto.Graph graph;
    private final Map<String, Value> values = new HashMap<>();
    private final Map<String, OnnxProto.ValueInfo> graphInputs = new LinkedHashMap<>();
    private final Map<String, RnnModel.Role> roles = new LinkedHashMap<>();
    private final List<Layer> layers = new ArrayList<>();
    private String xName;
    private int[] xAxes;
    private String lengthsName;
    private boolean lengthsSeen;

    /** One recurrent node as a layer. */
    private record Layer(OnnxProto.Node node, String op, Cell cell, int hidden, Direction direction, float[] w, float[] r,
            float[] b, float[] p, int inputSize, RnnModel.StateSource h0, RnnModel.StateSource c0) {
    }

    private OnnxImport(String file, OnnxProto.Graph graph) {
        this.file = file;
        this.graph = graph;
    }

    /**
     * The model of a parsed ONNX file.
     *
     * @param file  the file's name, for messages
     * @param model the parsed model
     * @param bound graph inputs given values now (the weights of ONNX's node tests, which are graph inputs)
     */
    static RnnModel toModel(String file, OnnxProto.Model model, Map<String, NpyArray> bound) throws ModelFormatException {
        Long opset = model.opsets().get("");
        if (opset == null || opset < 7) {
            throw new ModelFormatException(file, "ModelProto.opset_import", "ONNX opset " + opset
                    + ": recurrent nodes are read from opset 7 on");
        }
        OnnxImport im = new OnnxImport(file, model.graph());
        return im.run(bound);
    }

    private ModelFormatException at(OnnxProto.Node n, String problem) {
        return new ModelFormatException(file, n.label(), problem);
    }

    private RnnModel run(Map<String, NpyArray> bound) throws ModelFormatException {
        for (OnnxProto.TensorData t : graph.initializers().values()) {
            values.put(t.name(), constant(t));
        }
        for (OnnxProto.ValueInfo in : graph.inputs()) {
            if (values.containsKey(in.name())) {
                continue; // an initializer listed as an input (IR 3): a constant
            }
            NpyArray given = bound.get(in.name());
            if (given != null) {
                values.put(in.name(), constant(toTensor(in.name(), given)));
                continue;
            }
            if (graphInputs.put(in.name(), in) != null) {
                throw new ModelFormatException(file, "graph input '" + in.name() + "'", "declared twice");
            }
            int rank = in.dims() == null ? 3 : in.dims().size();
            int[] sizes = new int[rank];
            for (int i = 0; i < rank; i++) {
                sizes[i] = declaredSize(in, i);
            }
            values.put(in.name(), new View(new Src(SrcKind.INPUT, in.name(), -1), Arrangement.of(sizes)));
        }
        for (String name : bound.keySet()) {
            if (graph.inputs().stream().noneMatch(i -> i.name().equals(name))) {
                throw new IllegalArgumentException("bound: '" + name + "' is not a graph input of " + file + "; inputs are "
                        + graph.inputs().stream().map(OnnxProto.ValueInfo::name).toList());
            }
        }
        for (OnnxProto.Node n : graph.nodes()) {
            if (!n.domain().isEmpty()) {
                throw at(n, "op domain '" + n.domain() + "' cannot be mapped: only ONNX's own ops are read");
            }
            if (RECURRENT.contains(n.opType())) {
                recurrent(n);
            } else if (SHAPE_OPS.contains(n.opType())) {
                Value v;
                try {
                    v = shapeOp(n);
                } catch (IllegalArgumentException | ArithmeticException e) {
                    throw at(n, e.getMessage());
                }
                define(n, n.output(0), v);
            } else {
                throw at(n, "op " + n.opType() + " cannot be mapped onto a recurrent network; this reader maps LSTM, "
                        + "GRU and RNN nodes and the ops around them that only move data (" + String.join(", ",
                        SHAPE_OPS.stream().sorted().toList()) + ")");
            }
        }
        if (layers.isEmpty()) {
            throw new ModelFormatException(file, "graph", "no LSTM, GRU or RNN node");
        }
        return build();
    }

    private void define(OnnxProto.Node n, String name, Value v) throws ModelFormatException {
        if (name.isEmpty()) {
            return;
        }
        if (values.containsKey(name) || graphInputs.containsKey(name)) {
            throw at(n, "output '" + name + "' is defined twice");
        }
        values.put(name, v);
    }

    private Value value(OnnxProto.Node n, int i) throws ModelFormatException {
        String name = n.input(i);
        Value v = values.get(name);
        if (v == null) {
            throw at(n, "input " + i + " '" + name + "' is not defined before the node (nodes must be in topological order)");
        }
        return v;
    }

    private static Value constant(OnnxProto.TensorData t) {
        if (t.isFloat()) {
            return new Floats(t);
        }
        Object[] e = new Object[t.longs().length];
        for (int i = 0; i < e.length; i++) {
            e[i] = t.longs()[i];
        }
        return new Ints(t.dims(), e);
    }

    private static OnnxProto.TensorData toTensor(String name, NpyArray a) {
        long[] dims = Arrays.stream(a.shape()).asLongStream().toArray();
        return switch (a.dtype()) {
            case FLOAT32, FLOAT64 -> new OnnxProto.TensorData(name, OnnxProto.FLOAT, dims, a.toFloats(), null);
            default -> new OnnxProto.TensorData(name, OnnxProto.INT64, dims, null, a.toLongs());
        };
    }

    // ---- the ops that move data ----

    private Value shapeOp(OnnxProto.Node n) throws ModelFormatException {
        return switch (n.opType()) {
            case "Identity" -> value(n, 0);
            case "Constant" -> constantNode(n);
            case "Cast" -> cast(n);
            case "Shape" -> shape(n);
            case "Gather" -> gather(n);
            case "Unsqueeze" -> unsqueeze(n);
            case "Squeeze" -> squeeze(n);
            case "Concat" -> concat(n);
            case "ConstantOfShape" -> constantOfShape(n);
            case "Expand" -> expand(n);
            case "Slice" -> slice(n);
            case "Transpose" -> transpose(n);
            case "Reshape" -> reshape(n);
            default -> throw new IllegalStateException(n.opType());
        };
    }

    private Value constantNode(OnnxProto.Node n) throws ModelFormatException {
        if (n.attributes().size() != 1) {
            throw at(n, "expected one value attribute, got " + n.attributes().keySet());
        }
        OnnxProto.Attribute a = n.attributes().values().iterator().next();
        return switch (a.name()) {
            case "value" -> constant(tensor(n, a));
            case "value_float" -> new Floats(new OnnxProto.TensorData("", OnnxProto.FLOAT, new long[0], new float[] {a.f()}, null));
            case "value_floats" -> new Floats(new OnnxProto.TensorData("", OnnxProto.FLOAT,
                    new long[] {a.floats().length}, a.floats(), null));
            case "value_int" -> new Ints(new long[0], new Object[] {a.i()});
            case "value_ints" -> new Ints(new long[] {a.ints().length}, Arrays.stream(a.ints()).boxed().toArray());
            default -> throw at(n, "constant attribute '" + a.name() + "' is not read");
        };
    }

    private Value cast(OnnxProto.Node n) throws ModelFormatException {
        Value v = value(n, 0);
        long to = intAttr(n, "to", -1);
        if (v instanceof Ints && !OnnxProto.isFloatType((int) to) && OnnxProto.elementBytes((int) to) > 0) {
            return v;
        }
        if (!(v instanceof Ints) && to == OnnxProto.FLOAT) {
            return v;
        }
        throw at(n, "casts " + kind(v) + " to type " + to + ": only casts that keep values exact are mapped");
    }

    private static String kind(Value v) {
        return switch (v) {
            case Ints i -> "an integer tensor";
            case Floats f -> "a float constant";
            case Zeros z -> "a zero tensor";
            case View w -> "data of " + w.src().kind() + (w.src().input() != null ? " '" + w.src().input() + "'" : "");
        };
    }

    private Value shape(OnnxProto.Node n) throws ModelFormatException {
        Value v = value(n, 0);
        Object[] dims;
        if (v instanceof View w) {
            dims = new Object[w.a().rank()];
            for (int d = 0; d < dims.length; d++) {
                long s = w.a().staticSize(d);
                int[] g = w.a().group(d);
                if (s >= 0) {
                    dims[d] = s;
                } else if (g.length == 1 && w.a().start(g[0]) == 0) {
                    dims[d] = new Sym(w.src(), g[0]);
                } else {
                    throw at(n, "the shape of a dimension that merges run-time sizes is not mapped");
                }
            }
        } else if (v instanceof Zeros z) {
            dims = z.dims().clone();
        } else if (v instanceof Ints i) {
            dims = Arrays.stream(i.dims()).boxed().toArray();
        } else {
            dims = Arrays.stream(((Floats) v).t().dims()).boxed().toArray();
        }
        long start = intAttr(n, "start", 0);
        long end = intAttr(n, "end", dims.length);
        int s = (int) Math.clamp(start < 0 ? start + dims.length : start, 0, dims.length);
        int e = (int) Math.clamp(end < 0 ? end + dims.length : end, 0, dims.length);
        Object[] out = Arrays.copyOfRange(dims, s, Math.max(s, e));
        return new Ints(new long[] {out.length}, out);
    }

    private Ints constInts(OnnxProto.Node n, int i, String what) throws ModelFormatException {
        if (value(n, i) instanceof Ints v && v.constant()) {
            return v;
        }
        throw at(n, what + " (input " + i + ") must be a constant integer tensor");
    }

    /** The axes of a Squeeze or Unsqueeze: the input (opset 13 on) or the attribute; null when absent. */
    private long[] axes(OnnxProto.Node n) throws ModelFormatException {
        if (!n.input(1).isEmpty()) {
            return constInts(n, 1, "axes").values();
        }
        OnnxProto.Attribute a = n.attributes().get("axes");
        return a == null ? null : a.ints();
    }

    private static int axis(long a, int rank) {
        long r = a < 0 ? a + rank : a;
        if (r < 0 || r >= rank) {
            throw new IllegalArgumentException("axis " + a + " out of range for rank " + rank);
        }
        return (int) r;
    }

    private Value gather(OnnxProto.Node n) throws ModelFormatException {
        Value data = value(n, 0);
        Ints idx = constInts(n, 1, "indices");
        long ax = intAttr(n, "axis", 0);
        if (data instanceof Ints d && d.dims().length == 1 && ax == 0 && idx.dims().length <= 1) {
            Object[] out = new Object[idx.entries().length];
            for (int k = 0; k < out.length; k++) {
                out[k] = d.entries()[axis(idx.values()[k], d.entries().length)];
            }
            return new Ints(idx.dims(), out);
        }
        if (data instanceof View v && idx.entries().length == 1) {
            int dim = axis(ax, v.a().rank());
            long i = idx.values()[0];
            Arrangement a = idx.dims().length == 0 ? v.a().pick(dim, i)
                    : v.a().slice(dim, i < 0 ? i + v.a().staticSize(dim) : i, (i < 0 ? i + v.a().staticSize(dim) : i) + 1);
            return new View(v.src(), a);
        }
        throw at(n, "gathers from " + kind(data) + " with indices of shape " + Arrays.toString(idx.dims()));
    }

    private Value unsqueeze(OnnxProto.Node n) throws ModelFormatException {
        Value data = value(n, 0);
        long[] axes = axes(n);
        if (axes == null) {
            throw at(n, "no axes");
        }
        if (data instanceof Ints i && i.dims().length == 0 && Arrays.equals(axes, new long[] {0})) {
            return new Ints(new long[] {1}, i.entries());
        }
        int rank = rank(data) + axes.length;
        long[] sorted = Arrays.stream(axes).map(a -> axis(a, rank)).sorted().toArray();
        if (data instanceof View v) {
            Arrangement a = v.a();
            for (long ax : sorted) {
                a = a.unsqueeze((int) ax);
            }
            return new View(v.src(), a);
        }
        if (data instanceof Zeros z) {
            List<Object> d = new ArrayList<>(Arrays.asList(z.dims()));
            for (long ax : sorted) {
                d.add((int) ax, 1L);
            }
            return new Zeros(d.toArray());
        }
        throw at(n, "unsqueezes " + kind(data));
    }

    private static int rank(Value v) {
        return switch (v) {
            case Ints i -> i.dims().length;
            case Floats f -> f.t().dims().length;
            case Zeros z -> z.dims().length;
            case View w -> w.a().rank();
        };
    }

    private Value squeeze(OnnxProto.Node n) throws ModelFormatException {
        Value data = value(n, 0);
        long[] axes = axes(n);
        int rank = rank(data);
        if (data instanceof Ints i && i.dims().length == 1 && i.entries().length == 1
                && (axes == null || Arrays.equals(axes, new long[] {0}) || Arrays.equals(axes, new long[] {-1}))) {
            return new Ints(new long[0], i.entries());
        }
        if (data instanceof View v) {
            long[] ax = axes;
            if (ax == null) {
                ax = java.util.stream.IntStream.range(0, rank).filter(d -> v.a().staticSize(d) == 1).asLongStream().toArray();
            }
            long[] sorted = Arrays.stream(ax).map(a -> axis(a, rank)).sorted().toArray();
            Arrangement a = v.a();
            for (int k = sorted.length - 1; k >= 0; k--) {
                a = a.squeeze((int) sorted[k]);
            }
            return new View(v.src(), a);
        }
        if (data instanceof Zeros z && axes != null) {
            long[] sorted = Arrays.stream(axes).map(a -> axis(a, rank)).sorted().toArray();
            List<Object> d = new ArrayList<>(Arrays.asList(z.dims()));
            for (int k = sorted.length - 1; k >= 0; k--) {
                if (!Long.valueOf(1).equals(d.get((int) sorted[k]))) {
                    throw at(n, "squeezes a dimension whose size is not 1");
                }
                d.remove((int) sorted[k]);
            }
            return new Zeros(d.toArray());
        }
        throw at(n, "squeezes " + kind(data));
    }

    private Value concat(OnnxProto.Node n) throws ModelFormatException {
        long ax = intAttr(n, "axis", Long.MIN_VALUE);
        if (ax == Long.MIN_VALUE) {
            throw at(n, "no axis");
        }
        Value first = value(n, 0);
        if (first instanceof Ints) {
            List<Object> out = new ArrayList<>();
            for (int i = 0; i < n.inputs().size(); i++) {
                if (!(value(n, i) instanceof Ints v) || v.dims().length != 1) {
                    throw at(n, "concatenates input " + i + ", " + kind(value(n, i)) + ", with integer vectors");
                }
                out.addAll(Arrays.asList(v.entries()));
            }
            return new Ints(new long[] {out.size()}, out.toArray());
        }
        if (first instanceof View v0 && (v0.src().kind() == SrcKind.H || v0.src().kind() == SrcKind.C)) {
            int dim = axis(ax, v0.a().rank());
            Arrangement a = v0.a();
            for (int i = 1; i < n.inputs().size(); i++) {
                Value vi = value(n, i);
                Arrangement joined = vi instanceof View w && w.src().kind() == v0.src().kind() ? a.concat(w.a(), dim, 0) : null;
                if (joined == null) {
                    throw at(n, "concatenates input " + i + " (" + kind(vi) + ") in a way that is not the layers' final "
                            + "states in order");
                }
                a = joined;
            }
            return new View(new Src(v0.src().kind(), null, -1), a);
        }
        throw at(n, "concatenates " + kind(first) + ": only shapes and the layers' final states are concatenated");
    }

    private Value constantOfShape(OnnxProto.Node n) throws ModelFormatException {
        if (!(value(n, 0) instanceof Ints shape) || shape.dims().length != 1) {
            throw at(n, "the shape must be an integer vector");
        }
        OnnxProto.Attribute a = n.attributes().get("value");
        OnnxProto.TensorData t = a == null ? null : tensor(n, a);
        boolean zero = t == null || (t.isFloat() ? t.floats().length == 1 && t.floats()[0] == 0
                : t.longs().length == 1 && t.longs()[0] == 0);
        if (!zero) {
            throw at(n, "fills with a value other than 0: only zero initial states are mapped");
        }
        if (t != null && !t.isFloat()) {
            if (!shape.constant()) {
                throw at(n, "an integer tensor of run-time size");
            }
            long count = 1;
            for (long d : shape.values()) {
                count = Math.multiplyExact(count, d);
            }
            if (count > 4096) { // a shape computation's constant: small, and never more than the file justifies
                throw at(n, "an integer constant of " + count + " elements");
            }
            Object[] e = new Object[(int) count];
            Arrays.fill(e, 0L);
            return new Ints(shape.values(), e);
        }
        return new Zeros(shape.entries().clone());
    }

    private Value expand(OnnxProto.Node n) throws ModelFormatException {
        Value data = value(n, 0);
        boolean zero = data instanceof Zeros || data instanceof Floats f && f.t().floats().length == 1 && f.t().floats()[0] == 0;
        if (!zero || !(value(n, 1) instanceof Ints shape) || shape.dims().length != 1) {
            throw at(n, "expands " + kind(data) + ": only a zero to a shape is mapped (zero initial states)");
        }
        return new Zeros(shape.entries().clone());
    }

    private Value slice(OnnxProto.Node n) throws ModelFormatException {
        Value data = value(n, 0);
        long[] starts;
        long[] ends;
        long[] axes = null;
        if (n.inputs().size() > 1) {
            starts = constInts(n, 1, "starts").values();
            ends = constInts(n, 2, "ends").values();
            if (!n.input(3).isEmpty()) {
                axes = constInts(n, 3, "axes").values();
            }
            if (!n.input(4).isEmpty() && Arrays.stream(constInts(n, 4, "steps").values()).anyMatch(s -> s != 1)) {
                throw at(n, "steps other than 1 are not mapped");
            }
        } else {
            starts = attrInts(n, "starts");
            ends = attrInts(n, "ends");
            axes = n.attributes().containsKey("axes") ? attrInts(n, "axes") : null;
        }
        if (starts.length != ends.length || (axes != null && axes.length != starts.length)) {
            throw at(n, "starts, ends and axes differ in length");
        }
        int rank = rank(data);
        for (int k = 0; k < starts.length; k++) {
            int ax = axis(axes == null ? k : axes[k], rank);
            long s = starts[k];
            long e = ends[k];
            switch (data) {
                case View v -> data = new View(v.src(), v.a().slice(ax, s, e));
                case Ints i when i.dims().length == 1 -> {
                    int len = i.entries().length;
                    int from = (int) Math.clamp(s < 0 ? s + len : s, 0, len);
                    int to = (int) Math.clamp(e < 0 ? e + len : e, 0, len);
                    Object[] out = Arrays.copyOfRange(i.entries(), from, Math.max(from, to));
                    data = new Ints(new long[] {out.length}, out);
                }
                case Zeros z -> {
                    Object[] d = z.dims().clone();
                    if (d[ax] instanceof Long len) {
                        long from = Math.clamp(s < 0 ? s + len : s, 0, len);
                        long to = Math.clamp(e < 0 ? e + len : e, 0, len);
                        d[ax] = Math.max(0, to - from);
                    } else if (!(s == 0 && e >= Integer.MAX_VALUE)) {
                        throw at(n, "slices a zero tensor along a dimension known only at run time");
                    }
                    data = new Zeros(d);
                }
                default -> throw at(n, "slices " + kind(data));
            }
        }
        return data;
    }

    private Value transpose(OnnxProto.Node n) throws ModelFormatException {
        Value data = value(n, 0);
        int rank = rank(data);
        long[] perm = n.attributes().containsKey("perm") ? attrInts(n, "perm")
                : java.util.stream.LongStream.range(0, rank).map(i -> rank - 1 - i).toArray();
        if (data instanceof View v) {
            return new View(v.src(), v.a().transpose(perm));
        }
        if (data instanceof Zeros z && perm.length == z.dims().length) {
            Object[] d = new Object[perm.length];
            for (int i = 0; i < perm.length; i++) {
                d[i] = z.dims()[axis(perm[i], perm.length)];
            }
            return new Zeros(d);
        }
        throw at(n, "transposes " + kind(data));
    }

    private Value reshape(OnnxProto.Node n) throws ModelFormatException {
        Value data = value(n, 0);
        long[] shape = constInts(n, 1, "shape").values();
        if (intAttr(n, "allowzero", 0) != 0 && Arrays.stream(shape).anyMatch(s -> s == 0)) {
            throw at(n, "allowzero = 1 with a zero in the shape is not mapped");
        }
        if (data instanceof View v) {
            return new View(v.src(), v.a().reshape(shape));
        }
        throw at(n, "reshapes " + kind(data));
    }

    /** An attribute's tensor, refusing an attribute of another type. */
    private OnnxProto.TensorData tensor(OnnxProto.Node n, OnnxProto.Attribute a) throws ModelFormatException {
        if (a.t() == null) {
            throw at(n, "attribute " + a.name() + " holds no tensor");
        }
        return a.t();
    }

    private long intAttr(OnnxProto.Node n, String name, long dflt) throws ModelFormatException {
        OnnxProto.Attribute a = n.attributes().get(name);
        if (a == null) {
            return dflt;
        }
        if (a.type() != OnnxProto.ATTR_INT && a.type() != 0) {
            throw at(n, "attribute " + name + " is not an integer");
        }
        return a.i();
    }

    private long[] attrInts(OnnxProto.Node n, String name) throws ModelFormatException {
        OnnxProto.Attribute a = n.attributes().get(name);
        if (a == null) {
            throw at(n, "attribute " + name + " is missing");
        }
        return a.ints();
    }

    // ---- the recurrent nodes ----

    private static final Set<String> RECURRENT_ATTRS = Set.of("hidden_size", "direction", "layout", "activations",
            "activation_alpha", "activation_beta", "clip", "input_forget", "linear_before_reset");

    private void recurrent(OnnxProto.Node n) throws ModelFormatException {
        String op = n.opType();
        for (String a : n.attributes().keySet()) {
            if (!RECURRENT_ATTRS.contains(a) || (a.equals("input_forget") && !op.equals("LSTM"))
                    || (a.equals("linear_before_reset") && !op.equals("GRU"))) {
                throw at(n, "attribute '" + a + "' is not one of the " + op + " operator's");
            }
        }
        int hidden = (int) Math.clamp(intAttr(n, "hidden_size", -1), -1, Integer.MAX_VALUE);
        if (hidden <= 0) {
            throw at(n, "hidden_size is missing or not positive");
        }
        String dir = n.attributes().containsKey("direction") ? string(n, "direction") : "forward";
        Direction direction = switch (dir) {
            case "forward" -> Direction.FORWARD;
            case "reverse" -> Direction.REVERSE;
            case "bidirectional" -> Direction.BIDIRECTIONAL;
            default -> throw at(n, "direction '" + dir + "', expected forward, reverse or bidirectional");
        };
        int dirs = direction.count();
        long layout = intAttr(n, "layout", 0);
        if (layout != 0 && layout != 1) {
            throw at(n, "layout " + layout + ", expected 0 or 1");
        }
        if (n.inputs().size() > (op.equals("LSTM") ? 8 : 6) || n.outputs().size() > (op.equals("LSTM") ? 3 : 2)) {
            throw at(n, "more inputs or outputs than the " + op + " operator has");
        }
        boolean peepholes = op.equals("LSTM") && !n.input(7).isEmpty();
        Cell cell = cell(n, op, dirs, peepholes);
        int[] gateOf = gateOrder(op);
        int gates = gateOf.length;
        int k = layers.size();
        if (!layers.isEmpty()) {
            Layer prev = layers.get(0);
            if (!prev.op().equals(op) || !prev.cell().equals(cell) || prev.hidden() != hidden || prev.direction() != direction) {
                throw at(n, "layer " + k + " is " + op + " " + cell.name() + ", hidden " + hidden + ", " + dir
                        + "; layer 0 is " + prev.op() + " " + prev.cell().name() + ", hidden " + prev.hidden() + ", "
                        + prev.direction().toString().toLowerCase(Locale.ROOT) + ": a stack has one kind of layer");
            }
        }
        // X
        Value x = value(n, 0);
        int inputSize;
        if (k == 0) {
            if (!(x instanceof View v) || v.src().kind() != SrcKind.INPUT || v.a().rank() != 3) {
                throw at(n, "input X of the first recurrent node must be a graph input of rank 3, arranged by transposes; "
                        + "it is " + kind(x));
            }
            int[] perm = new int[3];
            for (int d = 0; d < 3; d++) {
                int[] g = v.a().group(d);
                if (g.length != 1 || v.a().start(g[0]) != 0 || v.a().length(g[0]) != sizeOf(v.src(), g[0])) {
                    throw at(n, "input X slices or merges dimensions of graph input '" + v.src().input() + "'");
                }
                perm[d] = g[0];
            }
            xName = v.src().input();
            role(n, xName, RnnModel.Role.X);
            xAxes = layout == 0 ? new int[] {perm[0], perm[1], perm[2]} : new int[] {perm[1], perm[0], perm[2]};
            inputSize = -1; // from W
        } else {
            // Y's axes D (2) and H (3) merged into the features, compared as essentialGroups() gives them:
            // without the axes of size 1 (D of one direction, H of a hidden size of 1).
            List<Integer> features = new ArrayList<>();
            if (dirs != 1) {
                features.add(2);
            }
            if (hidden != 1) {
                features.add(3);
            }
            List<List<Integer>> want = layout == 0 ? List.of(List.of(0), List.of(1), features)
                    : List.of(List.of(1), List.of(0), features);
            if (!(x instanceof View v) || v.src().kind() != SrcKind.Y || v.src().layer() != k - 1
                    || !v.a().isUnsliced(new int[] {-1, -1, dirs, hidden}) || !v.a().essentialGroups().equals(want)) {
                throw at(n, "input X is not layer " + (k - 1) + "'s output Y as [" + (layout == 0 ? "T, B" : "B, T")
                        + ", directions x hidden]; it is " + kind(x) + (x instanceof View w ? " " + w.a() : ""));
            }
            inputSize = dirs * hidden;
        }
        // W, R, B
        float[] w = weight(n, 1, "W", dirs, gates * hidden, inputSize);
        inputSize = (int) ((Floats) value(n, 1)).t().dims()[2];
        float[] r = weight(n, 2, "R", dirs, gates * hidden, hidden);
        float[] b = n.input(3).isEmpty() ? null : bias(n, dirs, 2 * gates * hidden);
        float[] p = peepholes ? peepholes(n, dirs, hidden) : null;
        // sequence_lens
        if (!lengthsSeen) {
            lengthsSeen = true;
            lengthsName = n.input(4).isEmpty() ? null : lengthsInput(n);
        } else if (n.input(4).isEmpty() ? lengthsName != null : !n.input(4).equals(lengthsName)) {
            throw at(n, "sequence_lens differs from layer 0's: a stack has one set of lengths");
        }
        RnnModel.StateSource h0 = initial(n, 5, RnnModel.Role.H0, dirs, hidden, (int) layout);
        RnnModel.StateSource c0 = op.equals("LSTM") ? initial(n, 6, RnnModel.Role.C0, dirs, hidden, (int) layout) : null;
        layers.add(new Layer(n, op, cell, hidden, direction, reorder(w, dirs, gateOf, hidden, inputSize),
                reorder(r, dirs, gateOf, hidden, hidden), b, p == null ? null : reorder(p, dirs, PEEPHOLE_OF, hidden, 1),
                inputSize, h0, c0));
        // Outputs: Y as [T, D, B, H] (layout 0) or [B, T, D, H] over axes T, B, D, H; Y_h, Y_c over rows, B, H.
        int[] ySizes = {-1, -1, dirs, hidden};
        define(n, n.output(0), new View(new Src(SrcKind.Y, null, k), layout == 0
                ? Arrangement.grouped(ySizes, new int[] {0}, new int[] {2}, new int[] {1}, new int[] {3})
                : Arrangement.grouped(ySizes, new int[] {1}, new int[] {0}, new int[] {2}, new int[] {3})));
        int[] sSizes = {-1, -1, hidden};
        Arrangement state = (layout == 0 ? Arrangement.grouped(sSizes, new int[] {0}, new int[] {1}, new int[] {2})
                : Arrangement.grouped(sSizes, new int[] {1}, new int[] {0}, new int[] {2})).restrict(0, k * dirs, dirs);
        define(n, n.output(1), new View(new Src(SrcKind.H, null, k), state));
        define(n, n.output(2), new View(new Src(SrcKind.C, null, k), state));
    }

    private int sizeOf(Src src, int axis) {
        return declaredSize(graphInputs.get(src.input()), axis);
    }

    /** The size a graph input declares on {@code axis}, or -1 where it is named, unknown or not declared. */
    private static int declaredSize(OnnxProto.ValueInfo in, int axis) {
        Object d = in.dims() == null ? null : in.dims().get(axis);
        return d instanceof Long l && l >= 0 && l <= Integer.MAX_VALUE ? (int) (long) l : -1;
    }

    private void role(OnnxProto.Node n, String input, RnnModel.Role role) throws ModelFormatException {
        RnnModel.Role had = roles.putIfAbsent(input, role);
        if (had != null && had != role) {
            throw at(n, "graph input '" + input + "' is used as " + had + " and as " + role);
        }
        OnnxProto.ValueInfo vi = graphInputs.get(input);
        int t = vi.elemType();
        boolean ok = role == RnnModel.Role.LENGTHS ? t == 0 || (!OnnxProto.isFloatType(t) && OnnxProto.elementBytes(t) >= 4)
                : t == 0 || OnnxProto.isFloatType(t);
        if (!ok) {
            throw at(n, "graph input '" + input + "' (" + role + ") has element type " + t);
        }
    }

    private String string(OnnxProto.Node n, String name) throws ModelFormatException {
        OnnxProto.Attribute a = n.attributes().get(name);
        if (a.s() == null) {
            throw at(n, "attribute " + name + " is not a string");
        }
        return new String(a.s(), java.nio.charset.StandardCharsets.UTF_8);
    }

    /**
     * The node's cell: the kind, a GRU's formula, an LSTM's peepholes (input P given), clip and input_forget,
     * and the activations of every kind with their parameters.
     */
    private Cell cell(OnnxProto.Node n, String op, int dirs, boolean peepholes) throws ModelFormatException {
        List<Activation> acts = activations(n, op, op.equals("LSTM") ? 3 : op.equals("GRU") ? 2 : 1, dirs);
        try {
            return switch (op) {
                case "LSTM" -> {
                    long inputForget = intAttr(n, "input_forget", 0);
                    if (inputForget != 0 && inputForget != 1) {
                        throw at(n, "input_forget: expected 0 or 1, got " + inputForget);
                    }
                    yield new Cell.Lstm(0, peepholes, clip(n), inputForget == 1, acts);
                }
                case "GRU" -> {
                    noClip(n, op);
                    long lbr = intAttr(n, "linear_before_reset", 0);
                    if (lbr != 0 && lbr != 1) {
                        throw at(n, "linear_before_reset: expected 0 or 1, got " + lbr);
                    }
                    yield new Cell.Gru(lbr == 1, acts);
                }
                default -> {
                    noClip(n, op);
                    yield new Cell.Rnn(acts == null ? List.of(Activation.tanh()) : acts);
                }
            };
        } catch (IllegalArgumentException e) {
            throw at(n, e.getMessage());
        }
    }

    /** The LSTM's clip: ONNX's bound of the gates' pre-activations, infinite where the attribute is absent. */
    private float clip(OnnxProto.Node n) throws ModelFormatException {
        OnnxProto.Attribute a = n.attributes().get("clip");
        if (a == null) {
            return Float.POSITIVE_INFINITY;
        }
        if (a.type() != OnnxProto.ATTR_FLOAT && a.type() != 0) {
            throw at(n, "attribute clip is not a float");
        }
        if (!(a.f() > 0)) {
            throw at(n, "clip: expected a bound > 0, got " + a.f());
        }
        return a.f();
    }

    private void noClip(OnnxProto.Node n, String op) throws ModelFormatException {
        if (n.attributes().containsKey("clip")) {
            throw at(n, op + " with clip is not supported: only the LSTM (Cell.Lstm) clips its gates' pre-activations here");
        }
    }

    /**
     * The node's {@code activations} with their parameters, read as ONNX Runtime reads them: each function in
     * turn takes the next value of {@code activation_alpha} if it has an alpha, and the next of
     * {@code activation_beta} if it has a beta ({@link Activation.Function#parameters()}). Where a list is spent,
     * LeakyRelu, HardSigmoid and Elu take ONNX's defaults (0.01; 0.2 and 0.5; 1.0, ONNX Runtime's too);
     * Affine, ThresholdedRelu and ScaledTanh have no default in ONNX's recurrent operators (ONNX Runtime takes
     * 0, against the standalone ThresholdedRelu's 1.0), so a node that leaves theirs out is refused, as is one
     * with values left over, which no function reads.
     *
     * @return the activations, {@code roles} or {@code roles * dirs} of them; null where the node has none
     */
    private List<Activation> activations(OnnxProto.Node n, String op, int roles, int dirs) throws ModelFormatException {
        float[] alphas = floatsAttr(n, "activation_alpha");
        float[] betas = floatsAttr(n, "activation_beta");
        OnnxProto.Attribute a = n.attributes().get("activations");
        List<Activation> out = new ArrayList<>();
        int nextAlpha = 0;
        int nextBeta = 0;
        if (a != null) {
            if ((a.type() != OnnxProto.ATTR_STRINGS && a.type() != 0) || a.strings() == null) {
                throw at(n, "attribute activations is not a list of strings");
            }
            List<String> names = new ArrayList<>();
            for (byte[] b : a.strings()) {
                names.add(new String(b, java.nio.charset.StandardCharsets.UTF_8));
            }
            if (names.size() != roles && names.size() != roles * dirs) {
                throw at(n, "activations: expected " + roles + (dirs == 2 ? " (one per role) or " + roles * dirs
                        + " (per direction, forward first)" : "") + " for " + (dirs == 2 ? "a bidirectional " : op.equals("GRU") ? "a "
                        : "an ") + op + ", got " + names.size() + " " + names);
            }
            for (String name : names) {
                Activation.Function f;
                try {
                    f = Activation.Function.ofOnnx(name);
                } catch (IllegalArgumentException e) {
                    throw at(n, e.getMessage());
                }
                float alpha = 0;
                float beta = 0;
                Activation dflt = Activation.of(f);
                if (f.parameters() >= 1) {
                    if (nextAlpha < alphas.length) {
                        alpha = alphas[nextAlpha++];
                    } else if (hasOnnxDefault(f)) {
                        alpha = dflt.alpha();
                    } else {
                        throw at(n, "activation_alpha: expected a value for " + f.onnxName() + " (activation " + out.size()
                                + "), got none left; ONNX gives " + f.onnxName() + " no default in recurrent operators");
                    }
                }
                if (f.parameters() == 2) {
                    if (nextBeta < betas.length) {
                        beta = betas[nextBeta++];
                    } else if (hasOnnxDefault(f)) {
                        beta = dflt.beta();
                    } else {
                        throw at(n, "activation_beta: expected a value for " + f.onnxName() + " (activation " + out.size()
                                + "), got none left; ONNX gives " + f.onnxName() + " no default in recurrent operators");
                    }
                }
                try {
                    out.add(new Activation(f, alpha, beta));
                } catch (IllegalArgumentException e) {
                    throw at(n, e.getMessage());
                }
            }
        }
        if (nextAlpha < alphas.length || nextBeta < betas.length) {
            throw at(n, "activation_alpha and activation_beta: expected " + nextAlpha + " and " + nextBeta
                    + " values (those the activations " + (a == null ? "(the defaults)" : out) + " take, in order), got "
                    + alphas.length + " and " + betas.length);
        }
        return a == null ? null : out;
    }

    /** Whether ONNX states defaults for the parameters of {@code f} (those of its standalone operator, ONNX Runtime's too). */
    private static boolean hasOnnxDefault(Activation.Function f) {
        return f == Activation.Function.LEAKY_RELU || f == Activation.Function.HARD_SIGMOID || f == Activation.Function.ELU;
    }

    private float[] floatsAttr(OnnxProto.Node n, String name) throws ModelFormatException {
        OnnxProto.Attribute a = n.attributes().get(name);
        if (a == null) {
            return new float[0];
        }
        if ((a.type() != OnnxProto.ATTR_FLOATS && a.type() != 0) || a.floats() == null) {
            throw at(n, "attribute " + name + " is not a list of floats");
        }
        return a.floats();
    }

    /** The LSTM's input P, [D, 3H] in ONNX's order i, o, f. */
    private float[] peepholes(OnnxProto.Node n, int dirs, int hidden) throws ModelFormatException {
        Value v = value(n, 7);
        if (!(v instanceof Floats f)) {
            throw at(n, "input P must be a constant (an initializer) or bound when reading; it is " + kind(v));
        }
        long[] d = f.t().dims();
        if (d.length != 2 || d[0] != dirs || d[1] != 3L * hidden) {
            throw at(n, "input P has shape " + Arrays.toString(d) + ", expected [" + dirs + ", " + 3 * hidden + "]");
        }
        return f.t().floats();
    }

    private float[] weight(OnnxProto.Node n, int i, String what, int dirs, int rows, int cols) throws ModelFormatException {
        if (n.input(i).isEmpty()) {
            throw at(n, "input " + what + " is missing");
        }
        Value v = value(n, i);
        if (!(v instanceof Floats f)) {
            throw at(n, "input " + what + " ('" + n.input(i) + "') must be a constant (an initializer) or bound when reading; "
                    + "it is " + kind(v));
        }
        long[] d = f.t().dims();
        if (d.length != 3 || d[0] != dirs || d[1] != rows || (cols >= 0 && d[2] != cols) || d[2] <= 0) {
            throw at(n, "input " + what + " has shape " + Arrays.toString(d) + ", expected [" + dirs + ", " + rows + ", "
                    + (cols >= 0 ? cols : "input size") + "]");
        }
        return f.t().floats();
    }

    private float[] bias(OnnxProto.Node n, int dirs, int cols) throws ModelFormatException {
        Value v = value(n, 3);
        if (!(v instanceof Floats f)) {
            throw at(n, "input B must be a constant (an initializer) or bound when reading; it is " + kind(v));
        }
        long[] d = f.t().dims();
        if (d.length != 2 || d[0] != dirs || d[1] != cols) {
            throw at(n, "input B has shape " + Arrays.toString(d) + ", expected [" + dirs + ", " + cols + "]");
        }
        return f.t().floats();
    }

    private String lengthsInput(OnnxProto.Node n) throws ModelFormatException {
        Value v = value(n, 4);
        if (v instanceof View w && w.src().kind() == SrcKind.INPUT && w.a().rank() == 1 && w.a().isWholeAxis(0, 0,
                sizeOf(w.src(), 0))) {
            role(n, w.src().input(), RnnModel.Role.LENGTHS);
            return w.src().input();
        }
        throw at(n, "sequence_lens must be a graph input of rank 1; it is " + kind(v));
    }

    /** Where layer's initial state comes from: null for zeros. */
    private RnnModel.StateSource initial(OnnxProto.Node n, int i, RnnModel.Role role, int dirs, int hidden, int layout)
            throws ModelFormatException {
        if (n.input(i).isEmpty()) {
            return null;
        }
        Value v = value(n, i);
        int rowDim = layout == 0 ? 0 : 1;
        int batchDim = 1 - rowDim;
        String what = (role == RnnModel.Role.H0 ? "initial_h" : "initial_c") + " as " + (layout == 0 ? "[D, B, H]" : "[B, D, H]");
        if (v instanceof Zeros z) {
            Object[] d = z.dims();
            if (d.length != 3 || !Long.valueOf(dirs).equals(d[rowDim]) || !Long.valueOf(hidden).equals(d[2])
                    || !(d[batchDim] instanceof Sym || d[batchDim] instanceof Long)) {
                throw at(n, what + ": zeros of shape " + Arrays.toString(d) + ", expected D = " + dirs + ", H = " + hidden);
            }
            if (d[batchDim] instanceof Sym s && !isBatch(s)) {
                throw at(n, what + ": zeros whose batch size is not the input's batch size");
            }
            return null;
        }
        if (v instanceof View w && w.src().kind() == SrcKind.INPUT && w.a().rank() == 3) {
            int[] rows = w.a().group(rowDim);
            int[] batch = w.a().group(batchDim);
            int[] hid = w.a().group(2);
            if (rows.length == 1 && batch.length == 1 && hid.length == 1
                    && (w.a().length(rows[0]) == dirs || (w.a().length(rows[0]) == -1 && w.a().start(rows[0]) == 0))
                    && w.a().start(batch[0]) == 0 && w.a().length(batch[0]) == sizeOf(w.src(), batch[0])
                    && w.a().start(hid[0]) == 0 && (w.a().length(hid[0]) == hidden || w.a().length(hid[0]) == -1)) {
                role(n, w.src().input(), role);
                return new RnnModel.StateSource(w.src().input(), rows[0], w.a().start(rows[0]), batch[0], hid[0]);
            }
            throw at(n, what + ": graph input '" + w.src().input() + "' arranged as " + w.a() + " is not one layer's "
                    + dirs + " rows of a state tensor");
        }
        throw at(n, what + " must be zeros or taken from a graph input; it is " + kind(v));
    }

    private boolean isBatch(Sym s) {
        return switch (s.src().kind()) {
            case INPUT -> s.src().input().equals(xName) && s.axis() == xAxes[1];
            default -> s.axis() == 1;
        };
    }

    /** A node's [D, G*H, cols] weights with the gates in our order. */
    private static float[] reorder(float[] m, int dirs, int[] gateOf, int hidden, int cols) {
        int gates = gateOf.length;
        int block = hidden * cols;
        float[] out = new float[m.length];
        for (int d = 0; d < dirs; d++) {
            for (int g = 0; g < gates; g++) {
                System.arraycopy(m, (d * gates + gateOf[g]) * block, out, (d * gates + g) * block, block);
            }
        }
        return out;
    }

    // ---- the model ----

    private RnnModel build() throws ModelFormatException {
        Layer first = layers.get(0);
        int dirs = first.direction().count();
        int hidden = first.hidden();
        boolean bias = layers.stream().anyMatch(l -> l.b() != null);
        RnnSpec spec;
        try {
            spec = RnnSpec.builder().cell(first.cell()).inputSize(first.inputSize()).hiddenSize(hidden).layers(layers.size())
                    .direction(first.direction()).bias(bias).build();
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(file, first.node().label(), e.getMessage());
        }
        int[] gateOf = gateOrder(first.op());
        int gh = gateOf.length * hidden;
        RnnWeights.Builder wb = RnnWeights.builder(spec);
        for (int k = 0; k < layers.size(); k++) {
            Layer l = layers.get(k);
            for (int d = 0; d < dirs; d++) {
                wb.weightIh(k, d, Arrays.copyOfRange(l.w(), d * gh * l.inputSize(), (d + 1) * gh * l.inputSize()));
                wb.weightHh(k, d, Arrays.copyOfRange(l.r(), d * gh * hidden, (d + 1) * gh * hidden));
                if (bias) {
                    float[] wbias = new float[gh];
                    float[] rbias = new float[gh];
                    if (l.b() != null) {
                        System.arraycopy(l.b(), d * 2 * gh, wbias, 0, gh);
                        System.arraycopy(l.b(), d * 2 * gh + gh, rbias, 0, gh);
                    }
                    wb.biasIh(k, d, reorder(wbias, 1, gateOf, hidden, 1));
                    wb.biasHh(k, d, reorder(rbias, 1, gateOf, hidden, 1));
                }
                if (l.p() != null) {
                    wb.put(RnnWeights.Param.PEEPHOLE, k, d, Arrays.copyOfRange(l.p(), d * 3 * hidden, (d + 1) * 3 * hidden));
                }
            }
        }
        // Outputs
        List<RnnModel.Output> outputs = new ArrayList<>();
        java.util.Set<String> outputNames = new java.util.HashSet<>();
        for (OnnxProto.ValueInfo o : graph.outputs()) {
            Value v = values.get(o.name());
            String where = "graph output '" + o.name() + "'";
            if (!outputNames.add(o.name())) {
                throw new ModelFormatException(file, where, "declared twice");
            }
            if (v == null) {
                throw new ModelFormatException(file, where, "no node computes it");
            }
            if (!(v instanceof View w) || w.src().kind() == SrcKind.INPUT) {
                throw new ModelFormatException(file, where, "is " + kind(v) + ", not the network's output or final states");
            }
            if (w.src().kind() == SrcKind.Y && w.src().layer() != layers.size() - 1) {
                throw new ModelFormatException(file, where, "is layer " + w.src().layer() + "'s output; only the last "
                        + "layer's output is computed");
            }
            RnnModel.Kind kind = switch (w.src().kind()) {
                case Y -> RnnModel.Kind.Y;
                case H -> RnnModel.Kind.H;
                default -> RnnModel.Kind.C;
            };
            outputs.add(new RnnModel.Output(o.name(), kind, w.a()));
        }
        if (outputs.isEmpty()) {
            throw new ModelFormatException(file, "graph", "no outputs");
        }
        // Inputs
        List<RnnModel.Input> inputs = new ArrayList<>();
        for (OnnxProto.ValueInfo in : graphInputs.values()) {
            RnnModel.Role role = roles.get(in.name());
            if (role == null) {
                throw new ModelFormatException(file, "graph input '" + in.name() + "'",
                        "not used by the network (neither its input, initial states nor lengths)");
            }
            inputs.add(new RnnModel.Input(in.name(), role, true, in.dims()));
        }
        inputs.sort((p, q) -> Integer.compare(p.role().ordinal(), q.role().ordinal()));
        Object featureDim = graphInputs.get(xName).dims() == null ? null : graphInputs.get(xName).dims().get(xAxes[2]);
        if (featureDim instanceof Long f && f != spec.inputSize()) {
            throw new ModelFormatException(file, "graph input '" + xName + "'", "declares " + f
                    + " features, the first layer's W takes " + spec.inputSize());
        }
        List<RnnModel.StateSource> h0 = null;
        if (layers.stream().anyMatch(l -> l.h0() != null)) {
            h0 = new ArrayList<>();
            for (Layer l : layers) {
                h0.add(l.h0());
            }
        }
        List<RnnModel.StateSource> c0 = null;
        if (spec.cell().hasCellState() && layers.stream().anyMatch(l -> l.c0() != null)) {
            c0 = new ArrayList<>();
            for (Layer l : layers) {
                c0.add(l.c0());
            }
        }
        return new RnnModel(spec, wb.build(), "onnx", file, inputs, xName, xAxes, lengthsName, h0, c0, outputs);
    }
}
