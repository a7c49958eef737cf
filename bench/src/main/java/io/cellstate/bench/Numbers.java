package io.cellstate.bench;

import java.util.Locale;

/** How the report writes numbers: three significant digits, no exponents. */
final class Numbers {
    private Numbers() {
    }

    /** Decimals that give {@code v} three significant digits (none at or above 100). */
    static int decimals(double v) {
        if (!(v > 0) || Double.isInfinite(v)) {
            return 0;
        }
        return Math.max(0, 2 - (int) Math.floor(Math.log10(v)));
    }

    /** {@code v} to three significant digits: 57.9, 1.98, 0.0130, 282; "-" for NaN. */
    static String sig3(double v) {
        if (Double.isNaN(v)) {
            return "-";
        }
        // Round first, so that 99.96 becomes "100" rather than "100.0".
        double rounded = Double.parseDouble(String.format(Locale.ROOT, "%." + decimals(v) + "f", v));
        return String.format(Locale.ROOT, "%." + decimals(rounded) + "f", rounded);
    }

    /** "7.24 ± 1.40": the value to three significant digits, the error to the same decimals. */
    static String withError(double v, double error) {
        String value = sig3(v);
        if (Double.isNaN(error)) {
            return value;
        }
        int dot = value.indexOf('.');
        int decimals = dot < 0 ? 0 : value.length() - dot - 1;
        return value + " \u00b1 " + String.format(Locale.ROOT, "%." + decimals + "f", error);
    }
}
