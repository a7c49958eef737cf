package io.cellstate.cuda;

import static org.bytedeco.cuda.global.cudart.cudaEventCreateWithFlags;
import static org.bytedeco.cuda.global.cudart.cudaEventDefault;
import static org.bytedeco.cuda.global.cudart.cudaEventDisableTiming;
import static org.bytedeco.cuda.global.cudart.cudaEventRecord;
import static org.bytedeco.cuda.global.cudart.cudaStreamWaitEvent;
import static org.bytedeco.cuda.global.cudart.cudaGraphExecDestroy;
import static org.bytedeco.cuda.global.cudart.cudaGraphInstantiate;
import static org.bytedeco.cuda.global.cudart.cudaStreamCreateWithFlags;
import static org.bytedeco.cuda.global.cudart.cudaStreamDefault;
import static org.bytedeco.cuda.global.cudart.cudaStreamDestroy;
import static org.bytedeco.cuda.global.cudart.cudaEventDestroy;
import static org.bytedeco.cuda.global.cudart.cudaFree;
import static org.bytedeco.cuda.global.cudart.cudaFreeHost;
import static org.bytedeco.cuda.global.cudart.cudaMalloc;
import static org.bytedeco.cuda.global.cudart.cudaMallocHost;
import static org.bytedeco.cuda.global.cudnn.cudnnCreate;
import static org.bytedeco.cuda.global.cudnn.cudnnCreateDropoutDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnCreateRNNDataDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnCreateRNNDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnCreateTensorDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnDestroy;
import static org.bytedeco.cuda.global.cudnn.cudnnDestroyDropoutDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnDestroyRNNDataDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnDestroyRNNDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnDestroyTensorDescriptor;

import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.bytedeco.cuda.cudart.CUevent_st;
import org.bytedeco.cuda.cudart.CUgraphExec_st;
import org.bytedeco.cuda.cudart.CUgraph_st;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.cudnn.cudnnContext;
import org.bytedeco.cuda.cudnn.cudnnDropoutStruct;
import org.bytedeco.cuda.cudnn.cudnnRNNDataStruct;
import org.bytedeco.cuda.cudnn.cudnnRNNStruct;
import org.bytedeco.cuda.cudnn.cudnnTensorStruct;
import org.bytedeco.javacpp.Pointer;

/**
 * The CUDA and cuDNN objects a plan owns, each in a class that creates it in its constructor and
 * destroys it in {@code close()}, so a create can never be paired with the wrong call (the cuDNN
 * sample in the presets destroys a handle with a create call).
 */
final class Native {
    /** Handles, descriptors, events and buffers created here and not yet destroyed. */
    private static final AtomicLong LIVE = new AtomicLong();
    /** Handles, descriptors, events and buffers created here, destroyed or not. */
    private static final AtomicLong CREATED = new AtomicLong();

    private Native() {
    }

    /**
     * How many CUDA and cuDNN objects (handles, descriptors, events, device and pinned blocks) this
     * process created through this class and has not destroyed: what a leak test counts exactly, where
     * {@code cudaMemGetInfo} only sees whole pages.
     */
    static long liveObjects() {
        return LIVE.get();
    }

    /**
     * How many CUDA and cuDNN objects this process has created through this class, destroyed or not: a
     * count that only grows, so a buffer that grows (freed, then allocated again) moves it where
     * {@link #liveObjects()} stays put. A steady loop of calls leaves it unchanged.
     */
    static long createdObjects() {
        return CREATED.get();
    }

    /** Counts one object made: live until destroyed, and created. */
    private static void created() {
        LIVE.incrementAndGet();
        CREATED.incrementAndGet();
    }

    /** A pointer to a raw address (device or host), for offsets into a buffer. */
    static Pointer at(long address) {
        return new Address(address);
    }

    private static final class Address extends Pointer {
        Address(long address) {
            this.address = address;
        }
    }

    /** Free device memory now ({@code cudaMemGetInfo}), in bytes. */
    static long freeDeviceMemory() {
        try (org.bytedeco.javacpp.SizeTPointer free = new org.bytedeco.javacpp.SizeTPointer(1);
             org.bytedeco.javacpp.SizeTPointer total = new org.bytedeco.javacpp.SizeTPointer(1)) {
            Status.cuda(org.bytedeco.cuda.global.cudart.cudaMemGetInfo(free, total), "cudaMemGetInfo");
            return free.get();
        }
    }

