/**
 * Cellstate's API and its pure-Java kernels: {@code scalar} (the float64 oracle) and {@code vector}
 * (the Panama Vector API). Exports the API ({@code io.cellstate}) and the backend SPI
 * ({@code io.cellstate.spi}); the CPU driver, the worker threads and the kernels stay inside,
 * opened only to Cellstate's own backend modules where they build on them.
 *
 * <p>The Vector API is an incubating JDK module, not read unless the JVM is started with
 * {@code --add-modules jdk.incubator.vector}; without it the {@code vector} backend reports itself
 * unavailable with that fix, and {@code auto} warns once and falls back to {@code scalar}.
 */
module io.cellstate {
    requires static jdk.incubator.vector;

    exports io.cellstate;
    exports io.cellstate.spi;
    exports io.cellstate.cpu to io.cellstate.blas;
    // the Vector API's pointwise pass, which the blas backend hands its kernel where it runs
    exports io.cellstate.vector to io.cellstate.blas;
    exports io.cellstate.internal to io.cellstate.cuda;

    uses io.cellstate.Backend;

    provides io.cellstate.Backend with io.cellstate.scalar.ScalarBackend, io.cellstate.vector.VectorBackend;
}
