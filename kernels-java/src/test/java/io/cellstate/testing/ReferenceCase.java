package io.cellstate.testing;

import io.cellstate.RnnInput;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A case of reference data that no one here computed ({@link OnnxCase}, {@link TorchCase}): a spec,
 * weights and inputs in this project's conventions, and the outputs the reference gave. A case that
 * needs a feature not built yet loads nothing and reports the feature through {@link #missingFeature()}.
 */
public abstract sealed class ReferenceCase permits OnnxCase, TorchCase {
    /** The case's name in reports: its set and folder, e.g. {@code onnx/test_lstm_defaults}. */
    public final String name;
    public final Path dir;
    String missing = "";
    RnnSpec spec;
    RnnWeights weights;
    RnnInput input;
    Tensor y;
    Tensor hN;
    Tensor cN;

    ReferenceCase(String name, Path dir) {
        this.name = name;
        this.dir = dir;
    }

    /** The folder of shared conformance data, or null where it is absent (a user's clone). */
    public static Path conformanceRoot() {
        String p = System.getProperty("cellstate.conformance");
        if (p == null) {
            return null;
        }
        Path root = Path.of(p).normalize();
        return Files.isDirectory(root) ? root : null;
    }

    /** Empty when this project can run the case; otherwise the feature it needs. */
    public final String missingFeature() {
        return missing;
    }

    public final RnnSpec spec() {
        return spec;
    }

    public final RnnWeights weights() {
        return weights;
    }

    public final RnnInput input() {
        return input;
    }

    /** Expected y in this project's layout, or null where the case does not output it. */
    public final Tensor expectedY() {
        return y;
    }

    /** Expected hN [D * layers, B, H], or null where the case does not output it. */
    public final Tensor expectedHN() {
        return hN;
    }

    /** Expected cN (the LSTM's), or null where the case does not output it or the cell has none. */
    public final Tensor expectedCN() {
        return cN;
    }

    @Override
    public String toString() {
        return name;
    }
}
