package io.synod.kv.coordinator;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The coordinator's metrics under spec 004's names. Micrometer's Prometheus naming adds
 * {@code _total} to counters, so {@code coordinator_requests} is exported as
 * {@code coordinator_requests_total}.
 */
final class KvMetrics {
  private static final Duration[] BUCKETS = java.util.stream.DoubleStream.of(0.001, 0.0025, 0.005,
          0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
      .mapToObj(s -> Duration.ofNanos((long) (s * 1e9))).toArray(Duration[]::new);

  private final MeterRegistry registry;
  private final Map<String, Counter> requests = new ConcurrentHashMap<>();
  private final Map<String, Timer> durations = new ConcurrentHashMap<>();
  private final Counter conflicts;
  private final Counter repairs;
  private final Counter quorumFailures;

  KvMetrics(MeterRegistry registry) {
    this.registry = registry;
    this.conflicts = Counter.builder("coordinator_conflicts_detected")
        .description("Reads that found concurrent versions (siblings) of a key")
        .register(registry);
    this.repairs = Counter.builder("coordinator_repairs_triggered")
        .description("Replicas sent versions they were missing, by read repair")
        .register(registry);
    this.quorumFailures = Counter.builder("coordinator_quorum_failures")
        .description("Reads and writes that could not reach the consistency asked")
        .register(registry);
  }

  void request(String operation, String outcome, long nanos) {
    requests.computeIfAbsent(operation + "/" + outcome, k -> Counter.builder("coordinator_requests")
        .description("Key-value requests by operation and outcome")
        .tag("operation", operation).tag("outcome", outcome).register(registry)).increment();
    // A timer, exported as coordinator_request_duration_seconds: a distribution summary's
    // histogram rounds values up to whole numbers, so every sub-second one would land in 1 s.
    durations.computeIfAbsent(operation, op -> Timer.builder("coordinator_request_duration")
        .description("Time from a key-value request's arrival to its answer")
        .tag("operation", op).serviceLevelObjectives(BUCKETS)
        .register(registry)).record(nanos, TimeUnit.NANOSECONDS);
  }

  void conflict() {
    conflicts.increment();
  }

  void repaired(int replicas) {
    repairs.increment(replicas);
  }

  void quorumFailure() {
    quorumFailures.increment();
  }
}
