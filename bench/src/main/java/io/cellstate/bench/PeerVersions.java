package io.cellstate.bench;

import io.cellstate.blas.BlasBackend;
import org.bytedeco.openblas.global.openblas_full;

/**
 * Prints one line per native library the benchmarks ran on, for the report's notes:
 * {@code oneDNN 3.11.0, OpenMP runtime /path/libgomp.so.1},
 * {@code ONNX Runtime 1.23.2 (Java API, CPU execution provider)} and
 * {@code OpenBLAS core Haswell (OpenBLAS 0.3.31 ...)}: the core OpenBLAS picked in this environment,
 * which {@code OPENBLAS_CORETYPE} decides. A library that fails to load is reported on stderr
 * and skipped. Always exits 0: a missing version must not lose a benchmark run's report.
 */
public final class PeerVersions {
    private PeerVersions() {
    }

    public static void main(String[] args) {
        try {
            System.out.println("oneDNN " + OneDnnRnn.version() + ", OpenMP runtime " + OneDnnRnn.openMpRuntime());
        } catch (RuntimeException | LinkageError e) {
            System.err.println("PeerVersions: oneDNN could not be loaded: " + e);
        }
        try {
            System.out.println("ONNX Runtime " + OnnxRuntimeRnn.version() + " (Java API, CPU execution provider)");
        } catch (RuntimeException | LinkageError e) {
            System.err.println("PeerVersions: ONNX Runtime could not be loaded: " + e);
        }
        try {
            String core = BlasBackend.core();
            System.out.println("OpenBLAS core " + core + " (" + openblas_full.openblas_get_config().getString().trim() + ")");
        } catch (RuntimeException | LinkageError e) {
            System.err.println("PeerVersions: OpenBLAS could not be loaded: " + e);
        }
    }
}
