package io.cellstate.bindings;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * How the dimensions of a tensor map onto the axes of a source tensor, after transposes, reshapes that
 * merge neighbouring dimensions, squeezes, unsqueezes and slices: each source axis keeps a range
 * {@code [start, start + len)}, and each dimension of the tensor is a group of source axes in row-major
 * order (an empty group is a dimension of size 1). A source axis in no group has a range of length 1.
 * {@code len == -1} marks an axis whose size is known only when the model runs (time, batch), taken whole.
 * Immutable.
 */
final class Arrangement {
    /** The start of each source axis's range. */
    private final int[] start;
    /** The length of each source axis's range; -1 for the whole of a size known at run time. */
    private final int[] len;
    /** The source axes of each dimension. */
    private final List<int[]> groups;

    private Arrangement(int[] start, int[] len, List<int[]> groups) {
        this.start = start;
        this.len = len;
        this.groups = List.copyOf(groups);
    }

    /** The source itself: dimension i is axis i, whole; {@code sizes[i] == -1} for a size known at run time. */
    static Arrangement of(int... sizes) {
        List<int[]> g = new ArrayList<>();
        for (int i = 0; i < sizes.length; i++) {
            g.add(new int[] {i});
        }
        return new Arrangement(new int[sizes.length], sizes.clone(), g);
    }

    /** The source axes in the given groups, each whole. */
    static Arrangement grouped(int[] sizes, int[]... groups) {
        return new Arrangement(new int[sizes.length], sizes.clone(), Arrays.asList(groups));
    }

    /** This arrangement with axis {@code axis} restricted to {@code [from, from + length)} of the source. */
    Arrangement restrict(int axis, int from, int length) {
        int[] s = start.clone();
        int[] l = len.clone();
        s[axis] = from;
        l[axis] = length;
        return new Arrangement(s, l, groups);
    }

    int rank() {
        return groups.size();
    }

    int[] group(int dim) {
        return groups.get(dim).clone();
    }

    int start(int axis) {
        return start[axis];
    }

    int length(int axis) {
        return len[axis];
    }

    /** The size of dimension {@code dim} if known before running, else -1. */
    long staticSize(int dim) {
        long n = 1;
        for (int a : groups.get(dim)) {
            if (len[a] < 0) {
                return -1;
            }
            n *= len[a];
        }
        return n;
    }

    /** Dimension {@code dim} is exactly source axis {@code axis}, whole ({@code size} long, -1 if known at run time). */
    boolean isWholeAxis(int dim, int axis, int size) {
        int[] g = groups.get(dim);
        return g.length == 1 && g[0] == axis && start[axis] == 0 && len[axis] == size;
    }

    /** The groups without axes of length 1 (which do not change the order of elements), for comparing. */
    List<List<Integer>> essentialGroups() {
        List<List<Integer>> out = new ArrayList<>();
        for (int[] g : groups) {
            List<Integer> e = new ArrayList<>();
            for (int a : g) {
                if (len[a] != 1) {
                    e.add(a);
                }
            }
            out.add(e);
        }
        return out;
    }

    /** Whether every axis in a group is whole ({@code sizes[a]}, or -1 at run time) and every axis outside is at 0. */
    boolean isUnsliced(int[] sizes) {
        boolean[] used = new boolean[len.length];
        for (int[] g : groups) {
            for (int a : g) {
                used[a] = true;
            }
        }
        for (int a = 0; a < len.length; a++) {
            if (start[a] != 0 || (used[a] ? len[a] != sizes[a] : len[a] != 1)) {
                return false;
            }
        }
        return true;
    }

    /** ONNX Transpose: dimension i of the result is dimension {@code perm[i]} of this one. */
    Arrangement transpose(long[] perm) {
        if (perm.length != rank()) {
            throw new IllegalArgumentException("perm " + Arrays.toString(perm) + " for a tensor of rank " + rank());
        }
        List<int[]> g = new ArrayList<>();
        boolean[] seen = new boolean[rank()];
        for (long p : perm) {
            if (p < 0 || p >= rank() || seen[(int) p]) {
                throw new IllegalArgumentException("perm " + Arrays.toString(perm) + " is not a permutation of 0.." + (rank() - 1));
            }
            seen[(int) p] = true;
            g.add(groups.get((int) p));
        }
        return new Arrangement(start, len, g);
    }

