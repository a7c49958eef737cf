/**
 * The OpenBLAS kernel (backend {@code blas}), through JavaCPP's OpenBLAS presets with their Linux
 * x86-64 natives. Found by {@link io.cellstate.Backends} as a service; exports nothing.
 */
module io.cellstate.blas {
    requires io.cellstate;
    requires org.bytedeco.openblas;
    // the natives: what the Maven artifact depends on, so JavaCPP finds them on the module path too
    requires org.bytedeco.openblas.linux.x86_64;
    requires org.bytedeco.javacpp.linux.x86_64;

    provides io.cellstate.Backend with io.cellstate.blas.BlasBackend;
}
