package io.cellstate.bindings;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** What the readers share. */
final class Formats {
    /** The longest file read whole into one array. */
    static final long MAX_FILE_BYTES = Integer.MAX_VALUE - 8;

    private Formats() {
    }

    /** The file's bytes, refusing one too large for an array before allocating. */
    static byte[] readAll(Path file) throws IOException {
        long size = Files.size(file);
        if (size > MAX_FILE_BYTES) {
            throw new ModelFormatException(file.toString(), "offset 0",
                    "file of " + size + " bytes: files over 2^31-9 bytes are not read");
        }
        return Files.readAllBytes(file);
    }
}