    /** {@code cudnnCreate} / {@code cudnnDestroy}. */
    static final class Handle implements AutoCloseable {
        final cudnnContext ptr = new cudnnContext();

        Handle() {
            Status.cudnn(cudnnCreate(ptr), "cudnnCreate");
            created();
        }

        @Override
        public void close() {
            LIVE.decrementAndGet();
            Status.cudnn(cudnnDestroy(ptr), "cudnnDestroy");
        }
    }

    /**
     * A cuDNN handle, with a CUDA stream of its own, lent to one plan for its lifetime and given back
     * by {@link #close()}, not destroyed: plans reuse handles instead of pairing {@code cudnnCreate} with {@code cudnnDestroy}
     * each time (PyTorch keeps a handle pool for the same reasons). On the H100 with cuDNN 9.19, each
     * such pair left about 4 KiB of device memory behind inside cuDNN (1000 pairs: 4 MiB less free,
     * with every handle destroyed), and {@code cudnnCreate} takes milliseconds. A handle serves one
     * open plan at a time, so no two threads share one. {@link #releaseIdle()} destroys the idle ones.
     */
    static final class PooledHandle implements AutoCloseable {
        private static final Deque<PooledHandle.Pair> IDLE = new ArrayDeque<>();
        private final Pair pair;
        final cudnnContext ptr;
        /** The stream lent with the handle: a plan's work runs there (see {@link Stream}). */
        final CUstream_st stream;
        private boolean returned;

        /** A handle and its stream, created together and pooled together. */
        private record Pair(Handle handle, Stream stream) {
        }

        PooledHandle() {
            Pair p;
            synchronized (IDLE) {
                p = IDLE.poll();
            }
            if (p == null) {
                Handle h = new Handle();
                try {
                    p = new Pair(h, new Stream());
                } catch (RuntimeException e) {
                    h.close();
                    throw e;
                }
            }
            pair = p;
            ptr = p.handle().ptr;
            stream = p.stream().ptr;
        }

        @Override
        public void close() {
            if (!returned) {
                returned = true;
                synchronized (IDLE) {
                    IDLE.push(pair);
                }
            }
        }

        /** Destroys the handles (and their streams) no plan holds now; returns how many handles. */
        static int releaseIdle() {
            List<Pair> idle;
            synchronized (IDLE) {
                idle = new ArrayList<>(IDLE);
                IDLE.clear();
            }
            Owner owner = new Owner(); // destroys them all, throwing the first failure at the end
            for (Pair p : idle) {
                owner.own(p.handle());
                owner.own(p.stream());
            }
            owner.close();
            return idle.size();
        }
    }

    /** {@code cudnnCreateRNNDescriptor} / {@code cudnnDestroyRNNDescriptor}. */
    static final class RnnDesc implements AutoCloseable {
        final cudnnRNNStruct ptr = new cudnnRNNStruct();

        RnnDesc() {
            Status.cudnn(cudnnCreateRNNDescriptor(ptr), "cudnnCreateRNNDescriptor");
            created();
        }

        @Override
        public void close() {
            LIVE.decrementAndGet();
            Status.cudnn(cudnnDestroyRNNDescriptor(ptr), "cudnnDestroyRNNDescriptor");
        }
    }

    /** {@code cudnnCreateDropoutDescriptor} / {@code cudnnDestroyDropoutDescriptor}. */
    static final class DropoutDesc implements AutoCloseable {
        final cudnnDropoutStruct ptr = new cudnnDropoutStruct();

        DropoutDesc() {
            Status.cudnn(cudnnCreateDropoutDescriptor(ptr), "cudnnCreateDropoutDescriptor");
            created();
        }

        @Override
        public void close() {
            LIVE.decrementAndGet();
            Status.cudnn(cudnnDestroyDropoutDescriptor(ptr), "cudnnDestroyDropoutDescriptor");
        }
    }

