package io.cellstate.spark;

import io.cellstate.Backend;
import io.cellstate.Backends;
import io.cellstate.PlanOptions;
import io.cellstate.RnnPlan;
import io.cellstate.RnnSpec;
import io.cellstate.RnnWeights;
import java.lang.ref.Reference;
import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The plans of one executor (one JVM): per model, backend and thread count, a pool of plans, each lent
 * to one task at a time. A pool grows to the number of tasks that ran it at once (an executor's cores
 * over {@code spark.task.cpus}), so an executor holds one plan per task thread, made on first use and
 * reused by every later partition, task and job of the same model.
 *
 * <p><b>Why a static.</b> Spark gives user code no per-executor object to hang state on: a task
 * receives a freshly deserialized function and a thread from the executor's pool. A plan packs its
 * weights and sizes its workspace, which costs far more than scoring a small partition, so making one
 * per task would cost that per partition; the JVM-wide cache (one instance, in a holder: created on
 * first use, without locks on the way) is what makes plans outlive tasks. It holds no configuration:
 * everything a plan depends on is its key.
 *
 * <p><b>Lifetime.</b> A model's plans live as long as Spark keeps its broadcast on this executor: the
 * cache holds the broadcast value weakly, and once Spark drops it (the scorer closed, or collected on
 * the driver, and Spark's cleaner removing the broadcast), the next use of the cache closes that model's
 * plans. {@link CellstatePlugin} closes them all when the executor stops ({@link #closeAll()}).
 */
final class PlanCache {
    private final ReferenceQueue<ModelPayload> released = new ReferenceQueue<>();
    /** Guarded by {@code this}. */
    private final Map<String, Model> models = new HashMap<>();
    /** Plans this cache made and has not closed yet. */
    private final AtomicInteger open = new AtomicInteger();

    PlanCache() {
    }

    /** The executor's cache, made on first use. */
    static PlanCache shared() {
        return Holder.SHARED;
    }

    private static final class Holder {
        static final PlanCache SHARED = new PlanCache();
    }

    /** A payload as the cache holds it: weakly, with the model id to find its entry once Spark drops it. */
    private static final class PayloadRef extends WeakReference<ModelPayload> {
        final String id;

        PayloadRef(ModelPayload payload, ReferenceQueue<ModelPayload> queue) {
            super(payload, queue);
            this.id = payload.id();
        }
    }

    /** One model: its spec and weights rebuilt once, shared by its plans, and its pools. */
    private static final class Model {
        PayloadRef ref;
        final RnnSpec spec;
        final RnnWeights weights;
        final Map<PoolKey, Pool> pools = new LinkedHashMap<>();

        Model(PayloadRef ref, RnnSpec spec, RnnWeights weights) {
            this.ref = ref;
            this.spec = spec;
            this.weights = weights;
        }
    }

    private record PoolKey(String backend, int threads) {
    }

    /** The plans of one model, backend (as requested: {@code auto} or a name) and thread count. */
    private static final class Pool {
        final RnnSpec spec;
        final RnnWeights weights;
        final PoolKey key;
        /** Guarded by the cache. */
        final ArrayDeque<PooledPlan> idle = new ArrayDeque<>();
        int lent;
        int made;
        boolean closed;
        /** The backend's name once a plan was made (what {@code auto} chose on this executor). */
        String chosen;

        Pool(RnnSpec spec, RnnWeights weights, PoolKey key) {
            this.spec = spec;
            this.weights = weights;
            this.key = key;
        }
    }

    /**
     * A plan with the buffers a partition's batches reuse, lent to one task at a time.
     */
    static final class PooledPlan {
        final RnnPlan plan;
        final ScoringBuffers buffers = new ScoringBuffers();

        PooledPlan(RnnPlan plan) {
            this.plan = plan;
        }
    }

    /** A plan lent to a task; {@link #close()} gives it back (once; later calls do nothing). */
    final class Lease implements AutoCloseable {
        private final Pool pool;
        private PooledPlan lent;

        private Lease(Pool pool, PooledPlan lent) {
            this.pool = pool;
            this.lent = lent;
        }

        /** The plan and its buffers. */
        PooledPlan get() {
            if (lent == null) {
                throw new IllegalStateException("this lease was given back");
            }
            return lent;
        }

        @Override
        public void close() {
            PooledPlan p;
            synchronized (PlanCache.this) {
                p = lent;
                lent = null;
                if (p == null) {
                    return;
                }
                pool.lent--;
                if (!pool.closed) {
                    pool.idle.push(p);
                    return;
                }
            }
            closePlan(p);
        }
    }

    /**
     * Lends a plan of {@code payload}'s model, made on this executor with {@code backend} and
     * {@code threads} if no idle one is there.
     *
     * @param payload the model, as the broadcast gave it to this task
     * @param backend {@code auto} or a backend's name
     * @param threads the plan's thread count
     * @return the lease; close it to give the plan back
     * @throws IllegalStateException         if the backend is unavailable on this executor
     * @throws UnsupportedOperationException if the backend cannot run the model
     */
    Lease borrow(ModelPayload payload, String backend, int threads) {
        Objects.requireNonNull(payload, "payload");
        Pool pool;
        List<PooledPlan> dropped = new ArrayList<>();
        synchronized (this) {
            dropped.addAll(expunge());
            Model model = models.get(payload.id());
            if (model == null) {
                model = new Model(new PayloadRef(payload, released), payload.spec(), payload.weights());
                models.put(payload.id(), model);
            } else if (model.ref.get() != payload) {
                // Spark read the broadcast again (its memory store had let it go): follow the copy it holds now
                model.ref = new PayloadRef(payload, released);
            }
            Model m = model;
            pool = m.pools.computeIfAbsent(new PoolKey(backend, threads), k -> new Pool(m.spec, m.weights, k));
            pool.lent++;
            PooledPlan idle = pool.idle.poll();
            if (idle != null) {
                closeEach(dropped);
                return new Lease(pool, idle);
            }
        }
        closeEach(dropped);
        // made outside the lock: packing the weights takes a while, and other tasks need not wait for it
        try {
            PlanOptions options = PlanOptions.defaults().withThreads(threads);
            Backend b = Backends.get(backend, pool.spec, options);
            RnnPlan plan = b.plan(pool.spec, pool.weights, options);
            open.incrementAndGet();
            synchronized (this) {
                pool.made++;
                pool.chosen = plan.backend();
            }
            return new Lease(pool, new PooledPlan(plan));
        } catch (RuntimeException | Error e) {
            synchronized (this) {
                pool.lent--;
            }
            throw e;
        }
    }

    /** Removes the models whose broadcast Spark dropped; returns their idle plans, to be closed outside the lock. */
    private List<PooledPlan> expunge() {
        List<PooledPlan> out = new ArrayList<>();
        for (Reference<? extends ModelPayload> r; (r = released.poll()) != null; ) {
            PayloadRef ref = (PayloadRef) r;
            Model m = models.get(ref.id);
            if (m != null && m.ref == ref) {
                models.remove(ref.id);
                for (Pool p : m.pools.values()) {
                    out.addAll(shut(p));
                }
            }
        }
        return out;
    }

    /** Marks a pool closed (its lent plans close when given back) and empties its idle ones into the result. */
    private static List<PooledPlan> shut(Pool p) {
        p.closed = true;
        List<PooledPlan> idle = new ArrayList<>(p.idle);
        p.idle.clear();
        return idle;
    }

    /**
     * Closes every idle plan and forgets every model; plans lent now close when given back. The cache
     * stays usable: a later task makes new plans.
     *
     * @return the number of plans closed now
     */
    int closeAll() {
        List<PooledPlan> idle = new ArrayList<>();
        synchronized (this) {
            idle.addAll(expunge());
            for (Model m : models.values()) {
                for (Pool p : m.pools.values()) {
                    idle.addAll(shut(p));
                }
            }
            models.clear();
        }
        closeEach(idle);
        return idle.size();
    }

    /** Closes the idle plans of models Spark dropped; what {@link #borrow} does on its way. */
    void expungeReleased() {
        List<PooledPlan> dropped;
        synchronized (this) {
            dropped = expunge();
        }
        closeEach(dropped);
    }

    private void closeEach(List<PooledPlan> plans) {
        RuntimeException first = null;
        for (PooledPlan p : plans) {
            try {
                closePlan(p);
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    private void closePlan(PooledPlan p) {
        p.plan.close();
        open.decrementAndGet();
    }

    /**
     * One pool, as the tests and the plugin's log see it.
     *
     * @param model   the model's id
     * @param backend the backend as requested ({@code auto} or a name)
     * @param chosen  the backend the plans run on; null before the first plan
     * @param threads the plans' thread count
     * @param idle    plans waiting for a task
     * @param lent    plans in use (or being made)
     * @param made    plans made in all
     */
    record PoolInfo(String model, String backend, String chosen, int threads, int idle, int lent, int made) {
    }

    /** Every pool now, after closing those of dropped models. */
    List<PoolInfo> pools() {
        expungeReleased();
        List<PoolInfo> out = new ArrayList<>();
        synchronized (this) {
            for (Map.Entry<String, Model> e : models.entrySet()) {
                for (Pool p : e.getValue().pools.values()) {
                    out.add(new PoolInfo(e.getKey(), p.key.backend(), p.chosen, p.key.threads(), p.idle.size(), p.lent, p.made));
                }
            }
        }
        return out;
    }

    /** Plans this cache made and has not closed yet. */
    int openPlans() {
        return open.get();
    }
}
