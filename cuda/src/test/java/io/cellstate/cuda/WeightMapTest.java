package io.cellstate.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cellstate.Direction;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.cuda.WeightMap.Location;
import io.cellstate.cuda.WeightMap.Piece;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The canonical-to-cuDNN weight mapping, without a GPU: coverage, shapes, and the host image. */
class WeightMapTest {

    private static List<RnnSpec> specs() {
        List<RnnSpec> out = new ArrayList<>();
        for (io.cellstate.Cell cell : new io.cellstate.Cell[] {io.cellstate.Cell.lstm(), io.cellstate.Cell.gru(),
                io.cellstate.Cell.rnnTanh(), io.cellstate.Cell.lstm().withProjection(3)}) {
            for (Direction d : Direction.values()) {
                for (int layers = 1; layers <= 3; layers++) {
                    for (boolean bias : new boolean[] {true, false}) {
                        out.add(RnnSpec.builder().cell(cell).inputSize(5).hiddenSize(7).layers(layers).direction(d)
                                .bias(bias).build());
                    }
                }
            }
        }
        return out;
    }

    @Test
    void everyMatrixAndBiasOfEveryLayerAndDirectionExactlyOnce() {
        for (RnnSpec spec : specs()) {
            List<Piece> pieces = WeightMap.pieces(spec);
            int g = spec.gates();
            int proj = spec.projectionSize();
            // a projected LSTM has one matrix more per pseudo-layer: W_hr at linLayerID 2G (8), [P x H], no bias
            int perPseudoLayer = 2 * g * (spec.bias() ? 2 : 1) + (proj > 0 ? 1 : 0);
            assertEquals(spec.stateCount() * perPseudoLayer, pieces.size(), spec.toString());
            Set<String> cudnnKeys = new HashSet<>();
            Map<String, int[]> covered = new HashMap<>();
            for (Piece p : pieces) {
                assertTrue(cudnnKeys.add(p.pseudoLayer() + "/" + p.linLayerId() + "/" + p.source().isBias()),
                        "(pseudoLayer, linLayerID) twice: " + p.describe());
                assertEquals(p.layer() * spec.directions() + p.dir(), p.pseudoLayer(), p.describe());
                if (p.source() == RnnWeights.Param.WEIGHT_HR) {
                    assertEquals(2 * g, p.linLayerId(), p.describe());
                    assertEquals(proj, p.rows(), p.describe());
                    assertEquals(spec.hiddenSize(), p.cols(), p.describe());
                    int[] marks = covered.computeIfAbsent(p.source() + "/" + p.layer() + "/" + p.dir(),
                            k -> new int[proj * spec.hiddenSize()]);
                    for (long i = p.sourceOffset(); i < p.sourceOffset() + p.floats(); i++) {
                        marks[(int) i]++;
                    }
                    continue;
                }
                assertTrue(p.linLayerId() >= 0 && p.linLayerId() < 2 * g, p.describe());
                // cuDNN: 0..G-1 act on the layer's input, G..2G-1 on the recurrent input, in the cell's gate order
                boolean input = p.source() == RnnWeights.Param.WEIGHT_IH || p.source() == RnnWeights.Param.BIAS_IH;
                assertEquals(input, p.linLayerId() < g, p.describe());
                assertEquals(p.linLayerId() % g, p.gate(), p.describe());
                assertEquals(spec.hiddenSize(), p.rows(), p.describe());
                int cols = p.source().isBias() ? 1 : input ? spec.layerInputSize(p.layer()) : spec.outputHiddenSize();
                assertEquals(cols, p.cols(), p.describe());
                String tensor = p.source() + "/" + p.layer() + "/" + p.dir();
                long total = (long) g * spec.hiddenSize() * cols;
                int[] marks = covered.computeIfAbsent(tensor, k -> new int[(int) total]);
                for (long i = p.sourceOffset(); i < p.sourceOffset() + p.floats(); i++) {
                    marks[(int) i]++;
                }
            }
            int tensors = spec.stateCount() * ((spec.bias() ? 4 : 2) + (proj > 0 ? 1 : 0));
            assertEquals(tensors, covered.size(), spec + ": canonical tensors reached");
            covered.forEach((k, marks) -> {
                for (int i = 0; i < marks.length; i++) {
                    assertEquals(1, marks[i], spec + " " + k + " float " + i + " covered " + marks[i] + " times");
                }
            });
        }
    }

