package io.cellstate.bindings;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/**
 * NumPy's {@code .npz} format: a zip archive of {@code .npy} entries, stored or deflated, as
 * {@code numpy.savez} and {@code numpy.savez_compressed} write it. An array's name is its entry's
 * name without the {@code .npy} suffix.
 *
 * <p>The reader is hardened against archives that lie: at most {@link Limits#maxEntries()} entries
 * and {@link Limits#maxTotalBytes()} bytes uncompressed in all; entries whose compressed sizes add up
 * to more than the archive holds (data that are not there, or overlap), an entry that declares more
 * than deflate can produce from its compressed size (a ratio over {@value #MAX_DEFLATE_RATIO}), that
 * inflates to more or less than it declares, or whose checksum is wrong, is refused, so nothing is
 * allocated beyond what the archive's size justifies; duplicate names, directories and entries
 * other than {@code .npy} are refused. Each entry is then read as {@link Npy} reads a file.
 */
public final class Npz {
    /** Deflate's largest possible expansion is about 1032:1 (a 258-byte match in 2 bits); a larger ratio is a lie. */
    public static final int MAX_DEFLATE_RATIO = 1032;

    private static final String SUFFIX = ".npy";

    /**
     * The bounds the reader enforces beyond those of the format.
     *
     * @param maxEntries the most entries an archive may hold
     * @param maxTotalBytes the most bytes its entries may hold uncompressed, together
     */
    public record Limits(int maxEntries, long maxTotalBytes) {
        /** 4096 entries, 2^31 bytes: the arrays of a recurrent network and its data with room to spare. */
        public static final Limits DEFAULT = new Limits(4096, 1L << 31);

        /**
         * Checks the bounds.
         *
         * @param maxEntries the most entries an archive may hold
         * @param maxTotalBytes the most bytes its entries may hold uncompressed, together
         * @throws IllegalArgumentException if a bound is not positive
         */
        public Limits {
            if (maxEntries < 1 || maxTotalBytes < 1) {
                throw new IllegalArgumentException("limits must be positive: " + maxEntries + " entries, " + maxTotalBytes + " bytes");
            }
        }
    }

    private Npz() {
    }

    /**
     * Reads a {@code .npz} file within the default limits.
     *
     * @param file the file
     * @return its arrays by name, in the archive's order
     * @throws ModelFormatException if the archive or an entry is malformed, naming the entry and the problem
     * @throws IOException if the file cannot be read
     */
    public static Map<String, NpyArray> read(Path file) throws IOException {
        return read(file, Limits.DEFAULT);
    }

