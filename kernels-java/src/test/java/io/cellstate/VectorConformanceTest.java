package io.cellstate;

import io.cellstate.conformance.LstmConformanceSuite;

/**
 * The Vector API kernel against the scalar oracle, at the width this JVM was started with (the
 * build runs this class once per supported width, each in its own JVM: see the pom).
 */
class VectorConformanceTest extends LstmConformanceSuite {
    @Override
    protected Backend backend() {
        return Backends.byName("vector");
    }

    @Override
    protected boolean required() {
        return !"false".equals(System.getProperty("cellstate.expectVectorModule"));
    }
}
