package io.cellstate.testing;

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
 * One PyTorch case from {@code shared/conformance/torch}: an {@code nn.LSTM}, {@code nn.GRU} or
 * {@code nn.RNN} with its state_dict ({@code model.safetensors}, PyTorch's names, loaded as they are),
 * its inputs, and PyTorch's outputs computed in float64. The {@code grad_*} cases' forward half is
 * a case like the others; {@code proj_size} makes a projected LSTM ({@code weight_hr_l{k}}).
 */
public final class TorchCase extends ReferenceCase {
    private final Map<String, Object> meta;

    @SuppressWarnings("unchecked")
    private TorchCase(Path dir) throws IOException {
        super("torch/" + dir.getFileName(), dir);
        this.meta = (Map<String, Object>) MiniJson.parse(Files.readString(dir.resolve("meta.json")));
        load();
    }

    /** Every case under {@code torch/}, sorted by name. */
    public static List<TorchCase> all(Path root) throws IOException {
        List<TorchCase> cases = new ArrayList<>();
        Path d = root.resolve("torch");
        if (Files.isDirectory(d)) {
            try (Stream<Path> s = Files.list(d)) {
                for (Path c : s.filter(p -> Files.exists(p.resolve("meta.json"))).sorted().toList()) {
                    cases.add(new TorchCase(c));
                }
            }
        }
        return cases;
    }

    private int integer(String key) {
        return ((Double) meta.get(key)).intValue();
    }

    private void load() throws IOException {
        String module = (String) meta.get("module");
        Cell cell = switch (module) {
            case "LSTM" -> Cell.lstm().withProjection(meta.get("proj_size") instanceof Double p ? p.intValue() : 0);
            case "GRU" -> Cell.gru();
            case "RNN" -> "relu".equals(meta.get("nonlinearity")) ? Cell.rnnRelu() : Cell.rnnTanh();
            default -> throw new IOException(name + ": module " + module);
        };
        boolean batchFirst = Boolean.TRUE.equals(meta.get("batch_first"));
        Layout layout = batchFirst ? Layout.BATCH_MAJOR : Layout.SEQUENCE_MAJOR;
        spec = RnnSpec.builder().cell(cell).inputSize(integer("input_size")).hiddenSize(integer("hidden_size"))
                .layers(integer("num_layers"))
                .direction(Boolean.TRUE.equals(meta.get("bidirectional")) ? Direction.BIDIRECTIONAL : Direction.FORWARD)
                .bias(Boolean.TRUE.equals(meta.get("bias"))).build();
        weights = RnnWeights.builder(spec).putAll(Safetensors.read(dir.resolve("model.safetensors"))).build();
        Npy x = Npy.read(dir.resolve("x.npy"));
        int[] lengths = null;
        if (Files.exists(dir.resolve("lengths.npy"))) {
            long[] l = Npy.read(dir.resolve("lengths.npy")).ints();
            lengths = new int[l.length];
            for (int i = 0; i < l.length; i++) {
                lengths[i] = Math.toIntExact(l[i]);
            }
        }
        input = new RnnInput(Tensor.of(x.floats(), x.shape()), layout, lengths, optional("h0"), optional("c0"));
        y = optional("y");
        hN = optional("hn");
        cN = optional("cn");
    }

    private Tensor optional(String stem) throws IOException {
        Path p = dir.resolve(stem + ".npy");
        if (!Files.exists(p)) {
            return null;
        }
        Npy n = Npy.read(p);
        return Tensor.of(n.floats(), n.shape());
    }

    @Override
    public String toString() {
        return name;
    }
}
