package io.synod.engine.lock;

import io.synod.api.SynodException;
import java.time.Duration;
import java.util.Objects;

/**
 * How the native lock service keeps time. Spec 000's defaults: 30 s lease, 5 s heartbeat,
 * deadlock sweep every 10 s.
 *
 * @param defaultLease the lease of a session opened without one
 * @param tick how often the leader looks for lapsed leases and waits past their deadline
 * @param checkpointEvery how often the leader logs the keepalive times it saw
 * @param deadlockSweepEvery how often the leader proposes a sweep of the wait-for graph (every
 *     enqueue checks it too; the sweep is the safety net)
 */
public record LockConfig(
    Duration defaultLease, Duration tick, Duration checkpointEvery, Duration deadlockSweepEvery) {

  /** Keepalives a session sends per lease (30 s lease: every 5 s, as spec 000 says). */
  static final int KEEPALIVES_PER_LEASE = 6;

  /** Shortest lease a session may ask for; keepalives go out every sixth of it. */
  public static final Duration LEASE_MIN = Duration.ofMillis(300);

  /** Longest lease a session may ask for. */
  public static final Duration LEASE_MAX = Duration.ofHours(1);

  public static final LockConfig DEFAULTS = new LockConfig(
      Duration.ofSeconds(30), Duration.ofMillis(100), Duration.ofSeconds(1), Duration.ofSeconds(10));

  public LockConfig {
    Objects.requireNonNull(defaultLease, "defaultLease");
    requireBetween("locks.default_lease", defaultLease, LEASE_MIN, LEASE_MAX);
    requireBetween("locks.tick", tick, Duration.ofMillis(10), Duration.ofSeconds(5));
    requireBetween("locks.checkpoint_every", checkpointEvery, Duration.ofMillis(50),
        Duration.ofMinutes(5));
    requireBetween("locks.deadlock_sweep_every", deadlockSweepEvery, Duration.ofMillis(100),
        Duration.ofHours(1));
  }

  static void requireBetween(String field, Duration value, Duration min, Duration max) {
    if (value == null || value.compareTo(min) < 0 || value.compareTo(max) > 0) {
      throw SynodException.invalid(field, "must be between " + min + " and " + max + "; got "
          + value);
    }
  }

  public LockConfig withTick(Duration newTick) {
    return new LockConfig(defaultLease, newTick, checkpointEvery, deadlockSweepEvery);
  }

  /** How long a new leader waits for a session it has not heard from: two keepalive periods. */
  static long graceAfterLeaderChangeMs(long leaseMs) {
    return Math.min(leaseMs, 2 * leaseMs / KEEPALIVES_PER_LEASE + 1_000);
  }
}
