package io.synod.engine.lock;

import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.lock.LockRequest;
import io.synod.api.lock.LockService;
import io.synod.api.lock.LockSession;
import io.synod.api.lock.LockStatus;
import io.synod.core.lock.LockCommand;
import io.synod.core.lock.LockEffect;
import io.synod.core.lock.ResourcePath;
import io.synod.engine.Errors;
import io.synod.engine.log.CoordinatorLog;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * synod's own lock service, on the replicated log: the client side of {@link LockDriver}. It
 * talks to the replicas it is given (one in embedded use; every replica of an in-process cluster),
 * proposes at whichever leads, and retries a proposal whose outcome is unknown with the same
 * request id, which the lock table answers as it did the first time.
 *
 * <p>Answers arrive as effects of applied commands: a waiting acquire is granted when some other
 * session's release is applied. The service listens to every replica's effects and completes each
 * waiting request once, whichever replica applied it first.
 */
public final class NativeLockService implements LockService {
  /** How long a proposal may keep failing (no leader, leader changing) before the call fails. */
  static final Duration UNAVAILABLE_AFTER = Duration.ofSeconds(15);
  /** How long past its deadline a wait may go unanswered before the client gives up on it. */
  static final Duration ANSWER_GRACE = Duration.ofSeconds(5);

  private final List<LockDriver> replicas;
  private final List<Runnable> unsubscribes = new ArrayList<>();
  /** A request waiting for its answer, and what to do if none comes by the time given. */
  private record Waiter(CompletableFuture<LockEffect> answer, long giveUpAtNanos,
      Runnable onGiveUp) {}

  private final Map<String, Waiter> waiting = new ConcurrentHashMap<>();
  private final Map<String, NativeLockSession> sessions = new ConcurrentHashMap<>();
  final ScheduledExecutorService timer;
  /**
   * Where answers and lost-lock notices reach the caller: never on the log's apply thread, which a
   * caller's continuation (say, a release that waits for its own entry) would otherwise block.
   */
  final java.util.concurrent.ExecutorService callbacks;
  private volatile boolean closed;

