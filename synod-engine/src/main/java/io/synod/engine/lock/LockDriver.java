package io.synod.engine.lock;

import io.synod.api.CoordinationEvent;
import io.synod.api.EventBus;
import io.synod.core.lock.LockCommand;
import io.synod.core.lock.LockEffect;
import io.synod.core.lock.LockTable;
import io.synod.engine.log.CoordinatorLog;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The side of the lock service that time drives, one per replica: the pure {@link LockTable}
 * never expires anything by itself, so the leader's driver proposes what the clock says.
 *
 * <h2>Leases without a log entry per keepalive</h2>
 *
 * Keepalives go to the leader's memory ({@link #keepalive}), not to the log: ten thousand
 * sessions at one keepalive per five seconds would otherwise be two thousand writes a second for
 * nothing. Every {@code checkpointEvery} the leader logs the keepalive times that moved on ({@code
 * LeaseCheckpoint}), so a new leader starts from recent times. A session's deadline is its last
 * keepalive seen (in memory or in the log) plus its lease; past it, the leader proposes {@code
 * ExpireSession} with the time it saw, and the table refuses the expiry if a newer keepalive was
 * logged meanwhile (compare-and-expire).
 *
 * <p>A new leader has not seen the keepalives sent to the old one since the last checkpoint. It
 * neither resets every lease to its full length (etcd's known flaw: a dead client's locks then
 * outlive its lease by up to a whole lease per election) nor expires a session only because it
 * has not heard of it yet: it gives each session until {@code max(last logged keepalive + lease,
 * leader since + grace)}, where the grace is two keepalive periods plus a second: time enough for
 * a live client to find the new leader.
 *
 * <h2>Other duties</h2>
 *
 * Waits past their deadline end with a {@code Tick}; a {@code Tick} every {@code
 * deadlockSweepEvery} also sweeps the wait-for graph. Every replica's driver hands the effects of
 * applied lock commands to its listeners (the sessions waiting on them) and publishes
 * DEADLOCK_DETECTED on its node's event bus.
 *
 * <p>Clock: the leader's wall clock goes into the entries. Leases assume the replicas' clocks
 * agree to well within a lease (NTP); a jump of the leader's clock shortens or lengthens leases
 * by as much.
 */
