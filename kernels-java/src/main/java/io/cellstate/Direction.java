package io.cellstate;

/** Which way each layer runs over the sequence. */
public enum Direction {
    /** t = 0 .. T-1. */
    FORWARD(1),
    /** t = T-1 .. 0 (for a shorter sequence: from its last valid step down to 0). */
    REVERSE(1),
    /** Both, with separate weights; outputs concatenated, forward half first. */
    BIDIRECTIONAL(2);

    private final int count;

    Direction(int count) {
        this.count = count;
    }

    /**
     * Number of directions D.
     *
     * @return 1, or 2 for {@link #BIDIRECTIONAL}
     */
    public int count() {
        return count;
    }

    /**
     * Whether direction index {@code d} runs backwards in time.
     *
     * @param d the direction index, {@code 0 <= d < count()}
     * @return true for {@link #REVERSE}, and for the second direction of {@link #BIDIRECTIONAL}
     */
    public boolean reversed(int d) {
        return this == REVERSE || (this == BIDIRECTIONAL && d == 1);
    }
}
