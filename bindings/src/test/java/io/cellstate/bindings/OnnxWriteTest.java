package io.cellstate.bindings;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.cellstate.Cell;
import io.cellstate.Direction;
import io.cellstate.Layout;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The graphs {@link Onnx#write} writes read back as the network written, weights unchanged. */
class OnnxWriteTest {

    /**
     * Stacks of a hidden size of 1 (every cell, one direction and two, both layouts): there the layers'
     * Squeeze or Transpose + Reshape between recurrent nodes leaves axes of size 1, which the reader must
     * compare as it compares the rest (it refused every such stack, naming layer 1's input X; ONNX Runtime
     * runs them). Sizes 2 and 3 beside them.
     */
    static Stream<Arguments> stacks() {
        List<Arguments> out = new ArrayList<>();
        for (Cell cell : Cell.all()) {
            for (Direction d : List.of(Direction.FORWARD, Direction.BIDIRECTIONAL)) {
                for (int hidden : new int[] {1, 2, 3}) {
                    for (Layout layout : Layout.values()) {
                        RnnSpec spec = RnnSpec.builder().cell(cell).inputSize(4).hiddenSize(hidden).layers(2).direction(d)
                                .build();
                        out.add(Arguments.of(cell.name() + ", " + d + ", H=" + hidden + ", " + layout, spec, layout));
                    }
                }
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("stacks")
    void stackReadsBack(String name, RnnSpec spec, Layout layout) throws Exception {
        RnnWeights weights = RnnWeights.random(spec, 11);
        byte[] file = Onnx.toBytes(weights, new Onnx.ExportOptions(layout, true, true));
        RnnModel model = Onnx.read(file, name, java.util.Map.of());
        assertEquals(spec, model.spec(), name);
        assertEquals(layout, model.layout(), name);
        for (int l = 0; l < spec.layers(); l++) {
            for (int d = 0; d < spec.directions(); d++) {
                for (RnnWeights.Param p : RnnWeights.Param.values()) {
                    assertArrayEquals(weights.array(p, l, d), model.weights().array(p, l, d), name + ": " + p + " " + l + "/" + d);
                }
            }
        }
    }
}
