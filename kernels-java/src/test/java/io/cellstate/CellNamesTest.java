package io.cellstate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link CellNames} reads back every {@link Cell#name()}, bit for bit, and refuses other text naming the place; so
 * does {@link Cell#named} for every name. (The bindings' tests read their option cells back through the metadata
 * of the files they write.)
 */
class CellNamesTest {

    /** Every plain cell, and random cells of every kind with every option and function. */
    static Stream<Cell> cells() {
        List<Cell> out = new ArrayList<>(Cell.all());
        SplittableRandom r = new SplittableRandom(42);
        Activation.Function[] fs = Activation.Function.values();
        for (int i = 0; i < 200; i++) {
            int roles = 1 + i % 3;
            List<Activation> acts = new ArrayList<>();
            int count = roles * (r.nextBoolean() ? 1 : 2);
            for (int k = 0; k < count; k++) {
                // awkward floats: tiny, huge, negative, with many digits
                float alpha = (float) (r.nextDouble(-1, 1) * Math.pow(10, r.nextInt(-40, 38)));
                float beta = (float) r.nextGaussian();
                acts.add(new Activation(fs[r.nextInt(fs.length)], alpha, beta));
            }
            out.add(switch (roles) {
                case 3 -> new Cell.Lstm(r.nextInt(3), r.nextBoolean(), r.nextBoolean() ? Float.POSITIVE_INFINITY
                        : Float.intBitsToFloat(r.nextInt(1, 0x7f800000)), r.nextBoolean(), acts);
                case 2 -> new Cell.Gru(r.nextBoolean(), acts);
                default -> new Cell.Rnn(acts);
            });
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cells")
    void nameReadsBackAsTheSameCell(Cell cell) {
        Cell back = CellNames.parse(cell.name());
        assertEquals(cell, back, cell.name());
        assertEquals(cell.name(), back.name());
        assertEquals(cell, Cell.named(cell.name()));
    }

    static Stream<Arguments> malformed() {
        return Stream.of(
                Arguments.of("", "expected a cell"),
                Arguments.of("lstmx", "expected lstm, gru, gru-original, rnn-tanh, rnn-relu or rnn"),
                Arguments.of("lstm[", "expected an option"),
                Arguments.of("lstm[peepholes", "expected ']' at offset 14, got the end"),
                Arguments.of("lstm[peepholes]x", "expected the end of the name"),
                Arguments.of("lstm[peepholes, peepholes]", "expected each option once"),
                Arguments.of("lstm[wings]", "expected projection, peepholes, clip, input_forget or activations"),
                Arguments.of("lstm[clip=abc]", "expected a number at offset 10"),
                Arguments.of("lstm[clip=-1.0]", "clip: expected a bound > 0"),
                Arguments.of("lstm[projection=x]", "expected a whole number"),
                Arguments.of("gru[peepholes]", "expected only activations for gru"),
                Arguments.of("rnn", "expected rnn with [activations=[...]]"),
                Arguments.of("rnn-relu[activations=[Tanh]]", "expected rnn[activations=...] for other activations"),
                Arguments.of("rnn[activations=[Swish]]", "activation: expected one of Relu, Tanh"),
                Arguments.of("rnn[activations=[LeakyRelu]]", "expected '(' at offset"),
                Arguments.of("rnn[activations=[Affine(1.0)]]", "expected ', ' at offset"),
                Arguments.of("rnn[activations=[LeakyRelu(NaN)]]", "LeakyRelu alpha: expected a finite number, got NaN"),
                Arguments.of("lstm[activations=[Tanh, Tanh]]", "lstm activations: expected 3 (one per role) or 6"));
    }

    @ParameterizedTest(name = "\"{0}\"")
    @MethodSource("malformed")
    void otherTextIsRefusedSayingWhatWasExpectedWhere(String name, String message) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CellNames.parse(name));
        assertTrue(e.getMessage().contains(message), "'" + message + "' in: " + e.getMessage());
    }

    @Test
    void nullIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CellNames.parse(null));
        assertEquals("cell: expected a cell's name, got null", e.getMessage());
    }
}
