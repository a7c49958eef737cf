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

    /** Number of directions D: 1, or 2 for {@link #BIDIRECTIONAL}. */
    public int count() {
        return count;
    }

    /** Whether direction index {@code d} (0 ≤ d < {@link #count()}) runs backwards in time. */
    public boolean reversed(int d) {
        return this == REVERSE || (this == BIDIRECTIONAL && d == 1);
    }
}
