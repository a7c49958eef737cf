package io.cellstate.bindings;

import java.io.IOException;
import java.io.Serial;

/**
 * A file that is not what its format says: the one exception every reader of this package throws
 * for malformed input. The message names the file, the place (a byte offset, an entry of an archive,
 * a tensor) and what is wrong there.
 */
public final class ModelFormatException extends IOException {
    @Serial
    private static final long serialVersionUID = 1L;

    /** The file, as the reader was given it. */
    private final String file;
    /** The place in the file. */
    private final String where;
    /** What is wrong there. */
    private final String problem;

    /**
     * A malformed file.
     *
     * @param file the file (or the name the caller gave to the bytes)
     * @param where the place: {@code "offset 10"}, {@code "entry 'x.npy', offset 10"}, {@code "tensor 'w'"}
     * @param problem what is wrong there
     */
    public ModelFormatException(String file, String where, String problem) {
        super(file + ": " + where + ": " + problem);
        this.file = file;
        this.where = where;
        this.problem = problem;
    }

    /**
     * A malformed file, found by a lower layer (the JDK's zip reader).
     *
     * @param file the file
     * @param where the place
     * @param problem what is wrong there
     * @param cause the lower layer's exception
     */
    public ModelFormatException(String file, String where, String problem, Throwable cause) {
        this(file, where, problem);
        initCause(cause);
    }

    /**
     * The file.
     *
     * @return the file's name as the reader was given it
     */
    public String file() {
        return file;
    }

    /**
     * The place in the file.
     *
     * @return the offset, entry or tensor
     */
    public String where() {
        return where;
    }

    /**
     * What is wrong.
     *
     * @return the problem, without the file and place
     */
    public String problem() {
        return problem;
    }
}