public final class LockDriver implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(LockDriver.class);
  /** Sessions per checkpoint entry; more wait for the next one. */
  static final int CHECKPOINT_SESSIONS_MAX = 4_096;

  private final CoordinatorLog log;
  private final LockConfig config;
  private final EventBus events;
  private final LongSupplier clockMs;
  private final Map<String, Long> keepalives = new ConcurrentHashMap<>();
  private final List<Consumer<List<LockEffect>>> listeners = new CopyOnWriteArrayList<>();
  private final ScheduledExecutorService timer;
  private long leaderSinceMs = -1;
  private long lastCheckpointMs;
  private long lastSweepMs;
  private boolean proposing;

  public LockDriver(CoordinatorLog log, LockConfig config, EventBus events, LongSupplier clockMs) {
    this.log = log;
    this.config = config;
    this.events = events;
    this.clockMs = clockMs;
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "synod-lock-driver-" + log.selfId());
      t.setDaemon(true);
      return t;
    });
    log.onLockEffects(this::dispatch);
  }

  public void start() {
    long tickMs = config.tick().toMillis();
    timer.scheduleWithFixedDelay(this::tickSafely, tickMs, tickMs, TimeUnit.MILLISECONDS);
  }

  public LockConfig config() {
    return config;
  }

  /** Proposes a lock command; fails with {@code NotLeaderException} on a follower. */
  public CompletableFuture<List<LockEffect>> propose(LockCommand command) {
    return log.proposeLock(command);
  }

  public <T> T read(java.util.function.Function<LockTable, T> query) {
    return log.readLocks(query);
  }

  public long nowMs() {
    return clockMs.getAsLong();
  }

  public boolean isLeader() {
    return log.isLeaderReady();
  }

  public String replicaId() {
    return log.selfId();
  }

  /**
   * Records a keepalive of {@code sessionId} at this leader. Returns false if this replica is not
   * the leader, or the session is not (or no longer) open; the client then looks elsewhere or
   * knows its locks are lost.
   */
  public KeepaliveAnswer keepalive(String sessionId) {
    if (!log.isLeaderReady()) {
      return KeepaliveAnswer.NOT_LEADER;
    }
    boolean open = log.readLocks(table -> table.lease(sessionId).isPresent());
    if (!open) {
      keepalives.remove(sessionId);
      return KeepaliveAnswer.SESSION_GONE;
    }
    keepalives.merge(sessionId, clockMs.getAsLong(), Math::max);
    return KeepaliveAnswer.OK;
  }

  public enum KeepaliveAnswer { OK, NOT_LEADER, SESSION_GONE }

  /** Adds a listener for the effects of every applied lock command, in log order. */
  public Runnable addListener(Consumer<List<LockEffect>> listener) {
    listeners.add(listener);
    return () -> listeners.remove(listener);
  }

  /**
   * Adds a listener that sees each batch of effects before the listeners already added: for
   * bookkeeping that must be done before any waiter, woken by a later listener, can look at it.
   */
  public Runnable addListenerFirst(Consumer<List<LockEffect>> listener) {
    listeners.add(0, listener);
    return () -> listeners.remove(listener);
  }

  private void dispatch(List<LockEffect> effects) {
    for (Consumer<List<LockEffect>> listener : listeners) {
      try {
        listener.accept(effects);
      } catch (RuntimeException e) {
        LOG.warn("lock effect listener failed", e);
      }
    }
    for (LockEffect effect : effects) {
      if (effect instanceof LockEffect.DeadlockVictim victim) {
        LOG.info("deadlock: request {} of session {} refused to break the cycle {}",
            victim.requestId(), victim.sessionId(), victim.cycle());
        events.publish(new CoordinationEvent.DeadlockDetected(victim.requestId(),
            victim.sessionId(), victim.cycle(), clockMs.getAsLong()));
      }
    }
  }

  // ---- the leader's clock-driven proposals ----------------------------------------------------

  private void tickSafely() {
    try {
      tick();
    } catch (RuntimeException e) {
      LOG.warn("lock driver tick failed; retrying at the next tick", e);
    }
  }

  private void tick() {
    if (!log.isLeaderReady()) {
      leaderSinceMs = -1;
      return;
    }
    long now = clockMs.getAsLong();
    if (leaderSinceMs < 0) {
      leaderSinceMs = now;
      lastCheckpointMs = now;
      lastSweepMs = now;
      LOG.info("replica {} leads the lock table: leases of sessions not heard from get a grace",
          log.selfId());
    }
    synchronized (this) {
      if (proposing) {
        return; // the previous tick's proposals are still on their way
      }
      proposing = true;
    }
    List<CompletableFuture<?>> sent = new ArrayList<>();
    proposeExpiries(now, sent);
    if (now - lastCheckpointMs >= config.checkpointEvery().toMillis()) {
      lastCheckpointMs = now;
      proposeCheckpoint(now, sent);
    }
    boolean sweep = now - lastSweepMs >= config.deadlockSweepEvery().toMillis();
    boolean due = log.readLocks(LockTable::nextDeadlineMs) <= now;
    if (sweep || due) {
      lastSweepMs = sweep ? now : lastSweepMs;
      sent.add(log.proposeLock(new LockCommand.Tick(now)));
    }
    CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new))
        .whenComplete((ok, error) -> {
          synchronized (this) {
            proposing = false;
          }
        });
  }

  private void proposeExpiries(long now, List<CompletableFuture<?>> sent) {
    for (LockTable.Lease lease : log.readLocks(LockTable::leases)) {
      String id = lease.sessionId();
      long seen = Math.max(lease.lastSeenMs(), keepalives.getOrDefault(id, 0L));
      long deadline = Math.max(seen + lease.leaseMs(),
          leaderSinceMs + LockConfig.graceAfterLeaderChangeMs(lease.leaseMs()));
      if (now >= deadline) {
        LOG.info("session {} lease lapsed: last keepalive seen at {}, lease {} ms",
            id, seen, lease.leaseMs());
        keepalives.remove(id);
        sent.add(log.proposeLock(new LockCommand.ExpireSession(id, seen, now)));
      }
    }
  }

  private void proposeCheckpoint(long now, List<CompletableFuture<?>> sent) {
    Map<String, Long> moved = new HashMap<>();
    log.readLocks(table -> {
      for (var entry : keepalives.entrySet()) {
        if (moved.size() >= CHECKPOINT_SESSIONS_MAX) {
          break;
        }
        table.lease(entry.getKey()).ifPresentOrElse(
            s -> {
              if (entry.getValue() > s.lastSeenMs()) {
                moved.put(entry.getKey(), entry.getValue());
              }
            },
            () -> keepalives.remove(entry.getKey()));
      }
      return null;
    });
    if (!moved.isEmpty()) {
      sent.add(log.proposeLock(new LockCommand.LeaseCheckpoint(moved, now)));
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
