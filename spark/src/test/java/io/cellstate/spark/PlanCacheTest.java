package io.cellstate.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.cellstate.RnnInput;
import io.cellstate.RnnPlan;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import io.cellstate.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The executor's plan cache on its own, without Spark: lending, reuse, closing, and dropped models. */
class PlanCacheTest {
    private static final RnnSpec SPEC = RnnSpec.gru(2, 3);

    private static ModelPayload payload() {
        return ModelPayload.of(SPEC, RnnWeights.random(SPEC, 2));
    }

    private static void assertClosed(RnnPlan plan) {
        assertThrows(IllegalStateException.class, () -> plan.forward(RnnInput.of(Tensor.zeros(1, 1, 2))));
    }

    @Test
    void aPlanGivenBackIsLentAgain() {
        PlanCache cache = new PlanCache();
        ModelPayload p = payload();
        RnnPlan first;
        try (PlanCache.Lease lease = cache.borrow(p, "auto", 1)) {
            first = lease.get().plan;
        }
        try (PlanCache.Lease lease = cache.borrow(p, "auto", 1)) {
            assertSame(first, lease.get().plan);
        }
        PlanCache.PoolInfo pool = cache.pools().get(0);
        assertEquals(new PlanCache.PoolInfo(p.id(), "auto", first.backend(), 1, 1, 0, 1), pool);
        assertEquals(1, cache.openPlans());
        cache.closeAll();
    }

    @Test
    void tasksAtOnceGetAPlanEachAndAnotherThreadCountAnotherPool() {
        PlanCache cache = new PlanCache();
        ModelPayload p = payload();
        PlanCache.Lease a = cache.borrow(p, "auto", 1);
        PlanCache.Lease b = cache.borrow(p, "auto", 1);
        PlanCache.Lease c = cache.borrow(p, "scalar", 2);
        assertNotSame(a.get().plan, b.get().plan);
        assertEquals("scalar", c.get().plan.backend());
        a.close();
        b.close();
        b.close(); // a second close gives nothing back twice
        c.close();
        List<PlanCache.PoolInfo> pools = cache.pools();
        assertEquals(2, pools.size(), pools.toString());
        assertEquals(2, pools.get(0).idle(), pools.toString());
        assertEquals(2, pools.get(0).made(), pools.toString());
        assertEquals(2, pools.get(1).threads());
        assertEquals(3, cache.openPlans());
        assertThrows(IllegalStateException.class, a::get);
        cache.closeAll();
        assertEquals(0, cache.openPlans());
    }

    @Test
    void closeAllClosesIdlePlansAtOnceAndLentOnesWhenGivenBack() {
        PlanCache cache = new PlanCache();
        ModelPayload p = payload();
        PlanCache.Lease lent = cache.borrow(p, "auto", 1);
        RnnPlan idle;
        try (PlanCache.Lease lease = cache.borrow(p, "auto", 1)) {
            idle = lease.get().plan;
        }
        assertEquals(1, cache.closeAll(), "the idle plan");
        assertClosed(idle);
        RnnPlan busy = lent.get().plan;
        busy.forward(RnnInput.of(Tensor.zeros(1, 1, 2))); // still usable by its task
        lent.close();
        assertClosed(busy);
        assertEquals(0, cache.openPlans());
        assertEquals(List.of(), cache.pools());
        try (PlanCache.Lease again = cache.borrow(p, "auto", 1)) {
            assertNotSame(idle, again.get().plan);
            assertNotSame(busy, again.get().plan);
        }
        cache.closeAll();
    }

    @Test
    void theModelsPlansCloseOnceSparkDropsItsBroadcast() throws InterruptedException {
        PlanCache cache = new PlanCache();
        ModelPayload p = payload();
        RnnPlan plan;
        try (PlanCache.Lease lease = cache.borrow(p, "auto", 1)) {
            plan = lease.get().plan;
        }
        p = null; // what Spark's block manager does when the broadcast is destroyed or cleaned
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!cache.pools().isEmpty()) {
            assertTrue(System.nanoTime() < deadline, "the dropped model's pool is still there after 10 s of collections");
            System.gc();
            Thread.sleep(20);
        }
        assertClosed(plan);
        assertEquals(0, cache.openPlans());
    }

    @Test
    void aBackendThatCannotBeMadeLeavesNothingLent() {
        PlanCache cache = new PlanCache();
        ModelPayload p = payload();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> cache.borrow(p, "no-such-backend", 1));
        assertTrue(e.getMessage().contains("no-such-backend"), e.getMessage());
        assertEquals(0, cache.pools().get(0).lent());
        assertEquals(0, cache.openPlans());
    }
}
