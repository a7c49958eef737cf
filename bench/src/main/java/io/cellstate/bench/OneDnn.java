package io.cellstate.bench;

import static org.bytedeco.dnnl.global.dnnl.DNNL_RUNTIME_OMP;
import static org.bytedeco.dnnl.global.dnnl.dnnl_success;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.bytedeco.dnnl.dnnl_version_t;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.javacpp.Loader;

/**
 * oneDNN's native runtime as JavaCPP's preset loads it, plus the two things the preset does not
 * map: {@code dnnl_status2str} (for error messages) and the OpenMP runtime's thread count.
 *
 * <p>The preset's {@code libdnnl.so.3} is built with {@code DNNL_CPU_RUNTIME=OMP} and links the
 * GNU OpenMP runtime {@code libgomp.so.1} that ships in the same jar (JavaCPP extracts both to
 * {@code ~/.javacpp/cache}). oneDNN has no thread-count setting of its own under OpenMP: it uses
 * {@code omp_get_max_threads()}, which libgomp keeps per calling thread. We resolve
 * {@code omp_set_num_threads} and {@code omp_get_max_threads} through libdnnl's own handle, so
 * {@code dlsym} walks libdnnl's dependencies and finds exactly the runtime libdnnl calls, and call
 * them with {@link Linker#downcallHandle}.
 */
final class OneDnn {
    private OneDnn() {
    }

    /** Loaded once, on first use; a failure is kept and reported to every caller, not swallowed. */
    private static final class Holder {
        static final Runtime RUNTIME = Runtime.load();
    }

