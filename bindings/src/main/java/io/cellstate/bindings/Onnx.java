package io.cellstate.bindings;

import io.cellstate.Activation;
import io.cellstate.Cell;
import io.cellstate.Layout;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * ONNX model files: recurrent networks read from and written to {@code .onnx}.
 *
 * <p>Reading takes a single LSTM, GRU or RNN node (as in ONNX's own node tests) or the graph PyTorch's
 * exporter writes for {@code nn.LSTM}, {@code nn.GRU} and {@code nn.RNN}: one recurrent node per layer
 * and the nodes that move data between them (Shape, Gather, ConstantOfShape, Slice, Transpose, Reshape,
 * Squeeze, Concat, ...), with {@code batch_first} transposes, initial states as graph inputs or zeros, and
 * dynamic axes. ONNX's gate orders (i, o, f, c and z, r, h) become this library's (i, f, g, o and r, z, n).
 * Anything else, an op or a use of one that does not fit, is refused with a {@link ModelFormatException}
 * naming the node, before anything runs. The protobuf reader bounds every length by the bytes left.
 *
 * <p>The cells' options are ONNX's attributes and inputs: an LSTM's peepholes (input {@code P}, i, o, f),
 * {@code clip} and {@code input_forget}; every cell's {@code activations} with {@code activation_alpha} and
 * {@code activation_beta}, read as ONNX Runtime reads them (each function takes the next alpha and beta it
 * has). A GRU's or RNN's {@code clip} is refused: only {@link Cell.Lstm} clips.
 *
 * <p>Writing produces the graph PyTorch's exporter would (opset 14): inputs {@code x} (and optionally
 * {@code h0}, {@code c0}, {@code lengths}), outputs {@code y}, {@code hn} (and {@code cn}), which ONNX
 * Runtime runs, with the cell's options as above; every activation's parameters are written out. A
 * projected LSTM (PyTorch's {@code proj_size}) is refused: ONNX's LSTM has no projection, and none can be
 * put around the node, because the projected h is what the recurrence reads inside it.
 */
public final class Onnx {
    /** The opset written. */
    public static final int OPSET = 14;
    /** The IR version written (that of opset 14's release; ONNX Runtime reads it). */
    public static final int IR_VERSION = 7;

    private Onnx() {
    }

    /**
     * Reads a model whose weights are in the file.
     *
     * @param file the {@code .onnx} file
     * @return the model
     * @throws ModelFormatException for a malformed file or a graph that is not a recurrent network
     * @throws IOException          if the file cannot be read
     */
    public static RnnModel read(Path file) throws IOException {
        return read(file, Map.of());
    }

    /**
     * Reads a model, with some graph inputs given values now: ONNX's node tests make the weights
     * ({@code W}, {@code R}, {@code B}) graph inputs.
     *
     * @param file  the {@code .onnx} file
     * @param bound values of graph inputs that are weights, by name
     * @return the model
     * @throws ModelFormatException for a malformed file or a graph that is not a recurrent network
     * @throws IOException          if the file cannot be read
     */
    public static RnnModel read(Path file, Map<String, NpyArray> bound) throws IOException {
        Objects.requireNonNull(file, "file");
        return read(Formats.readAll(file), file.toString(), bound);
    }

    /**
     * Reads a model from bytes.
     *
     * @param bytes  the file's bytes
     * @param source the file's name, for messages
     * @param bound  values of graph inputs that are weights, by name
     * @return the model
     * @throws ModelFormatException for a malformed file or a graph that is not a recurrent network
     */
    public static RnnModel read(byte[] bytes, String source, Map<String, NpyArray> bound) throws ModelFormatException {
        Objects.requireNonNull(bytes, "bytes");
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(bound, "bound");
        return OnnxImport.toModel(source, OnnxProto.readModel(bytes, source), bound);
    }

    /**
     * What a written model takes besides {@code x}.
     *
     * @param layout        the layout of {@code x} and {@code y}: {@code BATCH_MAJOR} writes PyTorch's
     *                      {@code batch_first} transposes
     * @param initialStates whether {@code h0} (and {@code c0}) are graph inputs; without, the states start at zero
     * @param lengths       whether {@code lengths} (int32 [B]) is a graph input, ONNX's {@code sequence_lens}
     */
    public record ExportOptions(Layout layout, boolean initialStates, boolean lengths) {
        /** Sequence-major, no state or length inputs. */
        public static final ExportOptions DEFAULT = new ExportOptions(Layout.SEQUENCE_MAJOR, false, false);

        /**
         * Checks the layout.
         *
         * @param layout        the layout
         * @param initialStates whether states are inputs
         * @param lengths       whether lengths are an input
         */
        public ExportOptions {
            Objects.requireNonNull(layout, "layout");
        }
    }

    /**
     * Writes a network as an ONNX model.
     *
     * @param file    the {@code .onnx} file to write
     * @param weights the network's weights (and through them its spec)
     * @param options the inputs the model takes
     * @throws IOException if the file cannot be written
     */
    public static void write(Path file, RnnWeights weights, ExportOptions options) throws IOException {
        Objects.requireNonNull(file, "file");
        Files.write(file, toBytes(weights, options));
    }

    /**
     * A network as the bytes of an ONNX model.
     *
     * @param weights the network's weights
     * @param options the inputs the model takes
     * @return the model's bytes
     * @throws IllegalArgumentException for a projected LSTM, which ONNX's LSTM cannot express
     */
    public static byte[] toBytes(RnnWeights weights, ExportOptions options) {
        Objects.requireNonNull(weights, "weights");
        Objects.requireNonNull(options, "options");
        RnnSpec spec = weights.spec();
        Cell cell = spec.cell();
        if (spec.projectionSize() > 0) {
            throw new IllegalArgumentException("weights: expected a network ONNX's operators express, got " + cell
                    + " (PyTorch's proj_size " + spec.projectionSize() + "): ONNX's LSTM has no projection, and a MatMul"
                    + " after the node cannot stand for it, because the projected h is what the recurrence reads inside"
                    + " the node");
        }
        String op = switch (cell) {
            case Cell.Lstm l -> "LSTM";
            case Cell.Gru g -> "GRU";
            case Cell.Rnn r -> "RNN";
        };
        int[] gateOf = OnnxImport.gateOrder(op);
        int gates = gateOf.length;
        int hidden = spec.hiddenSize();
        int dirs = spec.directions();
        int layers = spec.layers();
        boolean batchFirst = options.layout() == Layout.BATCH_MAJOR;
        Map<String, OnnxProto.TensorData> inits = new LinkedHashMap<>();
        List<OnnxProto.Node> nodes = new ArrayList<>();
        List<OnnxProto.ValueInfo> inputs = new ArrayList<>();
        List<OnnxProto.ValueInfo> outputs = new ArrayList<>();
        inputs.add(new OnnxProto.ValueInfo("x", OnnxProto.FLOAT, batchFirst ? List.of("batch", "steps", (long) spec.inputSize())
                : List.of("steps", "batch", (long) spec.inputSize())));
        List<Object> stateDims = List.of((long) layers * dirs, "batch", (long) hidden);
        boolean cState = spec.cell().hasCellState();
        if (options.initialStates()) {
            inputs.add(new OnnxProto.ValueInfo("h0", OnnxProto.FLOAT, stateDims));
            if (cState) {
                inputs.add(new OnnxProto.ValueInfo("c0", OnnxProto.FLOAT, stateDims));
            }
        }
        if (options.lengths()) {
            inputs.add(new OnnxProto.ValueInfo("lengths", OnnxProto.INT32, List.of("batch")));
        }
        String x = "x";
        if (batchFirst) {
            nodes.add(node("Transpose", "x_tbf", List.of("x"), List.of("x_tbf"), perm(1, 0, 2)));
            x = "x_tbf";
        }
        if (options.initialStates() && layers > 1) {
            inits.put("axis0", ints("axis0", 0));
        }
        List<String> hn = new ArrayList<>();
        List<String> cn = new ArrayList<>();
        for (int k = 0; k < layers; k++) {
            int in = spec.layerInputSize(k);
            float[] w = new float[dirs * gates * hidden * in];
            float[] r = new float[dirs * gates * hidden * hidden];
            float[] b = spec.bias() ? new float[dirs * 2 * gates * hidden] : null;
            for (int d = 0; d < dirs; d++) {
                float[] wih = weights.array(RnnWeights.Param.WEIGHT_IH, k, d);
                float[] whh = weights.array(RnnWeights.Param.WEIGHT_HH, k, d);
                for (int g = 0; g < gates; g++) {
                    int to = d * gates + gateOf[g];
                    System.arraycopy(wih, g * hidden * in, w, to * hidden * in, hidden * in);
                    System.arraycopy(whh, g * hidden * hidden, r, to * hidden * hidden, hidden * hidden);
                    if (b != null) {
                        System.arraycopy(weights.array(RnnWeights.Param.BIAS_IH, k, d), g * hidden, b,
                                d * 2 * gates * hidden + gateOf[g] * hidden, hidden);
                        System.arraycopy(weights.array(RnnWeights.Param.BIAS_HH, k, d), g * hidden, b,
                                d * 2 * gates * hidden + gates * hidden + gateOf[g] * hidden, hidden);
                    }
                }
            }
            String sfx = "_l" + k;
            float[] p = null;
            if (cell instanceof Cell.Lstm lstm && lstm.peepholes()) {
                p = new float[dirs * 3 * hidden];
                for (int d = 0; d < dirs; d++) {
                    float[] ours = weights.array(RnnWeights.Param.PEEPHOLE, k, d);
                    for (int g = 0; g < 3; g++) {
                        System.arraycopy(ours, g * hidden, p, (d * 3 + OnnxImport.PEEPHOLE_OF[g]) * hidden, hidden);
                    }
                }
                inits.put("P" + sfx, floats("P" + sfx, p, dirs, 3L * hidden));
            }
            inits.put("W" + sfx, floats("W" + sfx, w, dirs, gates * hidden, in));
            inits.put("R" + sfx, floats("R" + sfx, r, dirs, gates * hidden, hidden));
            if (b != null) {
                inits.put("B" + sfx, floats("B" + sfx, b, dirs, 2 * gates * hidden));
            }
            String h0 = "";
            String c0 = "";
            if (options.initialStates()) {
                h0 = "h0";
                c0 = "c0";
                if (layers > 1) {
                    inits.put("rows_from" + sfx, ints("rows_from" + sfx, (long) k * dirs));
                    inits.put("rows_to" + sfx, ints("rows_to" + sfx, (long) (k + 1) * dirs));
                    h0 = "h0" + sfx;
                    nodes.add(node("Slice", h0, List.of("h0", "rows_from" + sfx, "rows_to" + sfx, "axis0"), List.of(h0)));
                    if (cState) {
                        c0 = "c0" + sfx;
                        nodes.add(node("Slice", c0, List.of("c0", "rows_from" + sfx, "rows_to" + sfx, "axis0"), List.of(c0)));
                    }
                }
            }
            List<String> nodeIn = new ArrayList<>(List.of(x, "W" + sfx, "R" + sfx, b != null ? "B" + sfx : "",
                    options.lengths() ? "lengths" : "", h0));
            List<String> nodeOut = new ArrayList<>(List.of("Y" + sfx, "Y_h" + sfx));
            if (cState) {
                nodeIn.add(c0);
                nodeOut.add("Y_c" + sfx);
                cn.add("Y_c" + sfx);
                nodeIn.add(p != null ? "P" + sfx : "");
            }
            while (nodeIn.get(nodeIn.size() - 1).isEmpty()) {
                nodeIn.remove(nodeIn.size() - 1);
            }
            hn.add("Y_h" + sfx);
            List<OnnxProto.Attribute> attrs = new ArrayList<>();
            attrs.add(OnnxProto.Attribute.ofInt("hidden_size", hidden));
            if (spec.direction() != io.cellstate.Direction.FORWARD) {
                attrs.add(OnnxProto.Attribute.ofString("direction", spec.direction().toString().toLowerCase(java.util.Locale.ROOT)));
            }
            attrs.addAll(optionAttributes(cell, dirs));
            nodes.add(node(op, op + sfx, nodeIn, nodeOut, attrs.toArray(OnnxProto.Attribute[]::new)));
            // [T, D, B, H] -> [T, B, D*H]
            String next = "X" + "_l" + (k + 1);
            if (dirs == 1) {
                inits.putIfAbsent("axis1", ints("axis1", 1));
                nodes.add(node("Squeeze", next, List.of("Y" + sfx, "axis1"), List.of(next)));
            } else {
                inits.putIfAbsent("merge_last", ints("merge_last", 0, 0, -1));
                nodes.add(node("Transpose", "Y_tbdh" + sfx, List.of("Y" + sfx), List.of("Y_tbdh" + sfx), perm(0, 2, 1, 3)));
                nodes.add(node("Reshape", next, List.of("Y_tbdh" + sfx, "merge_last"), List.of(next)));
            }
            x = next;
        }
        if (batchFirst) {
            nodes.add(node("Transpose", "y", List.of(x), List.of("y"), perm(1, 0, 2)));
        } else {
            nodes.add(node("Identity", "y", List.of(x), List.of("y")));
        }
        long features = (long) dirs * hidden;
        outputs.add(new OnnxProto.ValueInfo("y", OnnxProto.FLOAT, batchFirst ? List.of("batch", "steps", features)
                : List.of("steps", "batch", features)));
        nodes.add(hn.size() == 1 ? node("Identity", "hn", hn, List.of("hn"))
                : node("Concat", "hn", hn, List.of("hn"), OnnxProto.Attribute.ofInt("axis", 0)));
        outputs.add(new OnnxProto.ValueInfo("hn", OnnxProto.FLOAT, stateDims));
        if (cState) {
            nodes.add(cn.size() == 1 ? node("Identity", "cn", cn, List.of("cn"))
                    : node("Concat", "cn", cn, List.of("cn"), OnnxProto.Attribute.ofInt("axis", 0)));
            outputs.add(new OnnxProto.ValueInfo("cn", OnnxProto.FLOAT, stateDims));
        }
        String graphName = "cellstate_" + cell.name().replaceAll("[^A-Za-z0-9]+", "_").replaceAll("_$", "");
        OnnxProto.Graph graph = new OnnxProto.Graph(graphName, nodes, inits, inputs, outputs);
        return OnnxProto.writeModel(new OnnxProto.Model(IR_VERSION, Map.of("", (long) OPSET), "cellstate", graph));
    }

    /**
     * The attributes of a cell's options: a GRU's {@code linear_before_reset}, an LSTM's {@code clip} and
     * {@code input_forget}, and, where they are not the operator's defaults, the {@code activations} of every
     * direction (ONNX Runtime wants one list per direction) with every parameter they take, in order.
     */
    private static List<OnnxProto.Attribute> optionAttributes(Cell cell, int dirs) {
        List<OnnxProto.Attribute> attrs = new ArrayList<>();
        List<Activation> defaults = switch (cell) {
            case Cell.Lstm l -> {
                if (l.hasClip()) {
                    attrs.add(OnnxProto.Attribute.ofFloat("clip", l.clip()));
                }
                if (l.inputForget()) {
                    attrs.add(OnnxProto.Attribute.ofInt("input_forget", 1));
                }
                yield List.of(Activation.sigmoid(), Activation.tanh(), Activation.tanh());
            }
            case Cell.Gru g -> {
                if (g.linearBeforeReset()) {
                    attrs.add(OnnxProto.Attribute.ofInt("linear_before_reset", 1));
                }
                yield List.of(Activation.sigmoid(), Activation.tanh());
            }
            case Cell.Rnn r -> List.of(Activation.tanh());
        };
        if (!cell.activations().equals(defaults)) {
            List<String> names = new ArrayList<>();
            List<Float> alphas = new ArrayList<>();
            List<Float> betas = new ArrayList<>();
            for (int d = 0; d < dirs; d++) {
                for (int role = 0; role < cell.roles(); role++) {
                    Activation a = cell.activation(role, d);
                    names.add(a.function().onnxName());
                    if (a.function().parameters() >= 1) {
                        alphas.add(a.alpha());
                    }
                    if (a.function().parameters() == 2) {
                        betas.add(a.beta());
                    }
                }
            }
            attrs.add(OnnxProto.Attribute.ofStrings("activations", names));
            if (!alphas.isEmpty()) {
                attrs.add(OnnxProto.Attribute.ofFloats("activation_alpha", alphas));
            }
            if (!betas.isEmpty()) {
                attrs.add(OnnxProto.Attribute.ofFloats("activation_beta", betas));
            }
        }
        return attrs;
    }

    private static OnnxProto.Node node(String op, String name, List<String> in, List<String> out, OnnxProto.Attribute... attrs) {
        Map<String, OnnxProto.Attribute> a = new LinkedHashMap<>();
        for (OnnxProto.Attribute x : attrs) {
            a.put(x.name(), x);
        }
        return new OnnxProto.Node(name, op, "", in, out, a, -1);
    }

    private static OnnxProto.Attribute perm(long... p) {
        return OnnxProto.Attribute.ofInts("perm", p);
    }

    private static OnnxProto.TensorData ints(String name, long... v) {
        return new OnnxProto.TensorData(name, OnnxProto.INT64, new long[] {v.length}, null, v);
    }

    private static OnnxProto.TensorData floats(String name, float[] v, long... dims) {
        if (Arrays.stream(dims).reduce(1, (p, q) -> p * q) != v.length) {
            throw new IllegalStateException(name + ": " + v.length + " values for " + Arrays.toString(dims));
        }
        return new OnnxProto.TensorData(name, OnnxProto.FLOAT, dims, v, null);
    }
}