  public NativeLockService(List<LockDriver> replicas) {
    if (replicas.isEmpty()) {
      throw new IllegalArgumentException("a lock service needs at least one replica");
    }
    this.replicas = List.copyOf(replicas);
    this.timer = Executors.newScheduledThreadPool(1, r -> {
      Thread t = new Thread(r, "synod-lock-client");
      t.setDaemon(true);
      return t;
    });
    this.callbacks = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "synod-lock-callback");
      t.setDaemon(true);
      return t;
    });
    timer.scheduleWithFixedDelay(this::giveUpOverdue, 250, 250, TimeUnit.MILLISECONDS);
    for (LockDriver replica : this.replicas) {
      unsubscribes.add(replica.addListener(this::onEffects));
    }
  }

  @Override
  public LockSession openSession(String owner, Duration lease) {
    requireOpen();
    if (owner == null || owner.isBlank() || owner.length() > 256) {
      throw SynodException.invalid("owner", "must be 1 to 256 characters, not blank");
    }
    Duration effective = lease == null ? replicas.get(0).config().defaultLease() : lease;
    LockConfig.requireBetween("lease", effective, LockConfig.LEASE_MIN, LockConfig.LEASE_MAX);
    String id = "s-" + UUID.randomUUID();
    List<LockEffect> effects = proposeNow(
        now -> new LockCommand.OpenSession(id, owner, effective.toMillis(), now));
    for (LockEffect effect : effects) {
      if (effect instanceof LockEffect.Refused refused) {
        throw refusal(refused);
      }
    }
    NativeLockSession session = new NativeLockSession(this, id, owner, effective);
    sessions.put(id, session);
    session.startKeepalives();
    return session;
  }

  @Override
  public LockStatus status(String resource) {
    requireOpen();
    ResourcePath path = parse(resource);
    LockDriver replica = leaderOrAny();
    return replica.read(table -> table.status(path));
  }

  static ResourcePath parse(String resource) {
    try {
      return ResourcePath.parse(resource);
    } catch (IllegalArgumentException e) {
      throw SynodException.invalid("resource", e.getMessage());
    }
  }

  // ---- for sessions ---------------------------------------------------------------------------

  /**
   * Registers interest in the answer to {@code requestId} before the request is proposed. If no
   * answer comes by {@code giveUpAtNanos}, {@code onGiveUp} runs (one sweep a few times a second
   * looks, rather than a timer task per request).
   */
  void awaitAnswer(String requestId, CompletableFuture<LockEffect> answer, long giveUpAtNanos,
      Runnable onGiveUp) {
    waiting.put(requestId, new Waiter(answer, giveUpAtNanos, onGiveUp));
  }

  private void giveUpOverdue() {
    long now = System.nanoTime();
    waiting.forEach((requestId, waiter) -> {
      if (now - waiter.giveUpAtNanos() > 0 && waiting.remove(requestId, waiter)) {
        waiter.onGiveUp().run();
      }
    });
  }

  void forget(String requestId) {
    waiting.remove(requestId);
  }

  /**
   * Proposes a command built from the leader's clock, retrying at whichever replica leads until
   * it is applied; the command must be safe to apply twice (the lock table makes every lock
   * command so).
   */
  CompletableFuture<List<LockEffect>> propose(java.util.function.LongFunction<LockCommand> command) {
    CompletableFuture<List<LockEffect>> result = new CompletableFuture<>();
    attempt(command, System.nanoTime() + UNAVAILABLE_AFTER.toNanos(), null, result);
    return result;
  }

  private void attempt(java.util.function.LongFunction<LockCommand> command, long giveUpAtNanos,
      LockCommand previous, CompletableFuture<List<LockEffect>> result) {
    if (closed) {
      result.completeExceptionally(closedError());
      return;
    }
    LockDriver leader = leader();
    if (leader == null) {
      retryLater(command, giveUpAtNanos, previous, result, "no replica leads");
      return;
    }
    // The first attempt's command is kept for retries: same request id, same time.
    LockCommand sent = previous != null ? previous : command.apply(leader.nowMs());
    leader.propose(sent).whenComplete((effects, error) -> {
      if (error == null) {
        result.complete(effects);
      } else {
        retryLater(command, giveUpAtNanos, sent, result, Errors.rootMessage(error));
      }
    });
  }

  private void retryLater(java.util.function.LongFunction<LockCommand> command, long giveUpAtNanos,
      LockCommand previous, CompletableFuture<List<LockEffect>> result, String why) {
    if (System.nanoTime() > giveUpAtNanos) {
      result.completeExceptionally(new SynodException(ErrorCode.UNAVAILABLE, null,
          "lock service unavailable for " + UNAVAILABLE_AFTER.toSeconds() + " s: " + why));
      return;
    }
    timer.schedule(() -> attempt(command, giveUpAtNanos, previous, result), 50,
        TimeUnit.MILLISECONDS);
  }

  List<LockEffect> proposeNow(java.util.function.LongFunction<LockCommand> command) {
    try {
      return propose(command).get(UNAVAILABLE_AFTER.toMillis() * 2, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SynodException(ErrorCode.UNAVAILABLE, "interrupted", e);
    } catch (java.util.concurrent.ExecutionException e) {
      throw unwrap(e.getCause());
    } catch (TimeoutException e) {
      throw new SynodException(ErrorCode.UNAVAILABLE, "lock service did not answer", e);
    }
  }

  /**
   * Proposes one acquire of {@code sessionId} under {@code requestId} and completes with its
   * terminal answer (granted, refused, timed out, deadlock victim or cancelled; never queued).
   * Bad input fails here, before any proposal. The leader ends the wait at its deadline; if no
   * answer comes by then and {@link #ANSWER_GRACE} more (the leader died and nobody applied the
   * Tick yet), the request is withdrawn and the future fails with UNAVAILABLE.
   *
   * <p>Answers complete the future on the thread that applied them: callers that do more than
   * map the answer hop to {@link #callbacks} first.
   */
  CompletableFuture<LockEffect> requestLock(String sessionId, String requestId,
      LockRequest request) {
    if (request.timeout().isNegative()) {
      return CompletableFuture.failedFuture(
          SynodException.invalid("timeout", "must not be negative; got " + request.timeout()));
    }
    try {
      parse(request.resource());
    } catch (SynodException e) {
      return CompletableFuture.failedFuture(e);
    }
    long timeoutMs = request.timeout().toMillis();
    CompletableFuture<LockEffect> answer = new CompletableFuture<>();
    long giveUpAt = System.nanoTime()
        + TimeUnit.MILLISECONDS.toNanos(timeoutMs + ANSWER_GRACE.toMillis());
    awaitAnswer(requestId, answer, giveUpAt, () -> {
      propose(now -> new LockCommand.Release(sessionId, request.resource(), now));
      // UNAVAILABLE, not DEADLINE_EXCEEDED: nobody said no, so it may have been granted (and is
      // now being released); the caller cannot tell, and must not take it as a refusal.
      answer.completeExceptionally(new SynodException(ErrorCode.UNAVAILABLE, null,
          "no answer to the request for " + request.mode() + " on '" + request.resource()
              + "' within " + request.timeout() + " and " + ANSWER_GRACE + "; it is withdrawn"));
    });
    propose(now -> new LockCommand.Acquire(requestId, sessionId, request.resource(),
            request.mode(), timeoutMs, request.withIntents(), request.priority(), now))
        .whenComplete((effects, error) -> {
          if (error != null) {
            forget(requestId);
            answer.completeExceptionally(unwrap(error));
            return;
          }
          for (LockEffect effect : effects) {
            if (requestId.equals(requestIdOf(effect)) && !(effect instanceof LockEffect.Queued)) {
              forget(requestId);
              answer.complete(effect);
            }
          }
        });
    return answer;
  }

  /** The error an acquire's answer other than a grant stands for. */
  static SynodException failure(LockRequest request, LockEffect answer) {
    return switch (answer) {
      case LockEffect.Refused refused -> refusal(refused);
      case LockEffect.TimedOut timedOut -> new SynodException(ErrorCode.DEADLINE_EXCEEDED,
          "timeout", "waited " + request.timeout() + " for " + request.mode() + " on '"
              + request.resource() + "' without a grant");
      case LockEffect.DeadlockVictim victim -> new SynodException(ErrorCode.ABORTED, null,
          "deadlock: the request for " + request.mode() + " on '" + request.resource()
              + "' was chosen to break the cycle " + String.join(" -> ", victim.cycle()));
      case LockEffect.Cancelled cancelled -> new SynodException(ErrorCode.ABORTED, null,
          "the request for " + request.mode() + " on '" + request.resource() + "' was cancelled: "
              + cancelled.cause());
      default -> throw new IllegalStateException("not an answer to an acquire: " + answer);
    };
  }

  /** True if the table (at the leader, or any replica) has {@code sessionId} open. */
  boolean isOpen(String sessionId) {
    return leaderOrAny().read(table -> table.lease(sessionId).isPresent());
  }

  /** Reads the lock table at the leader, or at any replica while none leads. */
  <T> T read(java.util.function.Function<io.synod.core.lock.LockTable, T> query) {
    return leaderOrAny().read(query);
  }

  LockConfig config() {
    return replicas.get(0).config();
  }

  List<LockDriver> replicas() {
    return replicas;
  }

  /** The keepalive of a session at the current leader. */
  LockDriver.KeepaliveAnswer keepalive(String sessionId) {
    LockDriver leader = leader();
    return leader == null ? LockDriver.KeepaliveAnswer.NOT_LEADER : leader.keepalive(sessionId);
  }

  void sessionEnded(String sessionId) {
    sessions.remove(sessionId);
  }

  private void onEffects(List<LockEffect> effects) {
    for (LockEffect effect : effects) {
      String requestId = requestIdOf(effect);
      if (requestId != null && !(effect instanceof LockEffect.Queued)) {
        Waiter waiter = waiting.remove(requestId);
        if (waiter != null) {
          waiter.answer().complete(effect);
        }
      }
      String sessionId = sessionIdOf(effect);
      NativeLockSession session = sessionId == null ? null : sessions.get(sessionId);
      if (session != null) {
        session.onEffect(effect);
      }
    }
  }

  static String requestIdOf(LockEffect effect) {
    return switch (effect) {
      case LockEffect.Granted g -> g.requestId();
      case LockEffect.Queued q -> q.requestId();
      case LockEffect.Refused r -> r.requestId();
      case LockEffect.TimedOut t -> t.requestId();
      case LockEffect.DeadlockVictim d -> d.requestId();
      case LockEffect.Cancelled c -> c.requestId();
      case LockEffect.Released r -> null;
      case LockEffect.LockLost l -> null;
      case LockEffect.Escalated e -> null;
      case LockEffect.SessionOpened s -> null;
      case LockEffect.SessionExpired s -> null;
      case LockEffect.SessionClosed s -> null;
    };
  }

  private static String sessionIdOf(LockEffect effect) {
    return switch (effect) {
      case LockEffect.LockLost l -> l.sessionId();
      case LockEffect.Escalated e -> e.sessionId();
      case LockEffect.SessionExpired s -> s.sessionId();
      default -> null;
    };
  }

  private LockDriver leader() {
    for (LockDriver replica : replicas) {
      if (replica.isLeader()) {
        return replica;
      }
    }
    return null;
  }

  private LockDriver leaderOrAny() {
    LockDriver leader = leader();
    return leader != null ? leader : replicas.get(0);
  }

  static SynodException refusal(LockEffect.Refused refused) {
    ErrorCode code = switch (refused.reason()) {
      case INVALID_ARGUMENT -> ErrorCode.INVALID_ARGUMENT;
      case FAILED_PRECONDITION -> ErrorCode.FAILED_PRECONDITION;
      case WOULD_BLOCK -> ErrorCode.DEADLINE_EXCEEDED;
      case LIMIT -> ErrorCode.RESOURCE_EXHAUSTED;
    };
    return new SynodException(code, null, refused.message());
  }

  static SynodException unwrap(Throwable error) {
    Throwable cause = error instanceof CompletionException && error.getCause() != null
        ? error.getCause() : error;
    if (cause instanceof SynodException synod) {
      return synod;
    }
    return new SynodException(ErrorCode.UNAVAILABLE, Errors.rootMessage(cause), cause);
  }

  private void requireOpen() {
    if (closed) {
      throw closedError();
    }
  }

  private static SynodException closedError() {
    return new SynodException(ErrorCode.UNAVAILABLE, null, "lock service is closed");
  }

  @Override
  public void close() {
    for (NativeLockSession session : List.copyOf(sessions.values())) {
      session.close();
    }
    closed = true;
    unsubscribes.forEach(Runnable::run);
    timer.shutdownNow();
    callbacks.shutdown();
    waiting.values().forEach(w -> w.answer().completeExceptionally(closedError()));
  }
}
