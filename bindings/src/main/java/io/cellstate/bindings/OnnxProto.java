package io.cellstate.bindings;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The part of {@code onnx.proto} a recurrent model uses, read and written by hand over {@link Protobuf}:
 * ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto. Field numbers are
 * those of onnx.proto (IR version 10); fields this package has no use for are skipped. Subgraph
 * attributes (If, Loop, Scan) are not parsed: their node is refused later by its op.
 */
final class OnnxProto {
    /** TensorProto.DataType values. */
    static final int FLOAT = 1;
    static final int UINT8 = 2;
    static final int INT8 = 3;
    static final int UINT16 = 4;
    static final int INT16 = 5;
    static final int INT32 = 6;
    static final int INT64 = 7;
    static final int BOOL = 9;
    static final int FLOAT16 = 10;
    static final int DOUBLE = 11;
    static final int UINT32 = 12;
    static final int UINT64 = 13;
    static final int BFLOAT16 = 16;

    /** AttributeProto.AttributeType values. */
    static final int ATTR_FLOAT = 1;
    static final int ATTR_INT = 2;
    static final int ATTR_STRING = 3;
    static final int ATTR_TENSOR = 4;
    static final int ATTR_GRAPH = 5;
    static final int ATTR_FLOATS = 6;
    static final int ATTR_INTS = 7;
    static final int ATTR_STRINGS = 8;

    private OnnxProto() {
    }

    /** A model: its IR version, the opset of each domain ("" is ONNX's) and its graph. */
    record Model(long irVersion, Map<String, Long> opsets, String producer, Graph graph) {
    }

    /** A graph: nodes in file order, initializers by name, declared inputs and outputs. */
    record Graph(String name, List<Node> nodes, Map<String, TensorData> initializers, List<ValueInfo> inputs,
            List<ValueInfo> outputs) {
    }

    /** A node; {@code offset} is where it starts in the file, for messages. */
    record Node(String name, String opType, String domain, List<String> inputs, List<String> outputs,
            Map<String, Attribute> attributes, int offset) {
        /** The node as messages name it: its name if it has one, else its first output. */
        String label() {
            String n = !name.isEmpty() ? name : outputs.isEmpty() ? "(unnamed)" : "(output " + outputs.get(0) + ")";
            return "node '" + n + "' (" + (domain.isEmpty() ? "" : domain + ".") + opType + ")";
        }

        /** The input at {@code i}, or "" when the node has fewer. */
        String input(int i) {
            return i < inputs.size() ? inputs.get(i) : "";
        }

        /** The output at {@code i}, or "" when the node has fewer. */
        String output(int i) {
            return i < outputs.size() ? outputs.get(i) : "";
        }
    }

