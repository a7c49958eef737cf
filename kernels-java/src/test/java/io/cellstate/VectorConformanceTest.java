package io.cellstate;

import io.cellstate.conformance.RnnConformanceSuite;

/**
 * The Vector API kernel against the scalar oracle, at the width this JVM was started with (the
 * build runs this class once per supported width, each in its own JVM: see the pom).
 */
class VectorConformanceTest extends RnnConformanceSuite {
    @Override
    protected Backend backend() {
        return Backends.byName("vector");
    }

    /**
     * Required wherever the module is on and the width asked for fits this CPU; a wider width
     * (the 512-bit run on an AVX2 machine) skips with the backend's reason.
     */
    @Override
    protected boolean required() {
        int asked = Integer.getInteger("cellstate.vector.bits", 0);
        int widest = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()
                ? jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize() : 0;
        return !"false".equals(System.getProperty("cellstate.expectVectorModule")) && asked <= widest;
    }
}