    /** A fake cuDNN: pieces laid out in a shuffled order with gaps, reported as cuDNN reports them. */
    private static Map<Piece, Location> fakeLayout(RnnSpec spec, long seed, long[] sizeOut) {
        List<Piece> pieces = new ArrayList<>(WeightMap.pieces(spec));
        Collections.shuffle(pieces, new Random(seed));
        Map<Piece, Location> where = new HashMap<>();
        long at = 64;
        for (Piece p : pieces) {
            int[] dims = p.source().isBias() ? new int[] {1, p.rows(), 1} : new int[] {1, p.rows(), p.cols()};
            where.put(p, new Location(at, dims));
            at += p.floats() * Float.BYTES + 16;
        }
        sizeOut[0] = at;
        return where;
    }

    @Test
    void imageHoldsEachGateWhereCudnnSays() {
        for (RnnSpec spec : specs()) {
            RnnWeights w = RnnWeights.random(spec, 42);
            long[] size = new long[1];
            Map<Piece, Location> where = fakeLayout(spec, 7, size);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment image = arena.allocate(size[0]);
                WeightMap.fill(spec, w, image, where::get);
                for (Map.Entry<Piece, Location> e : where.entrySet()) {
                    Piece p = e.getKey();
                    float[] whole = w.array(p.source(), p.layer(), p.dir());
                    float[] expected = java.util.Arrays.copyOfRange(whole, (int) p.sourceOffset(),
                            (int) (p.sourceOffset() + p.floats()));
                    assertArrayEquals(expected, WeightMap.read(image, e.getValue()), spec + " " + p.describe());
                }
            }
        }
    }

    @Test
    void answersThatDoNotFitAreRefused() {
        RnnSpec spec = RnnSpec.builder().inputSize(3).hiddenSize(4).layers(2).direction(Direction.BIDIRECTIONAL).build();
        RnnWeights w = RnnWeights.random(spec, 1);
        long[] size = new long[1];
        Map<Piece, Location> good = fakeLayout(spec, 3, size);
        Piece first = WeightMap.pieces(spec).get(0);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment image = arena.allocate(size[0]);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> WeightMap.fill(spec, w, image,
                    p -> p.equals(first) ? new Location(good.get(p).offsetBytes(), new int[] {1, 4, 4}) : good.get(p)));
            assertTrue(e.getMessage().contains("expected 4 x 3"), e.getMessage());
            e = assertThrows(IllegalStateException.class, () -> WeightMap.fill(spec, w, image,
                    p -> p.equals(first) ? null : good.get(p)));
            assertTrue(e.getMessage().startsWith("cuDNN has no place for weight_ih_l0 gate i"), e.getMessage());
            e = assertThrows(IllegalStateException.class, () -> WeightMap.fill(spec, w, image,
                    p -> p.equals(first) ? new Location(size[0] - 8, good.get(p).dims()) : good.get(p)));
            assertTrue(e.getMessage().contains("outside the weight space"), e.getMessage());
            e = assertThrows(IllegalStateException.class, () -> WeightMap.fill(spec, w, image,
                    p -> new Location(64, good.get(p).dims())));
            assertTrue(e.getMessage().contains("overlap"), e.getMessage());
        }
    }
    /**
     * The inverse mapping: weights in PyTorch's layout into a cuDNN weight image and back out through
     * {@link WeightMap#gather} give every parameter back bit for bit (the weight-gradient space has the
     * weight space's layout, so this is how the backward pass returns its gradients), for every cell,
     * layer count, direction and bias setting.
     */
    @Test
    void gatherIsTheInverseOfFill() {
        for (RnnSpec spec : specs()) {
            RnnWeights w = RnnWeights.random(spec, 11);
            long[] size = new long[1];
            Map<Piece, Location> where = fakeLayout(spec, 5, size);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment image = arena.allocate(size[0]);
                image.fill((byte) 0x7f); // the gaps between pieces: garbage that must not reach a gradient
                WeightMap.fill(spec, w, image, where::get);
                Map<String, float[]> pytorch = w.toPyTorch();
                io.cellstate.RnnWeightGrads back = io.cellstate.RnnWeightGrads.zeros(spec);
                fillWith(back, 99f); // OVERWRITE replaces what was there
                WeightMap.gather(spec, image, where::get, back, false);
                for (Map.Entry<String, io.cellstate.Tensor> e : back.toStateDict().entrySet()) {
                    assertArrayEquals(pytorch.get(e.getKey()), e.getValue().toArray(), spec + " " + e.getKey());
                }
                WeightMap.gather(spec, image, where::get, back, true); // ACCUMULATE adds
                for (Map.Entry<String, io.cellstate.Tensor> e : back.toStateDict().entrySet()) {
                    float[] once = pytorch.get(e.getKey());
                    float[] twice = e.getValue().toArray();
                    for (int i = 0; i < once.length; i++) {
                        assertEquals(once[i] + once[i], twice[i], spec + " " + e.getKey() + "[" + i + "]");
                    }
                }
            }
        }
    }

    /** The pieces of each gradient tensor cover it exactly: a gather into NaN-filled gradients leaves none. */
    @Test
    void gatherWritesEveryElementOfEveryGradient() {
        for (RnnSpec spec : specs()) {
            long[] size = new long[1];
            Map<Piece, Location> where = fakeLayout(spec, 9, size);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment image = arena.allocate(size[0]);
                io.cellstate.RnnWeightGrads grads = io.cellstate.RnnWeightGrads.zeros(spec);
                fillWith(grads, Float.NaN);
                WeightMap.gather(spec, image, where::get, grads, false);
                grads.toStateDict().forEach((name, t) -> {
                    for (float v : t.toArray()) {
                        assertEquals(0f, v, spec + " " + name);
                    }
                });
            }
        }
    }

    /** A cuDNN answer that does not fit is refused before any gradient is touched. */
    @Test
    void gatherRefusesBadAnswersBeforeWriting() {
        RnnSpec spec = RnnSpec.builder().inputSize(3).hiddenSize(4).layers(2).direction(Direction.BIDIRECTIONAL).build();
        long[] size = new long[1];
        Map<Piece, Location> good = fakeLayout(spec, 3, size);
        List<Piece> pieces = WeightMap.pieces(spec);
        Piece last = pieces.get(pieces.size() - 1);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment image = arena.allocate(size[0]);
            io.cellstate.RnnWeightGrads grads = io.cellstate.RnnWeightGrads.zeros(spec);
            fillWith(grads, 5f);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> WeightMap.gather(spec, image,
                    p -> p.equals(last) ? new Location(size[0] - 4, good.get(p).dims()) : good.get(p), grads, false));
            assertTrue(e.getMessage().contains("outside the weight space"), e.getMessage());
            grads.toStateDict().forEach((name, t) -> {
                for (float v : t.toArray()) {
                    assertEquals(5f, v, name + " was written before the refusal");
                }
            });
        }
    }

    private static void fillWith(io.cellstate.RnnWeightGrads grads, float value) {
        for (io.cellstate.Tensor t : grads.toStateDict().values()) {
            for (long i = 0; i < t.size(); i++) {
                t.setFlat(i, value);
            }
        }
    }

    /** With bfloat16 weights each piece lands, rounded, at half the float offsets: packed like cuDNN's space. */
    @Test
    void bf16FillWritesRoundedHalvesAtTheGivenOffsets() {
        RnnSpec spec = RnnSpec.builder().inputSize(5).hiddenSize(7).layers(2).direction(Direction.BIDIRECTIONAL).build();
        RnnWeights w = RnnWeights.random(spec, 3);
        List<Piece> pieces = WeightMap.pieces(spec);
        Map<Piece, Location> table = new HashMap<>();
        long at = 0;
        for (Piece p : pieces) {
            table.put(p, new Location(at, p.source().isBias() ? new int[] {p.rows(), 1, 1} : new int[] {1, p.rows(), p.cols()}));
            at += p.floats() * 2;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment image = arena.allocate(at, 2);
            WeightMap.fill(spec, w, image, table::get, true);
            for (Piece p : pieces) {
                MemorySegment src = p.from(w);
                long off = table.get(p).offsetBytes();
                for (long k = 0; k < p.floats(); k++) {
                    float want = Bf16.toFloat(Bf16.fromFloat(src.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, k)));
                    float got = Bf16.toFloat(image.get(java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED, off + 2 * k));
                    assertEquals(want, got, p.describe() + " element " + k);
                }
            }
            // a float-sized image is too large a claim for bf16 offsets: an odd offset is misaligned
            Map<Piece, Location> odd = new HashMap<>(table);
            Piece first = pieces.get(0);
            odd.put(first, new Location(1, table.get(first).dims()));
            assertThrows(IllegalStateException.class, () -> WeightMap.fill(spec, w, image, odd::get, true));
        }
    }
}