    private record Runtime(MethodHandle status2str, MethodHandle ompSetNumThreads, MethodHandle ompGetMaxThreads,
                           String openMpLibrary, Throwable failure) {

        static Runtime load() {
            try {
                Loader.load(dnnl.class);
                Map<String, String> loaded = Loader.getLoadedLibraries();
                String dnnlPath = find(loaded, "libdnnl.so")
                        .orElseThrow(() -> new IllegalStateException("libdnnl.so is not among the libraries JavaCPP"
                                + " loaded: " + loaded.values()));
                SymbolLookup lib = SymbolLookup.libraryLookup(Path.of(dnnlPath), Arena.global());
                Linker linker = Linker.nativeLinker();
                MethodHandle str = lib.find("dnnl_status2str")
                        .map(s -> linker.downcallHandle(s, FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_INT)))
                        .orElse(null);
                MethodHandle set = null;
                MethodHandle get = null;
                String omp = "none (oneDNN's CPU runtime is not OpenMP)";
                if (dnnl.dnnl_version().cpu_runtime() == DNNL_RUNTIME_OMP) {
                    set = linker.downcallHandle(symbol(lib, "omp_set_num_threads"),
                            FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT));
                    get = linker.downcallHandle(symbol(lib, "omp_get_max_threads"),
                            FunctionDescriptor.of(ValueLayout.JAVA_INT));
                    omp = find(loaded, "libgomp").or(() -> find(loaded, "libiomp")).or(() -> find(loaded, "libomp"))
                            .orElse("the OpenMP runtime libdnnl links (" + dnnlPath + ")");
                }
                return new Runtime(str, set, get, omp, null);
            } catch (Throwable t) {
                return new Runtime(null, null, null, null, t);
            }
        }

        private static Optional<String> find(Map<String, String> loaded, String fileNamePrefix) {
            return loaded.values().stream()
                    .filter(p -> p != null && Path.of(p).getFileName().toString().startsWith(fileNamePrefix))
                    .findFirst();
        }

        private static MemorySegment symbol(SymbolLookup lib, String name) {
            return lib.find(name).orElseThrow(() -> new IllegalStateException(name + " is not reachable from libdnnl,"
                    + " although dnnl_version() says its CPU runtime is OpenMP"));
        }
    }

    /** The loaded runtime, or an exception saying why it could not be loaded and what fixes it. */
    private static Runtime runtime() {
        Runtime r = Holder.RUNTIME;
        if (r.failure() != null) {
            throw new IllegalStateException("oneDNN could not be loaded through JavaCPP (org.bytedeco:dnnl with its"
                    + " linux-x86_64 classifier, and org.bytedeco:opencl likewise, must be on the class path; run the"
                    + " JVM with --enable-native-access=ALL-UNNAMED): " + r.failure(), r.failure());
        }
        return r;
    }

    /** Loads the native library now, so that a missing one fails here and says why. */
    static void require() {
        runtime();
    }

    /** Throws, naming the call and the decoded status, unless {@code status} is {@code dnnl_success}. */
    static void check(int status, String call) {
        if (status != dnnl_success) {
            throw new IllegalStateException(call + " failed: " + statusName(status) + " (dnnl_status_t " + status + ")");
        }
    }

    /** oneDNN's own name of a status ({@code dnnl_status2str}), or the enum constant's name if that is absent. */
    static String statusName(int status) {
        MethodHandle str = runtime().status2str();
        if (str != null) {
            try {
                MemorySegment s = (MemorySegment) str.invokeExact(status);
                if (!s.equals(MemorySegment.NULL)) {
                    return s.reinterpret(256).getString(0);
                }
            } catch (Throwable ignored) {
                // fall through to the enum's names
            }
        }
        return switch (status) {
            case dnnl.dnnl_success -> "dnnl_success";
            case dnnl.dnnl_out_of_memory -> "dnnl_out_of_memory";
            case dnnl.dnnl_invalid_arguments -> "dnnl_invalid_arguments";
            case dnnl.dnnl_unimplemented -> "dnnl_unimplemented";
            case dnnl.dnnl_last_impl_reached -> "dnnl_last_impl_reached";
            case dnnl.dnnl_runtime_error -> "dnnl_runtime_error";
            case dnnl.dnnl_not_required -> "dnnl_not_required";
            default -> "unknown dnnl_status_t";
        };
    }

    /** {@code major.minor.patch}, with the git hash when the build recorded one. */
    static String version() {
        runtime();
        dnnl_version_t v = dnnl.dnnl_version();
        String hash = v.hash() == null ? null : v.hash().getString();
        String base = v.major() + "." + v.minor() + "." + v.patch();
        return hash == null || hash.isBlank() || hash.equals("N/A") ? base : base + " (" + hash + ")";
    }

    /** Whether oneDNN's thread count can be set here (its CPU runtime is OpenMP). */
    static boolean threadsSettable() {
        return runtime().ompSetNumThreads() != null;
    }

    /** The OpenMP runtime that oneDNN runs on, as a path, for reports. */
    static String openMpLibrary() {
        return runtime().openMpLibrary();
    }

    /** {@code omp_get_max_threads()} of the calling thread: the team size oneDNN's next primitive gets. */
    static int maxThreads() {
        MethodHandle get = requireOmp().ompGetMaxThreads();
        try {
            return (int) get.invokeExact();
        } catch (Throwable t) {
            throw new IllegalStateException("omp_get_max_threads failed", t);
        }
    }

    /** {@code omp_set_num_threads(n)}: applies to the calling thread only (an OpenMP ICV of its implicit task). */
    static void setMaxThreads(int n) {
        MethodHandle set = requireOmp().ompSetNumThreads();
        try {
            set.invokeExact(n);
        } catch (Throwable t) {
            throw new IllegalStateException("omp_set_num_threads(" + n + ") failed", t);
        }
    }

    /**
     * Sets {@code threads} (if above 0) as the calling thread's OpenMP thread count for the oneDNN calls
     * that follow; returns the value {@link #leaveThreads} restores.
     */
    static int enterThreads(int threads) {
        if (threads == 0) {
            return 0;
        }
        int previous = maxThreads();
        setMaxThreads(threads);
        return previous;
    }

    /** Restores the calling thread's OpenMP thread count that {@link #enterThreads} returned. */
    static void leaveThreads(int threads, int previous) {
        if (threads > 0) {
            setMaxThreads(previous);
        }
    }

    private static Runtime requireOmp() {
        Runtime r = runtime();
        if (r.ompSetNumThreads() == null) {
            throw new UnsupportedOperationException("oneDNN's thread count cannot be set: its CPU runtime is not"
                    + " OpenMP (dnnl_version().cpu_runtime = " + dnnl.dnnl_version().cpu_runtime() + ")");
        }
        return r;
    }
}