    /** ONNX Squeeze of dimension {@code dim}, which must be of size 1. */
    Arrangement squeeze(int dim) {
        if (staticSize(dim) != 1) {
            throw new IllegalArgumentException("squeezes dimension " + dim + ", whose size is not 1");
        }
        List<int[]> g = new ArrayList<>(groups);
        g.remove(dim);
        return new Arrangement(start, len, g);
    }

    /** ONNX Unsqueeze: a dimension of size 1 inserted at {@code dim}. */
    Arrangement unsqueeze(int dim) {
        List<int[]> g = new ArrayList<>(groups);
        g.add(dim, new int[0]);
        return new Arrangement(start, len, g);
    }

    /**
     * ONNX Slice of dimension {@code dim} (step 1) with ONNX's clamping, when the dimension is one source
     * axis of a size known now; or a no-op slice ({@code [0, large)}) of any dimension.
     */
    Arrangement slice(int dim, long from, long to) {
        long size = staticSize(dim);
        if (size < 0) {
            if (from == 0 && to >= Integer.MAX_VALUE) {
                return this;
            }
            int[] g = groups.get(dim);
            if (from < 0 || to < from || to >= Integer.MAX_VALUE || g.length != 1 || start[g[0]] != 0) {
                throw new IllegalArgumentException("slices [" + from + ", " + to + ") of dimension " + dim
                        + ", whose size is known only at run time");
            }
            return restrict(g[0], (int) from, (int) (to - from)); // the run checks that the size reaches `to`
        }
        int[] g = groups.get(dim);
        long s = Math.clamp(from < 0 ? from + size : from, 0, size);
        long e = Math.clamp(to < 0 ? to + size : to, 0, size);
        if (s == 0 && e == size) {
            return this;
        }
        if (g.length != 1) {
            throw new IllegalArgumentException("slices dimension " + dim + ", which merges several axes");
        }
        int a = g[0];
        int[] st = start.clone();
        int[] l = len.clone();
        st[a] += (int) s;
        l[a] = (int) Math.max(0, e - s);
        return new Arrangement(st, l, groups);
    }

    /** ONNX Gather of one index along {@code dim}: the slice {@code [i, i + 1)} with the dimension removed. */
    Arrangement pick(int dim, long index) {
        long size = staticSize(dim);
        if (size < 0 || index < -size || index >= size) {
            throw new IllegalArgumentException("gathers index " + index + " of dimension " + dim + " of size "
                    + (size < 0 ? "known only at run time" : size));
        }
        Arrangement s = slice(dim, index < 0 ? index + size : index, (index < 0 ? index + size : index) + 1);
        List<int[]> g = new ArrayList<>(s.groups);
        g.remove(dim);
        return new Arrangement(s.start, s.len, g);
    }

    /**
     * ONNX Reshape (allowzero 0) to {@code shape}, where it only merges neighbouring dimensions, drops or
     * adds dimensions of size 1, and keeps others: 0 copies the dimension at that index, -1 (last only)
     * takes the rest.
     */
    Arrangement reshape(long[] shape) {
        List<int[]> out = new ArrayList<>();
        int next = 0;
        for (int i = 0; i < shape.length; i++) {
            long want = shape[i];
            if (want == 0) {
                if (i >= rank() || next != i) {
                    throw new IllegalArgumentException("reshape to " + Arrays.toString(shape) + ": copies dimension " + i
                            + " after merging others");
                }
                out.add(groups.get(next++));
            } else if (want == -1) {
                if (i != shape.length - 1) {
                    throw new IllegalArgumentException("reshape to " + Arrays.toString(shape) + ": -1 only as the last entry");
                }
                List<Integer> merged = new ArrayList<>();
                while (next < rank()) {
                    for (int a : groups.get(next++)) {
                        merged.add(a);
                    }
                }
                out.add(merged.stream().mapToInt(Integer::intValue).toArray());
            } else if (want == 1) {
                out.add(next < rank() && staticSize(next) == 1 ? groups.get(next++) : new int[0]);
            } else if (want > 0) {
                List<Integer> merged = new ArrayList<>();
                long have = 1;
                while (have < want && next < rank()) {
                    long sz = staticSize(next);
                    if (sz < 0) {
                        throw new IllegalArgumentException("reshape to " + Arrays.toString(shape) + ": entry " + i + " = "
                                + want + " would merge a dimension known only at run time");
                    }
                    for (int a : groups.get(next++)) {
                        merged.add(a);
                    }
                    have *= sz;
                }
                if (have != want) {
                    throw new IllegalArgumentException("reshape to " + Arrays.toString(shape) + ": entry " + i + " = " + want
                            + " does not merge whole dimensions");
                }
                out.add(merged.stream().mapToInt(Integer::intValue).toArray());
            } else {
                throw new IllegalArgumentException("reshape to " + Arrays.toString(shape) + ": entry " + want);
            }
        }
        while (next < rank()) {
            if (staticSize(next) != 1) {
                throw new IllegalArgumentException("reshape to " + Arrays.toString(shape) + " leaves dimensions over");
            }
            next++;
        }
        return new Arrangement(start, len, out);
    }

