package io.cellstate.bindings;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Objects;

/** Model files by their extension: {@code .onnx} through {@link Onnx}, {@code .safetensors} through {@link StateDicts}. */
public final class Models {
    private Models() {
    }

    /**
     * Reads a model file.
     *
     * @param file    a {@code .onnx} or {@code .safetensors} file
     * @param options for a state_dict: its prefix, cell and layout (an ONNX graph says its own)
     * @return the model
     * @throws ModelFormatException for a malformed file or one that is not a recurrent network
     * @throws IOException          if the file cannot be read
     * @throws IllegalArgumentException for another extension
     */
    public static RnnModel read(Path file, StateDicts.Options options) throws IOException {
        Objects.requireNonNull(file, "file");
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".onnx")) {
            return Onnx.read(file);
        }
        if (name.endsWith(".safetensors")) {
            return StateDicts.read(file, options);
        }
        throw new IllegalArgumentException("file: expected a .onnx or .safetensors model, got '" + file + "'");
    }
}
