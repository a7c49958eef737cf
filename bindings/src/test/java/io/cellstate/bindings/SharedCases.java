package io.cellstate.bindings;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cellstate.Backend;
import io.cellstate.Backends;
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

    /** Every CPU backend that runs {@code spec} here. */
    static List<Backend> backends(RnnSpec spec) {
        List<Backend> out = new ArrayList<>();
        for (Backend b : Backends.available(spec)) {
            if (!b.name().equals("cudnn")) {
                out.add(b);
            }
        }
        return out;
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
