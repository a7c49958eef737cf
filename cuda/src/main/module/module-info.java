/**
 * The cuDNN kernel (backend {@code cudnn}), through JavaCPP's CUDA presets; the CUDA 13 and cuDNN 9
 * libraries come from the machine. Found by {@link io.cellstate.Backends} as a service; exports
 * {@code io.cellstate.cuda} for its own options, device tensors and exceptions.
 */
module io.cellstate.cuda {
    requires transitive io.cellstate;
    requires org.bytedeco.cuda;
    requires org.bytedeco.cuda.linux.x86_64;
    requires org.bytedeco.javacpp.linux.x86_64;

    exports io.cellstate.cuda;

    provides io.cellstate.Backend with io.cellstate.cuda.CudnnBackend;
}
