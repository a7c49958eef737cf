package io.cellstate;

import io.cellstate.conformance.GradientConformanceSuite;

/**
 * The Vector API backend's training (the CPU training engine on {@code VectorGemm} and the vector
 * pointwise parts) against the gradient suite, at the width this JVM was started with.
 */
class VectorGradientConformanceTest extends GradientConformanceSuite {
    @Override
    protected Backend backend() {
        return Backends.byName("vector");
    }

    /** Required as {@link VectorConformanceTest} requires it: wherever the module is on and the width fits. */
    @Override
    protected boolean required() {
        int asked = Integer.getInteger("cellstate.vector.bits", 0);
        int widest = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()
                ? jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize() : 0;
        return !"false".equals(System.getProperty("cellstate.expectVectorModule")) && asked <= widest;
    }
}
