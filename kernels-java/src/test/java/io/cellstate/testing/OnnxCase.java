package io.cellstate.testing;

import io.cellstate.Activation;
import io.cellstate.Cell;
import io.cellstate.Direction;
import io.cellstate.Layout;
import io.cellstate.RnnInput;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * One ONNX recurrent-operator case (LSTM, GRU, RNN) from {@code shared/conformance/onnx*}, converted
 * to this project's conventions:
 * <ul>
 *   <li>gates: ONNX LSTM order i, o, f, c becomes i, f, g, o; ONNX GRU order z, r, h becomes r, z, n;
 *       GRU {@code linear_before_reset} picks the formula; the peepholes P [D, 3H] (i, o, f) become
 *       i, f, o per direction; {@code clip}, {@code input_forget}, {@code activations},
 *       {@code activation_alpha} and {@code activation_beta} become the cell's options as ONNX Runtime
 *       reads them;</li>
 *   <li>W [D, GH, I], R [D, GH, H] become W_ih, W_hh per direction; B [D, 2GH] = [Wb | Rb] becomes b_ih, b_hh;</li>
 *   <li>Y [T, D, B, H] (layout 0) becomes [T, B, D*H]; Y [B, T, D, H] (layout 1) is already [B, T, D*H];</li>
 *   <li>initial_h, Y_h, Y_c [D, B, H] (layout 0) or [B, D, H] (layout 1) become [D, B, H].</li>
 * </ul>
 * A case that needs a feature not built (a GRU's or RNN's clip) reports it through {@link #missingFeature()}.
 */
public final class OnnxCase extends ReferenceCase {
    private static final int[] ONNX_LSTM_GATE_OF = {0, 2, 3, 1}; // ours i, f, g, o -> ONNX i, o, f, c
    private static final int[] ONNX_GRU_GATE_OF = {1, 0, 2};     // ours r, z, n -> ONNX z, r, h
    private static final int[] ONNX_RNN_GATE_OF = {0};
    private static final int[] ONNX_PEEPHOLE_OF = {0, 2, 1};   // ours i, f, o -> ONNX i, o, f

    private final Map<String, Object> json;

    private OnnxCase(Path dir) throws IOException {
        super(dir.getParent().getFileName() + "/" + dir.getFileName(), dir);
        @SuppressWarnings("unchecked")
        Map<String, Object> j = (Map<String, Object>) MiniJson.parse(Files.readString(dir.resolve("case.json")));
        this.json = j;
        missing = findMissing();
        if (missing.isEmpty()) {
            load();
        }
    }

    /** Every case under {@code onnx/} and {@code onnx-runtime/}. */
    public static List<OnnxCase> all(Path root) throws IOException {
        List<OnnxCase> cases = new ArrayList<>();
        for (String set : new String[] {"onnx", "onnx-runtime"}) {
            Path d = root.resolve(set);
            if (!Files.isDirectory(d)) {
                continue;
            }
            try (Stream<Path> s = Files.list(d)) {
                for (Path c : s.filter(p -> Files.exists(p.resolve("case.json"))).sorted().toList()) {
                    cases.add(new OnnxCase(c));
                }
            }
        }
        return cases;
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> attributes() {
        return (Map<String, Object>) json.get("attributes");
    }

    @SuppressWarnings("unchecked")
    private List<String> names(String key) {
        return (List<String>) json.get(key);
    }

    private String findMissing() {
        String op = (String) json.get("op");
        if (!List.of("LSTM", "GRU", "RNN").contains(op)) {
            return "operator " + op;
        }
        if (!"LSTM".equals(op) && attributes().get("clip") != null) {
            return op + " clip (this project clips the LSTM's gates only)";
        }
        return "";
    }

    /**
     * The node's activations as ONNX Runtime reads them: {@code activations} (the defaults where absent),
     * each function taking the next value of {@code activation_alpha} if it has an alpha and the next of
     * {@code activation_beta} if it has a beta, in the order of the functions; a function that finds its list
     * spent takes ONNX Runtime's default (LeakyRelu 0.01, HardSigmoid 0.2 and 0.5, Elu 1, any other 0).
     */
    private List<Activation> activations(List<Activation> defaults) {
        Map<String, Object> a = attributes();
        if (!(a.get("activations") instanceof List<?> names)) {
            return defaults;
        }
        List<?> alphas = a.get("activation_alpha") instanceof List<?> l ? l : List.of();
        List<?> betas = a.get("activation_beta") instanceof List<?> l ? l : List.of();
        int nextAlpha = 0;
        int nextBeta = 0;
        List<Activation> out = new ArrayList<>();
        for (Object n : names) {
            Activation.Function f = Activation.Function.ofOnnx((String) n);
            float[] dflt = switch (f) {
                case LEAKY_RELU -> new float[] {0.01f, 0};
                case HARD_SIGMOID -> new float[] {0.2f, 0.5f};
                case ELU -> new float[] {1, 0};
                default -> new float[] {0, 0};
            };
            float alpha = dflt[0];
            float beta = dflt[1];
            if (f.parameters() >= 1 && nextAlpha < alphas.size()) {
                alpha = ((Double) alphas.get(nextAlpha++)).floatValue();
            }
            if (f.parameters() == 2 && nextBeta < betas.size()) {
                beta = ((Double) betas.get(nextBeta++)).floatValue();
            }
            out.add(new Activation(f, alpha, beta));
        }
        return out;
    }

    private Npy npy(String name) throws IOException {
        return Npy.read(dir.resolve(name + ".npy"));
    }

    /** The tensor at node input position {@code pos}, or null if omitted. */
    private Npy inputAt(int pos) throws IOException {
        List<String> in = names("inputs");
        return pos < in.size() && !in.get(pos).isEmpty() ? npy(in.get(pos)) : null;
    }

    private Npy outputAt(int pos) throws IOException {
        List<String> out = names("outputs");
        return pos < out.size() && !out.get(pos).isEmpty() ? npy(out.get(pos)) : null;
    }

    private void load() throws IOException {
        Map<String, Object> a = attributes();
        int hidden = ((Double) a.get("hidden_size")).intValue();
        String dirName = a.get("direction") == null ? "forward" : (String) a.get("direction");
        Direction direction = switch (dirName) {
            case "forward" -> Direction.FORWARD;
            case "reverse" -> Direction.REVERSE;
            case "bidirectional" -> Direction.BIDIRECTIONAL;
            default -> throw new IOException(name + ": direction " + dirName);
        };
        Layout layout = a.get("layout") instanceof Double d && d == 1 ? Layout.BATCH_MAJOR : Layout.SEQUENCE_MAJOR;
        Npy x = inputAt(0);
        Npy w = inputAt(1);
        Npy r = inputAt(2);
        Npy b = inputAt(3);
        Npy lens = inputAt(4);
        Npy h0 = inputAt(5);
        Npy c0 = inputAt(6);
        int dirs = direction.count();
        int in = x.shape()[2];
        int steps = layout == Layout.SEQUENCE_MAJOR ? x.shape()[0] : x.shape()[1];
        int batch = layout == Layout.SEQUENCE_MAJOR ? x.shape()[1] : x.shape()[0];
        String op = (String) json.get("op");
        Npy p = inputAt(7);
        Cell cell = switch (op) {
            case "GRU" -> new Cell.Gru(a.get("linear_before_reset") instanceof Double lbr && lbr != 0,
                    activations(List.of(Activation.sigmoid(), Activation.tanh())));
            case "RNN" -> new Cell.Rnn(activations(List.of(Activation.tanh())));
            default -> new Cell.Lstm(0, p != null, a.get("clip") instanceof Double c ? c.floatValue() : Float.POSITIVE_INFINITY,
                    a.get("input_forget") instanceof Double f && f != 0,
                    activations(List.of(Activation.sigmoid(), Activation.tanh(), Activation.tanh())));
        };
        int[] gateOf = switch (op) {
            case "GRU" -> ONNX_GRU_GATE_OF;
            case "RNN" -> ONNX_RNN_GATE_OF;
            default -> ONNX_LSTM_GATE_OF;
        };
        int g = gateOf.length;
        spec = RnnSpec.builder().cell(cell).inputSize(in).hiddenSize(hidden).direction(direction).bias(b != null).build();
        RnnWeights.Builder wb = RnnWeights.builder(spec);
        for (int d = 0; d < dirs; d++) {
            wb.weightIh(0, d, gatesOf(w.floats(), d, hidden, in, gateOf));
            wb.weightHh(0, d, gatesOf(r.floats(), d, hidden, hidden, gateOf));
            if (b != null) {
                float[] wbias = new float[g * hidden];
                float[] rbias = new float[g * hidden];
                System.arraycopy(b.floats(), d * 2 * g * hidden, wbias, 0, g * hidden);
                System.arraycopy(b.floats(), d * 2 * g * hidden + g * hidden, rbias, 0, g * hidden);
                wb.biasIh(0, d, gatesOf(wbias, 0, hidden, 1, gateOf));
                wb.biasHh(0, d, gatesOf(rbias, 0, hidden, 1, gateOf));
            }
            if (p != null) {
                wb.put(RnnWeights.Param.PEEPHOLE, 0, d, gatesOf(p.floats(), d, hidden, 1, ONNX_PEEPHOLE_OF));
            }
        }
        weights = wb.build();
        int[] lengths = null;
        if (lens != null) {
            lengths = new int[batch];
            for (int i = 0; i < batch; i++) {
                lengths[i] = Math.toIntExact(lens.ints()[i]);
            }
        }
        input = new RnnInput(Tensor.of(x.floats(), x.shape()), layout, lengths,
                h0 == null ? null : state(h0, layout, dirs, batch, hidden),
                c0 == null ? null : state(c0, layout, dirs, batch, hidden));
        Npy oy = outputAt(0);
        Npy oh = outputAt(1);
        Npy oc = outputAt(2);
        if (oy != null) {
            float[] v = new float[steps * batch * dirs * hidden];
            for (int t = 0; t < steps; t++) {
                for (int n = 0; n < batch; n++) {
                    for (int d = 0; d < dirs; d++) {
                        for (int j = 0; j < hidden; j++) {
                            int src = layout == Layout.SEQUENCE_MAJOR
                                    ? ((t * dirs + d) * batch + n) * hidden + j
                                    : ((n * steps + t) * dirs + d) * hidden + j;
                            v[layout.row(t, n, steps, batch) * dirs * hidden + d * hidden + j] = oy.floats()[src];
                        }
                    }
                }
            }
            y = Tensor.of(v, layout.shape(steps, batch, dirs * hidden));
        }
        hN = oh == null ? null : state(oh, layout, dirs, batch, hidden);
        cN = oc == null ? null : state(oc, layout, dirs, batch, hidden);
    }

    /** Rows of the ONNX gates of direction d, reordered to ours: our gate g is ONNX's {@code gateOf[g]}. */
    private static float[] gatesOf(float[] m, int d, int hidden, int cols, int[] gateOf) {
        int gates = gateOf.length;
        float[] out = new float[gates * hidden * cols];
        int block = hidden * cols;
        for (int g = 0; g < gates; g++) {
            System.arraycopy(m, d * gates * block + gateOf[g] * block, out, g * block, block);
        }
        return out;
    }

    /** A state tensor as [D, B, H], from ONNX's [D, B, H] (layout 0) or [B, D, H] (layout 1). */
    private static Tensor state(Npy s, Layout layout, int dirs, int batch, int hidden) {
        float[] v = new float[dirs * batch * hidden];
        for (int d = 0; d < dirs; d++) {
            for (int n = 0; n < batch; n++) {
                int src = layout == Layout.SEQUENCE_MAJOR ? (d * batch + n) * hidden : (n * dirs + d) * hidden;
                System.arraycopy(s.floats(), src, v, (d * batch + n) * hidden, hidden);
            }
        }
        return Tensor.of(v, dirs, batch, hidden);
    }

    @Override
    public String toString() {
        return name;
    }
}
