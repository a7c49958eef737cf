package io.cellstate.bindings;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * What the fuzz tests hold every reader to, whatever the bytes: it returns, or it refuses with a
 * {@link ModelFormatException} naming the file, the place and the problem. Anything else it throws
 * (a RuntimeException, an IOException of another kind, an Error such as OutOfMemoryError) escapes
 * the fuzz test, which is what Jazzer reports as a finding. And what it allocates on the heap stays
 * within what the input's size justifies, so a header that lies about sizes is caught even when the
 * lie is smaller than the heap.
 */
final class ReaderContract {
    /**
     * Heap a read may take beyond its share per input byte: the JDK's zip reader and inflater buffers,
     * a header's parse. A reader that trusts a declared size allocates hundreds of MiB from a few
     * bytes, far past this.
     */
    static final long SLACK_BYTES = 16L << 20;

    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private ReaderContract() {
    }

    /** A read of one input. */
    @FunctionalInterface
    interface Read<T> {
        T read() throws IOException;
    }

    /**
     * Runs a read, holding it to the contract.
     *
     * @param source the name the reader was given, which a refusal must name
     * @param heapPerByte the heap the read may allocate per input byte (beyond {@link #SLACK_BYTES})
     * @param inputBytes the input's size
     * @param read the read
     * @return what it read, or null if it refused the input
     * @throws IOException anything the read threw other than a {@link ModelFormatException}: a finding
     */
    static <T> T readOrRefuse(String source, long heapPerByte, long inputBytes, Read<T> read) throws IOException {
        long justified = heapPerByte * inputBytes + SLACK_BYTES;
        Outcome<T> first = outcome(source, read);
        if (first.allocated <= justified) {
            return first.value;
        }
        // Once more before calling it a finding: the first use of a class loads it on this thread, and
        // under Jazzer instruments it too, which can take tens of MiB; a read allocates the same twice.
        Outcome<T> second = outcome(source, read);
        if (second.allocated > justified) {
            throw new AssertionError("read " + (second.value == null ? "refused" : "returned") + " after allocating "
                    + second.allocated + " bytes from " + inputBytes + " input bytes, over the " + justified + " they justify");
        }
        return second.value;
    }

    private record Outcome<T>(T value, long allocated) {
    }

    private static <T> Outcome<T> outcome(String source, Read<T> read) throws IOException {
        long before = THREADS.getCurrentThreadAllocatedBytes();
        T value;
        try {
            value = read.read();
        } catch (ModelFormatException e) {
            assertEquals(source, e.file(), e::getMessage);
            assertFalse(e.where().isBlank(), e::getMessage);
            assertFalse(e.problem().isBlank(), e::getMessage);
            value = null;
        }
        return new Outcome<>(value, THREADS.getCurrentThreadAllocatedBytes() - before);
    }

    /** The product of a shape's dimensions, exact. */
    static long elements(int[] shape) {
        long n = 1;
        for (int d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /**
     * Checks that an array's elements, written back little-endian, are the bits the file held: its
     * data are its last bytes (readers refuse trailing bytes), in either byte order.
     */
    static void sameData(byte[] file, byte[] rewritten, NpyArray array) {
        int size = array.dtype().byteSize();
        int n = Math.multiplyExact(array.size(), size);
        byte[] original = Arrays.copyOfRange(file, file.length - n, file.length);
        byte[] written = Arrays.copyOfRange(rewritten, rewritten.length - n, rewritten.length);
        if (Arrays.equals(original, written)) {
            return;
        }
        ByteBuffer big = ByteBuffer.wrap(original).order(ByteOrder.BIG_ENDIAN);
        ByteBuffer little = ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
        for (int k = 0; k < n; k += size) {
            if (size == 4) {
                little.putInt(big.getInt(k));
            } else {
                little.putLong(big.getLong(k));
            }
        }
        assertArrayEquals(little.array(), written, () -> array + ": elements written back differ from the file's bits");
    }
}
