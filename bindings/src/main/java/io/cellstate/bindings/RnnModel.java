package io.cellstate.bindings;

import io.cellstate.Layout;
import io.cellstate.RnnInput;
import io.cellstate.RnnOutput;
import io.cellstate.RnnPlan;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A recurrent network read from a model file: its spec and weights, and how the file's named inputs and
 * outputs map onto {@link RnnInput} and {@link RnnOutput}. An ONNX graph's inputs and outputs keep the
 * names, shapes and layouts the graph gives them ({@code x} as {@code [B, T, F]} for a {@code batch_first}
 * export, {@code Y} as {@code [T, D, B, H]} for a bare ONNX LSTM node); a PyTorch state_dict's model takes
 * {@code x}, {@code h0}, {@code c0}, {@code lengths} and gives {@code y}, {@code hn}, {@code cn} in PyTorch's
 * layouts. Immutable; {@link #run} may be called from several threads, each with its own plan.
 */
public final class RnnModel {
    /** What a model input feeds. */
    public enum Role {
        /** The input sequence. */
        X,
        /** Initial hidden states. */
        H0,
        /** Initial cell states (LSTM). */
        C0,
        /** Sequence lengths, one per batch entry. */
        LENGTHS
    }

    /**
     * One named input.
     *
     * @param name     its name in the file
     * @param role     what it feeds
     * @param required whether a run must give it (an ONNX graph input must be fed; a state_dict model's
     *                 states and lengths may be left out, meaning zeros and full lengths)
     * @param shape    its shape as the file declares it: {@code Long} sizes, {@code String} names of sizes
     *                 known at run time, or null; null when the file declares none
     */
    public record Input(String name, Role role, boolean required, List<Object> shape) {
    }

    /** What an output holds. */
    enum Kind {
        Y, H, C
    }

    /** Where one layer's initial state comes from: rows {@code rowStart..} of {@code input}'s axis {@code rowAxis}. */
    record StateSource(String input, int rowAxis, int rowStart, int batchAxis, int hiddenAxis) {
    }

    /** A named output: the plan's y (axes T, B, D, H_out) or hN (axes L*D, B, H_out), cN (axes L*D, B, H), arranged. */
    record Output(String name, Kind kind, Arrangement arrangement) {
    }

    private final RnnSpec spec;
    private final RnnWeights weights;
    private final String format;
    private final String source;
    private final List<Input> inputs;
    private final String xName;
    private final int[] xAxes;
    private final String lengthsName;
    private final List<StateSource> h0;
    private final List<StateSource> c0;
    private final List<Output> outputs;

    RnnModel(RnnSpec spec, RnnWeights weights, String format, String source, List<Input> inputs, String xName, int[] xAxes,
            String lengthsName, List<StateSource> h0, List<StateSource> c0, List<Output> outputs) {
        this.spec = spec;
        this.weights = weights;
        this.format = format;
        this.source = source;
        this.inputs = List.copyOf(inputs);
        this.xName = xName;
        this.xAxes = xAxes.clone();
        this.lengthsName = lengthsName;
        this.h0 = h0 == null ? null : java.util.Collections.unmodifiableList(new ArrayList<>(h0));
        this.c0 = c0 == null ? null : java.util.Collections.unmodifiableList(new ArrayList<>(c0));
        this.outputs = List.copyOf(outputs);
    }

    /**
     * The network's spec: make a plan with it.
     *
     * @return the spec
     */
    public RnnSpec spec() {
        return spec;
    }

    /**
     * The weights, in PyTorch's gate order and names.
     *
     * @return the weights
     */
    public RnnWeights weights() {
        return weights;
    }

    /**
     * The file's format.
     *
     * @return {@code "onnx"} or {@code "safetensors"}
     */
    public String format() {
        return format;
    }

    /**
     * The file the model was read from.
     *
     * @return its name as given to the reader
     */
    public String source() {
        return source;
    }

    /**
     * The model's inputs, the sequence first.
     *
     * @return the inputs
     */
    public List<Input> inputs() {
        return inputs;
    }

    /**
     * The name of the input sequence.
     *
     * @return e.g. {@code "x"} or {@code "X"}
     */
    public String sequenceInput() {
        return xName;
    }

    /**
     * The layout the input sequence comes in, when it is one of the two this library takes without a copy.
     *
     * @return {@code SEQUENCE_MAJOR} for {@code [T, B, F]}, {@code BATCH_MAJOR} for {@code [B, T, F]}
     */
    public Layout layout() {
        return xAxes[0] == 1 ? Layout.BATCH_MAJOR : Layout.SEQUENCE_MAJOR;
    }

    /** Which axes of the sequence input hold T, B and the features. */
    int[] sequenceAxes() {
        return xAxes.clone();
    }

    /**
     * The names of the outputs, in the file's order.
     *
     * @return the output names
     */
    public List<String> outputNames() {
        return outputs.stream().map(Output::name).toList();
    }

    /**
     * The plan input for the named arrays: the sequence in its layout, lengths, and the initial states
     * gathered from the inputs each layer reads (zeros where a layer has none).
     *
     * @param arrays the model's inputs by name (float32 or float64 data; lengths int32 or int64)
     * @return the input for {@link RnnPlan#forward}
     * @throws IllegalArgumentException naming the input for a missing required input, an unknown name, a
     *                                  wrong rank, dtype or size
     */
    public RnnInput input(Map<String, NpyArray> arrays) {
        Objects.requireNonNull(arrays, "arrays");
        List<String> known = inputs.stream().map(Input::name).toList();
        for (String name : arrays.keySet()) {
            if (!known.contains(name)) {
                throw new IllegalArgumentException("inputs: '" + name + "' is not an input of " + source
                        + "; expected " + known);
            }
        }
        for (Input in : inputs) {
            if (in.required() && !arrays.containsKey(in.name())) {
                throw new IllegalArgumentException("inputs: " + source + " needs input '" + in.name() + "' (" + in.role()
                        + (in.shape() != null ? ", shape " + in.shape() : "") + "), not given");
            }
        }
        NpyArray x = arrays.get(xName);
        float[] xs = floats(xName, x);
        int[] xShape = x.shape();
        if (xShape.length != 3) {
            throw new IllegalArgumentException(xName + ": expected 3 dimensions, got shape " + Arrays.toString(xShape));
        }
        int steps = xShape[xAxes[0]];
        int batch = xShape[xAxes[1]];
        int features = xShape[xAxes[2]];
        if (features != spec.inputSize()) {
            throw new IllegalArgumentException(xName + ": expected " + spec.inputSize() + " features on axis " + xAxes[2]
                    + ", got shape " + Arrays.toString(xShape));
        }
        Tensor xt;
        Layout layout;
        if (Arrays.equals(xAxes, new int[] {0, 1, 2}) || Arrays.equals(xAxes, new int[] {1, 0, 2})) {
            layout = layout();
            xt = Tensor.of(xs, xShape);
        } else {
            layout = Layout.SEQUENCE_MAJOR;
            Arrangement a = Arrangement.of(xShape).transpose(new long[] {xAxes[0], xAxes[1], xAxes[2]});
            xt = Tensor.of(a.gather(xs, xShape), steps, batch, features);
        }
        int[] lengths = null;
        if (lengthsName != null && arrays.containsKey(lengthsName)) {
            NpyArray l = arrays.get(lengthsName);
            if (l.shape().length != 1 || l.shape()[0] != batch) {
                throw new IllegalArgumentException(lengthsName + ": expected shape [" + batch + "] (the batch of " + xName
                        + "), got " + Arrays.toString(l.shape()));
            }
            if (l.dtype() != NpyArray.DType.INT32 && l.dtype() != NpyArray.DType.INT64) {
                throw new IllegalArgumentException(lengthsName + ": expected int32 or int64, got " + l.dtype());
            }
            long[] v = l.toLongs();
            lengths = new int[batch];
            for (int i = 0; i < batch; i++) {
                if (v[i] < 0 || v[i] > steps) {
                    throw new IllegalArgumentException(lengthsName + ": expected lengths in 0.." + steps + " (the steps of "
                            + xName + "), got " + v[i] + " at " + i);
                }
                lengths[i] = (int) v[i];
            }
        }
        Tensor h = state(h0, arrays, batch, spec.outputHiddenSize());
        boolean cell = spec.cell().hasCellState();
        Tensor c = cell ? state(c0, arrays, batch, spec.hiddenSize()) : null;
        if (cell && (h == null) != (c == null)) { // one of the two given: the other is zero
            if (h == null) {
                h = Tensor.zeros(spec.stateCount(), batch, spec.outputHiddenSize());
            } else {
                c = Tensor.zeros(spec.stateCount(), batch, spec.hiddenSize());
            }
        }
        return new RnnInput(xt, layout, lengths, h, c);
    }

    private static float[] floats(String name, NpyArray a) {
        if (a.dtype() != NpyArray.DType.FLOAT32 && a.dtype() != NpyArray.DType.FLOAT64) {
            throw new IllegalArgumentException(name + ": expected float32 or float64 data, got " + a.dtype());
        }
        return a.toFloats();
    }

    /**
     * The [L*D, B, width] initial state gathered from the layers' sources (width H_out for h, H for c); null when
     * no layer has one given.
     */
    private Tensor state(List<StateSource> sources, Map<String, NpyArray> arrays, int batch, int hidden) {
        if (sources == null) {
            return null;
        }
        int dirs = spec.directions();
        float[] v = null;
        for (int layer = 0; layer < sources.size(); layer++) {
            StateSource s = sources.get(layer);
            if (s == null || !arrays.containsKey(s.input())) {
                continue;
            }
            NpyArray a = arrays.get(s.input());
            float[] data = floats(s.input(), a);
            int[] shape = a.shape();
            int rows = rowsOf(s.input(), sources);
            if (shape.length != 3 || shape[s.batchAxis()] != batch || shape[s.hiddenAxis()] != hidden
                    || shape[s.rowAxis()] != rows) {
                int[] want = new int[3];
                want[s.batchAxis()] = batch;
                want[s.hiddenAxis()] = hidden;
                want[s.rowAxis()] = rows;
                throw new IllegalArgumentException(s.input() + ": expected shape " + Arrays.toString(want) + ", got "
                        + Arrays.toString(shape));
            }
            if (v == null) {
                v = new float[sources.size() * dirs * batch * hidden];
            }
            Arrangement one = Arrangement.of(shape).restrict(s.rowAxis(), s.rowStart(), dirs)
                    .transpose(new long[] {s.rowAxis(), s.batchAxis(), s.hiddenAxis()});
            float[] part = one.gather(data, shape);
            System.arraycopy(part, 0, v, layer * dirs * batch * hidden, part.length);
        }
        return v == null ? null : Tensor.of(v, sources.size() * dirs, batch, hidden);
    }

    /** The rows a state input holds: as declared, else as many as the layers reading it need. */
    private int rowsOf(String input, List<StateSource> sources) {
        for (Input in : inputs) {
            if (in.name().equals(input) && in.shape() != null && in.shape().size() == 3) {
                for (StateSource s : sources) {
                    if (s != null && s.input().equals(input) && in.shape().get(s.rowAxis()) instanceof Long l) {
                        return Math.toIntExact(l);
                    }
                }
            }
        }
        int rows = 0;
        for (StateSource s : sources) {
            if (s != null && s.input().equals(input)) {
                rows = Math.max(rows, s.rowStart() + spec.directions());
            }
        }
        return rows;
    }

    /**
     * The model's outputs from a plan's output, named and shaped as the file declares them.
     *
     * @param in  the input the plan ran on
     * @param out the plan's output
     * @return the outputs by name, in the file's order, as float32 arrays
     */
    public Map<String, NpyArray> outputs(RnnInput in, RnnOutput out) {
        Objects.requireNonNull(in, "in");
        Objects.requireNonNull(out, "out");
        int steps = in.steps();
        int batch = in.batch();
        int dirs = spec.directions();
        int hidden = spec.outputHiddenSize();
        Map<String, NpyArray> result = new LinkedHashMap<>();
        float[] y = null;
        for (Output o : outputs) {
            float[] data;
            int[] sizes;
            switch (o.kind()) {
                case Y -> {
                    if (y == null) {
                        y = sequenceMajorY(in.layout(), out.y().toArray(), steps, batch);
                    }
                    data = y;
                    sizes = new int[] {steps, batch, dirs, hidden};
                }
                case H -> {
                    data = out.hN().toArray();
                    sizes = new int[] {spec.layers() * dirs, batch, hidden};
                }
                default -> {
                    data = out.cN().toArray();
                    sizes = new int[] {spec.layers() * dirs, batch, spec.hiddenSize()};
                }
            }
            result.put(o.name(), NpyArray.ofFloats(o.arrangement().gather(data, sizes), o.arrangement().shape(sizes)));
        }
        return result;
    }

    /** y as [T, B, D*H] whatever the plan's layout. */
    private float[] sequenceMajorY(Layout layout, float[] y, int steps, int batch) {
        if (layout == Layout.SEQUENCE_MAJOR) {
            return y;
        }
        int f = spec.outputSize();
        return Arrangement.of(batch, steps, f).transpose(new long[] {1, 0, 2}).gather(y, new int[] {batch, steps, f});
    }

    /**
     * Runs the model: {@link #input}, the plan's forward pass, {@link #outputs}.
     *
     * @param plan   a plan made for {@link #spec()} with {@link #weights()}
     * @param arrays the inputs by name
     * @return the outputs by name
     * @throws IllegalArgumentException for a plan of another spec or bad inputs
     */
    public Map<String, NpyArray> run(RnnPlan plan, Map<String, NpyArray> arrays) {
        Objects.requireNonNull(plan, "plan");
        if (!plan.spec().equals(spec)) {
            throw new IllegalArgumentException("plan: expected a plan for " + spec + ", got one for " + plan.spec());
        }
        RnnInput in = input(arrays);
        RnnOutput out = RnnOutput.allocate(spec, in.layout(), in.steps(), in.batch());
        plan.forward(in, out);
        return outputs(in, out);
    }

    @Override
    public String toString() {
        return format + " model " + source + ": " + spec + ", inputs " + inputs.stream().map(Input::name).toList()
                + ", outputs " + outputNames();
    }
}
