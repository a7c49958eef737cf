package io.cellstate.bindings;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NpyTest {
    @TempDir
    Path dir;

    /** A .npy file from parts: version, header text as written (no padding added), then data. */
    static byte[] npy(int major, String header, byte[] data) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', (byte) major, 0});
        byte[] h = header.getBytes(major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        if (major == 1) {
            out.write(h.length & 0xff);
            out.write(h.length >>> 8);
        } else {
            out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(h.length).array());
        }
        out.writeBytes(h);
        out.writeBytes(data);
        return out.toByteArray();
    }

    static String header(String descr, String shape) {
        return "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }\n";
    }

    static byte[] floats(ByteOrder order, float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(order);
        for (float f : v) {
            b.putFloat(f);
        }
        return b.array();
    }

    static ModelFormatException refused(byte[] file, String problem) {
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> Npy.read(file, "t.npy"));
        assertTrue(e.getMessage().contains(problem), () -> "expected \"" + problem + "\" in: " + e.getMessage());
        assertTrue(e.getMessage().startsWith("t.npy: "), e.getMessage());
        return e;
    }

    @Test
    void roundTripsEveryDtypeAndShape() throws Exception {
        NpyArray[] arrays = {
            NpyArray.ofFloats(new float[] {1.5f, -2f, Float.NaN, Float.MIN_VALUE, 0f, 7f}, 2, 3),
            NpyArray.ofDoubles(new double[] {Math.PI, -1e300, 0.1}, 3),
            NpyArray.ofInts(new int[] {Integer.MIN_VALUE, 0, Integer.MAX_VALUE, 4}, 1, 2, 2, 1),
            NpyArray.ofLongs(new long[] {Long.MIN_VALUE, Long.MAX_VALUE}, 2, 1),
            NpyArray.ofFloats(new float[] {42f}),
            NpyArray.ofFloats(new float[0], 3, 0, 5),
        };
        for (NpyArray a : arrays) {
            Path f = dir.resolve("a.npy");
            Npy.write(f, a);
            assertEquals(a, Npy.read(f), a.toString());
            assertEquals(0, (Npy.toBytes(a).length - a.size() * a.dtype().byteSize()) % 64, "data aligned to 64 bytes");
        }
    }

    @Test
    void readsBigEndianAndEveryVersion() throws Exception {
        float[] v = {1f, -2.5f, 3e-5f, 1e30f, 0f, -0f};
        for (int major = 1; major <= 3; major++) {
            for (ByteOrder order : new ByteOrder[] {ByteOrder.BIG_ENDIAN, ByteOrder.LITTLE_ENDIAN}) {
                String descr = (order == ByteOrder.BIG_ENDIAN ? ">" : "<") + "f4";
                NpyArray a = Npy.read(npy(major, header(descr, "(2, 3)"), floats(order, v)), "t.npy");
                assertArrayEquals(v, a.toFloats());
                assertArrayEquals(new int[] {2, 3}, a.shape());
            }
        }
        ByteBuffer ints = ByteBuffer.allocate(16).order(ByteOrder.BIG_ENDIAN).putInt(1).putInt(-2).putInt(3).putInt(Integer.MAX_VALUE);
        assertArrayEquals(new int[] {1, -2, 3, Integer.MAX_VALUE}, Npy.read(npy(1, header(">i4", "(4,)"), ints.array()), "t").toInts());
        ByteBuffer longs = ByteBuffer.allocate(16).order(ByteOrder.BIG_ENDIAN).putLong(5).putLong(-6);
        NpyArray l = Npy.read(npy(1, header(">i8", "(2,)"), longs.array()), "t");
        assertArrayEquals(new long[] {5, -6}, l.toLongs());
        assertArrayEquals(new int[] {5, -6}, l.toInts());
    }

    @Test
    void convertsFloat64ToFloat32() throws Exception {
        double[] v = {0.1, 1.0 / 3, -1e-40, 1e39};
        for (ByteOrder order : new ByteOrder[] {ByteOrder.BIG_ENDIAN, ByteOrder.LITTLE_ENDIAN}) {
            ByteBuffer b = ByteBuffer.allocate(32).order(order);
            for (double d : v) {
                b.putDouble(d);
            }
            NpyArray a = Npy.read(npy(1, header(order == ByteOrder.BIG_ENDIAN ? ">f8" : "<f8", "(2, 2)"), b.array()), "t");
            assertEquals(NpyArray.DType.FLOAT64, a.dtype());
            assertArrayEquals(v, a.toDoubles());
            assertArrayEquals(new float[] {0.1f, (float) (1.0 / 3), (float) -1e-40, Float.POSITIVE_INFINITY}, a.toFloats());
        }
    }

    @Test
    void acceptsWhatNumpyWrites() throws Exception {
        // double quotes, no trailing comma, keys in another order, a scalar, padding to 64
        byte[] f = npy(1, "{\"shape\": (), \"fortran_order\": False, \"descr\": \"<f4\"}" + " ".repeat(10) + "\n",
                floats(ByteOrder.LITTLE_ENDIAN, 9f));
        assertArrayEquals(new float[] {9f}, Npy.read(f, "t").toFloats());
    }

    @Test
    void refusesBadMagicAndVersion() {
        byte[] good = npy(1, header("<f4", "(1,)"), floats(ByteOrder.LITTLE_ENDIAN, 1f));
        byte[] bad = good.clone();
        bad[1] = 'X';
        refused(bad, "bad magic");
        bad = good.clone();
        bad[6] = 4;
        refused(bad, "unsupported version 4.0");
        bad = good.clone();
        bad[7] = 1;
        refused(bad, "unsupported version 1.1");
        refused(new byte[] {(byte) 0x93, 'N'}, "too short");
    }

    @Test
    void refusesHeaderOverTheLimitBeforeReadingIt() {
        byte[] f = npy(2, "{}", new byte[0]);
        ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN).putInt(8, Integer.MAX_VALUE);
        refused(f, "over the limit of 65536");
        refused(npy(2, header("<f4", "(1,)") + " ".repeat(70_000), new byte[4]), "over the limit");
        byte[] g = npy(1, header("<f4", "(1,)"), new byte[0]);
        g[8] = (byte) 0xff;
        g[9] = (byte) 0x7f;
        refused(g, "runs past the end");
    }

    @Test
    void refusesAnythingButAPlainDict() {
        byte[] data = floats(ByteOrder.LITTLE_ENDIAN, 1f);
        refused(npy(1, "__import__('os').system('true')\n", data), "not a plain dict literal");
        refused(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}\n", data), "'extra'");
        refused(npy(1, "{'descr': '<f4', 'shape': (1,)}\n", data), "lacks the key 'fortran_order'");
        refused(npy(1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}\n", data), "twice");
        refused(npy(1, "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}\n", data), "True or False");
        refused(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': [1]}\n", data), "expected '('");
        refused(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x\n", data), "text after the dict");
        refused(npy(1, "{'descr': '<f\\x34', 'fortran_order': False, 'shape': (1,)}\n", data), "escapes");
        refused(npy(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1.0,)}\n", data), "expected ')'");
    }

    @Test
    void refusesFortranOrderAndUnknownDtypes() {
        byte[] data = floats(ByteOrder.LITTLE_ENDIAN, 1f, 2f);
        refused(npy(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2,)}\n", data), "fortran_order: True");
        refused(npy(1, header("|O", "(1,)"), new byte[8]), "object dtype");
        refused(npy(1, header("<f2", "(4,)"), data), "dtype '<f2'");
        refused(npy(1, header("<c8", "(1,)"), new byte[8]), "dtype '<c8'");
        refused(npy(1, header("<U4", "(1,)"), new byte[16]), "dtype '<U4'");
        refused(npy(1, header("|f4", "(2,)"), data), "dtype '|f4'");
    }

    @Test
    void refusesBadDimensions() {
        refused(npy(1, header("<f4", "(-1,)"), new byte[0]), "negative dimension");
        refused(npy(1, header("<f4", "(99999999999999999999,)"), new byte[0]), "over 2^63-1");
        refused(npy(1, header("<f4", "(4294967296, 4294967296)"), new byte[0]), "overflows");
        refused(npy(1, header("<f8", "(1152921504606846976, 2)"), new byte[0]), "overflows");
        // a header claiming a huge array in a small file is refused before any allocation
        refused(npy(1, header("<f4", "(100000, 100000)"), new byte[8]), "short data");
    }

    @Test
    void readsEmptyArraysWhoseOtherDimensionsMultiplyPast2To31() throws Exception {
        // the product is 0, but 9551615 x 400 alone is over 2^31-1: NpyArray refused the shape with an
        // IllegalArgumentException, which escaped the reader (found by NpyFuzzTest)
        NpyArray a = Npy.read(npy(1, header("<f4", "(9551615, 400, 0, 96)"), new byte[0]), "t.npy");
        assertArrayEquals(new int[] {9551615, 400, 0, 96}, a.shape());
        assertEquals(0, a.size());
        assertEquals(a, Npy.read(Npy.toBytes(a), "again"));
        assertEquals(0, NpyArray.ofLongs(new long[0], Integer.MAX_VALUE, Integer.MAX_VALUE, Integer.MAX_VALUE, 0).size());
        assertThrows(IllegalArgumentException.class, () -> NpyArray.ofInts(new int[0], 65536, 32768));
    }

    @Test
    void refusesShortDataAndTrailingBytes() {
        refused(npy(1, header("<f4", "(3,)"), new byte[11]), "short data");
        ModelFormatException e = refused(npy(1, header("<f4", "(3,)"), new byte[13]), "1 trailing bytes");
        assertTrue(e.where().startsWith("offset "), e.where());
    }

    @Test
    void refusesInvalidUtf8InVersion3() {
        byte[] f = npy(3, header("<f4", "(1,)"), new byte[4]);
        f[12 + 2] = (byte) 0xff; // inside 'descr'
        refused(f, "not valid UTF-8");
    }

    @Test
    void namesTheByteOffsetInAUtf8Header() {
        // version 3: each 'é' is two bytes, so the error's offset counts bytes, not characters
        ModelFormatException e = refused(npy(3, "{'descr': 'éé', 'fortran_order': False, 'shape': (1,) x}\n", new byte[4]),
                "expected '}'");
        assertEquals("offset " + (12 + "{'descr': 'éé', 'fortran_order': False, 'shape': (1,) ".getBytes(StandardCharsets.UTF_8).length),
                e.where());
    }

    @Test
    void conversionsSayWhatTheyCannotDo() {
        assertThrows(IllegalStateException.class, () -> NpyArray.ofInts(new int[] {1}).toFloats());
        assertThrows(IllegalStateException.class, () -> NpyArray.ofFloats(new float[] {1}).toInts());
        assertThrows(ArithmeticException.class, () -> NpyArray.ofLongs(new long[] {1L << 40}).toInts());
        assertThrows(IllegalArgumentException.class, () -> NpyArray.ofFloats(new float[3], 2, 2));
    }
}
