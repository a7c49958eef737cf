/** A framework's module that depends on Cellstate from the module path (run by ModulePathIT). */
module consumer {
    requires io.cellstate;
}
