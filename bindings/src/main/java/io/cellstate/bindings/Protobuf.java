package io.cellstate.bindings;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * The protocol-buffer wire format, as much of it as ONNX's messages use: a bounded reader over a byte
 * range of a file and a writer. Every length is checked against the bytes that are left before anything
 * is allocated, and every error names the byte offset in the file.
 */
final class Protobuf {
    /** Wire type of varints. */
    static final int VARINT = 0;
    /** Wire type of 8-byte fixed values. */
    static final int I64 = 1;
    /** Wire type of length-delimited fields: strings, bytes, messages, packed repeated values. */
    static final int LEN = 2;
    /** Wire type of 4-byte fixed values. */
    static final int I32 = 5;

    private Protobuf() {
    }

    /** Reads the fields of one message, which spans {@code [pos, end)} of the file's bytes. */
    static final class Reader {
        private final byte[] b;
        private final String file;
        private final int end;
        private final int depth;
        private int pos;
        private int fieldStart;
        private int field;
        private int wireType;

        /** A reader of the whole of {@code b}. */
        Reader(byte[] b, String file) {
            this(b, file, 0, b.length, 0);
        }

        private Reader(byte[] b, String file, int pos, int end, int depth) {
            this.b = b;
            this.file = file;
            this.pos = pos;
            this.end = end;
            this.depth = depth;
        }

        /** Whether a field is left: if so, reads its tag. */
        boolean next() throws ModelFormatException {
            if (pos >= end) {
                return false;
            }
            fieldStart = pos;
            long tag = varint();
            if (tag > Integer.MAX_VALUE || (tag >>> 3) == 0) {
                throw error(fieldStart, "field tag " + tag + " is not a valid tag");
            }
            field = (int) (tag >>> 3);
            wireType = (int) (tag & 7);
            if (wireType != VARINT && wireType != I64 && wireType != LEN && wireType != I32) {
                throw error(fieldStart, "field " + field + " has wire type " + wireType
                        + " (groups and unknown types are not used by ONNX)");
            }
            return true;
        }

        /** The file, as messages name it. */
        String file() {
            return file;
        }

        /** The current field's number. */
        int field() {
            return field;
        }

        /** The current field's wire type. */
        int wireType() {
            return wireType;
        }

        /** The offset in the file of the current field's tag. */
        int fieldOffset() {
            return fieldStart;
        }

        /** An error at the current field. */
        ModelFormatException error(String problem) {
            return error(fieldStart, problem);
        }

        ModelFormatException error(int offset, String problem) {
            return new ModelFormatException(file, "offset " + offset, problem);
        }

        private void expect(int type, String what) throws ModelFormatException {
            if (wireType != type) {
                throw error("field " + field + " (" + what + ") has wire type " + wireType + ", expected " + type);
            }
        }

        /** A varint at the current position. */
        long varint() throws ModelFormatException {
            long v = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                if (pos >= end) {
                    throw error(pos, "varint runs past the end of its message");
                }
                byte x = b[pos++];
                v |= (long) (x & 0x7f) << shift;
                if (x >= 0) {
                    return v;
                }
            }
            throw error(pos, "varint longer than 10 bytes");
        }

        /** The current field as a 64-bit integer (varint; int64 and enums). */
        long int64(String what) throws ModelFormatException {
            expect(VARINT, what);
            return varint();
        }

        /** The current field as a 32-bit integer, refusing a value out of {@code [min, max]}. */
        int int32(String what, long min, long max) throws ModelFormatException {
            int at = fieldStart;
            long v = int64(what);
            if (v < min || v > max) {
                throw error(at, what + " is " + v + ", expected " + min + " to " + max);
            }
            return (int) v;
        }

        /** The current field as a float (fixed 32 bits). */
        float float32(String what) throws ModelFormatException {
            expect(I32, what);
            need(4);
            int bits = (b[pos] & 0xff) | (b[pos + 1] & 0xff) << 8 | (b[pos + 2] & 0xff) << 16 | (b[pos + 3] & 0xff) << 24;
            pos += 4;
            return Float.intBitsToFloat(bits);
        }

        private void need(int n) throws ModelFormatException {
            if (end - pos < n) {
                throw error(pos, n + " bytes expected, " + (end - pos) + " left in the message");
            }
        }

        /** The length of the current length-delimited field, checked against the bytes left. */
        private int length(String what) throws ModelFormatException {
            expect(LEN, what);
            int at = pos;
            long n = varint();
            if (n < 0 || n > end - pos) { // a ten-byte varint is negative as a long
                if (n < 0) {
                    throw error(at, what + " claims a length of " + Long.toUnsignedString(n) + " bytes");
                }
                throw error(at, what + " claims " + n + " bytes, only " + (end - pos) + " are left in the message");
            }
            return (int) n;
        }

        /** The current field as a message: a reader over its bytes. */
        Reader message(String what) throws ModelFormatException {
            int n = length(what);
            if (depth >= 32) {
                throw error(what + " nests messages more than 32 deep");
            }
            Reader r = new Reader(b, file, pos, pos + n, depth + 1);
            pos += n;
            return r;
        }

        /** The current field as bytes. */
        byte[] bytes(String what) throws ModelFormatException {
            int n = length(what);
            byte[] out = new byte[n];
            System.arraycopy(b, pos, out, 0, n);
            pos += n;
            return out;
        }

