/**
 * Readers and writers of the files models and data come in: NumPy's {@code .npy} and {@code .npz},
 * and safetensors (PyTorch state_dicts). Every reader is hardened: a malformed file gets one
 * {@link io.cellstate.bindings.ModelFormatException} naming the file, the place and the problem, and
 * no reader allocates more than the file's size justifies.
 */
module io.cellstate.bindings {
    requires io.cellstate;

    exports io.cellstate.bindings;
}
