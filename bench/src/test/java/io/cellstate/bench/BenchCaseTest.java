package io.cellstate.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cellstate.Cell;
import io.cellstate.RnnSpec;
import org.junit.jupiter.api.Test;

/** The benchmarks' cell names: the library's, and the LSTM's options relative to H. */
class BenchCaseTest {

    @Test
    void theLibrarysNamesAreTheLibrarysCells() {
        for (Cell c : Cell.all()) {
            assertEquals(c, BenchCase.cell(c.name(), 512));
        }
    }

    @Test
    void projectionsAreFractionsOfH() {
        assertEquals(Cell.lstm().withProjection(256), BenchCase.cell("lstm-proj2", 512));
        assertEquals(Cell.lstm().withProjection(128), BenchCase.cell("lstm-proj4", 512));
        assertEquals(Cell.lstm().withProjection(125), BenchCase.cell("lstm-proj4", 500));
        assertEquals(Cell.lstm().withPeepholes(true), BenchCase.cell("lstm-peephole", 512));
        assertEquals(Cell.lstm().withProjection(16).withPeepholes(true), BenchCase.cell("lstm-proj2-peephole", 32));
        assertEquals(Cell.lstm().withProjection(16).withPeepholes(true), BenchCase.cell("lstm-peephole-proj2", 32));
    }

    /** A trial's spec: one layer, I = H, h of P columns. */
    @Test
    void aTrialsSpecHasTheProjection() {
        BenchCase c = BenchCase.of("lstm-proj4", "16x512");
        RnnSpec spec = c.spec();
        assertEquals(16, c.batch());
        assertEquals(512, spec.inputSize());
        assertEquals(512, c.hidden());
        assertEquals(128, spec.outputHiddenSize());
        assertEquals(1, spec.layers());
    }

    @Test
    void refusesWhatItCannotNameSayingWhatItTakes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BenchCase.cell("lstmp", 512));
        assertTrue(e.getMessage().contains("lstm-proj<K>"), e.getMessage());
        assertTrue(e.getMessage().contains("gru"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> BenchCase.cell("lstm-proj3", 512));
        assertEquals("cell lstm-proj3: expected proj<K> with K >= 2 dividing H = 512 (P = H/K), got K = 3", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> BenchCase.cell("lstm-proj1", 512));
        assertTrue(e.getMessage().endsWith("got K = 1"), e.getMessage());
        for (String bad : new String[] {"lstm-", "lstm-clip", "lstm-peephole-peephole", "lstm-proj2-proj4", "lstm-proj-2",
                "lstm-proj99999999999"}) {
            e = assertThrows(IllegalArgumentException.class, () -> BenchCase.cell(bad, 512), bad);
            assertTrue(e.getMessage().startsWith("cell " + bad + ": expected"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> BenchCase.cell(null, 512));
    }
}
