package io.cellstate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

class WorkerGroupTest {

    /** Each round, every participant must see all writes of the previous round: the barrier orders them. */
    @Test
    void barrierSeparatesRounds() {
        int n = 3;
        int rounds = 300;
        int[] slots = new int[n];
        AtomicIntegerArray violations = new AtomicIntegerArray(n);
        try (WorkerGroup group = WorkerGroup.create(n)) {
            WorkerGroup.Team team = group.team();
            for (int call = 0; call < 5; call++) {
                Arrays.fill(slots, 0);
                team.run(n, w -> {
                    assertEquals(n, team.participants(), "an idle group lends every helper asked for");
                    for (int r = 1; r <= rounds; r++) {
                        slots[w] = r;
                        team.barrier();
                        for (int i = 0; i < n; i++) {
                            if (slots[i] != r) {
                                violations.incrementAndGet(w);
                            }
                        }
                        team.barrier();
                    }
                });
                for (int w = 0; w < n; w++) {
                    assertEquals(0, violations.get(w), "participant " + w + " saw a stale slot");
                    assertEquals(rounds, slots[w]);
                }
            }
        }
    }

    /** A failing helper fails the call, and the others are released from the barrier instead of hanging. */
    @Test
    void failureIsRethrownAndReleasesTheOthers() {
        try (WorkerGroup group = WorkerGroup.create(2)) {
            WorkerGroup.Team team = group.team();
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> team.run(2, w -> {
                if (w == 1) {
                    throw new IllegalStateException("boom in participant 1");
                }
                for (int i = 0; i < 10; i++) {
                    team.barrier();
                }
            }));
            assertEquals("boom in participant 1", e.getMessage());
            int[] ran = new int[2];
            team.run(2, w -> ran[w]++);
            assertEquals(1, ran[0], "the group still works after a failure");
            assertEquals(1, ran[1], "the group still works after a failure");
        }
    }

    @Test
    void aCallGetsNoMoreThanItAsksNorMoreThanTheGroupHas() {
        try (WorkerGroup group = WorkerGroup.create(3)) {
            WorkerGroup.Team team = group.team();
            int[] ran = new int[3];
            team.run(2, w -> {
                ran[w]++;
                team.barrier();
            });
            assertEquals(1, ran[0]);
            assertEquals(1, ran[1]);
            assertEquals(0, ran[2]);
            AtomicInteger seen = new AtomicInteger();
            team.run(10, w -> seen.incrementAndGet());
            assertEquals(3, seen.get(), "a group of 3 runs a call on 3 threads at most");
        }
        try (WorkerGroup one = WorkerGroup.create(1)) {
            int[] ran = new int[1];
            one.team().run(4, w -> ran[w]++);
            assertEquals(1, ran[0]);
            assertEquals(0, one.startedHelpers(), "a group of 1 starts no thread");
        }
    }

    /**
     * The bound: eight callers on a group of 3, each asking for 3 threads. Every call completes (a
     * caller that finds the group full runs alone), no call has more than 3 threads, and never more
     * than the group's 2 helpers run at once, however many callers there are.
     */
    @Test
    void concurrentCallsShareTheBound() throws Exception {
        int size = 3;
        int callers = 8;
        try (WorkerGroup group = WorkerGroup.create(size)) {
            AtomicInteger helpersRunning = new AtomicInteger();
            AtomicInteger mostHelpers = new AtomicInteger();
            AtomicInteger mostParticipants = new AtomicInteger();
            AtomicInteger calls = new AtomicInteger();
            CyclicBarrier start = new CyclicBarrier(callers);
            Thread[] threads = new Thread[callers];
            Throwable[] failed = new Throwable[callers];
            for (int i = 0; i < callers; i++) {
                int me = i;
                threads[i] = Thread.ofPlatform().start(() -> {
                    try {
                        WorkerGroup.Team team = group.team();
                        start.await();
                        for (int call = 0; call < 200; call++) {
                            team.run(size, w -> {
                                mostParticipants.accumulateAndGet(team.participants(), Math::max);
                                if (w > 0) {
                                    mostHelpers.accumulateAndGet(helpersRunning.incrementAndGet(), Math::max);
                                }
                                for (int r = 0; r < 3; r++) {
                                    team.barrier();
                                }
                                if (w > 0) {
                                    helpersRunning.decrementAndGet();
                                }
                            });
                            calls.incrementAndGet();
                        }
                    } catch (Throwable t) {
                        failed[me] = t;
                    }
                });
            }
            for (Thread t : threads) {
                t.join(60_000);
                assertFalse(t.isAlive(), "a caller hung");
            }
            for (Throwable t : failed) {
                if (t != null) {
                    throw new AssertionError(t);
                }
            }
            assertEquals(callers * 200, calls.get());
            System.out.printf("8 callers on a group of 3: at most %d helpers at once, at most %d threads in one call%n",
                    mostHelpers.get(), mostParticipants.get());
            assertTrue(mostHelpers.get() <= size - 1, "helpers at once: " + mostHelpers.get());
            assertTrue(mostParticipants.get() <= size, "threads in one call: " + mostParticipants.get());
        }
    }

    @Test
    void helpersStartOnFirstUseAndStopOnClose() throws Exception {
        WorkerGroup group = WorkerGroup.create(3);
        assertEquals(0, group.startedHelpers(), "no thread before a call wants one");
        group.team().run(1, w -> { });
        assertEquals(0, group.startedHelpers(), "a one-thread call starts none");
        group.team().run(3, w -> { });
        assertEquals(2, group.startedHelpers());
        String prefix = group.toString();
        group.close();
        group.close();
        assertThrows(IllegalStateException.class, () -> group.team().run(2, w -> { }));
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (liveHelpers(group) > 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(0, liveHelpers(group), "helpers of " + prefix + " still running after close()");
    }

    /** A large group whose calls want few threads starts only the helpers they use. */
    @Test
    void helpersStartOnlyAsNeeded() {
        try (WorkerGroup group = WorkerGroup.create(8)) {
            WorkerGroup.Team team = group.team();
            int[] seen = new int[1];
            team.run(3, w -> seen[0] = team.participants());
            assertEquals(3, seen[0]);
            assertEquals(2, group.startedHelpers(), "a call of 3 threads needs 2 helpers, not 7");
            team.run(3, w -> { });
            assertEquals(2, group.startedHelpers(), "the same helpers serve the next call");
            team.run(8, w -> { });
            assertEquals(7, group.startedHelpers());
        }
    }

    /** A group dropped without close(): its cleaner stops the helpers once the group is unreachable. */
    @Test
    void anUnreachableGroupStopsItsHelpers() throws Exception {
        long before = countHelpers();
        for (int i = 0; i < 50; i++) {
            WorkerGroup g = WorkerGroup.create(3);
            g.team().run(3, w -> { });
        }
        long peak = countHelpers();
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (countHelpers() > before && System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(20);
        }
        long after = countHelpers();
        System.out.printf("helper threads of dropped groups: %d before, %d with 50 groups, %d after GC%n", before, peak,
                after);
        assertTrue(peak >= before + 100, "each group ran two helpers: " + peak);
        assertEquals(before, after, "helper threads of unreachable groups still running");
    }

    @Test
    void theCommonGroupIsSizedToTheMachineAndCannotBeClosed() {
        WorkerGroup common = WorkerGroup.common();
        assertEquals(Runtime.getRuntime().availableProcessors(), common.size());
        common.close();
        AtomicInteger ran = new AtomicInteger();
        common.team().run(common.size(), w -> ran.incrementAndGet());
        assertTrue(ran.get() >= 1, "the common group still runs after close()");
        assertThrows(IllegalArgumentException.class, () -> WorkerGroup.create(0));
    }

    @Test
    void parkedHelpersWakeForTheNextCall() throws Exception {
        try (WorkerGroup group = WorkerGroup.create(2)) {
            WorkerGroup.Team team = group.team();
            team.run(2, w -> { });
            Thread.sleep(50); // past the idle spin: the helper parks
            CountDownLatch ran = new CountDownLatch(2);
            team.run(2, w -> ran.countDown());
            assertEquals(0, ran.getCount());
        }
    }

    /**
     * While a team holds, its idle helper keeps spinning (runnable) long past the idle spin, where it would have
     * parked; after release it parks again. Both calls still run on both threads.
     */
    @Test
    void aHeldTeamsHelperStaysAwakeBetweenRunsAndParksAfterRelease() throws Exception {
        try (WorkerGroup group = WorkerGroup.create(2)) {
            WorkerGroup.Team team = group.team();
            team.run(2, w -> { });
            Thread helper = helpers(group).get(0);
            assertEquals(Thread.State.WAITING, settle(helper, Thread.State.WAITING), "an idle helper parks");
            team.hold();
            team.hold();
            AtomicInteger ran = new AtomicInteger();
            team.run(2, w -> ran.incrementAndGet());
            Thread.sleep(200); // far past the idle spin (some 50 us)
            assertEquals(Thread.State.RUNNABLE, helper.getState(), "the held team's helper parked");
            team.run(2, w -> ran.incrementAndGet());
            assertEquals(4, ran.get());
            team.release();
            team.release();
            assertEquals(Thread.State.WAITING, settle(helper, Thread.State.WAITING), "the helper still spins after release");
        }
    }

    /** The thread's state once it is {@code wanted}, or what it still is after 10 s. */
    private static Thread.State settle(Thread t, Thread.State wanted) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (t.getState() != wanted && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        return t.getState();
    }

    private static java.util.List<Thread> helpers(WorkerGroup group) {
        String name = group.toString();
        String prefix = name.substring("worker group ".length(), name.indexOf(" of "));
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith(prefix)).toList();
    }

    private static long liveHelpers(WorkerGroup group) {
        String name = group.toString();
        String prefix = name.substring("worker group ".length(), name.indexOf(" of "));
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith(prefix)).count();
    }

    private static long countHelpers() {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("cellstate-group-")).count();
    }
}