    /** {@code cudnnCreateTensorDescriptor} / {@code cudnnDestroyTensorDescriptor}. */
    static final class TensorDesc implements AutoCloseable {
        final cudnnTensorStruct ptr = new cudnnTensorStruct();

        TensorDesc() {
            Status.cudnn(cudnnCreateTensorDescriptor(ptr), "cudnnCreateTensorDescriptor");
            created();
        }

        @Override
        public void close() {
            LIVE.decrementAndGet();
            Status.cudnn(cudnnDestroyTensorDescriptor(ptr), "cudnnDestroyTensorDescriptor");
        }
    }

    /** {@code cudnnCreateRNNDataDescriptor} / {@code cudnnDestroyRNNDataDescriptor}. */
    static final class DataDesc implements AutoCloseable {
        final cudnnRNNDataStruct ptr = new cudnnRNNDataStruct();

        DataDesc() {
            Status.cudnn(cudnnCreateRNNDataDescriptor(ptr), "cudnnCreateRNNDataDescriptor");
            created();
        }

        @Override
        public void close() {
            LIVE.decrementAndGet();
            Status.cudnn(cudnnDestroyRNNDataDescriptor(ptr), "cudnnDestroyRNNDataDescriptor");
        }
    }

    /**
     * {@code cudaStreamCreateWithFlags(cudaStreamDefault)} / {@code cudaStreamDestroy}: a blocking
     * stream, so work on it is ordered with CUDA's legacy default stream both ways, as if it ran there.
     */
    static final class Stream implements AutoCloseable {
        final CUstream_st ptr = new CUstream_st();

        Stream() {
            Status.cuda(cudaStreamCreateWithFlags(ptr, cudaStreamDefault), "cudaStreamCreateWithFlags");
            created();
        }

        @Override
        public void close() {
            LIVE.decrementAndGet();
            Status.cuda(cudaStreamDestroy(ptr), "cudaStreamDestroy");
        }
    }

    /** An instantiated CUDA graph ({@code cudaGraphInstantiate} / {@code cudaGraphExecDestroy}). */
    static final class GraphExec implements AutoCloseable {
        final CUgraphExec_st ptr = new CUgraphExec_st();

        /** Instantiates {@code graph}, which the caller still owns and destroys. */
        GraphExec(CUgraph_st graph) {
            Status.cuda(cudaGraphInstantiate(ptr, graph, 0L), "cudaGraphInstantiate");
            created();
        }

        @Override
        public void close() {
            LIVE.decrementAndGet();
            Status.cuda(cudaGraphExecDestroy(ptr), "cudaGraphExecDestroy");
        }
    }

    /** {@code cudaEventCreateWithFlags} / {@code cudaEventDestroy}. */
    static final class Event implements AutoCloseable {
        final CUevent_st ptr = new CUevent_st();

        /** An event that can time ({@code cudaEventDefault}). */
        Event() {
            this(cudaEventDefault);
        }

        Event(int flags) {
            Status.cuda(cudaEventCreateWithFlags(ptr, flags), "cudaEventCreateWithFlags");
            created();
        }

        @Override
        public void close() {
            LIVE.decrementAndGet();
            Status.cuda(cudaEventDestroy(ptr), "cudaEventDestroy");
        }
    }

    /**
     * The point a plan's stream has reached after its latest device-path call: an event without
     * timing, recorded there after each such call. A {@link DeviceTensor} remembers the fence of the
     * last plan that queued work on it, and a plan on another stream makes its stream wait for that
     * fence ({@code cudaStreamWaitEvent}) before its own work on the tensor: so plans on different
     * streams read what an earlier call wrote and do not overwrite what an earlier call still reads,
     * in the order the host queued them, without the host waiting. A later record only moves the
     * fence further, so a wait is never too short. Retired when its plan closes, which first waits
     * for everything the plan queued.
     */
    static final class Fence implements AutoCloseable {
        final CUstream_st stream;
        private final Event event = new Event(cudaEventDisableTiming);
        private volatile boolean retired;

        Fence(CUstream_st stream) {
            this.stream = stream;
        }

        /** Moves the fence to the end of what its stream has queued so far. */
        void record() {
            Status.cuda(cudaEventRecord(event.ptr, stream), "cudaEventRecord", "fence");
        }