    /** The tensor's shape, given the source's run-time axis sizes. */
    int[] shape(int[] sourceSizes) {
        int[] s = new int[rank()];
        for (int d = 0; d < rank(); d++) {
            long n = 1;
            for (int a : groups.get(d)) {
                n *= len[a] < 0 ? sourceSizes[a] : len[a];
            }
            s[d] = Math.toIntExact(n);
        }
        return s;
    }

    /**
     * The tensor, read from a source in row-major order whose axes have the given sizes.
     *
     * @param source      the source's elements, row-major
     * @param sourceSizes the source's axis sizes
     * @return the tensor's elements, row-major in {@link #shape}
     */
    float[] gather(float[] source, int[] sourceSizes) {
        int[] shape = shape(sourceSizes);
        int n = 1;
        for (int s : shape) {
            n = Math.multiplyExact(n, s);
        }
        long[] stride = new long[sourceSizes.length];
        long acc = 1;
        for (int a = sourceSizes.length - 1; a >= 0; a--) {
            stride[a] = acc;
            acc *= sourceSizes[a];
        }
        long base = 0;
        for (int a = 0; a < start.length; a++) {
            base += start[a] * stride[a];
        }
        // Each output dimension advances through its group's axes like an odometer.
        int[] flatAxes = groups.stream().flatMapToInt(Arrays::stream).toArray();
        int[] axisLen = new int[flatAxes.length];
        for (int i = 0; i < flatAxes.length; i++) {
            int a = flatAxes[i];
            axisLen[i] = len[a] < 0 ? sourceSizes[a] : len[a];
        }
        float[] out = new float[n];
        int[] idx = new int[flatAxes.length];
        long offset = base;
        for (int k = 0; k < n; k++) {
            out[k] = source[(int) offset];
            for (int i = flatAxes.length - 1; i >= 0; i--) {
                int a = flatAxes[i];
                if (++idx[i] < axisLen[i]) {
                    offset += stride[a];
                    break;
                }
                offset -= (long) (axisLen[i] - 1) * stride[a];
                idx[i] = 0;
            }
        }
        return out;
    }

    /**
     * This arrangement and {@code next} joined along dimension {@code dim}, when both are the same but for
     * that dimension, which is source axis {@code axis} in both and where {@code next} continues this one's
     * range; else null.
     */
    Arrangement concat(Arrangement next, int dim, int axis) {
        if (rank() != next.rank() || dim < 0 || dim >= rank()) {
            return null;
        }
        for (int d = 0; d < rank(); d++) {
            if (!Arrays.equals(groups.get(d), next.groups.get(d))) {
                return null;
            }
        }
        if (!Arrays.equals(groups.get(dim), new int[] {axis}) || len[axis] < 0 || next.len[axis] < 0
                || start[axis] + len[axis] != next.start[axis]) {
            return null;
        }
        for (int a = 0; a < len.length; a++) {
            if (a != axis && (start[a] != next.start[a] || len[a] != next.len[a])) {
                return null;
            }
        }
        return restrict(axis, start[axis], len[axis] + next.len[axis]);
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("[");
        for (int[] g : groups) {
            b.append(b.length() > 1 ? ", " : "").append(Arrays.toString(g));
        }
        return b.append("] of ").append(Arrays.toString(start)).append('+').append(Arrays.toString(len)).toString();
    }
}