    /** An attribute; which value field is meaningful depends on {@code type}. */
    record Attribute(String name, int type, float f, long i, byte[] s, TensorData t, float[] floats, long[] ints,
            List<byte[]> strings) {
        static Attribute ofInt(String name, long v) {
            return new Attribute(name, ATTR_INT, 0, v, null, null, null, null, null);
        }

        static Attribute ofFloat(String name, float v) {
            return new Attribute(name, ATTR_FLOAT, v, 0, null, null, null, null, null);
        }

        static Attribute ofFloats(String name, List<Float> v) {
            float[] f = new float[v.size()];
            for (int k = 0; k < f.length; k++) {
                f[k] = v.get(k);
            }
            return new Attribute(name, ATTR_FLOATS, 0, 0, null, null, f, null, null);
        }

        static Attribute ofString(String name, String v) {
            return new Attribute(name, ATTR_STRING, 0, 0, v.getBytes(java.nio.charset.StandardCharsets.UTF_8), null, null,
                    null, null);
        }

        static Attribute ofInts(String name, long... v) {
            return new Attribute(name, ATTR_INTS, 0, 0, null, null, null, v, null);
        }

        static Attribute ofStrings(String name, List<String> v) {
            List<byte[]> s = new ArrayList<>();
            for (String x : v) {
                s.add(x.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            }
            return new Attribute(name, ATTR_STRINGS, 0, 0, null, null, null, null, s);
        }

        static Attribute ofTensor(String name, TensorData t) {
            return new Attribute(name, ATTR_TENSOR, 0, 0, null, t, null, null, null);
        }
    }

    /**
     * A declared graph input or output: element type and dims, each a {@code Long} (dim_value), a
     * {@code String} (dim_param) or null (unknown); {@code dims} is null when no shape is declared.
     */
    record ValueInfo(String name, int elemType, List<Object> dims) {
    }

    /**
     * A tensor's values: float types (float, double, float16, bfloat16) as {@code floats}, integer
     * and boolean types as {@code longs}; the other is null.
     */
    record TensorData(String name, int dataType, long[] dims, float[] floats, long[] longs) {
        /** The number of elements. */
        int size() {
            return floats != null ? floats.length : longs.length;
        }

        boolean isFloat() {
            return floats != null;
        }
    }

    // ---- reading ----

    /** Parses a model file's bytes. */
    static Model readModel(byte[] bytes, String file) throws ModelFormatException {
        Protobuf.Reader r = new Protobuf.Reader(bytes, file);
        long ir = -1;
        Map<String, Long> opsets = new LinkedHashMap<>();
        String producer = "";
        Graph graph = null;
        while (r.next()) {
            switch (r.field()) {
                case 1 -> ir = r.int64("ir_version");
                case 2 -> producer = r.string("producer_name");
                case 7 -> {
                    if (graph != null) {
                        throw r.error("a second graph in the model");
                    }
                    graph = readGraph(r.message("graph"), bytes);
                }
                case 8 -> {
                    Protobuf.Reader o = r.message("opset_import");
                    String domain = "";
                    long version = -1;
                    while (o.next()) {
                        switch (o.field()) {
                            case 1 -> domain = o.string("opset domain");
                            case 2 -> version = o.int64("opset version");
                            default -> o.skip();
                        }
                    }
                    if (opsets.put(domain, version) != null) {
                        throw r.error("opset of domain '" + domain + "' imported twice");
                    }
                }
                default -> r.skip();
            }
        }
        if (graph == null) {
            throw new ModelFormatException(file, "offset 0", "no graph: not an ONNX model");
        }
        if (ir < 3) {
            throw new ModelFormatException(file, "ModelProto.ir_version", "IR version " + ir + ", expected 3 or later");
        }
        return new Model(ir, opsets, producer, graph);
    }

    private static Graph readGraph(Protobuf.Reader r, byte[] bytes) throws ModelFormatException {
        String name = "";
        List<Node> nodes = new ArrayList<>();
        Map<String, TensorData> inits = new LinkedHashMap<>();
        List<ValueInfo> inputs = new ArrayList<>();
        List<ValueInfo> outputs = new ArrayList<>();
        while (r.next()) {
            switch (r.field()) {
                case 1 -> nodes.add(readNode(r.message("node"), r.fieldOffset(), bytes));
                case 2 -> name = r.string("graph name");
                case 5 -> {
                    int at = r.fieldOffset();
                    TensorData t = readTensor(r.message("initializer"), bytes);
                    if (inits.put(t.name(), t) != null) {
                        throw r.error(at, "initializer '" + t.name() + "' appears twice");
                    }
                }
                case 15 -> throw r.error("sparse initializers are not read");
                case 11 -> inputs.add(readValueInfo(r.message("graph input")));
                case 12 -> outputs.add(readValueInfo(r.message("graph output")));
                default -> r.skip();
            }
        }
        return new Graph(name, nodes, inits, inputs, outputs);
    }

    private static Node readNode(Protobuf.Reader r, int offset, byte[] bytes) throws ModelFormatException {
        List<String> in = new ArrayList<>();
        List<String> out = new ArrayList<>();
        String name = "";
        String op = "";
        String domain = "";
        Map<String, Attribute> attrs = new LinkedHashMap<>();
        while (r.next()) {
            switch (r.field()) {
                case 1 -> in.add(r.string("node input"));
                case 2 -> out.add(r.string("node output"));
                case 3 -> name = r.string("node name");
                case 4 -> op = r.string("op_type");
                case 7 -> domain = r.string("node domain");
                case 5 -> {
                    int at = r.fieldOffset();
                    Attribute a = readAttribute(r.message("attribute"), bytes);
                    if (attrs.put(a.name(), a) != null) {
                        throw r.error(at, "attribute '" + a.name() + "' appears twice on a node");
                    }
                }
                default -> r.skip();
            }
        }
        if (domain.equals("ai.onnx")) {
            domain = "";
        }
        return new Node(name, op, domain, in, out, attrs, offset);
    }

    private static Attribute readAttribute(Protobuf.Reader r, byte[] bytes) throws ModelFormatException {
        String name = "";
        int type = 0;
        float f = 0;
        long i = 0;
        byte[] s = null;
        TensorData t = null;
        Protobuf.FloatList floats = new Protobuf.FloatList();
        Protobuf.LongList ints = new Protobuf.LongList();
        List<byte[]> strings = new ArrayList<>();
        while (r.next()) {
            switch (r.field()) {
                case 1 -> name = r.string("attribute name");
                case 20 -> type = r.int32("attribute type", 0, 14);
                case 2 -> f = r.float32("attribute f");
                case 3 -> i = r.int64("attribute i");
                case 4 -> s = r.bytes("attribute s");
                case 5 -> t = readTensor(r.message("attribute t"), bytes);
                case 7 -> r.float32s("attribute floats", floats);
                case 8 -> r.int64s("attribute ints", ints);
                case 9 -> strings.add(r.bytes("attribute strings"));
                case 21 -> throw r.error("attribute references a function's attribute (ref_attr_name): not read");
                default -> r.skip(); // g, graphs, sparse tensors, type protos, doc_string
            }
        }
        return new Attribute(name, type, f, i, s, t, floats.toArray(), ints.toArray(), strings);
    }

    private static ValueInfo readValueInfo(Protobuf.Reader r) throws ModelFormatException {
        String name = "";
        int elem = 0;
        List<Object> dims = null;
        while (r.next()) {
            switch (r.field()) {
                case 1 -> name = r.string("value name");
                case 2 -> {
                    Protobuf.Reader type = r.message("value type");
                    while (type.next()) {
                        if (type.field() != 1) {
                            type.skip();
                            continue;
                        }
                        Protobuf.Reader tt = type.message("tensor type");
                        while (tt.next()) {
                            switch (tt.field()) {
                                case 1 -> elem = tt.int32("elem_type", 0, 64);
                                case 2 -> {
                                    dims = new ArrayList<>();
                                    Protobuf.Reader shape = tt.message("tensor shape");
                                    while (shape.next()) {
                                        if (shape.field() != 1) {
                                            shape.skip();
                                            continue;
                                        }
                                        Protobuf.Reader dim = shape.message("dimension");
                                        Object d = null;
                                        while (dim.next()) {
                                            switch (dim.field()) {
                                                case 1 -> d = dim.int64("dim_value");
                                                case 2 -> d = dim.string("dim_param");
                                                default -> dim.skip();
                                            }
                                        }
                                        dims.add(d);
                                    }
                                }
                                default -> tt.skip();
                            }
                        }
                    }
                }
                default -> r.skip();
            }
        }
        return new ValueInfo(name, elem, dims);
    }

    /** The bytes per element of a data type held as raw data, or 0 for a type this package does not read. */
    static int elementBytes(int dataType) {
        return switch (dataType) {
            case UINT8, INT8, BOOL -> 1;
            case UINT16, INT16, FLOAT16, BFLOAT16 -> 2;
            case FLOAT, INT32, UINT32 -> 4;
            case DOUBLE, INT64, UINT64 -> 8;
            default -> 0;
        };
    }

    static boolean isFloatType(int dataType) {
        return dataType == FLOAT || dataType == DOUBLE || dataType == FLOAT16 || dataType == BFLOAT16;
    }

    private static TensorData readTensor(Protobuf.Reader r, byte[] bytes) throws ModelFormatException {
        String name = "";
        int type = 0;
        Protobuf.LongList dims = new Protobuf.LongList();
        int[] raw = null;
        Protobuf.FloatList floatData = new Protobuf.FloatList();
        Protobuf.LongList intData = new Protobuf.LongList();
        boolean external = false;
        while (r.next()) {
            switch (r.field()) {
                case 1 -> r.int64s("tensor dims", dims);
                case 2 -> type = r.int32("tensor data_type", 0, 64);
                case 8 -> name = r.string("tensor name");
                case 9 -> raw = r.span("tensor raw_data");
                case 4 -> r.float32s("tensor float_data", floatData);
                case 10 -> r.float64s("tensor double_data", floatData);
                case 5, 7, 11 -> r.int64s("tensor integer data", intData);
                case 13 -> {
                    external = true;
                    r.skip();
                }
                case 14 -> external |= r.int64("data_location") == 1;
                case 3 -> throw r.error("tensor '" + name + "' is split into segments: not read");
                case 6 -> throw r.error("tensor '" + name + "' holds strings: not read");
                default -> r.skip();
            }
        }
        String where = "tensor '" + name + "'";
        if (external) {
            throw new ModelFormatException(r.file(), where,
                    "data stored outside the model file (external data) is not read");
        }
        int size = elementBytes(type);
        if (size == 0) {
            throw new ModelFormatException(r.file(), where, "data type " + type + " is not read");
        }
        long count = 1;
        long[] shape = dims.toArray();
        for (long d : shape) {
            if (d < 0) {
                throw new ModelFormatException(r.file(), where, "negative dimension in " + Arrays.toString(shape));
            }
            if (d != 0 && count > Integer.MAX_VALUE / d) {
                throw new ModelFormatException(r.file(), where, "dims " + Arrays.toString(shape)
                        + " hold more than 2^31-1 elements");
            }
            count *= d;
        }
        int n = (int) count;
        boolean floatType = isFloatType(type);
        if (raw != null) {
            if (floatData.size() > 0 || intData.size() > 0) {
                throw new ModelFormatException(r.file(), where, "both raw_data and typed data");
            }
            if ((long) n * size != raw[1]) {
                throw new ModelFormatException(r.file(), where, "dims " + Arrays.toString(shape) + " of type "
                        + type + " need " + (long) n * size + " bytes of raw_data, the tensor has " + raw[1]);
            }
            ByteBuffer bb = ByteBuffer.wrap(bytes, raw[0], raw[1]).order(ByteOrder.LITTLE_ENDIAN);
            if (floatType) {
                float[] v = new float[n];
                for (int i = 0; i < n; i++) {
                    v[i] = switch (type) {
                        case FLOAT -> bb.getFloat();
                        case DOUBLE -> (float) bb.getDouble();
                        case FLOAT16 -> Float.float16ToFloat(bb.getShort());
                        default -> Float.intBitsToFloat((bb.getShort() & 0xffff) << 16);
                    };
                }
                return new TensorData(name, type, shape, v, null);
            }
            long[] v = new long[n];
            for (int i = 0; i < n; i++) {
                v[i] = switch (type) {
                    case UINT8, BOOL -> bb.get() & 0xff;
                    case INT8 -> bb.get();
                    case UINT16 -> bb.getShort() & 0xffff;
                    case INT16 -> bb.getShort();
                    case INT32 -> bb.getInt();
                    case UINT32 -> bb.getInt() & 0xffffffffL;
                    default -> bb.getLong();
                };
            }
            return new TensorData(name, type, shape, null, v);
        }
        if (type == FLOAT || type == DOUBLE) {
            if (intData.size() > 0 || floatData.size() != n) {
                throw new ModelFormatException(r.file(), where, "dims " + Arrays.toString(shape) + " need "
                        + n + " values, the tensor holds " + floatData.size() + (intData.size() > 0 ? " and integer data" : ""));
            }
            return new TensorData(name, type, shape, floatData.toArray(), null);
        }
        if (floatData.size() > 0 || intData.size() != n) {
            throw new ModelFormatException(r.file(), where, "dims " + Arrays.toString(shape) + " need " + n
                    + " values, the tensor holds " + intData.size() + (floatData.size() > 0 ? " and float data" : ""));
        }
        long[] v = intData.toArray();
        if (type == FLOAT16 || type == BFLOAT16) { // int32_data holds their bits
            float[] f = new float[n];
            for (int i = 0; i < n; i++) {
                f[i] = type == FLOAT16 ? Float.float16ToFloat((short) v[i]) : Float.intBitsToFloat((int) (v[i] & 0xffff) << 16);
            }
            return new TensorData(name, type, shape, f, null);
        }
        if (type == INT32 || type == INT16 || type == INT8) {
            for (int i = 0; i < n; i++) {
                v[i] = (int) v[i]; // int32_data is a varint of the sign-extended value
            }
        }
        return new TensorData(name, type, shape, null, v);
    }

    // ---- writing ----

    /** A model's bytes. */
    static byte[] writeModel(Model m) {
        Protobuf.Writer w = new Protobuf.Writer();
        w.int64(1, m.irVersion());
        w.string(2, m.producer());
        w.message(7, writeGraph(m.graph()));
        for (Map.Entry<String, Long> e : m.opsets().entrySet()) {
            Protobuf.Writer o = new Protobuf.Writer();
            if (!e.getKey().isEmpty()) {
                o.string(1, e.getKey());
            }
            o.int64(2, e.getValue());
            w.message(8, o);
        }
        return w.toBytes();
    }

    private static Protobuf.Writer writeGraph(Graph g) {
        Protobuf.Writer w = new Protobuf.Writer();
        for (Node n : g.nodes()) {
            w.message(1, writeNode(n));
        }
        w.string(2, g.name());
        for (TensorData t : g.initializers().values()) {
            w.message(5, writeTensor(t));
        }
        for (ValueInfo v : g.inputs()) {
            w.message(11, writeValueInfo(v));
        }
        for (ValueInfo v : g.outputs()) {
            w.message(12, writeValueInfo(v));
        }
        return w;
    }

    private static Protobuf.Writer writeNode(Node n) {
        Protobuf.Writer w = new Protobuf.Writer();
        for (String s : n.inputs()) {
            w.string(1, s);
        }
        for (String s : n.outputs()) {
            w.string(2, s);
        }
        w.string(3, n.name());
        w.string(4, n.opType());
        for (Attribute a : n.attributes().values()) {
            w.message(5, writeAttribute(a));
        }
        if (!n.domain().isEmpty()) {
            w.string(7, n.domain());
        }
        return w;
    }

    private static Protobuf.Writer writeAttribute(Attribute a) {
        Protobuf.Writer w = new Protobuf.Writer();
        w.string(1, a.name());
        switch (a.type()) {
            case ATTR_FLOAT -> w.float32(2, a.f());
            case ATTR_INT -> w.int64(3, a.i());
            case ATTR_STRING -> w.bytes(4, a.s());
            case ATTR_TENSOR -> w.message(5, writeTensor(a.t()));
            case ATTR_FLOATS -> {
                for (float f : a.floats()) {
                    w.float32(7, f);
                }
            }
            case ATTR_INTS -> w.packedInt64s(8, a.ints());
            case ATTR_STRINGS -> a.strings().forEach(s -> w.bytes(9, s));
            default -> throw new IllegalArgumentException("attribute type " + a.type() + " is not written");
        }
        w.int64(20, a.type());
        return w;
    }

    private static Protobuf.Writer writeTensor(TensorData t) {
        Protobuf.Writer w = new Protobuf.Writer();
        w.packedInt64s(1, t.dims());
        w.int64(2, t.dataType());
        w.string(8, t.name());
        ByteBuffer bb;
        switch (t.dataType()) {
            case FLOAT -> {
                bb = ByteBuffer.allocate(t.floats().length * 4).order(ByteOrder.LITTLE_ENDIAN);
                for (float f : t.floats()) {
                    bb.putFloat(f);
                }
            }
            case INT64 -> {
                bb = ByteBuffer.allocate(t.longs().length * 8).order(ByteOrder.LITTLE_ENDIAN);
                for (long v : t.longs()) {
                    bb.putLong(v);
                }
            }
            case INT32 -> {
                bb = ByteBuffer.allocate(t.longs().length * 4).order(ByteOrder.LITTLE_ENDIAN);
                for (long v : t.longs()) {
                    bb.putInt(Math.toIntExact(v));
                }
            }
            default -> throw new IllegalArgumentException("tensor type " + t.dataType() + " is not written");
        }
        w.bytes(9, bb.array());
        return w;
    }

    private static Protobuf.Writer writeValueInfo(ValueInfo v) {
        Protobuf.Writer tensorType = new Protobuf.Writer().int64(1, v.elemType());
        if (v.dims() != null) {
            Protobuf.Writer shape = new Protobuf.Writer();
            for (Object d : v.dims()) {
                Protobuf.Writer dim = new Protobuf.Writer();
                if (d instanceof Long l) {
                    dim.int64(1, l);
                } else if (d instanceof String s) {
                    dim.string(2, s);
                }
                shape.message(1, dim);
            }
            tensorType.message(2, shape);
        }
        return new Protobuf.Writer().string(1, v.name()).message(2, new Protobuf.Writer().message(1, tensorType));
    }
}
