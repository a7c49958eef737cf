package io.cellstate.bindings;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cellstate.Activation;
import io.cellstate.Backend;
import io.cellstate.Backends;
import io.cellstate.Cell;
import io.cellstate.RnnSpec;
import io.cellstate.Tolerance;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/** The folders of ../shared/conformance and the checks the model tests share. */
final class SharedCases {
    private SharedCases() {
    }

    /** The folder {@code set} of the shared conformance data, or null (printing why) when absent. */
    static Path root(String set) {
        String p = System.getProperty("cellstate.conformance");
        Path root = p == null ? null : Path.of(p).normalize().resolve(set);
        return root != null && Files.isDirectory(root) ? root : null;
    }

    /** The case folders of a set holding {@code marker}; empty when the set is absent. */
    static List<Path> cases(String set, String marker) throws IOException {
        Path root = root(set);
        if (root == null) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(root)) {
            return s.filter(d -> Files.exists(d.resolve(marker))).sorted().toList();
        }
    }

    /**
     * Every CPU backend that runs {@code spec} here; each CPU backend that does not is printed with its reason
     * (vector and blas run the cells' options once their kernels have them), under {@code test}'s name.
     */
    static List<Backend> backends(RnnSpec spec, String test) {
        List<Backend> out = new ArrayList<>();
        for (Backend b : Backends.all()) {
            if (b.name().equals("cudnn")) {
                continue;
            }
            String why = b.availability().available() ? b.unsupported(spec) : "unavailable: " + b.availability().reason();
            if (why.isEmpty()) {
                out.add(b);
            } else {
                System.out.println("SKIPPED " + test + " on " + b.name() + ": " + why);
            }
        }
        assertTrue(out.stream().anyMatch(b -> b.name().equals("scalar")), test + ": the scalar oracle runs every spec: " + out);
        return out;
    }

    /**
     * Cells with the options beyond {@link Cell#all()} that any direction takes and ONNX can express: each of the
     * LSTM's options alone and all together, and other activations of every kind, with one and two parameters,
     * so that {@code activation_alpha} and {@code activation_beta} are consumed in order.
     */
    static List<Cell> optionCells() {
        return List.of(
                Cell.lstm().withPeepholes(true),
                Cell.lstm().withClip(0.7f),
                Cell.lstm().withInputForget(true),
                Cell.lstm().withActivations(new Activation(Activation.Function.HARD_SIGMOID, 0.3f, 0.4f),
                        Activation.of(Activation.Function.SOFTSIGN), new Activation(Activation.Function.ELU, 0.8f, 0)),
                Cell.lstm().withPeepholes(true).withClip(1.5f).withInputForget(true).withActivations(Activation.sigmoid(),
                        new Activation(Activation.Function.SCALED_TANH, 1.2f, 0.8f),
                        new Activation(Activation.Function.LEAKY_RELU, 0.05f, 0)),
                Cell.gruOriginal().withActivations(new Activation(Activation.Function.HARD_SIGMOID, 0.25f, 0.45f),
                        Activation.of(Activation.Function.SOFTSIGN)),
                Cell.gru().withActivations(Activation.sigmoid(), Activation.of(Activation.Function.SOFTPLUS)),
                new Cell.Rnn(List.of(new Activation(Activation.Function.AFFINE, 0.5f, 0.2f))));
    }

    /** Cells with an activation per direction: for bidirectional networks only. */
    static List<Cell> perDirectionCells() {
        return List.of(
                Cell.lstm().withActivations(Activation.sigmoid(), Activation.tanh(), Activation.tanh(),
                        new Activation(Activation.Function.HARD_SIGMOID, 0.2f, 0.5f), Activation.of(Activation.Function.SOFTSIGN),
                        Activation.tanh()),
                Cell.gru().withActivations(Activation.sigmoid(), Activation.tanh(), Activation.sigmoid(),
                        Activation.of(Activation.Function.SOFTSIGN)),
                new Cell.Rnn(List.of(new Activation(Activation.Function.THRESHOLDED_RELU, 0.05f, 0),
                        new Activation(Activation.Function.LEAKY_RELU, 0.2f, 0))));
    }

    /** The arrays of a case folder's .npy files, by file name without extension. */
    static Map<String, NpyArray> arrays(Path dir, List<String> names) throws IOException {
        Map<String, NpyArray> m = new java.util.LinkedHashMap<>();
        for (String n : names) {
            Path f = dir.resolve(n + ".npy");
            if (!n.isEmpty() && Files.exists(f)) {
                m.put(n, Npy.read(f));
            }
        }
        return m;
    }

    /**
     * Checks an output against its expected values: the same shape, and within the float32 tolerance of
     * the spec (the expected values are float64 or another float32 kernel's).
     *
     * @return the error as a fraction of the tolerance
     */
    static double check(String what, RnnSpec spec, int steps, NpyArray expected, NpyArray got) {
        assertArrayEquals(expected.shape(), got.shape(), what + ": shape");
        double[] e = expected.toDoubles();
        float[] g = got.toFloats();
        double worst = 0;
        for (int i = 0; i < e.length; i++) {
            worst = Math.max(worst, Math.abs(e[i] - g[i]));
            if (Double.isNaN(g[i])) {
                worst = Double.POSITIVE_INFINITY;
            }
        }
        double tol = Tolerance.forward(spec, Math.max(1, steps));
        assertTrue(worst <= tol, what + ": max |error| " + worst + " > tolerance " + tol);
        return worst / tol;
    }
}
