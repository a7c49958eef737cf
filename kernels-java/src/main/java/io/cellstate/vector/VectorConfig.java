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
 * overrides the micro-kernel's row blocking and {@code -Dcellstate.vector.registers=16|32} the register budget
 * it plans for.
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
     * Vector registers the micro-kernels plan for: 32 where the CPU has AVX-512 (at any width asked for), 16
     * with AVX2 (or a JVM held to it, {@code -XX:UseAVX=2}).
     */
    static final int REGISTERS = Integer.getInteger("cellstate.vector.registers", MAX_BITS >= 512 ? 32 : 16);
    /**
     * Rows of the GEMM micro-kernel's block. With 32 registers a block of 6 rows keeps 6 x 4 gate vectors of
     * sums, 4 weight vectors and a broadcast live (29; 4 rows ran as fast on a Zen 5, 20 to 25% slower on an
     * Intel Xeon); with 16 it takes half a panel, 6 x 2 sums, 2 weight vectors and a broadcast (15; on the Xeon
     * under {@code -XX:UseAVX=2} 75 to 86 GFLOP/s where 2 rows of a whole panel ran at 68 to 71). See
     * docs/benchmarks.md and {@link Panels#multiply}.
     */
    static final int ROWS = Integer.getInteger("cellstate.vector.rows", 6);
    /** Whether a block of {@link #ROWS} = 6 rows covers half a panel (16 registers) rather than a whole one. */
    static final boolean HALF_PANELS = ROWS == 6 && REGISTERS < 32;

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
        if (REGISTERS != 16 && REGISTERS != 32) {
            return "cellstate.vector.registers=" + REGISTERS + " is not 16 or 32";
        }
        return "";
    }
}
