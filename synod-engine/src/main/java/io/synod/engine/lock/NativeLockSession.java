package io.synod.engine.lock;

import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.lock.Lock;
import io.synod.api.lock.LockLost;
import io.synod.api.lock.LockMode;
import io.synod.api.lock.LockRequest;
import io.synod.api.lock.LockSession;
import io.synod.core.lock.LockCommand;
import io.synod.core.lock.LockEffect;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A session of the native lock service. It keeps its lease alive by itself, and it also keeps
 * the client's side of the lease: if no keepalive has been acknowledged for a whole lease
 * (counted from when the last acknowledged one was sent), the leader may expire the session at
 * any moment, so every lock is reported lost at once rather than when the expiry arrives. This
 * is what makes "lock lost" reliable: the client hears it no later than the service acts on it.
 */
final class NativeLockSession implements LockSession {
  private final NativeLockService service;
  private final String id;
  private final String owner;
  private final Duration lease;
  private final AtomicLong requests = new AtomicLong();
  /**
   * The caller's handles on each resource the session holds. The table keeps one lock per session
   * and resource (an upgrade replaces S by X); each acquire returns a handle, and the lock is
   * released when the last handle on it is closed.
   */
  private final Map<String, List<NativeLock>> held = new ConcurrentHashMap<>();
  /** Locks the service took for this session by escalation, by resource. */
  private final Map<String, NativeLock> escalated = new ConcurrentHashMap<>();
  private volatile boolean alive = true;
  private volatile long lastAckSentNanos = System.nanoTime();
  private volatile boolean keepalivesStopped;
  private ScheduledFuture<?> keepaliveTask;

  NativeLockSession(NativeLockService service, String id, String owner, Duration lease) {
    this.service = service;
    this.id = id;
    this.owner = owner;
    this.lease = lease;
  }

  void startKeepalives() {
    long everyMs = Math.max(20, lease.toMillis() / LockConfig.KEEPALIVES_PER_LEASE);
    keepaliveTask = service.timer.scheduleWithFixedDelay(
        this::keepalive, everyMs, everyMs, TimeUnit.MILLISECONDS);
  }

  /** For tests: the client goes silent, as if paused or cut off, but keeps its objects. */
  void stopKeepalives() {
    keepalivesStopped = true;
  }

