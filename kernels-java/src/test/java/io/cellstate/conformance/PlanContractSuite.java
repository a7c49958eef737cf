package io.cellstate.conformance;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.cellstate.Backend;
import io.cellstate.Direction;
import io.cellstate.ForwardMode;
import io.cellstate.Layout;
import io.cellstate.PlanOptions;
import io.cellstate.RnnInput;
import io.cellstate.RnnInputGrad;
import io.cellstate.RnnOutput;
import io.cellstate.RnnOutputGrad;
import io.cellstate.RnnPlan;
import io.cellstate.RnnSpec;
import io.cellstate.RnnState;
import io.cellstate.RnnWeightGrads;
import io.cellstate.RnnWeights;
import io.cellstate.RnnWorkspace;
import io.cellstate.Tensor;
import io.cellstate.WeightGradMode;
import io.cellstate.WorkerGroup;
import io.cellstate.testing.Case;
import java.lang.foreign.Arena;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * What a plan promises a framework beyond its numbers, which every backend keeps: misuse is an
 * exception, never a crash, a hang or a wrong answer; a plan dropped without {@code close()} gives
 * back its threads and native memory; and a plan's output does not depend on what else runs in the
 * process. Each backend module subclasses it (it ships in {@code cellstate-kernels-java}'s test-jar,
 * beside {@link RnnConformanceSuite}).
 */
public abstract class PlanContractSuite extends BackendSuite {
    private static final long SEED = Long.getLong("cellstate.seed", 20261202L);
    /** How long a concurrency test may try to provoke what it looks for. */
    private static final long PATIENCE_NANOS = 20_000_000_000L;

    /** The thread counts whose plans {@link #concurrentPlansGiveTheirLoneResultsBitForBit()} runs together. */
    protected int[] threadCounts() {
        return new int[] {1, 2, 1, 2};
    }

    /**
     * What this backend's plans hold outside the Java heap now, counted by the backend itself (bytes,
     * handles), or -1 where its plans hold nothing there.
     */
    protected long heldOutsideHeap() {
        return -1;
    }

    /** Whether the backend's plans run on the worker group of their options (the CPU driver's plans). */
    protected boolean usesWorkerGroup() {
        return false;
    }

    /** How many plans {@link #droppedPlansGiveBackThreadsAndMemory()} drops unclosed. */
    protected int plansToDrop() {
        return 2000;
    }

    private static RnnSpec spec() {
        return RnnSpec.builder().inputSize(24).hiddenSize(48).layers(2).build();
    }

    private static Case hammerCase() {
        return new Case(SEED, spec(), 12, 6, Layout.SEQUENCE_MAJOR, Case.Lengths.RANDOM, true, true);
    }

