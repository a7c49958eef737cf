package io.cellstate.cuda;

import static org.bytedeco.cuda.global.cudart.cudaMemcpy;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyDeviceToHost;
import static org.bytedeco.cuda.global.cudart.cudaMemcpyHostToDevice;

import io.cellstate.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.javacpp.Pointer;

/**
 * A dense float32 tensor in GPU memory, row-major, owned by the caller: {@link #close()} frees it.
 * With {@link CudnnPlan#forward(DeviceTensor, io.cellstate.Layout, int[], DeviceTensor, DeviceTensor,
 * DeviceTensor, DeviceTensor, DeviceTensor)} a framework keeps activations on the GPU and chains
 * layers without host round trips: plans queue their work without waiting, each on its own stream,
 * and a plan's work on a tensor waits on the GPU for the work other plans queued on it before
 * (the tensor remembers how far the last one had got). Copies to and from the host wait for every
 * plan's work.
 */
public final class DeviceTensor implements AutoCloseable {
    private final int[] shape;
    private final long size;
    private final Native.DeviceBuffer buffer;
    /** Frees the buffer: by close(), or by the cleaner for a tensor dropped unclosed. */
    private final io.cellstate.internal.Cleanup.Handle cleanup;
    private boolean closed;
    /** Where the last plan that queued work on this tensor has got to; null before any (see Native.Fence). */
    private volatile Native.Fence lastUse;

    private DeviceTensor(int[] shape, long size) {
        this.shape = shape;
        this.size = size;
        this.buffer = new Native.DeviceBuffer("device tensor " + Arrays.toString(shape), size * Float.BYTES);
        this.cleanup = io.cellstate.internal.Cleanup.register(this, buffer, "device tensor");
    }

    /**
     * A new device tensor of {@code shape} (contents undefined until written).
     *
     * @param shape the dimensions, each at least 1
     * @return the tensor; close it to free the device memory
     * @throws IllegalStateException if the cuDNN backend is unavailable here (the message says why)
     */
    public static DeviceTensor allocate(int... shape) {
        if (shape == null || shape.length == 0) {
            throw new IllegalArgumentException("shape: expected at least one dimension, got "
                    + (shape == null ? "null" : "[]"));
        }
        long n = 1;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] < 1) {
                throw new IllegalArgumentException("shape[" + i + "]: expected >= 1, got " + shape[i]);
            }
            n = Math.multiplyExact(n, shape[i]);
        }
        CudnnBackend.requireAvailable();
        return new DeviceTensor(shape.clone(), n);
    }

    /**
     * A new device tensor with the shape and contents of {@code host}.
     *
     * @param host the tensor to copy
     * @return the tensor; close it to free the device memory
     */
    public static DeviceTensor of(Tensor host) {
        DeviceTensor d = allocate(host.shape());
        try {
            return d.copyFrom(host);
        } catch (RuntimeException e) {
            d.close();
            throw e;
        }
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
     * Copies {@code src} from the host.
     *
     * @param src a tensor of the same element count
     * @return this tensor
     */
    public DeviceTensor copyFrom(Tensor src) {
        ensureOpen("this");
        checkSize("src", src);
        long bytes = size * Float.BYTES;
        if (src.segment().isNative()) {
            Status.cuda(cudaMemcpy(buffer.pointer(), Native.at(src.segment().address()), bytes, cudaMemcpyHostToDevice),
                    "cudaMemcpy", "tensor to the device");
        } else {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment tmp = arena.allocate(bytes, 64);
                tmp.copyFrom(src.segment());
                Status.cuda(cudaMemcpy(buffer.pointer(), Native.at(tmp.address()), bytes, cudaMemcpyHostToDevice),
                        "cudaMemcpy", "tensor to the device");
            }
        }
        return this;
    }

    /**
     * Copies this tensor into {@code dst} on the host.
     *
     * @param dst a tensor of the same element count
     * @return {@code dst}
     */
    public Tensor copyTo(Tensor dst) {
        ensureOpen("this");
        checkSize("dst", dst);
        long bytes = size * Float.BYTES;
        if (dst.segment().isNative()) {
            Status.cuda(cudaMemcpy(Native.at(dst.segment().address()), buffer.pointer(), bytes, cudaMemcpyDeviceToHost),
                    "cudaMemcpy", "tensor to the host");
        } else {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment tmp = arena.allocate(bytes, 64);
                Status.cuda(cudaMemcpy(Native.at(tmp.address()), buffer.pointer(), bytes, cudaMemcpyDeviceToHost),
                        "cudaMemcpy", "tensor to the host");
                dst.segment().copyFrom(tmp);
            }
        }
        return dst;
    }

    /**
     * A new heap tensor with a copy of this tensor's contents.
     *
     * @return the copy
     */
    public Tensor toHost() {
        return copyTo(Tensor.zeros(shape));
    }

    private void checkSize(String name, Tensor t) {
        if (t == null) {
            throw new IllegalArgumentException(name + ": expected a tensor of shape " + Arrays.toString(shape) + ", got null");
        }
        if (t.size() != size) {
            throw new IllegalArgumentException(name + ": expected " + size + " elements (shape " + Arrays.toString(shape)
                    + "), got " + t.size() + " (shape " + Arrays.toString(t.shape()) + ")");
        }
        if (!t.segment().scope().isAlive()) {
            throw new IllegalArgumentException(name + ": expected a tensor over live memory, got one whose memory was"
                    + " freed (its Arena is closed)");
        }
    }

    Pointer pointer() {
        return buffer.pointer();
    }

    /** Makes {@code stream} wait until the work another plan queued on this tensor is done. */
    void awaitLastUse(CUstream_st stream) {
        Native.Fence f = lastUse;
        if (f != null) {
            f.awaitOn(stream);
        }
    }

    /** Records that work up to {@code fence} (just recorded) touches this tensor. */
    void usedUpTo(Native.Fence fence) {
        lastUse = fence;
    }

    void ensureOpen(String name) {
        if (closed) {
            throw new IllegalStateException(name + ": this device tensor is closed");
        }
    }

    /** Frees the device memory; idempotent. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            cleanup.close();
        }
    }

    @Override
    public String toString() {
        return "DeviceTensor" + Arrays.toString(shape) + (closed ? " (closed)" : "");
    }
}
