package io.cellstate.vector;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vector width, chosen once per JVM. C2 only turns Vector API calls into SIMD instructions
 * when the species is a constant, so it lives in a {@code static final} here (as Lucene keeps its
 * species in a constants holder), not in a plan's field.
 *
 * <p>{@code -Dcellstate.vector.bits=128|256|512} selects a narrower width than the preferred one
 * (tests run the suite once per width, each in its own JVM); {@code -Dcellstate.vector.rows=1|2|4|6}
 * overrides the micro-kernel's row blocking.
 */
final class VectorConfig {
    /** Bits of the widest vector this CPU runs natively (the preferred species). */
    static final int MAX_BITS = FloatVector.SPECIES_PREFERRED.vectorBitSize();
    /** The width asked for by {@code cellstate.vector.bits}, or the preferred one. */
    static final int BITS = Integer.getInteger("cellstate.vector.bits", MAX_BITS);
    static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED.vectorBitSize() == BITS
            ? FloatVector.SPECIES_PREFERRED
            : speciesOrPreferred(BITS);
    static final VectorSpecies<Integer> INTS = IntVector.SPECIES_PREFERRED.vectorBitSize() == FLOATS.vectorBitSize()
            ? IntVector.SPECIES_PREFERRED
            : VectorSpecies.of(int.class, FLOATS.vectorShape());
    /** Lanes per vector. */
    static final int LANES = FLOATS.length();
    /**
     * Rows of the GEMM micro-kernel. It keeps rows x 4 gate vectors of sums in registers, plus 4
     * weight vectors and a broadcast: 2 rows fit AVX2's 16 registers (13 live), 6 rows AVX-512's 32 (29; 4 rows
     * ran as fast on a Zen 5, 20 to 25% slower on an Intel Xeon: docs/benchmarks.md).
     */
    static final int ROWS = Integer.getInteger("cellstate.vector.rows", FLOATS.vectorBitSize() >= 512 ? 6 : 2);

    private VectorConfig() {
    }

    private static VectorSpecies<Float> speciesOrPreferred(int bits) {
        try {
            return VectorSpecies.of(float.class, VectorShape.forBitSize(bits));
        } catch (IllegalArgumentException e) {
            return FloatVector.SPECIES_PREFERRED;
        }
    }

    /** Empty if the configured width can run here, else why not. */
    static String problem() {
        if (BITS != FLOATS.vectorBitSize()) {
            return "cellstate.vector.bits=" + BITS + " is not a vector width (use 128, 256 or 512)";
        }
        if (BITS > MAX_BITS) {
            return "cellstate.vector.bits=" + BITS + " exceeds this CPU's widest vector (" + MAX_BITS + " bits)";
        }
        if (BITS < 128) {
            return "the widest vector here has " + BITS + " bits: no SIMD the Vector API can use";
        }
        if (ROWS != 1 && ROWS != 2 && ROWS != 4 && ROWS != 6) {
            return "cellstate.vector.rows=" + ROWS + " is not 1, 2, 4 or 6";
        }
        return "";
    }
}