  private void keepalive() {
    if (!alive) {
      return;
    }
    if (!keepalivesStopped) {
      long sent = System.nanoTime();
      switch (service.keepalive(id)) {
        case OK -> lastAckSentNanos = sent;
        case SESSION_GONE -> loseAll(LockLost.Reason.LEASE_EXPIRED);
        case NOT_LEADER -> { } // next period; the lease allows several misses
      }
    }
    if (alive && System.nanoTime() - lastAckSentNanos >= lease.toNanos()) {
      loseAll(LockLost.Reason.LEASE_EXPIRED);
    }
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public String owner() {
    return owner;
  }

  @Override
  public boolean isAlive() {
    return alive;
  }

  @Override
  public Lock acquire(LockRequest request) {
    // The caller waits for the answer itself: no hop through the callback pool.
    return toLock(request, await(answer(request)));
  }

  @Override
  public Optional<Lock> tryAcquire(String resource, LockMode mode) {
    LockRequest request = new LockRequest(resource, mode, Duration.ZERO, true, 0);
    LockEffect answer = await(answer(request));
    if (answer instanceof LockEffect.Refused refused
        && refused.reason() == LockEffect.Refused.Reason.WOULD_BLOCK) {
      return Optional.empty();
    }
    return Optional.of(toLock(request, answer));
  }

  @Override
  public CompletableFuture<Lock> acquireAsync(LockRequest request) {
    return answer(request).thenApplyAsync(effect -> toLock(request, effect), service.callbacks);
  }

  private CompletableFuture<LockEffect> answer(LockRequest request) {
    if (!alive) {
      return CompletableFuture.failedFuture(new SynodException(ErrorCode.FAILED_PRECONDITION,
          null, "session " + id + " is closed or its lease lapsed; open a new one"));
    }
    return service.requestLock(id, id + "/" + requests.incrementAndGet(), request);
  }

  private Lock toLock(LockRequest request, LockEffect answer) {
    if (!(answer instanceof LockEffect.Granted granted)) {
      throw NativeLockService.failure(request, answer);
    }
    NativeLock lock = new NativeLock(this, granted.resource(), granted.mode(), granted.token());
    held.compute(granted.resource(), (r, handles) -> {
      List<NativeLock> next = handles == null ? new ArrayList<>() : new ArrayList<>(handles);
      next.add(lock);
      return next;
    });
    return lock;
  }

  void release(NativeLock lock) {
    boolean[] last = {false};
    held.computeIfPresent(lock.resource(), (r, handles) -> {
      List<NativeLock> rest = new ArrayList<>(handles);
      rest.remove(lock);
      last[0] = rest.isEmpty();
      return rest.isEmpty() ? null : rest;
    });
    if (alive && last[0]) {
      List<LockEffect> effects =
          service.proposeNow(now -> new LockCommand.Release(id, lock.resource(), now));
      for (LockEffect effect : effects) {
        if (effect instanceof LockEffect.Refused refused) {
          // Still held (say, locks below it are held: release goes leaf to root). Keep the handle.
          held.merge(lock.resource(), List.of(lock), (a, b) -> {
            List<NativeLock> both = new ArrayList<>(a);
            both.addAll(b);
            return both;
          });
          lock.reopen();
          throw NativeLockService.refusal(refused);
        }
      }
      releaseEscalatedIfUnused(lock.resource());
    }
  }

  /** A lock taken by escalation goes when the last row lock it covers is released. */
  private void releaseEscalatedIfUnused(String released) {
    for (NativeLock parent : List.copyOf(escalated.values())) {
      String prefix = parent.resource() + "/";
      if (released.startsWith(prefix)
          && held.keySet().stream().noneMatch(r -> r.startsWith(prefix))) {
        escalated.remove(parent.resource());
        service.proposeNow(now -> new LockCommand.Release(id, parent.resource(), now));
      }
    }
  }

  void onEffect(LockEffect effect) {
    switch (effect) {
      case LockEffect.LockLost lost -> {
        if (lost.reason() == LockLost.Reason.LEASE_EXPIRED) {
          alive = false; // before anyone hears of a lost lock, the session reads as dead
        }
        List<NativeLock> handles = held.get(lost.resource());
        if (handles != null && handles.stream().allMatch(h -> h.fencingToken() <= lost.token())) {
          held.remove(lost.resource(), handles);
          handles.forEach(h -> h.lose(lost.reason(), service.callbacks));
        }
      }
      case LockEffect.SessionExpired expired -> loseAll(LockLost.Reason.LEASE_EXPIRED);
      case LockEffect.Escalated up -> escalated.put(up.resource(),
          new NativeLock(this, up.resource(), up.mode(), up.token()));
      default -> { }
    }
  }

  private void loseAll(LockLost.Reason reason) {
    alive = false;
    stopTask();
    for (List<NativeLock> handles : List.copyOf(held.values())) {
      handles.forEach(h -> h.lose(reason, service.callbacks));
    }
    held.clear();
    escalated.clear();
    service.sessionEnded(id);
  }

  @Override
  public void close() {
    if (!alive) {
      stopTask();
      service.sessionEnded(id);
      return;
    }
    try {
      service.proposeNow(now -> new LockCommand.CloseSession(id, now));
    } finally {
      loseAll(LockLost.Reason.SESSION_CLOSED);
    }
  }

  private void stopTask() {
    if (keepaliveTask != null) {
      keepaliveTask.cancel(false);
    }
  }

  private static <T> T await(CompletableFuture<T> future) {
    try {
      return future.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SynodException(ErrorCode.UNAVAILABLE, "interrupted while waiting for a lock", e);
    } catch (ExecutionException e) {
      throw NativeLockService.unwrap(e.getCause());
    }
  }
}