        /** The offset and length of the current length-delimited field, skipping it (for raw tensor data). */
        int[] span(String what) throws ModelFormatException {
            int n = length(what);
            int[] s = {pos, n};
            pos += n;
            return s;
        }

        /** The current field as a UTF-8 string, refusing malformed UTF-8. */
        String string(String what) throws ModelFormatException {
            int at = pos;
            int n = length(what);
            try {
                String s = StandardCharsets.UTF_8.newDecoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(ByteBuffer.wrap(b, pos, n)).toString();
                pos += n;
                return s;
            } catch (CharacterCodingException e) {
                throw error(at, what + " is not valid UTF-8");
            }
        }

        /**
         * A repeated varint field, packed or not: appends to {@code out}.
         */
        void int64s(String what, LongList out) throws ModelFormatException {
            if (wireType == VARINT) {
                out.add(varint());
                return;
            }
            int n = length(what);
            int stop = pos + n;
            Reader packed = new Reader(b, file, pos, stop, depth);
            while (packed.pos < stop) {
                out.add(packed.varint());
            }
            pos = stop;
        }

        /** A repeated float field, packed or not: appends to {@code out}. */
        void float32s(String what, FloatList out) throws ModelFormatException {
            if (wireType == I32) {
                out.add(float32(what));
                return;
            }
            int at = pos;
            int n = length(what);
            if (n % 4 != 0) {
                throw error(at, what + ": packed floats of " + n + " bytes, not a multiple of 4");
            }
            ByteBuffer bb = ByteBuffer.wrap(b, pos, n).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < n / 4; i++) {
                out.add(bb.getFloat());
            }
            pos += n;
        }

        /** A repeated double field, packed or not: appends to {@code out} as floats. */
        void float64s(String what, FloatList out) throws ModelFormatException {
            if (wireType == I64) {
                need(8);
                out.add((float) ByteBuffer.wrap(b, pos, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getDouble());
                pos += 8;
                return;
            }
            int at = pos;
            int n = length(what);
            if (n % 8 != 0) {
                throw error(at, what + ": packed doubles of " + n + " bytes, not a multiple of 8");
            }
            ByteBuffer bb = ByteBuffer.wrap(b, pos, n).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < n / 8; i++) {
                out.add((float) bb.getDouble());
            }
            pos += n;
        }

        /** Skips the current field, whatever its type. */
        void skip() throws ModelFormatException {
            switch (wireType) {
                case VARINT -> varint();
                case I64 -> {
                    need(8);
                    pos += 8;
                }
                case I32 -> {
                    need(4);
                    pos += 4;
                }
                default -> {
                    int n = length("field " + field); // before pos is read: length() moves it past the varint
                    pos += n;
                }
            }
        }
    }

    /** A growable list of longs, so repeated fields allocate no more than the file holds. */
    static final class LongList {
        private long[] a = new long[8];
        private int n;

        void add(long v) {
            if (n == a.length) {
                a = java.util.Arrays.copyOf(a, n * 2);
            }
            a[n++] = v;
        }

        int size() {
            return n;
        }

        long[] toArray() {
            return java.util.Arrays.copyOf(a, n);
        }
    }

    /** A growable list of floats. */
    static final class FloatList {
        private float[] a = new float[8];
        private int n;

        void add(float v) {
            if (n == a.length) {
                a = java.util.Arrays.copyOf(a, n * 2);
            }
            a[n++] = v;
        }

        int size() {
            return n;
        }

        float[] toArray() {
            return java.util.Arrays.copyOf(a, n);
        }
    }

    /** Writes one message's fields. */
    static final class Writer {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        private void tag(int field, int type) {
            rawVarint((long) field << 3 | type);
        }

        private void rawVarint(long v) {
            while ((v & ~0x7fL) != 0) {
                out.write((int) (v & 0x7f) | 0x80);
                v >>>= 7;
            }
            out.write((int) v);
        }

        /** A varint field (int32, int64, enum); negative values take ten bytes, as protobuf writes them. */
        Writer int64(int field, long v) {
            tag(field, VARINT);
            rawVarint(v);
            return this;
        }

        /** A float field. */
        Writer float32(int field, float v) {
            tag(field, I32);
            int bits = Float.floatToRawIntBits(v);
            for (int i = 0; i < 4; i++) {
                out.write(bits >>> (8 * i));
            }
            return this;
        }

        /** A bytes field. */
        Writer bytes(int field, byte[] v) {
            tag(field, LEN);
            rawVarint(v.length);
            out.writeBytes(v);
            return this;
        }

        /** A string field, in UTF-8. */
        Writer string(int field, String v) {
            return bytes(field, v.getBytes(StandardCharsets.UTF_8));
        }

        /** A message field. */
        Writer message(int field, Writer m) {
            return bytes(field, m.toBytes());
        }

        /** A packed repeated varint field. */
        Writer packedInt64s(int field, long[] v) {
            Writer p = new Writer();
            for (long x : v) {
                p.rawVarint(x);
            }
            return bytes(field, p.toBytes());
        }

        /** The message's bytes. */
        byte[] toBytes() {
            return out.toByteArray();
        }
    }
}
