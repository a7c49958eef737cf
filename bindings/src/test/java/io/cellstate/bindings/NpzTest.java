package io.cellstate.bindings;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NpzTest {
    private static final int LOCAL = 0x04034b50;
    private static final int CENTRAL = 0x02014b50;

    @TempDir
    Path dir;

    static Map<String, NpyArray> sample() {
        Map<String, NpyArray> m = new LinkedHashMap<>();
        m.put("y", NpyArray.ofFloats(new float[] {1f, 2f, 3f, 4f, 5f, 6f}, 3, 1, 2));
        m.put("hN", NpyArray.ofDoubles(new double[] {0.25, -0.5}, 1, 1, 2));
        m.put("lengths", NpyArray.ofLongs(new long[] {3, 1}, 2));
        m.put("ids", NpyArray.ofInts(new int[] {7}, 1));
        return m;
    }

    /** A zip of raw entries, each stored or deflated as asked. */
    static byte[] zip(boolean deflate, Map<String, byte[]> entries) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(out)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                ZipEntry ze = new ZipEntry(e.getKey());
                if (!deflate) {
                    CRC32 crc = new CRC32();
                    crc.update(e.getValue());
                    ze.setMethod(ZipEntry.STORED);
                    ze.setSize(e.getValue().length);
                    ze.setCompressedSize(e.getValue().length);
                    ze.setCrc(crc.getValue());
                }
                z.putNextEntry(ze);
                z.write(e.getValue());
                z.closeEntry();
            }
        }
        return out.toByteArray();
    }

    /** Sets the uncompressed size every central directory header declares (and local, where present). */
    static void declareSize(byte[] zip, long size) {
        ByteBuffer b = ByteBuffer.wrap(zip).order(ByteOrder.LITTLE_ENDIAN);
        for (int k = 0; k + 4 <= zip.length; k++) {
            if (b.getInt(k) == CENTRAL) {
                b.putInt(k + 24, (int) size);
            } else if (b.getInt(k) == LOCAL && b.getInt(k + 22) != 0) {
                b.putInt(k + 22, (int) size);
            }
        }
    }

    /** Sets the compressed size every central directory header declares. */
    static void declareCompressedSize(byte[] zip, long size) {
        ByteBuffer b = ByteBuffer.wrap(zip).order(ByteOrder.LITTLE_ENDIAN);
        for (int k = 0; k + 4 <= zip.length; k++) {
            if (b.getInt(k) == CENTRAL) {
                b.putInt(k + 20, (int) size);
            }
        }
    }

    ModelFormatException refused(byte[] file, Npz.Limits limits, String problem) throws Exception {
        Path f = dir.resolve("bad.npz");
        Files.write(f, file);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> Npz.read(f, limits));
        assertTrue(e.getMessage().contains(problem), () -> "expected \"" + problem + "\" in: " + e.getMessage());
        assertEquals(f.toString(), e.file());
        return e;
    }

    @Test
    void roundTripsStoredAndDeflated() throws Exception {
        for (boolean compress : new boolean[] {false, true}) {
            Path f = dir.resolve("a.npz");
            Npz.write(f, sample(), compress);
            Map<String, NpyArray> back = Npz.read(f);
            assertEquals(sample(), back);
            assertEquals(sample().keySet().stream().toList(), back.keySet().stream().toList(), "order kept");
        }
    }

    @Test
    void refusesWhatIsNotAZip() throws Exception {
        refused("not a zip at all".getBytes(StandardCharsets.US_ASCII), Npz.Limits.DEFAULT, "not a readable zip archive");
    }

    @Test
    void refusesTooManyEntries() throws Exception {
        Path f = dir.resolve("many.npz");
        Npz.write(f, sample(), false);
        refused(Files.readAllBytes(f), new Npz.Limits(3, 1 << 20), "4 entries, over the limit of 3");
    }

    @Test
    void refusesARealBombByTheTotalLimit() throws Exception {
        byte[] zeros = Npy.toBytes(NpyArray.ofFloats(new float[4 << 20], 4 << 20)); // 16 MiB deflating to ~16 KiB
        byte[] bomb = zip(true, Map.of("z.npy", zeros));
        assertTrue(bomb.length < 100_000, "the bomb is small: " + bomb.length);
        refused(bomb, new Npz.Limits(16, 1 << 20), "more than 1048576 bytes uncompressed");
    }

    @Test
    void refusesADeclaredSizeDeflateCannotProduce() throws Exception {
        byte[] z = zip(true, Map.of("x.npy", Npy.toBytes(NpyArray.ofFloats(new float[] {1f}, 1))));
        declareSize(z, 1_500_000_000L);
        ModelFormatException e = refused(z, Npz.Limits.DEFAULT, "zip bomb");
        assertEquals("entry 'x.npy'", e.where());
    }

    @Test
    void refusesSizesThatLie() throws Exception {
        byte[] npy = Npy.toBytes(NpyArray.ofFloats(new float[64], 64));
        byte[] more = zip(true, Map.of("x.npy", npy));
        declareSize(more, npy.length + 100);
        refused(more, Npz.Limits.DEFAULT, "declares " + (npy.length + 100));
        byte[] less = zip(true, Map.of("x.npy", npy));
        declareSize(less, npy.length - 100);
        refused(less, Npz.Limits.DEFAULT, "inflates to more than");
        byte[] stored = zip(false, Map.of("x.npy", npy));
        declareSize(stored, npy.length * 2L);
        refused(stored, Npz.Limits.DEFAULT, "more than a stored entry holds");
    }

    @Test
    void refusesAnArchiveCommentRunningPastTheEnd() throws Exception {
        // the END record's comment length says 100 bytes that are not there: the JDK's zip reader says
        // EOFException, not ZipException (found by fuzzing)
        byte[] z = zip(false, Map.of("x.npy", Npy.toBytes(NpyArray.ofFloats(new float[] {1f}, 1))));
        ByteBuffer.wrap(z).order(ByteOrder.LITTLE_ENDIAN).putShort(z.length - 2, (short) 100);
        ModelFormatException e = refused(z, Npz.Limits.DEFAULT, "not a readable zip archive");
        assertEquals("offset 0", e.where());
    }

    @Test
    void refusesDeflatedDataThatEndEarly() throws Exception {
        // the JDK's inflater stream says EOFException, not ZipException, when the compressed data run out
        // (found by fuzzing)
        byte[] z = zip(true, Map.of("x.npy", Npy.toBytes(NpyArray.ofFloats(new float[] {1f, 2f, 3f}, 3))));
        declareCompressedSize(z, 10);
        ModelFormatException e = refused(z, Npz.Limits.DEFAULT, "corrupt data");
        assertEquals("entry 'x.npy'", e.where());
    }

    @Test
    void refusesSizesTheArchiveCannotHold() throws Exception {
        // a stored entry whose sizes agree is not limited by deflate's ratio: 1.5 GB declared in a file of
        // about 300 bytes was allocated before reading (an OutOfMemoryError under a small heap)
        byte[] npy = Npy.toBytes(NpyArray.ofFloats(new float[] {1f}, 1));
        byte[] z = zip(false, Map.of("x.npy", npy));
        declareSize(z, 1_500_000_000L);
        declareCompressedSize(z, 1_500_000_000L);
        ModelFormatException e = refused(z, Npz.Limits.DEFAULT, "declares 1500000000 compressed bytes: with the entries before it,"
                + " more than the archive's " + z.length + " bytes");
        assertEquals("entry 'x.npy'", e.where());
        // two entries, the second claiming more than the bytes the first leaves
        Map<String, byte[]> two = new LinkedHashMap<>();
        two.put("a.npy", npy);
        two.put("b.npy", npy);
        byte[] both = zip(false, two);
        ByteBuffer b = ByteBuffer.wrap(both).order(ByteOrder.LITTLE_ENDIAN);
        int second = new String(both, StandardCharsets.ISO_8859_1).lastIndexOf("PK\u0001\u0002");
        b.putInt(second + 20, both.length - npy.length + 1).putInt(second + 24, both.length - npy.length + 1);
        e = refused(both, Npz.Limits.DEFAULT, "with the entries before it, more than the archive's " + both.length + " bytes");
        assertEquals("entry 'b.npy'", e.where());
    }

    @Test
    void refusesCorruptData() throws Exception {
        byte[] npy = Npy.toBytes(NpyArray.ofFloats(new float[] {1f, 2f}, 2));
        byte[] z = zip(false, Map.of("x.npy", npy));
        z[30 + "x.npy".length() + npy.length - 1] ^= 1; // the last data byte of the only entry
        refused(z, Npz.Limits.DEFAULT, "checksum mismatch");
    }

    @Test
    void refusesDuplicateNames() throws Exception {
        byte[] a = Npy.toBytes(NpyArray.ofFloats(new float[] {1f}, 1));
        Map<String, byte[]> entries = new LinkedHashMap<>();
        entries.put("a.npy", a);
        entries.put("b.npy", a);
        byte[] z = zip(false, entries);
        // rename b.npy to a.npy, in the local and the central header (ZipOutputStream refuses to write it)
        String s = new String(z, StandardCharsets.ISO_8859_1).replace("b.npy", "a.npy");
        refused(s.getBytes(StandardCharsets.ISO_8859_1), Npz.Limits.DEFAULT, "a second entry named 'a.npy'");
    }

    @Test
    void refusesEntriesOtherThanNpy() throws Exception {
        refused(zip(true, Map.of("readme.txt", new byte[] {1})), Npz.Limits.DEFAULT, "not a .npy entry");
    }

    @Test
    void namesTheEntryOfAMalformedArray() throws Exception {
        byte[] npy = Npy.toBytes(NpyArray.ofFloats(new float[] {1f, 2f}, 2));
        byte[] cut = java.util.Arrays.copyOf(npy, npy.length - 1);
        ModelFormatException e = refused(zip(true, Map.of("w.npy", cut)), Npz.Limits.DEFAULT, "short data");
        assertTrue(e.where().startsWith("entry 'w.npy', offset "), e.where());
    }
}
