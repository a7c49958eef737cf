package io.cellstate.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The float32 to bfloat16 conversion of the BF16 precision (no GPU needed). */
class Bf16Test {
    @Test
    void roundsToNearestTiesToEven() {
        assertEquals(1.0f, Bf16.toFloat(Bf16.fromFloat(1.0f)));
        float ulp = 0x1p-7f; // bfloat16's spacing at 1
        assertEquals(1.0f, Bf16.toFloat(Bf16.fromFloat(1.0f + ulp / 2)), "a tie goes to the even neighbour (1)");
        assertEquals(1.0f + 2 * ulp, Bf16.toFloat(Bf16.fromFloat(1.0f + 3 * ulp / 2)), "a tie goes to the even neighbour");
        assertEquals(1.0f + ulp, Bf16.toFloat(Bf16.fromFloat(Math.nextUp(1.0f + ulp / 2))), "above the tie rounds up");
        assertEquals(-2.5f, Bf16.toFloat(Bf16.fromFloat(-2.5f)));
        assertEquals(Float.POSITIVE_INFINITY, Bf16.toFloat(Bf16.fromFloat(Float.POSITIVE_INFINITY)));
        assertEquals(Float.POSITIVE_INFINITY, Bf16.toFloat(Bf16.fromFloat(Float.MAX_VALUE)), "overflow rounds to infinity");
        assertTrue(Float.isNaN(Bf16.toFloat(Bf16.fromFloat(Float.intBitsToFloat(0x7f800001)))), "a NaN with low payload stays NaN");
        assertEquals(Float.floatToRawIntBits(-0.0f), Float.floatToRawIntBits(Bf16.toFloat(Bf16.fromFloat(-0.0f))));
    }

    @Test
    void relativeErrorIsAtMostHalfAnUlp() {
        SplittableRandom r = new SplittableRandom(7);
        for (int i = 0; i < 100_000; i++) {
            float f = (float) r.nextDouble(-100, 100);
            float b = Bf16.toFloat(Bf16.fromFloat(f));
            assertTrue(Math.abs(b - f) <= Math.abs(f) * 0x1p-8, f + " -> " + b);
        }
    }

    @Test
    void encodesAndDecodesSegments() {
        float[] values = {0.5f, -1.25f, 3.0f, 1e-3f};
        MemorySegment packed = MemorySegment.ofArray(new short[6]);
        Bf16.encode(MemorySegment.ofArray(values), packed, 4, values.length);
        float[] back = new float[values.length];
        Bf16.decode(packed, 4, MemorySegment.ofArray(back), values.length);
        for (int i = 0; i < values.length; i++) {
            assertEquals(Bf16.toFloat(Bf16.fromFloat(values[i])), back[i]);
        }
        assertArrayEquals(new float[] {0.5f, -1.25f, 3.0f}, java.util.Arrays.copyOf(back, 3));
    }
}