    /**
     * Reads a {@code .npz} file.
     *
     * @param file the file
     * @param limits the bounds on entries and sizes
     * @return its arrays by name, in the archive's order
     * @throws ModelFormatException if the archive or an entry is malformed, naming the entry and the problem
     * @throws IOException if the file cannot be read
     */
    public static Map<String, NpyArray> read(Path file, Limits limits) throws IOException {
        String name = file.toString();
        long archiveBytes = Files.size(file);
        ZipFile zip;
        try {
            zip = new ZipFile(file.toFile());
        } catch (ZipException | EOFException e) {
            // the JDK's zip reader throws EOFException where a record (the archive comment) runs past the end
            throw new ModelFormatException(name, "offset 0", "not a readable zip archive (" + reason(e) + ")", e);
        }
        try (zip) {
            if (zip.size() > limits.maxEntries()) {
                throw new ModelFormatException(name, "central directory",
                        zip.size() + " entries, over the limit of " + limits.maxEntries());
            }
            Map<String, NpyArray> arrays = new LinkedHashMap<>();
            long total = 0;
            long compressedTotal = 0;
            for (ZipEntry e : Collections.list(zip.entries())) {
                String entry = e.getName();
                String where = "entry '" + entry + "'";
                if (e.isDirectory() || !entry.endsWith(SUFFIX)) {
                    throw new ModelFormatException(name, where, "not a .npy entry");
                }
                String key = entry.substring(0, entry.length() - SUFFIX.length());
                if (arrays.containsKey(key)) {
                    throw new ModelFormatException(name, where, "a second entry named '" + entry + "'");
                }
                long size = e.getSize();
                long compressed = e.getCompressedSize();
                if (size < 0 || compressed < 0) {
                    throw new ModelFormatException(name, where, "sizes unknown in the central directory");
                }
                // The entries' data lie in the archive, apart: without this a stored entry, whose sizes
                // agree, could declare 2 GB in a file of a few bytes, allocated before reading.
                if (compressed > archiveBytes - compressedTotal) {
                    throw new ModelFormatException(name, where, "declares " + compressed + " compressed bytes: with the entries"
                            + " before it, more than the archive's " + archiveBytes + " bytes (data that are not there or overlap)");
                }
                compressedTotal += compressed;
                if (e.getMethod() == ZipEntry.STORED ? size != compressed
                        : size > compressed * MAX_DEFLATE_RATIO + 1024) {
                    throw new ModelFormatException(name, where, "declares " + size + " bytes from " + compressed
                            + " compressed: more than " + (e.getMethod() == ZipEntry.STORED ? "a stored entry holds"
                            : "deflate can produce (a zip bomb)"));
                }
                total += size;
                if (total > limits.maxTotalBytes()) {
                    throw new ModelFormatException(name, where, "the entries hold more than " + limits.maxTotalBytes()
                            + " bytes uncompressed, the limit");
                }
                if (size > Formats.MAX_FILE_BYTES) {
                    throw new ModelFormatException(name, where, size + " bytes: entries over 2^31-9 bytes are not read");
                }
                byte[] bytes = new byte[(int) size];
                try (InputStream in = zip.getInputStream(e)) {
                    int got = in.readNBytes(bytes, 0, bytes.length);
                    if (got < bytes.length) {
                        throw new ModelFormatException(name, where, "inflates to " + got + " bytes, declares " + size);
                    }
                    if (in.read() >= 0) {
                        throw new ModelFormatException(name, where, "inflates to more than the " + size + " bytes it declares");
                    }
                } catch (ZipException | EOFException ex) {
                    // the JDK's inflater stream throws EOFException when the compressed data end early
                    throw new ModelFormatException(name, where, "corrupt data (" + reason(ex) + ")", ex);
                }
                CRC32 crc = new CRC32();
                crc.update(bytes);
                if (e.getCrc() != -1 && crc.getValue() != e.getCrc()) {
                    throw new ModelFormatException(name, where, "checksum mismatch: data corrupt");
                }
                arrays.put(key, Npy.parse(bytes, name, where + ", "));
            }
            return arrays;
        }
    }

    /** What the JDK's zip reader says went wrong; its EOFExceptions may say nothing. */
    private static String reason(IOException e) {
        return e.getMessage() != null ? e.getMessage() : e instanceof EOFException ? "the data end early" : e.toString();
    }

    /**
     * Writes a {@code .npz} file, as {@code numpy.savez} (stored) or {@code numpy.savez_compressed}
     * (deflated) would.
     *
     * @param file the file, replaced if it exists
     * @param arrays the arrays by name (each entry is the name plus {@code .npy})
     * @param compress whether to deflate the entries
     * @throws IOException if the file cannot be written
     */
    public static void write(Path file, Map<String, NpyArray> arrays, boolean compress) throws IOException {
        try (OutputStream out = Files.newOutputStream(file); ZipOutputStream zip = new ZipOutputStream(out)) {
            for (Map.Entry<String, NpyArray> a : arrays.entrySet()) {
                byte[] bytes = Npy.toBytes(a.getValue());
                ZipEntry e = new ZipEntry(a.getKey() + SUFFIX);
                if (compress) {
                    e.setMethod(ZipEntry.DEFLATED);
                } else {
                    // a stored entry must say its sizes and checksum before its data
                    CRC32 crc = new CRC32();
                    crc.update(bytes);
                    e.setMethod(ZipEntry.STORED);
                    e.setSize(bytes.length);
                    e.setCompressedSize(bytes.length);
                    e.setCrc(crc.getValue());
                }
                zip.putNextEntry(e);
                zip.write(bytes);
                zip.closeEntry();
            }
        }
    }
}
