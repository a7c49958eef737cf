package io.cellstate.bindings;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cellstate.Cell;
import io.cellstate.Layout;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A state_dict's cell: the projection and peepholes its tensors show, the other options its {@value StateDicts#CELL_KEY}
 * metadata names; and what is refused (metadata that names no cell, tensors the cell does not have, a projection
 * of the wrong shape), naming the tensor or the metadata.
 */
class StateDictOptionsTest {

    /** The tensors of a network by PyTorch's names. */
    private static Map<String, Safetensors.Tensor> tensors(RnnSpec spec) {
        RnnWeights w = RnnWeights.random(spec, 5);
        Map<String, Safetensors.Tensor> t = new LinkedHashMap<>();
        for (int k = 0; k < spec.layers(); k++) {
            for (int d = 0; d < spec.directions(); d++) {
                for (RnnWeights.Param p : RnnWeights.Param.values()) {
                    if (p.in(spec)) {
                        t.put(p.name(k, d), new Safetensors.Tensor(p.shape(spec, k), w.array(p, k, d)));
                    }
                }
            }
        }
        return t;
    }

    private static RnnModel read(Map<String, Safetensors.Tensor> t, Map<String, String> metadata, Cell cell)
            throws ModelFormatException {
        return StateDicts.toModel("sd.safetensors", new Safetensors.Contents(t, metadata),
                new StateDicts.Options(null, cell, Layout.SEQUENCE_MAJOR));
    }

    private static ModelFormatException refused(Map<String, Safetensors.Tensor> t, Map<String, String> metadata) {
        return assertThrows(ModelFormatException.class, () -> read(t, metadata, null));
    }

    private static RnnSpec spec(Cell cell) {
        return RnnSpec.builder().cell(cell).inputSize(3).hiddenSize(5).layers(2).build();
    }

    @Test
    void theTensorsGiveTheProjectionAndThePeepholesTheMetadataTheRest() throws Exception {
        Cell full = Cell.lstm().withProjection(2).withPeepholes(true).withClip(0.5f).withInputForget(true);
        Map<String, Safetensors.Tensor> t = tensors(spec(full));
        assertEquals(Cell.lstm().withProjection(2).withPeepholes(true), read(t, Map.of(), null).spec().cell());
        assertEquals(full, read(t, Map.of(StateDicts.CELL_KEY, "lstm[clip=0.5, input_forget]"), null).spec().cell());
        assertEquals(full, read(t, Map.of(StateDicts.CELL_KEY, full.name()), null).spec().cell());
        // a cell given by the caller takes the tensors' projection and peepholes too
        assertEquals(full, read(t, Map.of(), Cell.lstm().withClip(0.5f).withInputForget(true)).spec().cell());
    }

    @Test
    void metadataThatNamesNoCellIsRefused() {
        ModelFormatException e = refused(tensors(spec(Cell.lstm())), Map.of(StateDicts.CELL_KEY, "lstm[wings]"));
        assertEquals("metadata 'cellstate.cell'", e.where(), e.getMessage());
        assertTrue(e.problem().startsWith("cell 'lstm[wings]': expected projection, peepholes, clip, input_forget or"
                + " activations at offset 5, got 'wings'"), e.getMessage());
    }

    @Test
    void metadataThatDisagreesWithTheTensorsIsRefusedNamingTheTensor() {
        Map<String, Safetensors.Tensor> projected = tensors(spec(Cell.lstm().withProjection(2)));
        ModelFormatException e = refused(projected, Map.of(StateDicts.CELL_KEY, "lstm[projection=3]"));
        assertTrue(e.problem().contains("weight_hh_l0: expected shape [20, 3], got [20, 2]")
                || e.problem().contains("weight_hr_l0: expected shape [3, 5], got [2, 5]"), e.getMessage());
        e = refused(tensors(spec(Cell.lstm())), Map.of(StateDicts.CELL_KEY, "lstm[peepholes]"));
        assertEquals("state_dict under ''", e.where(), e.getMessage());
        assertTrue(e.problem().startsWith("weight_peephole_l0: expected a tensor, got none"), e.getMessage());
        e = refused(tensors(spec(Cell.lstm())), Map.of(StateDicts.CELL_KEY, "gru"));
        assertTrue(e.problem().contains("cell gru has 3 gates, the tensors 4"), e.getMessage());
    }

    @Test
    void tensorsTheCellDoesNotHaveAreRefused() {
        Map<String, Safetensors.Tensor> t = tensors(spec(Cell.gru()));
        t.put("weight_peephole_l0", new Safetensors.Tensor(new int[] {15}, new float[15]));
        ModelFormatException e = refused(t, Map.of());
        assertTrue(e.problem().startsWith("weight_peephole_l0: expected no such tensor (the cell gru has no peepholes)"),
                e.getMessage());
    }

    @Test
    void aProjectionOfTheWrongShapeIsRefused() {
        Map<String, Safetensors.Tensor> t = tensors(spec(Cell.lstm().withProjection(2)));
        t.put("weight_hr_l0", new Safetensors.Tensor(new int[] {5, 5}, new float[25]));
        ModelFormatException e = refused(t, Map.of());
        assertEquals("tensor 'weight_hr_l0'", e.where(), e.getMessage());
        assertEquals("expected a projection's shape [P, H] with 0 < P < H, got [5, 5]", e.problem());
        t = tensors(spec(Cell.lstm().withProjection(2)));
        t.put("weight_hh_l0", new Safetensors.Tensor(new int[] {20, 5}, new float[100]));
        e = refused(t, Map.of());
        assertEquals("tensor 'weight_hh_l0'", e.where(), e.getMessage());
        assertEquals("missing, or not of shape [G*5, 2] (weight_hr_l0 is [2, 5]): [20, 5]", e.problem());
    }
}
