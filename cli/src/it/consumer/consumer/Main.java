package consumer;

import io.cellstate.Backends;
import io.cellstate.Direction;
import io.cellstate.RnnInput;
import io.cellstate.RnnOutput;
import io.cellstate.RnnPlan;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.Tensor;
import io.cellstate.Tolerance;
import java.util.List;

/**
 * Runs every backend this module path offers on one network, against the scalar oracle, and says
 * what the module system sees of Cellstate. Prints one "key: value" line per fact.
 */
public final class Main {
    public static void main(String[] args) {
        RnnSpec spec = RnnSpec.builder().inputSize(8).hiddenSize(16).layers(2).direction(Direction.BIDIRECTIONAL).build();
        RnnWeights weights = RnnWeights.random(spec, 1);
        float[] data = new float[5 * 3 * 8];
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) Math.sin(i);
        }
        RnnInput in = RnnInput.of(Tensor.of(data, 5, 3, 8));
        RnnOutput expected;
        try (RnnPlan plan = Backends.get("scalar", spec).plan(spec, weights)) {
            expected = plan.forward(in);
        }
        double tolerance = Tolerance.forward(spec, 5);
        for (String name : List.of("vector", "blas", "cudnn", "auto")) {
            var backend = Backends.byName(name.equals("auto") ? Backends.auto(spec).name() : name);
            if (!backend.availability().available()) {
                System.out.println(name + ": unavailable: " + backend.availability().reason());
                continue;
            }
            try (RnnPlan plan = backend.plan(spec, weights)) {
                double error = Tolerance.maxAbsDifference(expected.y(), plan.forward(in).y());
                System.out.println(name + ": " + (error <= tolerance ? "ok" : "WRONG") + " (" + plan.backend()
                        + ", error " + error + ")");
            }
        }
        Module api = RnnSpec.class.getModule();
        System.out.println("module: " + api.getName());
        for (String p : List.of("io.cellstate", "io.cellstate.spi", "io.cellstate.cpu", "io.cellstate.vector",
                "io.cellstate.internal")) {
            System.out.println("exports " + p + ": " + api.isExported(p));
        }
        System.out.println("blas module: " + Backends.byName("blas").getClass().getModule().getName());
    }
}
