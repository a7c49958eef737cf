/**
 * The OpenBLAS kernel (backend {@code blas}), through JavaCPP's {@code org.bytedeco:openblas}:
 * not built yet. It will plug into the CPU driver ({@link io.cellstate.cpu.CpuLstmPlan}) as an
 * {@link io.cellstate.cpu.LstmKernel} whose GEMMs are {@code cblas_sgemm} / {@code cblas_sgemv}, and
 * run the shared conformance suite from {@code cellstate-kernels-java}'s test-jar, already a test
 * dependency of this module.
 */
package io.cellstate.blas;
