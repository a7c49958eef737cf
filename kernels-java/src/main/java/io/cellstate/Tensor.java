package io.cellstate;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Objects;

/**
 * A dense float32 tensor, row-major, over a {@link MemorySegment}: on the heap (wrapping a
 * {@code float[]} without a copy) or off-heap (shareable with native code without a copy).
 *
 * <p>A tensor is a view: it owns no memory. The segment's owner (an {@link Arena}, or the array)
 * decides its lifetime. Shapes are checked when the view is made.
 */
public final class Tensor {
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final MemorySegment segment;
    private final int[] shape;
    private final long size;

    private Tensor(MemorySegment segment, int[] shape, long size) {
        this.segment = segment;
        this.shape = shape;
        this.size = size;
    }

    /**
     * A view of {@code data} with the given shape; no copy.
     *
     * @param data  the elements, row-major; its length must equal the element count
     * @param shape the dimensions, each at least 0
     * @return the view
     * @throws IllegalArgumentException if the length does not match the shape
     */
    public static Tensor of(float[] data, int... shape) {
        Objects.requireNonNull(data, "data");
        long n = count(shape);
        if (data.length != n) {
            throw new IllegalArgumentException("data: expected " + n + " floats for shape " + Arrays.toString(shape)
                    + ", got " + data.length);
        }
        return new Tensor(MemorySegment.ofArray(data), shape.clone(), n);
    }

    /**
     * A new zero-filled heap tensor.
     *
     * @param shape the dimensions, each at least 0
     * @return the tensor
     * @throws IllegalArgumentException for a negative dimension or too many elements for a Java array
     */
    public static Tensor zeros(int... shape) {
        long n = count(shape);
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("shape: expected at most " + (Integer.MAX_VALUE - 8)
                    + " elements for a heap tensor, got " + n + "; allocate it off-heap with Tensor.allocate");
        }
        return new Tensor(MemorySegment.ofArray(new float[(int) n]), shape.clone(), n);
    }

    /**
     * A new zero-filled off-heap tensor owned by {@code arena}.
     *
     * @param arena the arena whose lifetime the memory has
     * @param shape the dimensions, each at least 0
     * @return the tensor, 64-byte aligned
     */
    public static Tensor allocate(Arena arena, int... shape) {
        Objects.requireNonNull(arena, "arena");
        long n = count(shape);
        return new Tensor(arena.allocate(n * Float.BYTES, 64), shape.clone(), n);
    }

    /**
     * A view of {@code segment} with the given shape; no copy.
     *
     * @param segment exactly {@code 4 * count(shape)} bytes of floats, row-major
     * @param shape   the dimensions, each at least 0
     * @return the view
     * @throws IllegalArgumentException if the size does not match the shape
     */
    public static Tensor wrap(MemorySegment segment, int... shape) {
        Objects.requireNonNull(segment, "segment");
        long n = count(shape);
        if (segment.byteSize() != n * Float.BYTES) {
            throw new IllegalArgumentException("segment: expected " + n * Float.BYTES + " bytes for shape "
                    + Arrays.toString(shape) + ", got " + segment.byteSize());
        }
        return new Tensor(segment, shape.clone(), n);
    }

    private static long count(int[] shape) {
        Objects.requireNonNull(shape, "shape");
        if (shape.length == 0) {
            throw new IllegalArgumentException("shape: expected at least one dimension, got []");
        }
        long n = 1;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] < 0) {
                throw new IllegalArgumentException("shape[" + i + "]: expected >= 0, got " + shape[i]);
            }
            n = Math.multiplyExact(n, shape[i]);
        }
        return n;
    }

    /**
     * The memory behind this view.
     *
     * @return the segment
     */
    public MemorySegment segment() {
        return segment;
    }

    /**
     * The dimensions.
     *
     * @return a copy of the shape
     */
    public int[] shape() {
        return shape.clone();
    }

    /**
     * The number of dimensions.
     *
     * @return the rank
     */
    public int rank() {
        return shape.length;
    }

    /**
     * One dimension.
     *
     * @param i which, from 0
     * @return its size
     */
    public int dim(int i) {
        return shape[i];
    }

    /**
     * Number of elements.
     *
     * @return the product of the dimensions
     */
    public long size() {
        return size;
    }

    /**
     * Whether the shape equals {@code expected}.
     *
     * @param expected the dimensions
     * @return true if they are this tensor's
     */
    public boolean hasShape(int... expected) {
        return Arrays.equals(shape, expected);
    }

    /**
     * The element at a flat (row-major) index.
     *
     * @param index from 0 to {@code size() - 1}
     * @return the element
     */
    public float getFlat(long index) {
        return segment.getAtIndex(FLOAT, index);
    }

    /**
     * Sets the element at a flat (row-major) index.
     *
     * @param index from 0 to {@code size() - 1}
     * @param value the element
     */
    public void setFlat(long index, float value) {
        segment.setAtIndex(FLOAT, index, value);
    }

    /**
     * The element at {@code index}.
     *
     * @param index one coordinate per dimension
     * @return the element
     */
    public float get(int... index) {
        return getFlat(flat(index));
    }

    /**
     * Sets the element at {@code index}.
     *
     * @param value the element
     * @param index one coordinate per dimension
     */
    public void set(float value, int... index) {
        setFlat(flat(index), value);
    }

    private long flat(int[] index) {
        if (index.length != shape.length) {
            throw new IllegalArgumentException("index: expected " + shape.length + " coordinates, got " + index.length);
        }
        long f = 0;
        for (int i = 0; i < shape.length; i++) {
            Objects.checkIndex(index[i], shape[i]);
            f = f * shape[i] + index[i];
        }
        return f;
    }

    /**
     * A new array holding a copy of every element.
     *
     * @return the elements, row-major
     */
    public float[] toArray() {
        return segment.toArray(ValueLayout.JAVA_FLOAT);
    }

    /**
     * Copies {@code src} into this tensor.
     *
     * @param src {@link #size()} floats, row-major
     * @return this tensor
     * @throws IllegalArgumentException if the length differs from {@link #size()}
     */
    public Tensor copyFrom(float[] src) {
        if (src.length != size) {
            throw new IllegalArgumentException("src: expected " + size + " floats, got " + src.length);
        }
        MemorySegment.copy(src, 0, segment, ValueLayout.JAVA_FLOAT, 0, src.length);
        return this;
    }

    /**
     * Sets every element to {@code value}.
     *
     * @param value the element
     * @return this tensor
     */
    public Tensor fill(float value) {
        for (long i = 0; i < size; i++) {
            segment.setAtIndex(FLOAT, i, value);
        }
        return this;
    }

    /**
     * The {@code float[]} behind this view, if it is a heap view starting on a whole float of one
     * (then kernels may read and write it directly, at {@link #heapOffset()}); otherwise null.
     *
     * @return the array, or null
     */
    public float[] heapArray() {
        return segment.heapBase().orElse(null) instanceof float[] a && segment.address() % Float.BYTES == 0 ? a : null;
    }

    /**
     * Float offset of this view into {@link #heapArray()} (meaningful only when that is not null).
     *
     * @return the offset in floats
     */
    public int heapOffset() {
        return (int) (segment.address() / Float.BYTES);
    }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape) + (segment.isNative() ? " (off-heap)" : " (heap)");
    }
}
