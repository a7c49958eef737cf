package io.cellstate.bindings;

import java.util.Arrays;

/**
 * An n-dimensional array as NumPy stores it: a dtype, a shape and the elements in C order (row-major).
 * Immutable: the factories and the accessors copy.
 */
public final class NpyArray {

    /** The element types this package reads and writes. */
    public enum DType {
        /** IEEE 754 single precision ({@code f4}). */
        FLOAT32('f', 4),
        /** IEEE 754 double precision ({@code f8}). */
        FLOAT64('f', 8),
        /** Two's complement 32-bit integer ({@code i4}). */
        INT32('i', 4),
        /** Two's complement 64-bit integer ({@code i8}). */
        INT64('i', 8);

        final char kind;
        final int size;

        DType(char kind, int size) {
            this.kind = kind;
            this.size = size;
        }

        /**
         * The size of one element.
         *
         * @return bytes per element
         */
        public int byteSize() {
            return size;
        }
    }

    private final DType dtype;
    private final int[] shape;
    private final Object data; // float[], double[], int[] or long[], matching dtype

    private NpyArray(DType dtype, int[] shape, Object data, int length) {
        this.dtype = dtype;
        this.shape = shape.clone();
        long n = 1;
        for (int d : this.shape) {
            if (d < 0) {
                throw new IllegalArgumentException("shape " + Arrays.toString(shape) + ": negative dimension");
            }
            // saturated at 2^31, not refused there: a later dimension of 0 makes the product 0
            n = Math.min(n * d, Integer.MAX_VALUE + 1L);
        }
        if (n > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + ": more than 2^31-1 elements");
        }
        if (n != length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " holds " + n + " elements, data has " + length);
        }
        this.data = data;
    }

    /**
     * A float32 array.
     *
     * @param data the elements in C order (copied)
     * @param shape the dimensions; none for a scalar
     * @return the array
     * @throws IllegalArgumentException if the shape's product is not {@code data.length}
     */
    public static NpyArray ofFloats(float[] data, int... shape) {
        return new NpyArray(DType.FLOAT32, shape, data.clone(), data.length);
    }

    /**
     * A float64 array.
     *
     * @param data the elements in C order (copied)
     * @param shape the dimensions; none for a scalar
     * @return the array
     * @throws IllegalArgumentException if the shape's product is not {@code data.length}
     */
    public static NpyArray ofDoubles(double[] data, int... shape) {
        return new NpyArray(DType.FLOAT64, shape, data.clone(), data.length);
    }

    /**
     * An int32 array.
     *
     * @param data the elements in C order (copied)
     * @param shape the dimensions; none for a scalar
     * @return the array
     * @throws IllegalArgumentException if the shape's product is not {@code data.length}
     */
    public static NpyArray ofInts(int[] data, int... shape) {
        return new NpyArray(DType.INT32, shape, data.clone(), data.length);
    }

    /**
     * An int64 array.
     *
     * @param data the elements in C order (copied)
     * @param shape the dimensions; none for a scalar
     * @return the array
     * @throws IllegalArgumentException if the shape's product is not {@code data.length}
     */
    public static NpyArray ofLongs(long[] data, int... shape) {
        return new NpyArray(DType.INT64, shape, data.clone(), data.length);
    }

    /** Wraps arrays the reader made, without copies. */
    static NpyArray wrap(DType dtype, int[] shape, Object data, int length) {
        return new NpyArray(dtype, shape, data, length);
    }

    /**
     * The element type.
     *
     * @return the dtype
     */
    public DType dtype() {
        return dtype;
    }

    /**
     * The dimensions.
     *
     * @return a copy of the shape; empty for a scalar
     */
    public int[] shape() {
        return shape.clone();
    }

    /**
     * The number of elements.
     *
     * @return the shape's product
     */
    public int size() {
        return switch (data) {
            case float[] f -> f.length;
            case double[] d -> d.length;
            case int[] i -> i.length;
            case long[] l -> l.length;
            default -> throw new AssertionError(data);
        };
    }

    /**
     * The elements as float32: float64 rounded to the nearest float.
     *
     * @return a new array in C order
     * @throws IllegalStateException if the array holds integers
     */
    public float[] toFloats() {
        return switch (data) {
            case float[] f -> f.clone();
            case double[] d -> {
                float[] f = new float[d.length];
                for (int k = 0; k < d.length; k++) {
                    f[k] = (float) d[k];
                }
                yield f;
            }
            default -> throw new IllegalStateException("a " + dtype + " array holds integers, not floats");
        };
    }

    /**
     * The elements as float64 (float32 widened exactly).
     *
     * @return a new array in C order
     * @throws IllegalStateException if the array holds integers
     */
    public double[] toDoubles() {
        return switch (data) {
            case double[] d -> d.clone();
            case float[] f -> {
                double[] d = new double[f.length];
                for (int k = 0; k < f.length; k++) {
                    d[k] = f[k];
                }
                yield d;
            }
            default -> throw new IllegalStateException("a " + dtype + " array holds integers, not floats");
        };
    }

    /**
     * The elements as int: int64 values must fit.
     *
     * @return a new array in C order
     * @throws IllegalStateException if the array holds floats
     * @throws ArithmeticException if an int64 element is out of int's range, naming its index
     */
    public int[] toInts() {
        return switch (data) {
            case int[] i -> i.clone();
            case long[] l -> {
                int[] i = new int[l.length];
                for (int k = 0; k < l.length; k++) {
                    if (l[k] != (int) l[k]) {
                        throw new ArithmeticException("element " + k + " = " + l[k] + " does not fit in an int");
                    }
                    i[k] = (int) l[k];
                }
                yield i;
            }
            default -> throw new IllegalStateException("a " + dtype + " array holds floats, not integers");
        };
    }

    /**
     * The elements as long (int32 widened).
     *
     * @return a new array in C order
     * @throws IllegalStateException if the array holds floats
     */
    public long[] toLongs() {
        return switch (data) {
            case long[] l -> l.clone();
            case int[] i -> {
                long[] l = new long[i.length];
                for (int k = 0; k < i.length; k++) {
                    l[k] = i[k];
                }
                yield l;
            }
            default -> throw new IllegalStateException("a " + dtype + " array holds floats, not integers");
        };
    }

    /** The backing array, for the writer. */
    Object data() {
        return data;
    }

    /** Same dtype, shape and elements (floats compared bit for bit). */
    @Override
    public boolean equals(Object o) {
        if (!(o instanceof NpyArray a) || a.dtype != dtype || !Arrays.equals(a.shape, shape)) {
            return false;
        }
        return switch (data) {
            case float[] f -> Arrays.equals(f, (float[]) a.data);
            case double[] d -> Arrays.equals(d, (double[]) a.data);
            case int[] i -> Arrays.equals(i, (int[]) a.data);
            case long[] l -> Arrays.equals(l, (long[]) a.data);
            default -> false;
        };
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(shape) + dtype.hashCode();
    }

    @Override
    public String toString() {
        return dtype + Arrays.toString(shape);
    }
}