        /** Makes {@code other} wait for this fence, unless it is this fence's own stream or retired. */
        void awaitOn(CUstream_st other) {
            if (!retired && other.address() != stream.address()) {
                Status.cuda(cudaStreamWaitEvent(other, event.ptr, 0), "cudaStreamWaitEvent", "fence");
            }
        }

        @Override
        public void close() {
            retired = true;
            event.close();
        }
    }

    /**
     * Device memory ({@code cudaMalloc} / {@code cudaFree}) that grows on demand. Growing frees the
     * old block first, so a failed growth leaves the buffer empty but consistent (capacity 0).
     */
    static final class DeviceBuffer implements AutoCloseable {
        private final String name;
        private Pointer ptr;
        private long capacity;

        DeviceBuffer(String name, long bytes) {
            this.name = name;
            ensure(bytes);
        }

        /** Makes the buffer at least {@code bytes} long; its contents are lost if it grows. Returns whether it moved. */
        boolean ensure(long bytes) {
            if (bytes <= capacity && ptr != null) {
                return false;
            }
            free();
            Pointer p = new Pointer();
            Status.cuda(cudaMalloc(p, Math.max(bytes, 1)), "cudaMalloc", name + ", " + bytes + " bytes");
            created();
            ptr = p;
            capacity = Math.max(bytes, 1);
            return true;
        }

        Pointer pointer() {
            return ptr;
        }

        long address() {
            return ptr.address();
        }

        long capacity() {
            return capacity;
        }

        private void free() {
            if (ptr != null) {
                Pointer p = ptr;
                ptr = null;
                capacity = 0;
                LIVE.decrementAndGet();
                Status.cuda(cudaFree(p), "cudaFree", name);
            }
        }

        @Override
        public void close() {
            free();
        }
    }

    /** Pinned host memory ({@code cudaMallocHost} / {@code cudaFreeHost}) that grows on demand. */
    static final class PinnedBuffer implements AutoCloseable {
        private final String name;
        private Pointer ptr;
        private long capacity;

        PinnedBuffer(String name, long bytes) {
            this.name = name;
            ensure(bytes);
        }

        void ensure(long bytes) {
            if (bytes <= capacity && ptr != null) {
                return;
            }
            free();
            Pointer p = new Pointer();
            Status.cuda(cudaMallocHost(p, Math.max(bytes, 1)), "cudaMallocHost", name + ", " + bytes + " bytes");
            created();
            ptr = p;
            capacity = Math.max(bytes, 1);
        }

        Pointer pointer() {
            return ptr;
        }

        /** The first {@code bytes} of the buffer as a segment (valid until it grows or closes). */
        MemorySegment segment(long bytes) {
            return MemorySegment.ofAddress(ptr.address()).reinterpret(bytes);
        }

        private void free() {
            if (ptr != null) {
                Pointer p = ptr;
                ptr = null;
                capacity = 0;
                LIVE.decrementAndGet();
                Status.cuda(cudaFreeHost(p), "cudaFreeHost", name);
            }
        }

        @Override
        public void close() {
            free();
        }
    }

    /**
     * Owns what a plan creates, in order, and closes it in reverse: every resource is released even
     * if one fails to, and the first failure is thrown at the end.
     */
    static final class Owner implements AutoCloseable {
        private final Deque<AutoCloseable> owned = new ArrayDeque<>();

        <T extends AutoCloseable> T own(T resource) {
            owned.push(resource);
            return resource;
        }

        @Override
        public void close() {
            RuntimeException first = null;
            while (!owned.isEmpty()) {
                try {
                    owned.pop().close();
                } catch (Exception e) {
                    if (first == null) {
                        first = e instanceof RuntimeException r ? r : new IllegalStateException(e);
                    } else {
                        first.addSuppressed(e);
                    }
                }
            }
            if (first != null) {
                throw first;
            }
        }

        /** Closes everything after a failed construction, adding a failure to close to {@code cause}. */
        void closeAfterFailure(Throwable cause) {
            try {
                close();
            } catch (RuntimeException suppressed) {
                cause.addSuppressed(suppressed);
            }
        }
    }
}
