/**
 * The OpenBLAS kernel (backend {@code blas}), through JavaCPP's {@code org.bytedeco:openblas}: the
 * LSTM's GEMMs as {@code cblas_sgemm} / {@code cblas_sgemv} in the shared CPU driver
 * ({@link io.cellstate.cpu.CpuPlan}). See {@link io.cellstate.blas.BlasBackend}.
 */
package io.cellstate.blas;
