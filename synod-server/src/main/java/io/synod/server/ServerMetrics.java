package io.synod.server;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.synod.api.CoordinationEvent;
import io.synod.api.EventBus;
import io.synod.core.lock.LockEffect;
import io.synod.engine.SynodNode;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * The server's Prometheus metrics, with spec 000's names where it names them ("Coordination
 * Metrics"), plus the Raft group's, the APIs' and the JVM's.
 *
 * <p>Coordination and lock metrics come from events and lock effects, which happen on the node
 * that leads: in a cluster, scrape every node and sum. Histograms use fixed buckets from 1 ms to
 * 60 s, so that nodes aggregate.
 *
 * <p>{@code coordination_deadlock_count} and {@code coordination_active_locks_count} keep the
 * spec's names, so they are gauges (Prometheus counters end in {@code _total}); the deadlock
 * count only grows.
 */
public final class ServerMetrics implements AutoCloseable {
  /** Histogram buckets: 1 ms to 60 s, roughly ×2.5 apart. */
  static final Duration[] SECONDS_BUCKETS = java.util.stream.DoubleStream.of(
          0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
      .mapToObj(s -> Duration.ofNanos((long) (s * 1e9))).toArray(Duration[]::new);
  /** Outcomes counted towards the failure rate: the last minute's, in 10 s slots. */
  private static final long RATE_WINDOW_MS = 60_000;

  private final PrometheusMeterRegistry registry;
  private final Map<String, Counter> outcomes = new ConcurrentHashMap<>();
  private final Timer duration;
  private final Timer lockWait;
  private final AtomicLong deadlocks = new AtomicLong();
  private final SlidingRatio failureRate;
  private final SlidingRatio contentionRate;
  /** When each queued lock request started waiting, by request id (leader only). */
  private final Map<String, Long> queuedAtMs = new ConcurrentHashMap<>();
  private final LongSupplier clockMs;
  private final List<AutoCloseable> subscriptions;
  private final JvmGcMetrics gc = new JvmGcMetrics();

  /** The registry a server's meters go to, made before its node (see {@link SynodServer}). */
  public static PrometheusMeterRegistry newRegistry() {
    return new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  }

  /**
   * Meters of {@code node} in {@code registry}, which may hold meters already (the key-value
   * store's, registered before the node started); closing these metrics closes it.
   */
  public ServerMetrics(PrometheusMeterRegistry registry, SynodNode node, EventBus events,
      LongSupplier clockMs) {
    this.registry = registry;
    this.clockMs = clockMs;
    this.failureRate = new SlidingRatio(RATE_WINDOW_MS, clockMs);
    this.contentionRate = new SlidingRatio(RATE_WINDOW_MS, clockMs);
    // Timers, not distribution summaries: a summary's histogram rounds each value up to a whole
    // number, which put every duration under a second in the 1 s bucket.
    this.duration = Timer.builder("coordination_transaction_duration")
        .description("Time from a coordination's arrival to its outcome")
        .serviceLevelObjectives(SECONDS_BUCKETS).register(registry);
    this.lockWait = Timer.builder("coordination_lock_wait_time")
        .description("Time a lock request waited in its queue before its grant")
        .serviceLevelObjectives(SECONDS_BUCKETS).register(registry);
    Gauge.builder("coordination_transaction_failure_rate", failureRate, SlidingRatio::ratio)
        .description("Share of coordinations in the last minute that did not commit")
        .register(registry);
    Gauge.builder("coordination_deadlock_count", deadlocks, AtomicLong::get)
        .description("Deadlocks detected (and broken) since this node started").register(registry);
    Gauge.builder("coordination_active_locks_count", node,
            n -> n.lockDriver().read(table -> table.heldLocksCount()))
        .description("Locks held, intent locks included").register(registry);
    Gauge.builder("coordination_lock_waiters_count", node,
            n -> n.lockDriver().read(table -> table.waitingCount()))
        .description("Lock requests waiting in queues").register(registry);
    Gauge.builder("coordination_lock_contention_rate", contentionRate, SlidingRatio::ratio)
        .description("Share of lock requests in the last minute that had to wait")
        .register(registry);
    Gauge.builder("coordination_active_transactions", node,
            n -> n.isLeader() ? n.coordination().listActive().size() : 0)
        .description("Coordinations not yet finished (on the leader)").register(registry);
    raftGauges(node);
    new JvmMemoryMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ClassLoaderMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    gc.bindTo(registry);
    EventBus.Subscription subscription = events.subscribe(this::onEvent);
    Runnable stopLocks = node.lockDriver().addListener(this::onLockEffects);
    this.subscriptions = List.of(subscription, stopLocks::run);
  }

  private void raftGauges(SynodNode node) {
    Gauge.builder("synod_raft_term", node, n -> n.groupInfo().term())
        .description("The Raft term this node is in").register(registry);
    Gauge.builder("synod_raft_commit_index", node, n -> n.groupInfo().commitIndex())
        .description("The highest log index known committed").register(registry);
    Gauge.builder("synod_raft_applied_index", node, n -> n.groupInfo().appliedIndex())
        .description("The highest log index applied to the state machines").register(registry);
    Gauge.builder("synod_raft_leader", node, n -> n.isLeader() ? 1 : 0)
        .description("1 while this node leads a ready group").register(registry);
    Gauge.builder("synod_log_entries_proposed", node, n -> n.logStats().entries())
        .description("Log entries this node proposed").register(registry);
    Gauge.builder("synod_log_commands_proposed", node, n -> n.logStats().commands())
        .description("Commands those entries carried").register(registry);
  }

  private void onEvent(CoordinationEvent event) {
    switch (event) {
      case CoordinationEvent.Completed c -> {
        outcome(c.success() ? "committed" : "aborted").increment();
        duration.record(Duration.ofMillis(c.executionDurationMs()));
        failureRate.add(!c.success());
      }
      case CoordinationEvent.Failed f -> {
        outcome("failed").increment();
        failureRate.add(true);
      }
      case CoordinationEvent.DeadlockDetected d -> deadlocks.incrementAndGet();
      case CoordinationEvent.Started s -> { }
    }
  }

  private Counter outcome(String outcome) {
    return outcomes.computeIfAbsent(outcome, o -> Counter.builder("coordination_transactions")
        .description("Coordinations by outcome: committed, aborted (voted or asked), failed"
            + " (refused before running, e.g. bad input)")
        .tag("outcome", o).register(registry));
  }

  private void onLockEffects(List<LockEffect> effects) {
    long now = clockMs.getAsLong();
    for (LockEffect effect : effects) {
      switch (effect) {
        case LockEffect.Queued q -> {
          if (queuedAtMs.putIfAbsent(q.requestId(), now) == null) {
            contentionRate.add(true);
          }
        }
        case LockEffect.Granted g -> {
          Long queued = queuedAtMs.remove(g.requestId());
          if (queued == null) {
            contentionRate.add(false);
            lockWait.record(Duration.ZERO);
          } else {
            lockWait.record(Duration.ofMillis(now - queued));
          }
        }
        case LockEffect.TimedOut t -> queuedAtMs.remove(t.requestId());
        case LockEffect.DeadlockVictim v -> queuedAtMs.remove(v.requestId());
        case LockEffect.Cancelled c -> queuedAtMs.remove(c.requestId());
        default -> { }
      }
    }
  }

  /** Counts one HTTP request by route template, method and status. */
  public void httpRequest(String route, String method, int status) {
    registry.counter("synod_http_requests", "route", route, "method", method,
        "status", Integer.toString(status)).increment();
  }

  /** Counts one gRPC call by method and status code. */
  public void grpcCall(String method, String code) {
    registry.counter("synod_grpc_requests", "method", method, "code", code).increment();
  }

  public MeterRegistry registry() {
    return registry;
  }

  /** The Prometheus text exposition of every metric. */
  public String scrape() {
    return registry.scrape();
  }

  @Override
  public void close() {
    for (AutoCloseable subscription : subscriptions) {
      try {
        subscription.close();
      } catch (Exception e) {
        // nothing to do: the node is going away with it
      }
    }
    gc.close();
    registry.close();
  }

  /** The share of true among the samples of the last window, in six slots. */
  static final class SlidingRatio {
    private static final int SLOTS = 6;
    private final long slotMs;
    private final LongSupplier clockMs;
    private final long[] slotStart = new long[SLOTS];
    private final long[] hits = new long[SLOTS];
    private final long[] totals = new long[SLOTS];

    SlidingRatio(long windowMs, LongSupplier clockMs) {
      this.slotMs = windowMs / SLOTS;
      this.clockMs = clockMs;
    }

    synchronized void add(boolean hit) {
      long now = clockMs.getAsLong();
      int slot = slot(now);
      totals[slot]++;
      if (hit) {
        hits[slot]++;
      }
    }

    synchronized double ratio() {
      long now = clockMs.getAsLong();
      long hit = 0;
      long total = 0;
      for (int i = 0; i < SLOTS; i++) {
        if (now - slotStart[i] < slotMs * SLOTS) {
          hit += hits[i];
          total += totals[i];
        }
      }
      return total == 0 ? 0 : (double) hit / total;
    }

    private int slot(long now) {
      long start = now - Math.floorMod(now, slotMs);
      int slot = (int) Math.floorMod(start / slotMs, (long) SLOTS);
      if (slotStart[slot] != start) {
        slotStart[slot] = start;
        hits[slot] = 0;
        totals[slot] = 0;
      }
      return slot;
    }
  }
}
