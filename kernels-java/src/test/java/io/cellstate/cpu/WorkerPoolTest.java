package io.cellstate.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

class WorkerPoolTest {

    /** Each round, every worker must see all writes of the previous round: the barrier orders them. */
    @Test
    void barrierSeparatesRounds() {
        int n = 3;
        int rounds = 300;
        int[] slots = new int[n];
        AtomicIntegerArray violations = new AtomicIntegerArray(n);
        try (WorkerPool pool = new WorkerPool(n, "test")) {
            for (int call = 0; call < 5; call++) {
                java.util.Arrays.fill(slots, 0);
                pool.run(n, w -> {
                    for (int r = 1; r <= rounds; r++) {
                        slots[w] = r;
                        pool.barrier();
                        for (int i = 0; i < n; i++) {
                            if (slots[i] != r) {
                                violations.incrementAndGet(w);
                            }
                        }
                        pool.barrier();
                    }
                });
                for (int w = 0; w < n; w++) {
                    assertEquals(0, violations.get(w), "worker " + w + " saw a stale slot");
                    assertEquals(rounds, slots[w]);
                }
            }
        }
    }

    /** A failing worker fails the run, and the others are released from the barrier instead of hanging. */
    @Test
    void failureIsRethrownAndReleasesTheOthers() {
        try (WorkerPool pool = new WorkerPool(2, "test")) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> pool.run(2, w -> {
                if (w == 1) {
                    throw new IllegalStateException("boom in worker 1");
                }
                for (int i = 0; i < 10; i++) {
                    pool.barrier();
                }
            }));
            assertEquals("boom in worker 1", e.getMessage());
            int[] ran = new int[2];
            pool.run(2, w -> ran[w]++);
            assertEquals(1, ran[0], "the pool still works after a failure");
            assertEquals(1, ran[1], "the pool still works after a failure");
        }
    }

    @Test
    void fewerParticipantsThanThreads() {
        try (WorkerPool pool = new WorkerPool(3, "test")) {
            int[] ran = new int[3];
            pool.run(2, w -> {
                ran[w]++;
                pool.barrier();
            });
            assertEquals(1, ran[0]);
            assertEquals(1, ran[1]);
            assertEquals(0, ran[2]);
            assertThrows(IllegalArgumentException.class, () -> pool.run(4, w -> { }));
        }
    }
}
