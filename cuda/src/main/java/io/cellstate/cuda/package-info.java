/**
 * The cuDNN kernel (backend {@code cudnn}), through JavaCPP's {@code org.bytedeco:cuda}: whole
 * sequences, all layers and directions, in one {@code cudnnRNNForward} of cuDNN's v8 RNN API.
 * {@link io.cellstate.cuda.CudnnBackend} reports unavailable, with the reason, where there is no
 * GPU, driver or cuDNN; {@link io.cellstate.cuda.CudnnPlan} adds a device-resident path
 * ({@link io.cellstate.cuda.DeviceTensor}) and cuDNN's algorithm and precision choices
 * ({@link io.cellstate.cuda.CudnnOptions}). See {@code cuda/GPU.md} for running its tests on a GPU.
 */
package io.cellstate.cuda;
