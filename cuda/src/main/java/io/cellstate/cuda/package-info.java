/**
 * The cuDNN kernel (backend {@code cudnn}), through JavaCPP's {@code org.bytedeco:cuda}: not built
 * yet. It will run whole sequences through cuDNN's v8 RNN API ({@code cudnnRNNForward}) and run the
 * shared conformance suite from {@code cellstate-kernels-java}'s test-jar, already a test dependency
 * of this module; GPU tests skip with the reason where there is no GPU.
 */
package io.cellstate.cuda;
