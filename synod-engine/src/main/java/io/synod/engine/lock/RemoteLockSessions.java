package io.synod.engine.lock;

import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.lock.LockLost;
import io.synod.api.lock.LockMode;
import io.synod.api.lock.LockRequest;
import io.synod.api.lock.LockStatus;
import io.synod.core.lock.LockCommand;
import io.synod.core.lock.LockEffect;
import io.synod.core.lock.LockTable;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Lock sessions held for clients in other processes: the server's side of the remote lock API.
 * A {@link NativeLockSession} keeps its lease alive with a timer of its own; a remote session has
 * no timer here. Its lease lives only as long as its client's keepalives reach the leader
 * ({@link #keepalive}), so a client that dies, pauses or is cut off loses its locks one lease
 * after its last keepalive, whatever the server does meanwhile.
 *
 * <p>Every call must be made at the leader: keepalives live in the leader's memory, and the
 * proposals go there anyway. A server routes the calls it gets on a follower to the leader.
 *
 * <p><b>Idempotency.</b> Each mutating call may carry the client's request id. {@link #open} makes
 * the session id from it, so a retry opens no second session (the lock table answers an open of
 * an open session as the first one); an acquire's id in the table is the session id and the
 * client's request id, and the table answers a retry with the first answer (the same grant, the
 * same token) or, while the first still waits, joins its wait.
 *
 * <p><b>Lost-lock notices.</b> The table tells a holder that a lock is gone without its release
 * (escalation, lease expiry, a close by someone else) as effects, applied on every replica. Every
 * replica keeps them per remote session, so a new leader has them too, and each keepalive answer
 * repeats the notices of the last {@link #RETENTION}: an answer lost on the way loses no notice.
 * A session that ended is remembered as long, so that a late keepalive hears why and a retried
 * open does not open it again.
 *
 * <p>A session holding locks taken for it by escalation releases the escalated lock when the last
 * lock it holds below it is released, as a native session does.
 */
public final class RemoteLockSessions implements AutoCloseable {
  /** Remote sessions' ids start with this; the effects of others are not kept. */
  static final String ID_PREFIX = "r-";
  /** How long lost-lock notices are repeated and ended sessions remembered. */
  public static final Duration RETENTION = Duration.ofMinutes(1);
  /** Bound on a client's request id; the table's ids add the session id to it. */
  public static final int REQUEST_ID_CHARS_MAX = 200;
  /** Bound on the notices kept per session (escalations of a huge session); oldest go first. */
  static final int NOTICES_PER_SESSION_MAX = 10_000;

  private final NativeLockService service;
  private final List<Runnable> unsubscribes = new ArrayList<>();
  private final Map<String, Remembered> sessions = new ConcurrentHashMap<>();
  /** Acquires waiting for their answer, by their id in the table: a retry joins the first. */
  private final Map<String, CompletableFuture<Grant>> inflight = new ConcurrentHashMap<>();

  /** A session as this replica saw it in the effects. */
  private static final class Remembered {
    /** Lost locks and when they were lost (nanoTime), oldest first. */
    final Map<LockLost, Long> lost = new LinkedHashMap<>();
    /** Resources the service locked for the session by escalation. */
    final Set<String> escalated = new TreeSet<>();
    long endedAtNanos = -1;
  }

  /** The session {@link #open} opened (or had opened for the same request id) and its lease. */
  public record Opened(String sessionId, Duration lease) {}

  /** A keepalive's answer, and the session's locks lost lately (or when it ended). */
  public record Keepalive(LockDriver.KeepaliveAnswer answer, List<LockLost> lost) {
    public Keepalive {
      lost = List.copyOf(lost);
    }
  }

  /** A granted acquire: the mode held may be stronger than the one asked (see the table). */
  public record Grant(String resource, LockMode mode, long fencingToken) {}

  /** Sessions over these replicas' drivers (a server passes its own node's). */
  public RemoteLockSessions(List<LockDriver> replicas) {
    this.service = new NativeLockService(replicas);
    for (LockDriver replica : replicas) {
      // First: a caller woken by the same effects (a grant to another session, say) must find
      // the notices already recorded when it asks.
      unsubscribes.add(replica.addListenerFirst(this::onEffects));
    }
    service.timer.scheduleWithFixedDelay(this::forgetOld, 1, 1, TimeUnit.SECONDS);
  }

  /** The lease of a session opened without one. */
  public Duration defaultLease() {
    return service.config().defaultLease();
  }

  /**
   * Opens a session for {@code owner}. {@code lease} null means the default; {@code requestId}
   * null means no retry will be made.
   */
  public Opened open(String owner, Duration lease, String requestId) {
    if (owner == null || owner.isBlank() || owner.length() > 256) {
      throw SynodException.invalid("owner", "must be 1 to 256 characters, not blank");
    }
    Duration effective = lease == null ? defaultLease() : lease;
    LockConfig.requireBetween("lease", effective, LockConfig.LEASE_MIN, LockConfig.LEASE_MAX);
    checkRequestId(requestId);
    String id = ID_PREFIX + (requestId == null ? UUID.randomUUID()
        : UUID.nameUUIDFromBytes(("open " + requestId).getBytes(StandardCharsets.UTF_8)));
    Remembered known = sessions.get(id);
    if (known != null && ended(known)) {
      return new Opened(id, effective); // a retry after the session ended: its keepalive says so
    }
    for (LockEffect effect : service.proposeNow(
        now -> new LockCommand.OpenSession(id, owner, effective.toMillis(), now))) {
      if (effect instanceof LockEffect.Refused refused) {
        if (requestId != null && refused.reason() == LockEffect.Refused.Reason.INVALID_ARGUMENT) {
          throw SynodException.invalid("request_id", "'" + requestId + "' opened session " + id
              + " for another owner or lease; use a new request id for a new session");
        }
        throw NativeLockService.refusal(refused);
      }
    }
    sessions.computeIfAbsent(id, k -> new Remembered());
    return new Opened(id, effective);
  }

  /**
   * Records a keepalive of {@code sessionId} at this leader. {@code NOT_LEADER}: the caller must
   * send it to the leader; {@code SESSION_GONE}: the session's locks are lost.
   */
  public Keepalive keepalive(String sessionId) {
    checkSessionId(sessionId);
    LockDriver.KeepaliveAnswer answer = service.keepalive(sessionId);
    return new Keepalive(answer, lostOf(sessionId));
  }

  /**
   * Asks for a lock and completes when it is granted, or fails as a {@link
   * io.synod.api.lock.LockSession} does: DEADLINE_EXCEEDED after the timeout, ABORTED for a
   * deadlock victim (the message names the cycle), FAILED_PRECONDITION for a missing intent, and
   * for a request with timeout 0 (try only) that cannot be granted at once, FAILED_PRECONDITION
   * with a message starting {@code would block}. NOT_FOUND (field session_id) if the session is
   * not open. Completes on a pool thread, never on the log's.
   */
  public CompletableFuture<Grant> acquire(String sessionId, LockRequest request,
      String requestId) {
    try {
      checkSessionId(sessionId);
      checkRequestId(requestId);
      NativeLockService.parse(request.resource());
      requireOpen(sessionId);
    } catch (SynodException e) {
      return CompletableFuture.failedFuture(e);
    }
    String id = sessionId + "/" + (requestId == null ? UUID.randomUUID() : requestId);
    CompletableFuture<Grant> grant = new CompletableFuture<>();
    CompletableFuture<Grant> first = inflight.putIfAbsent(id, grant);
    if (first != null) {
      return first;
    }
    service.requestLock(sessionId, id, request).whenCompleteAsync((answer, error) -> {
      inflight.remove(id, grant);
      if (error != null) {
        grant.completeExceptionally(NativeLockService.unwrap(error));
      } else if (requestId != null && resourceOf(answer) != null
          && !request.resource().equals(resourceOf(answer))) {
        grant.completeExceptionally(SynodException.invalid("request_id", "'" + requestId
            + "' was used for a request on '" + resourceOf(answer) + "'; a new request needs a "
            + "new request id"));
      } else if (answer instanceof LockEffect.Granted granted) {
        grant.complete(new Grant(granted.resource(), granted.mode(), granted.token()));
      } else if (answer instanceof LockEffect.Refused refused
          && refused.reason() == LockEffect.Refused.Reason.WOULD_BLOCK) {
        grant.completeExceptionally(new SynodException(ErrorCode.FAILED_PRECONDITION, null,
            "would block: " + refused.message()));
      } else {
        grant.completeExceptionally(NativeLockService.failure(request, answer));
      }
    }, service.callbacks);
    return grant;
  }

  /** The resource an answer names, or the one asked when the answer does not say. */
  private static String resourceOf(LockEffect answer) {
    return switch (answer) {
      case LockEffect.Granted g -> g.resource();
      case LockEffect.TimedOut t -> t.resource();
      case LockEffect.Cancelled c -> c.resource();
      default -> null;
    };
  }

  /**
   * Releases the session's lock on {@code resource} and cancels its waits at or below it;
   * releasing what the session does not hold does nothing. FAILED_PRECONDITION, and the lock
   * kept, if the session holds locks below it (release goes leaf to root).
   */
  public void release(String sessionId, String resource) {
    checkSessionId(sessionId);
    NativeLockService.parse(resource);
    requireOpen(sessionId);
    for (LockEffect effect : service.proposeNow(
        now -> new LockCommand.Release(sessionId, resource, now))) {
      if (effect instanceof LockEffect.Refused refused) {
        throw NativeLockService.refusal(refused);
      }
    }
    releaseEscalatedIfUnused(sessionId, resource);
  }

  /** Closes the session, releasing its locks. False if it was not open (closing is idempotent). */
  public boolean close(String sessionId) {
    checkSessionId(sessionId);
    if (!service.isOpen(sessionId)) {
      return false;
    }
    boolean closed = false;
    for (LockEffect effect : service.proposeNow(
        now -> new LockCommand.CloseSession(sessionId, now))) {
      closed |= effect instanceof LockEffect.SessionClosed c && c.sessionId().equals(sessionId);
    }
    return closed;
  }

  /** Holders and waiters of {@code resource}, as the leader (or, while none leads, any) sees them. */
  public LockStatus status(String resource) {
    return service.status(resource);
  }

  // ---- effects --------------------------------------------------------------------------------

  private void onEffects(List<LockEffect> effects) {
    long now = System.nanoTime();
    Map<String, List<LockEffect.Released>> released = null;
    for (LockEffect effect : effects) {
      switch (effect) {
        case LockEffect.SessionOpened opened when remote(opened.sessionId()) ->
            sessions.computeIfAbsent(opened.sessionId(), k -> new Remembered());
        case LockEffect.LockLost lost when remote(lost.sessionId()) -> notice(lost.sessionId(),
            new LockLost(lost.resource(), lost.token(), lost.reason()), now);
        case LockEffect.Escalated up when remote(up.sessionId()) -> {
          Remembered session = remembered(up.sessionId());
          synchronized (session) {
            session.escalated.add(up.resource());
          }
        }
        case LockEffect.Released r when remote(r.sessionId()) -> {
          if (released == null) {
            released = new HashMap<>();
          }
          released.computeIfAbsent(r.sessionId(), k -> new ArrayList<>()).add(r);
        }
        case LockEffect.SessionClosed closed when remote(closed.sessionId()) -> {
          // Closed, by its client or by anyone else: what it held is lost to its client.
          List<LockEffect.Released> held = released == null ? List.of()
              : released.getOrDefault(closed.sessionId(), List.of());
          for (LockEffect.Released r : held) {
            notice(r.sessionId(), new LockLost(r.resource(), r.token(),
                LockLost.Reason.SESSION_CLOSED), now);
          }
          end(closed.sessionId(), now);
        }
        case LockEffect.SessionExpired expired when remote(expired.sessionId()) ->
            end(expired.sessionId(), now);
        default -> { }
      }
    }
    if (released != null) {
      released.forEach((sessionId, list) -> {
        Remembered session = sessions.get(sessionId);
        if (session != null) {
          synchronized (session) {
            list.forEach(r -> session.escalated.remove(r.resource()));
          }
        }
      });
    }
  }

  private static boolean remote(String sessionId) {
    return sessionId != null && sessionId.startsWith(ID_PREFIX);
  }

  private Remembered remembered(String sessionId) {
    return sessions.computeIfAbsent(sessionId, k -> new Remembered());
  }

  private void notice(String sessionId, LockLost lost, long now) {
    Remembered session = remembered(sessionId);
    synchronized (session) {
      session.lost.putIfAbsent(lost, now); // every replica's driver may report the same effect
      if (session.lost.size() > NOTICES_PER_SESSION_MAX) {
        session.lost.remove(session.lost.keySet().iterator().next());
      }
    }
  }

  private void end(String sessionId, long now) {
    Remembered session = remembered(sessionId);
    synchronized (session) {
      if (session.endedAtNanos < 0) {
        session.endedAtNanos = now;
      }
      session.escalated.clear();
    }
  }

  private static boolean ended(Remembered session) {
    synchronized (session) {
      return session.endedAtNanos >= 0;
    }
  }

  private List<LockLost> lostOf(String sessionId) {
    Remembered session = sessions.get(sessionId);
    if (session == null) {
      return List.of();
    }
    synchronized (session) {
      return List.copyOf(session.lost.keySet());
    }
  }

  /** Drops notices and ended sessions older than {@link #RETENTION}. */
  private void forgetOld() {
    long cutoff = System.nanoTime() - RETENTION.toNanos();
    sessions.forEach((id, session) -> {
      synchronized (session) {
        session.lost.values().removeIf(at -> at - cutoff < 0);
        if (session.endedAtNanos >= 0 && session.endedAtNanos - cutoff < 0) {
          sessions.remove(id, session);
        }
      }
    });
  }

  /** A lock taken by escalation goes when the session holds nothing else below it. */
  private void releaseEscalatedIfUnused(String sessionId, String released) {
    Remembered session = sessions.get(sessionId);
    if (session == null) {
      return;
    }
    List<String> parents;
    synchronized (session) {
      parents = session.escalated.stream().filter(p -> released.startsWith(p + "/")).toList();
    }
    for (String parent : parents) {
      boolean used = service.read(table -> table.session(sessionId)
          .map(view -> view.held().stream().anyMatch(
              h -> !h.implicit() && h.resource().startsWith(parent + "/")))
          .orElse(false));
      if (!used) {
        synchronized (session) {
          session.escalated.remove(parent);
        }
        service.proposeNow(now -> new LockCommand.Release(sessionId, parent, now));
      }
    }
  }

  // ---- checks ---------------------------------------------------------------------------------

  private void requireOpen(String sessionId) {
    if (!service.isOpen(sessionId)) {
      throw new SynodException(ErrorCode.NOT_FOUND, "session_id", "no open session '"
          + sessionId + "' (closed, or its lease lapsed); open a new one");
    }
  }

  private static void checkSessionId(String sessionId) {
    if (sessionId == null || sessionId.isBlank()) {
      throw SynodException.invalid("session_id", "is required");
    }
    if (sessionId.length() > LockTable.ID_CHARS_MAX) {
      throw SynodException.invalid("session_id", "must be at most " + LockTable.ID_CHARS_MAX
          + " characters");
    }
  }

  private static void checkRequestId(String requestId) {
    if (requestId == null) {
      return;
    }
    if (requestId.isBlank() || requestId.length() > REQUEST_ID_CHARS_MAX
        || requestId.chars().anyMatch(Character::isISOControl)) {
      throw SynodException.invalid("request_id", "must be 1 to " + REQUEST_ID_CHARS_MAX
          + " characters without control characters, not blank");
    }
  }

  @Override
  public void close() {
    unsubscribes.forEach(Runnable::run);
    service.close();
  }
}
