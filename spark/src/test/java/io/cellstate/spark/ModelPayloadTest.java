package io.cellstate.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cellstate.Cell;
import io.cellstate.Direction;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.serializer.JavaSerializer;
import org.apache.spark.serializer.KryoSerializer;
import org.apache.spark.serializer.Serializer;
import org.apache.spark.serializer.SerializerInstance;
import org.junit.jupiter.api.Test;
import scala.reflect.ClassTag$;

/**
 * What the driver broadcasts arrives whole, with either of Spark's serializers (a job may set
 * {@code spark.serializer} to Kryo; in local mode the broadcast is serialized but read back from memory,
 * so the Spark tests would not notice a payload Kryo cannot rebuild).
 */
class ModelPayloadTest {

    private static void assertSameModel(RnnSpec spec, RnnWeights weights, ModelPayload p) {
        assertEquals(spec, p.spec());
        Map<String, float[]> want = weights.toPyTorch();
        Map<String, float[]> got = p.weights().toPyTorch();
        assertEquals(want.keySet(), got.keySet());
        want.forEach((name, w) -> assertArrayEquals(w, got.get(name), name));
    }

    @Test
    void everyCellTravelsByName() {
        java.util.List<Cell> cells = new java.util.ArrayList<>(Cell.all());
        // the options travel in the name too
        cells.add(Cell.lstm().withProjection(2).withPeepholes(true).withClip(0.5f).withInputForget(true));
        cells.add(Cell.gru().withActivations(new io.cellstate.Activation(io.cellstate.Activation.Function.LEAKY_RELU, 0.1f, 0),
                io.cellstate.Activation.tanh(), io.cellstate.Activation.sigmoid(), io.cellstate.Activation.relu()));
        for (Cell cell : cells) {
            for (boolean bias : new boolean[] {true, false}) {
                RnnSpec spec = RnnSpec.builder().cell(cell).inputSize(2).hiddenSize(3).layers(2)
                        .direction(Direction.BIDIRECTIONAL).bias(bias).build();
                RnnWeights weights = RnnWeights.random(spec, 4);
                assertSameModel(spec, weights, ModelPayload.of(spec, weights));
            }
        }
    }

    @Test
    void javaAndKryoSerializationKeepIt() {
        RnnSpec spec = RnnSpec.builder().cell(Cell.gru()).inputSize(5).hiddenSize(4).direction(Direction.REVERSE).build();
        RnnWeights weights = RnnWeights.random(spec, 9);
        ModelPayload p = ModelPayload.of(spec, weights);
        SparkConf conf = new SparkConf();
        for (Serializer s : new Serializer[] {new JavaSerializer(conf), new KryoSerializer(conf)}) {
            SerializerInstance i = s.newInstance();
            ModelPayload back = i.deserialize(i.serialize(p, ClassTag$.MODULE$.apply(ModelPayload.class)),
                    ClassTag$.MODULE$.apply(ModelPayload.class));
            assertEquals(p.id(), back.id(), s.getClass().getSimpleName());
            assertSameModel(spec, weights, back);
        }
    }

    @Test
    void weightsOfAnotherSpecAreRefused() {
        RnnSpec spec = RnnSpec.lstm(2, 3);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ModelPayload.of(spec, RnnWeights.random(RnnSpec.lstm(2, 4), 1)));
        assertTrue(e.getMessage().startsWith("weights: expected weights of " + spec), e.getMessage());
    }
}
