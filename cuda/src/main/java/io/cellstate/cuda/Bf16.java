package io.cellstate.cuda;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * bfloat16, the upper half of a float32: 8 exponent bits, 7 stored significand bits. The BF16
 * precision keeps the caller's float32 tensors and converts on the host path's way to and from
 * cuDNN: round to nearest, ties to even; NaN stays NaN; infinities and signed zeros stay.
 */
final class Bf16 {
    private Bf16() {
    }

    static short fromFloat(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7fffffff) > 0x7f800000) {
            return (short) ((bits >>> 16) | 0x0040); // a quiet NaN, whatever the payload's low bits
        }
        int lsb = (bits >>> 16) & 1;
        return (short) ((bits + 0x7fff + lsb) >>> 16);
    }

    static float toFloat(short h) {
        return Float.intBitsToFloat((h & 0xffff) << 16);
    }

    /** Writes {@code count} floats of {@code src} as bfloat16 into {@code dst} from byte {@code dstOffset}. */
    static void encode(MemorySegment src, MemorySegment dst, long dstOffset, long count) {
        for (long i = 0; i < count; i++) {
            dst.set(ValueLayout.JAVA_SHORT_UNALIGNED, dstOffset + 2 * i,
                    fromFloat(src.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i)));
        }
    }

    /** Reads {@code count} bfloat16 values of {@code src} from byte {@code srcOffset} into {@code dst} as floats. */
    static void decode(MemorySegment src, long srcOffset, MemorySegment dst, long count) {
        for (long i = 0; i < count; i++) {
            dst.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i,
                    toFloat(src.get(ValueLayout.JAVA_SHORT_UNALIGNED, srcOffset + 2 * i)));
        }
    }
}
