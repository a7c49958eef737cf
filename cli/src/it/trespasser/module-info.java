/** A module that reaches for Cellstate's CPU driver, which is not exported: must not compile. */
module trespasser {
    requires io.cellstate;
}
