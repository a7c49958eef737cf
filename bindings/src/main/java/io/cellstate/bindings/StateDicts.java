package io.cellstate.bindings;

import io.cellstate.Cell;
import io.cellstate.Direction;
import io.cellstate.Layout;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * PyTorch state_dicts of {@code nn.LSTM}, {@code nn.GRU} and {@code nn.RNN} in {@code .safetensors}
 * files, as models. The tensors' names give the layers and directions, their shapes the sizes and the
 * cell (4 gates: LSTM; 3: GRU in PyTorch's form; 1: RNN, tanh unless told otherwise): an LSTM's
 * {@code weight_hr_l{k}} [P x H] gives its projection (PyTorch's {@code proj_size}: H is its second
 * dimension, and {@code weight_hh_l{k}} is [4H x P]), and {@code weight_peephole_l{k}} [3H] (this library's
 * name, after PyTorch's pattern) its peepholes. The options no tensor shows (an LSTM's clip and coupled
 * gates, other activations) come from the {@value #CELL_KEY} metadata this class writes, which holds the
 * cell's {@link Cell#name()}. A state_dict of a larger model is read under the recurrent module's prefix
 * ({@code "encoder.lstm."}), found by itself when there is one recurrent module.
 */
public final class StateDicts {
    /**
     * The metadata key this package writes the cell's {@link Cell#name()} under, options included
     * ({@code lstm}, {@code rnn-relu}, {@code lstm[peepholes, clip=0.5]}, ...).
     */
    public static final String CELL_KEY = "cellstate.cell";
    private static final Pattern NAME = Pattern.compile("(.*?)(" + String.join("|", java.util.Arrays.stream(
            RnnWeights.Param.values()).map(RnnWeights.Param::pytorchName).toList()) + ")_l(\\d+)(_reverse)?");

    private StateDicts() {
    }

    /**
     * How to read a state_dict.
     *
     * @param prefix the recurrent module's prefix with its trailing dot; null to find it
     * @param cell   the cell, where the shapes cannot tell it (an RNN's nonlinearity); null for the file's
     *               {@value #CELL_KEY} metadata, else the shapes' (tanh for an RNN); an LSTM's projection and
     *               peepholes are the tensors' where this cell has none
     * @param layout the layout of the sequence input and output: {@code BATCH_MAJOR} for {@code batch_first=True}
     */
    public record Options(String prefix, Cell cell, Layout layout) {
        /** Found prefix, cell from the shapes, sequence-major. */
        public static final Options DEFAULT = new Options(null, null, Layout.SEQUENCE_MAJOR);

        /**
         * Checks the layout.
         *
         * @param prefix the prefix or null
         * @param cell   the cell or null
         * @param layout the layout
         */
        public Options {
            Objects.requireNonNull(layout, "layout");
        }
    }

    /**
     * Reads a state_dict file as a model taking {@code x}, optional {@code h0}, {@code c0}, {@code lengths}
     * and giving {@code y}, {@code hn} (and {@code cn}) in PyTorch's shapes.
     *
     * @param file    the {@code .safetensors} file
     * @param options how to read it
     * @return the model
     * @throws ModelFormatException for a malformed file or tensors that are not one recurrent module's
     * @throws IOException          if the file cannot be read
     */
    public static RnnModel read(Path file, Options options) throws IOException {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(options, "options");
        Safetensors.Contents c = Safetensors.read(file);
        return toModel(file.toString(), c, options);
    }

    /**
     * The model of a state_dict's tensors.
     *
     * @param source   the file's name, for messages
     * @param contents the tensors and metadata
     * @param options  how to read them
     * @return the model
     * @throws ModelFormatException for tensors that are not one recurrent module's
     */
    public static RnnModel toModel(String source, Safetensors.Contents contents, Options options) throws ModelFormatException {
        Map<String, Safetensors.Tensor> t = contents.tensors();
        TreeSet<String> prefixes = new TreeSet<>();
        for (String k : t.keySet()) {
            Matcher m = NAME.matcher(k);
            if (m.matches()) {
                prefixes.add(m.group(1));
            }
        }
        String prefix = options.prefix();
        if (prefix == null) {
            if (prefixes.size() != 1) {
                throw new ModelFormatException(source, "tensor names", prefixes.isEmpty()
                        ? "no tensor of a recurrent module (weight_ih_l0, ...) among " + names(t.keySet())
                        : "several recurrent modules (" + prefixes + "): name the one to read by its prefix");
            }
            prefix = prefixes.first();
        } else if (!prefixes.contains(prefix)) {
            throw new ModelFormatException(source, "tensor names", "no recurrent module under prefix '" + prefix + "'; found "
                    + prefixes);
        }
        int layers = 0;
        boolean reverse = false;
        for (String k : t.keySet()) {
            Matcher m = NAME.matcher(k);
            if (m.matches() && m.group(1).equals(prefix)) {
                layers = Math.max(layers, Integer.parseInt(m.group(3)) + 1);
                reverse |= m.group(4) != null;
            }
        }
        Safetensors.Tensor hh = t.get(prefix + "weight_hh_l0");
        Safetensors.Tensor ih = t.get(prefix + "weight_ih_l0");
        Safetensors.Tensor hr = t.get(prefix + "weight_hr_l0");
        if (hr != null && (hr.shape().length != 2 || hr.shape()[0] <= 0 || hr.shape()[1] <= hr.shape()[0])) {
            throw new ModelFormatException(source, "tensor '" + prefix + "weight_hr_l0'", "expected a projection's shape"
                    + " [P, H] with 0 < P < H, got " + Arrays.toString(hr.shape()));
        }
        // PyTorch's proj_size: W_hr is [P, H] and W_hh [G*H, P]; without, W_hh is [G*H, H]
        int projection = hr == null ? 0 : hr.shape()[0];
        int hidden = hr == null ? (hh != null && hh.shape().length == 2 ? hh.shape()[1] : -1) : hr.shape()[1];
        if (hh == null || ih == null || hh.shape().length != 2 || ih.shape().length != 2 || hidden <= 0
                || hh.shape()[0] % hidden != 0 || hh.shape()[1] != (hr == null ? hidden : projection)) {
            throw new ModelFormatException(source, "tensor '" + prefix + "weight_hh_l0'", "missing, or not of shape "
                    + (hr == null ? "[G*H, H]" : "[G*" + hidden + ", " + projection + "] (weight_hr_l0 is " + Arrays.toString(
                    hr.shape()) + ")") + ": " + (hh == null ? "absent" : Arrays.toString(hh.shape())));
        }
        int gates = hh.shape()[0] / hidden;
        boolean peepholes = t.containsKey(prefix + "weight_peephole_l0");
        Cell cell = options.cell();
        String named = contents.metadata().get(CELL_KEY);
        if (cell == null && named != null) {
            try {
                cell = Cell.named(named);
            } catch (IllegalArgumentException e) {
                throw new ModelFormatException(source, "metadata '" + CELL_KEY + "'", e.getMessage());
            }
        }
        if (cell == null) {
            cell = switch (gates) {
                case 4 -> Cell.lstm();
                case 3 -> Cell.gru();
                case 1 -> Cell.rnnTanh();
                default -> throw new ModelFormatException(source, "tensor '" + prefix + "weight_hh_l0'", "shape "
                        + Arrays.toString(hh.shape()) + " has " + gates + " gates; expected 4 (LSTM), 3 (GRU) or 1 (RNN)");
            };
        }
        // The tensors show the projection and the peepholes; a cell that names none takes them.
        if (cell instanceof Cell.Lstm lstm) {
            cell = lstm.withProjection(lstm.projectionSize() == 0 ? projection : lstm.projectionSize())
                    .withPeepholes(lstm.peepholes() || peepholes);
        }
        Map<String, float[]> data = new LinkedHashMap<>();
        for (Map.Entry<String, Safetensors.Tensor> e : t.entrySet()) {
            if (e.getKey().startsWith(prefix)) {
                data.put(e.getKey(), e.getValue().data());
            }
        }
        RnnSpec spec;
        RnnWeights weights;
        try {
            spec = RnnSpec.builder().cell(cell).inputSize(ih.shape()[1]).hiddenSize(hidden).layers(layers)
                    .direction(reverse ? Direction.BIDIRECTIONAL : Direction.FORWARD)
                    .bias(t.containsKey(prefix + "bias_ih_l0")).build();
            if (spec.gates() != gates) {
                throw new IllegalArgumentException("cell " + cell.name() + " has " + spec.gates() + " gates, the tensors "
                        + gates);
            }
            RnnWeights.Builder b = RnnWeights.builder(spec);
            for (Map.Entry<String, float[]> e : data.entrySet()) {
                int[] want = shapeOf(spec, e.getKey().substring(prefix.length()));
                int[] got = t.get(e.getKey()).shape();
                if (want != null && !Arrays.equals(want, got)) {
                    throw new IllegalArgumentException(e.getKey() + ": expected shape " + Arrays.toString(want) + ", got "
                            + Arrays.toString(got));
                }
            }
            weights = b.putAll(data, prefix).build();
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(source, "state_dict under '" + prefix + "'", e.getMessage());
        }
        return model(spec, weights, "safetensors", source, options.layout());
    }

    private static int[] shapeOf(RnnSpec spec, String name) {
        Matcher m = NAME.matcher(name);
        if (!m.matches() || !m.group(1).isEmpty()) {
            return null;
        }
        int layer = Integer.parseInt(m.group(3));
        if (layer >= spec.layers()) {
            return null;
        }
        for (RnnWeights.Param p : RnnWeights.Param.values()) {
            if (p.pytorchName().equals(m.group(2))) {
                return p.shape(spec, layer);
            }
        }
        return null;
    }

    private static String names(java.util.Set<String> keys) {
        List<String> l = keys.stream().limit(6).toList();
        return l + (keys.size() > 6 ? " and " + (keys.size() - 6) + " more" : "");
    }

    /**
     * The model of a network in PyTorch's conventions: inputs {@code x} ({@code layout}), optional
     * {@code h0} ([L*D, B, H_out]), {@code c0} ([L*D, B, H]) and {@code lengths}; outputs {@code y}, {@code hn},
     * {@code cn} likewise.
     *
     * @param spec    the network
     * @param weights its weights
     * @param format  the file's format, for {@link RnnModel#format()}
     * @param source  the file's name
     * @param layout  the layout of {@code x} and {@code y}
     * @return the model
     */
    static RnnModel model(RnnSpec spec, RnnWeights weights, String format, String source, Layout layout) {
        boolean bf = layout == Layout.BATCH_MAJOR;
        int dirs = spec.directions();
        int hidden = spec.outputHiddenSize();
        List<Object> xShape = bf ? List.of("batch", "steps", (long) spec.inputSize()) : List.of("steps", "batch",
                (long) spec.inputSize());
        List<Object> sShape = List.of((long) spec.layers() * dirs, "batch", (long) hidden);
        List<Object> cShape = List.of((long) spec.layers() * dirs, "batch", (long) spec.hiddenSize());
        List<RnnModel.Input> inputs = new ArrayList<>();
        inputs.add(new RnnModel.Input("x", RnnModel.Role.X, true, xShape));
        inputs.add(new RnnModel.Input("h0", RnnModel.Role.H0, false, sShape));
        boolean c = spec.cell().hasCellState();
        if (c) {
            inputs.add(new RnnModel.Input("c0", RnnModel.Role.C0, false, cShape));
        }
        inputs.add(new RnnModel.Input("lengths", RnnModel.Role.LENGTHS, false, List.of("batch")));
        List<RnnModel.StateSource> h0 = new ArrayList<>();
        List<RnnModel.StateSource> c0 = new ArrayList<>();
        for (int k = 0; k < spec.layers(); k++) {
            h0.add(new RnnModel.StateSource("h0", 0, k * dirs, 1, 2));
            c0.add(new RnnModel.StateSource("c0", 0, k * dirs, 1, 2));
        }
        int[] ySizes = {-1, -1, dirs, hidden};
        Arrangement y = bf ? Arrangement.grouped(ySizes, new int[] {1}, new int[] {0}, new int[] {2, 3})
                : Arrangement.grouped(ySizes, new int[] {0}, new int[] {1}, new int[] {2, 3});
        List<RnnModel.Output> outputs = new ArrayList<>();
        outputs.add(new RnnModel.Output("y", RnnModel.Kind.Y, y));
        outputs.add(new RnnModel.Output("hn", RnnModel.Kind.H, Arrangement.of(-1, -1, hidden)));
        if (c) {
            outputs.add(new RnnModel.Output("cn", RnnModel.Kind.C, Arrangement.of(-1, -1, spec.hiddenSize())));
        }
        return new RnnModel(spec, weights, format, source, inputs, "x", bf ? new int[] {1, 0, 2} : new int[] {0, 1, 2},
                "lengths", h0, c ? c0 : null, outputs);
    }

    /**
     * Writes a network's weights as a state_dict PyTorch loads ({@code load_state_dict(safetensors.torch.load_file(f))}),
     * with the cell's name, options included, in the {@value #CELL_KEY} metadata. PyTorch has no peepholes: a
     * state_dict with {@code weight_peephole_l{k}} loads into this library only.
     *
     * @param file    the {@code .safetensors} file
     * @param weights the weights
     * @throws IOException if the file cannot be written
     */
    public static void write(Path file, RnnWeights weights) throws IOException {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(weights, "weights");
        RnnSpec spec = weights.spec();
        Map<String, Safetensors.Tensor> out = new LinkedHashMap<>();
        for (int k = 0; k < spec.layers(); k++) {
            for (int d = 0; d < spec.directions(); d++) {
                for (RnnWeights.Param p : RnnWeights.Param.values()) {
                    if (p.in(spec)) {
                        out.put(p.name(k, d), new Safetensors.Tensor(p.shape(spec, k), weights.array(p, k, d)));
                    }
                }
            }
        }
        Safetensors.write(file, out, Map.of("format", "pt", CELL_KEY, spec.cell().name()));
    }
}
