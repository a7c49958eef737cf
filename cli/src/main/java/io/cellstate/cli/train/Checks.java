package io.cellstate.cli.train;

/** The argument checks the training tasks' settings share, each naming the setting, the expected and the actual value. */
final class Checks {
    private Checks() {
    }

    /** {@code v >= min}. */
    static void atLeast(String name, long v, long min) {
        if (v < min) {
            throw new IllegalArgumentException(name + ": expected >= " + min + ", got " + v);
        }
    }

    /** The optimiser's and the run's settings both tasks have: learning rate, clipping, forget-gate bias, time budget. */
    static void training(double lr, double clip, double forgetBias, double seconds) {
        if (!(lr > 0) || Double.isInfinite(lr)) {
            throw new IllegalArgumentException("lr: expected a finite value > 0, got " + lr);
        }
        if (!(clip >= 0) || Double.isInfinite(clip)) {
            throw new IllegalArgumentException("clip: expected a finite value >= 0 (0: none), got " + clip);
        }
        if (Double.isInfinite(forgetBias)) {
            throw new IllegalArgumentException("forgetBias: expected a finite value (NaN: PyTorch's initialisation), got "
                    + forgetBias);
        }
        if (!(seconds >= 0) || Double.isInfinite(seconds)) {
            throw new IllegalArgumentException("seconds: expected a finite value >= 0 (0: no limit), got " + seconds);
        }
    }
}