    /**
     * Four threads call one plan as fast as they can, with forward and step. Every call either
     * returns exactly what the plan returns alone, or is refused with an IllegalStateException that
     * names the plan and the thread holding it; at least one call is refused (the threads did
     * collide); nothing crashes or hangs, and the plan works afterwards.
     */
    @Test
    void onePlanHammeredFromFourThreadsRefusesInsteadOfRacing() throws Exception {
        Case c = hammerCase();
        RnnWeights w = c.weights();
        RnnInput in = c.input();
        try (RnnPlan plan = backend().plan(c.spec(), w, PlanOptions.defaults())) {
            float[] expectedY = plan.forward(in).y().toArray();
            float[] expectedStep = stepOnce(plan, c).toArray();
            int threads = 4;
            AtomicInteger refused = new AtomicInteger();
            AtomicInteger completed = new AtomicInteger();
            AtomicReference<Throwable> wrong = new AtomicReference<>();
            AtomicBoolean stop = new AtomicBoolean();
            CyclicBarrier start = new CyclicBarrier(threads);
            List<Thread> workers = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                int me = i;
                workers.add(Thread.ofPlatform().name("hammer-" + i).start(() -> {
                    RnnOutput out = RnnOutput.allocate(c.spec(), c.layout(), c.steps(), c.batch());
                    try {
                        start.await();
                        for (int call = 0; !stop.get(); call++) {
                            try {
                                if ((call + me) % 3 == 0 && c.spec().direction() == Direction.FORWARD) {
                                    assertArrayEquals(expectedStep, stepOnce(plan, c).toArray(), "step on " + plan);
                                } else {
                                    plan.forward(in, out);
                                    assertArrayEquals(expectedY, out.y().toArray(), "forward on " + plan);
                                }
                                completed.incrementAndGet();
                            } catch (IllegalStateException e) {
                                String m = String.valueOf(e.getMessage());
                                if (!m.contains(plan.toString()) || !m.contains("in use by thread 'hammer-")) {
                                    throw new AssertionError("refusal without the plan and the holder: " + m, e);
                                }
                                refused.incrementAndGet();
                                Thread.yield(); // as a caller would back off, not spin on the exception
                            }
                        }
                    } catch (Throwable t) {
                        wrong.compareAndSet(null, t);
                        stop.set(true);
                    }
                }));
            }
            long deadline = System.nanoTime() + PATIENCE_NANOS;
            while (!stop.get() && System.nanoTime() < deadline && (refused.get() < 50 || completed.get() < 200)) {
                Thread.sleep(5);
            }
            stop.set(true);
            for (Thread t : workers) {
                t.join(60_000);
                assertFalse(t.isAlive(), t.getName() + " hung inside " + plan);
            }
            if (wrong.get() != null) {
                throw new AssertionError("a call on a shared plan went wrong", wrong.get());
            }
            System.out.printf("%s: 4 threads on one plan: %d calls completed (all exact), %d refused%n",
                    getClass().getSimpleName(), completed.get(), refused.get());
            assertTrue(refused.get() > 0, "the threads never collided in 20 s, so the guard was not tested");
            assertTrue(completed.get() > 0, "no call completed");
            assertArrayEquals(expectedY, plan.forward(in).y().toArray(), "the plan after the hammering");
        }
    }

    /**
     * Training calls keep the same rules: four threads each run forward into a workspace of their
     * own and backward from it on one shared plan; every call either completes with exactly the
     * gradients the plan gives alone or is refused naming the plan and the holder. Closing a
     * workspace while another thread is inside the plan is refused; closing the plan closes its
     * workspaces, and a closed workspace is refused by name.
     */
    @Test
    void trainingCallsFollowTheSameRules() throws Exception {
        Case c = hammerCase();
        PlanOptions training = PlanOptions.defaults().withMode(ForwardMode.TRAINING);
        String lacks = backend().unsupported(c.spec(), training);
        if (!lacks.isEmpty()) {
            System.out.println("SKIPPED " + getClass().getSimpleName() + ".trainingCallsFollowTheSameRules: " + lacks);
            Assumptions.abort(lacks);
        }
        RnnInput in = c.input();
        Tensor dy = Tensor.zeros(c.layout().shape(c.steps(), c.batch(), c.spec().outputSize())).fill(0.25f);
        RnnPlan plan = backend().plan(c.spec(), c.weights(), training);
        float[] expected = trainOnce(plan, c, in, dy, plan.newWorkspace());
        int threads = 4;
        AtomicInteger refused = new AtomicInteger();
        AtomicInteger completed = new AtomicInteger();
        AtomicReference<Throwable> wrong = new AtomicReference<>();
        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> workers = new ArrayList<>();
        List<RnnWorkspace> spaces = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            spaces.add(plan.newWorkspace());
        }
        java.util.concurrent.atomic.AtomicIntegerArray done = new java.util.concurrent.atomic.AtomicIntegerArray(threads);
        String tester = Thread.currentThread().getName();
        CyclicBarrier start = new CyclicBarrier(threads);
        for (int i = 0; i < threads; i++) {
            RnnWorkspace ws = spaces.get(i);
            int me = i;
            workers.add(Thread.ofPlatform().name("trainer-" + i).start(() -> {
                try {
                    start.await();
                    while (!stop.get()) {
                        try {
                            assertArrayEquals(expected, trainOnce(plan, c, in, dy, ws), "training on " + plan);
                            completed.incrementAndGet();
                            done.incrementAndGet(me);
                        } catch (IllegalStateException e) {
                            String m = String.valueOf(e.getMessage());
                            // the holder is another trainer, or this test's thread closing a workspace
                            if (!m.contains(plan.toString()) || !(m.contains("in use by thread 'trainer-")
                                    || m.contains("in use by thread '" + tester + "'"))) {
                                throw new AssertionError("refusal without the plan and the holder: " + m, e);
                            }
                            refused.incrementAndGet();
                            Thread.yield();
                        } catch (IllegalArgumentException e) {
                            // the main thread closed this workspace between two calls: refused by name, as it must be
                            assertTrue(me == 0 && e.getMessage().equals("workspace: expected an open workspace, got a"
                                    + " closed one"), e.getMessage());
                            return;
                        }
                    }
                } catch (Throwable t) {
                    wrong.compareAndSet(null, t);
                    stop.set(true);
                }
            }));
        }
        long deadline = System.nanoTime() + PATIENCE_NANOS;
        int closeRefused = 0;
        boolean closed = false;
        while (!stop.get() && System.nanoTime() < deadline && (refused.get() < 20 || completed.get() < 40 || !closed)) {
            if (!closed && completed.get() >= 4) {
                try {
                    spaces.get(0).close();
                    closed = true;
                } catch (IllegalStateException e) {
                    assertTrue(e.getMessage().startsWith("cannot close workspace of " + plan), e.getMessage());
                    closeRefused++;
                }
            }
            Thread.sleep(2);
        }
        stop.set(true);
        for (Thread t : workers) {
            t.join(60_000);
            assertFalse(t.isAlive(), t.getName() + " hung inside " + plan);
        }
        if (wrong.get() != null) {
            throw new AssertionError("a training call on a shared plan went wrong", wrong.get());
        }
        System.out.printf("%s: 4 threads training on one plan: %d calls completed (all exact), %d refused;"
                + " a workspace's close refused %d times while the plan was busy%n", getClass().getSimpleName(),
                completed.get(), refused.get(), closeRefused);
        assertTrue(completed.get() > 0 && refused.get() > 0, "the threads never collided, so the guard was not tested");
        assertTrue(closed, "the workspace never closed");
        int keptIndex = 1;
        while (keptIndex < threads - 1 && done.get(keptIndex) == 0) {
            keptIndex++;
        }
        RnnWorkspace kept = spaces.get(keptIndex);
        assertTrue(done.get(keptIndex) == 0 || kept.holdsForward(), "a workspace that ran forward holds it");
        plan.close();
        assertFalse(kept.holdsForward(), "the plan's close closes its workspaces");
        assertThrows(IllegalStateException.class, () -> trainOnce(plan, c, in, dy, kept));
        kept.close();
        try (RnnPlan other = backend().plan(c.spec(), c.weights(), training)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> other.forward(in, RnnOutput.allocate(c.spec(), c.layout(), c.steps(), c.batch()), kept));
            assertTrue(e.getMessage().startsWith("workspace: expected a workspace of " + other), e.getMessage());
        }
    }

    /** One forward into {@code ws} and one backward; the weight and input gradients, concatenated. */
    private static float[] trainOnce(RnnPlan plan, Case c, RnnInput in, Tensor dy, RnnWorkspace ws) {
        RnnOutput out = RnnOutput.allocate(c.spec(), c.layout(), c.steps(), c.batch());
        plan.forward(in, out, ws);
        RnnWeightGrads g = RnnWeightGrads.zeros(c.spec());
        RnnInputGrad dIn = RnnInputGrad.allocate(c.spec(), c.layout(), c.steps(), c.batch());
        plan.backward(ws, RnnOutputGrad.of(dy), dIn, g, WeightGradMode.OVERWRITE);
        List<float[]> parts = new ArrayList<>();
        parts.add(out.y().toArray());
        parts.add(dIn.dx().toArray());
        parts.add(dIn.dh0().toArray());
        g.toStateDict().values().forEach(t -> parts.add(t.toArray()));
        int n = parts.stream().mapToInt(a -> a.length).sum();
        float[] all = new float[n];
        int at = 0;
        for (float[] a : parts) {
            System.arraycopy(a, 0, all, at, a.length);
            at += a.length;
        }
        return all;
    }

    private static Tensor stepOnce(RnnPlan plan, Case c) {
        RnnState state = plan.newState(c.batch());
        Tensor x = Tensor.zeros(c.batch(), c.spec().inputSize()).fill(0.375f);
        plan.step(x, state);
        return plan.step(x, state);
    }

    /**
     * close() from another thread while a call runs is refused, naming the thread (closing would
     * free what the call uses); once the call is done, close() works and later calls are refused
     * because the plan is closed.
     */
    @Test
    void closeWhileAnotherThreadIsInsideIsRefused() throws Exception {
        Case c = new Case(SEED + 1, spec(), 64, 16, Layout.SEQUENCE_MAJOR, Case.Lengths.NONE, false, false);
        RnnWeights w = c.weights();
        RnnInput in = c.input();
        long deadline = System.nanoTime() + PATIENCE_NANOS;
        int attempts = 0;
        while (System.nanoTime() < deadline) {
            attempts++;
            RnnPlan plan = backend().plan(c.spec(), w, PlanOptions.defaults());
            float[] expected = plan.forward(in).y().toArray();
            AtomicBoolean stop = new AtomicBoolean();
            AtomicReference<Throwable> wrong = new AtomicReference<>();
            AtomicInteger closedSeen = new AtomicInteger();
            Thread caller = Thread.ofPlatform().name("long-call").start(() -> {
                RnnOutput out = RnnOutput.allocate(c.spec(), c.layout(), c.steps(), c.batch());
                while (!stop.get()) {
                    try {
                        plan.forward(in, out);
                        assertArrayEquals(expected, out.y().toArray());
                    } catch (IllegalStateException e) {
                        if (!String.valueOf(e.getMessage()).endsWith("is closed")) {
                            wrong.compareAndSet(null, e);
                        }
                        closedSeen.incrementAndGet();
                        return;
                    } catch (Throwable t) {
                        wrong.compareAndSet(null, t);
                        return;
                    }
                }
            });
            Thread.sleep(1);
            boolean refused = false;
            try {
                plan.close();
            } catch (IllegalStateException e) {
                assertTrue(e.getMessage().contains("cannot close " + plan) && e.getMessage().contains("'long-call'"),
                        e.getMessage());
                refused = true;
            }
            stop.set(true);
            caller.join(60_000);
            assertFalse(caller.isAlive(), "the caller hung");
            if (wrong.get() != null) {
                throw new AssertionError("the call racing close() went wrong", wrong.get());
            }
            if (refused) {
                plan.close();
                plan.close();
                IllegalStateException e = assertThrows(IllegalStateException.class, () -> plan.forward(in));
                assertTrue(e.getMessage().endsWith("is closed"), e.getMessage());
                System.out.printf("%s: close() during a call refused (attempt %d)%n", getClass().getSimpleName(), attempts);
                return;
            }
            // close() got in between two calls: the caller then met a closed plan, which is right too
            assertTrue(closedSeen.get() <= 1);
        }
        fail("close() never overlapped a call in " + attempts + " attempts");
    }

    /**
     * Plans of several thread counts run at once, each over the same input many times, and each
     * returns bit for bit what a plan of its options returns alone.
     */
    @Test
    void concurrentPlansGiveTheirLoneResultsBitForBit() throws Exception {
        RnnSpec spec = RnnSpec.builder().inputSize(520).hiddenSize(96).layers(2).direction(Direction.BIDIRECTIONAL).build();
        Case c = new Case(SEED + 2, spec, 20, 8, Layout.SEQUENCE_MAJOR, Case.Lengths.RANDOM, true, true);
        RnnWeights w = c.weights();
        RnnInput in = c.input();
        int[] counts = threadCounts();
        float[][] alone = new float[counts.length][];
        for (int i = 0; i < counts.length; i++) {
            try (RnnPlan plan = backend().plan(spec, w, PlanOptions.defaults().withThreads(counts[i]))) {
                RnnOutput out = plan.forward(in);
                alone[i] = concat(out.y().toArray(), out.hN().toArray(), out.cN().toArray());
            }
        }
        AtomicReference<Throwable> wrong = new AtomicReference<>();
        AtomicInteger mismatches = new AtomicInteger();
        CyclicBarrier start = new CyclicBarrier(counts.length);
        int rounds = 40;
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < counts.length; i++) {
            int me = i;
            threads.add(Thread.ofPlatform().start(() -> {
                try (RnnPlan plan = backend().plan(spec, w, PlanOptions.defaults().withThreads(counts[me]))) {
                    RnnOutput out = RnnOutput.allocate(spec, c.layout(), c.steps(), c.batch());
                    start.await();
                    for (int r = 0; r < rounds; r++) {
                        plan.forward(in, out);
                        float[] got = concat(out.y().toArray(), out.hN().toArray(), out.cN().toArray());
                        if (!java.util.Arrays.equals(alone[me], got)) {
                            mismatches.incrementAndGet();
                        }
                    }
                } catch (Throwable t) {
                    wrong.compareAndSet(null, t);
                }
            }));
        }
        for (Thread t : threads) {
            t.join(120_000);
            assertFalse(t.isAlive(), "a plan hung");
        }
        if (wrong.get() != null) {
            throw new AssertionError(wrong.get());
        }
        System.out.printf("%s: %d plans (threads %s) at once, %d calls each: %d outputs differ from the lone run%n",
                getClass().getSimpleName(), counts.length, java.util.Arrays.toString(counts), rounds, mismatches.get());
        assertEquals(0, mismatches.get(), "outputs that differ in some bit from the same plan options run alone");
    }

    private static float[] concat(float[]... parts) {
        int n = 0;
        for (float[] p : parts) {
            n += p.length;
        }
        float[] all = new float[n];
        int at = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, all, at, p.length);
            at += p.length;
        }
        return all;
    }

    /**
     * Thousands of plans made, used and dropped without close(): the process's live threads and
     * what the backend holds outside the heap come back to where they were once the garbage
     * collector has seen the plans.
     */
    @Test
    void droppedPlansGiveBackThreadsAndMemory() throws Exception {
        RnnSpec spec = RnnSpec.builder().inputSize(8).hiddenSize(32).layers(2).build();
        RnnWeights w = RnnWeights.random(spec, 7);
        RnnInput in = RnnInput.of(Tensor.zeros(4, 8, 8).fill(0.5f));
        var threads = ManagementFactory.getThreadMXBean();
        // warm up: helpers of the worker group, the cleaner's thread, the backend's own set-up
        for (int i = 0; i < 3; i++) {
            backend().plan(spec, w, PlanOptions.defaults()).forward(in);
        }
        for (int i = 0; i < 5; i++) {
            System.gc();
            Thread.sleep(20);
        }
        int threadsBefore = threads.getThreadCount();
        long heldBefore = heldOutsideHeap();
        int n = plansToDrop();
        long heldPeak = heldBefore;
        int threadsPeak = threadsBefore;
        for (int i = 0; i < n; i++) {
            RnnPlan plan = backend().plan(spec, w, PlanOptions.defaults().withThreads(1 + i % 2));
            if (i % 10 == 0) {
                plan.forward(in);
            }
            if (i % 100 == 0) {
                heldPeak = Math.max(heldPeak, heldOutsideHeap());
                threadsPeak = Math.max(threadsPeak, threads.getThreadCount());
            }
        }
        boolean counts = heldBefore >= 0;
        settle(() -> threads.getThreadCount() <= threadsBefore && (!counts || heldOutsideHeap() <= heldBefore));
        int threadsAfter = threads.getThreadCount();
        long heldAfter = heldOutsideHeap();
        System.out.printf("%s: %d plans dropped unclosed: live threads %d before, %d at most while dropping, %d after;"
                        + " held outside the heap %s%n", getClass().getSimpleName(), n, threadsBefore, threadsPeak,
                threadsAfter, counts ? heldBefore + " before, " + heldPeak + " at most, " + heldAfter + " after" : "nothing");
        assertTrue(threadsAfter <= threadsBefore, "live threads: " + threadsBefore + " before, " + threadsAfter + " after");
        if (counts) {
            assertTrue(heldPeak > heldBefore, "plans hold something outside the heap while open");
            assertEquals(heldBefore, heldAfter, "held outside the heap after the dropped plans were collected");
        }
    }

    /** Collects garbage until {@code done} holds or 20 s pass. */
    private static void settle(java.util.function.BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + PATIENCE_NANOS;
        do {
            System.gc();
            Thread.sleep(20);
        } while (!done.getAsBoolean() && System.nanoTime() < deadline);
    }

    /**
     * A plan whose worker group was closed refuses its calls, naming the group, and a plan asked for on
     * a closed group is refused, naming the option, leaving nothing allocated behind.
     */
    @Test
    void aClosedWorkerGroupIsRefused() {
        if (!usesWorkerGroup()) {
            String why = getClass().getSimpleName() + ": backend '" + backend().name() + "' runs on no worker group";
            System.out.println("SKIPPED " + why);
            Assumptions.abort(why);
        }
        RnnSpec spec = spec();
        RnnWeights w = RnnWeights.random(spec, 5);
        RnnInput in = RnnInput.of(Tensor.zeros(3, 2, spec.inputSize()).fill(0.25f));
        WorkerGroup group = WorkerGroup.create(2);
        try (RnnPlan plan = backend().plan(spec, w, PlanOptions.defaults().withWorkers(group))) {
            plan.forward(in); // runs while the group is open
            group.close();
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> plan.forward(in));
            assertEquals(group + " is closed", e.getMessage());
        }
        long heldBefore = heldOutsideHeap();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> backend().plan(spec, w, PlanOptions.defaults().withWorkers(group)));
        assertTrue(e.getMessage().startsWith("options.workers: expected an open worker group, got " + group),
                e.getMessage());
        assertTrue(heldOutsideHeap() <= heldBefore, "the refused plan's kernel was not released: "
                + heldBefore + " bytes before, " + heldOutsideHeap() + " after");
    }

    /** A tensor whose arena was closed is refused before anything native reads it. */
    @Test
    void tensorsOverFreedMemoryAreRefused() {
        RnnSpec spec = spec();
        try (RnnPlan plan = backend().plan(spec, RnnWeights.random(spec, 3), PlanOptions.defaults())) {
            Tensor x;
            try (Arena arena = Arena.ofConfined()) {
                x = Tensor.allocate(arena, 3, 2, spec.inputSize());
            }
            Tensor freed = x;
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> plan.forward(RnnInput.of(freed)));
            assertTrue(e.getMessage().startsWith("in.x:") && e.getMessage().contains("freed"), e.getMessage());
        }
    }
}
