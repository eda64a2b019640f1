package io.synod.server;

import io.grpc.Channel;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.lock.LockLost;
import io.synod.api.lock.LockRequest;
import io.synod.client.LockProtoMapping;
import io.synod.client.ProtoMapping;
import io.synod.engine.SynodNode;
import io.synod.engine.lock.LockConfig;
import io.synod.engine.lock.RemoteLockSessions;
import io.synod.proto.v1.AcquireRequest;
import io.synod.proto.v1.AcquireResponse;
import io.synod.proto.v1.CloseSessionRequest;
import io.synod.proto.v1.CloseSessionResponse;
import io.synod.proto.v1.KeepAliveRequest;
import io.synod.proto.v1.KeepAliveResponse;
import io.synod.proto.v1.LockStatusRequest;
import io.synod.proto.v1.LockStatusResponse;
import io.synod.proto.v1.LocksGrpc;
import io.synod.proto.v1.OpenSessionRequest;
import io.synod.proto.v1.ReleaseRequest;
import io.synod.proto.v1.ReleaseResponse;
import io.synod.proto.v1.Session;
import io.synod.proto.v1.SessionState;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Sends each lock call where it can be answered: to this node's {@link RemoteLockSessions} while
 * it leads, otherwise over gRPC to the leader's API address, marked as forwarded. Every call goes
 * to the leader, keepalives above all: the leader keeps them in its memory, and a session's lease
 * is judged there alone. A forwarded call is never forwarded again: a node that gets one and does
 * not lead answers UNAVAILABLE, and the client retries (with the same request id).
 *
 * <p>The calls take and give the messages of {@code synod/v1/locks.proto}; the HTTP API maps its
 * JSON to them, so both APIs share one validation and one routing.
 */
public final class LockRouter implements AutoCloseable {
  /** Longest wait an acquire may ask for. */
  public static final Duration TIMEOUT_MAX = Duration.ofHours(24);
  private static final Duration SHORT_CALL_TIMEOUT = Duration.ofSeconds(10);
  /** Room beyond an acquire's own timeout for a forwarded answer to travel back. */
  private static final Duration ANSWER_MARGIN = Duration.ofSeconds(15);

  private final SynodNode node;
  private final RemoteLockSessions sessions;
  private final Forwarding forwarding;

  /** @param sessions the remote sessions over this node's lock driver; the router closes them */
  LockRouter(SynodNode node, RemoteLockSessions sessions, Forwarding forwarding) {
    this.node = node;
    this.sessions = sessions;
    this.forwarding = forwarding;
  }

  /** The lease of a session opened without one. */
  public Duration defaultLease() {
    return sessions.defaultLease();
  }

  public Session openSession(OpenSessionRequest request, boolean forwarded) {
    Optional<LocksGrpc.LocksBlockingStub> leader = leader(forwarded, SHORT_CALL_TIMEOUT);
    if (leader.isPresent()) {
      return ProtoMapping.call(() -> leader.get().openSession(request));
    }
    Duration lease = null;
    if (request.getLeaseMs() != 0) {
      lease = Duration.ofMillis(request.getLeaseMs());
      requireBetween("lease_ms", lease, LockConfig.LEASE_MIN, LockConfig.LEASE_MAX);
    }
    RemoteLockSessions.Opened opened =
        sessions.open(request.getOwner(), lease, emptyToNull(request.getRequestId()));
    return Session.newBuilder()
        .setSessionId(opened.sessionId())
        .setLeaseMs(opened.lease().toMillis())
        .build();
  }

  /** One keepalive, at the leader; a KeepAlive stream on a follower relays each this way. */
  public KeepAliveResponse keepAlive(KeepAliveRequest request, boolean forwarded) {
    Optional<LocksGrpc.LocksBlockingStub> leader = leader(forwarded, SHORT_CALL_TIMEOUT);
    if (leader.isPresent()) {
      return ProtoMapping.call(() -> leader.get().keepAliveOnce(request));
    }
    RemoteLockSessions.Keepalive answer = sessions.keepalive(request.getSessionId());
    KeepAliveResponse.Builder response = KeepAliveResponse.newBuilder()
        .setSessionId(request.getSessionId());
    switch (answer.answer()) {
      case OK -> response.setState(SessionState.ALIVE);
      case SESSION_GONE -> response.setState(SessionState.GONE);
      case NOT_LEADER -> throw notLeader(forwarded);
    }
    for (LockLost lost : answer.lost()) {
      response.addLost(LockProtoMapping.toProto(lost));
    }
    return response.build();
  }

  /** Completes when the lock is granted or the request fails (see locks.proto). */
  public CompletableFuture<AcquireResponse> acquire(AcquireRequest request, boolean forwarded) {
    LockRequest lock;
    Optional<Channel> leader;
    try {
      lock = lockRequest(request);
      leader = leaderChannel(forwarded);
    } catch (SynodException e) {
      return CompletableFuture.failedFuture(e);
    }
    if (leader.isPresent()) {
      CompletableFuture<AcquireResponse> answer = new CompletableFuture<>();
      long deadlineMs = lock.timeout().plus(ANSWER_MARGIN).toMillis();
      LocksGrpc.newStub(leader.get()).withDeadlineAfter(deadlineMs, TimeUnit.MILLISECONDS)
          .acquire(request, new StreamObserver<>() {
            @Override
            public void onNext(AcquireResponse value) {
              answer.complete(value);
            }

            @Override
            public void onError(Throwable error) {
              answer.completeExceptionally(error instanceof StatusRuntimeException status
                  ? ProtoMapping.fromStatus(status) : error);
            }

            @Override
            public void onCompleted() {
              // the single answer came with onNext
            }
          });
      return answer;
    }
    return sessions.acquire(request.getSessionId(), lock, emptyToNull(request.getRequestId()))
        .thenApply(grant -> AcquireResponse.newBuilder()
            .setFencingToken(grant.fencingToken())
            .setResource(grant.resource())
            .setMode(LockProtoMapping.toProto(grant.mode()))
            .build());
  }

  public ReleaseResponse release(ReleaseRequest request, boolean forwarded) {
    Optional<LocksGrpc.LocksBlockingStub> leader = leader(forwarded, SHORT_CALL_TIMEOUT);
    if (leader.isPresent()) {
      return ProtoMapping.call(() -> leader.get().release(request));
    }
    sessions.release(request.getSessionId(), request.getResource());
    return ReleaseResponse.getDefaultInstance();
  }

  public CloseSessionResponse closeSession(CloseSessionRequest request, boolean forwarded) {
    Optional<LocksGrpc.LocksBlockingStub> leader = leader(forwarded, SHORT_CALL_TIMEOUT);
    if (leader.isPresent()) {
      return ProtoMapping.call(() -> leader.get().closeSession(request));
    }
    return CloseSessionResponse.newBuilder()
        .setClosed(sessions.close(request.getSessionId()))
        .build();
  }

  /** Holders and waiters as the leader sees them: a follower's replica may lag. */
  public LockStatusResponse status(LockStatusRequest request, boolean forwarded) {
    Optional<LocksGrpc.LocksBlockingStub> leader = leader(forwarded, SHORT_CALL_TIMEOUT);
    if (leader.isPresent()) {
      return ProtoMapping.call(() -> leader.get().getStatus(request));
    }
    return LockProtoMapping.toProto(sessions.status(request.getResource()));
  }

  // ---- requests -------------------------------------------------------------------------------

  /** The engine's request for an AcquireRequest; bad fields are named as the message names them. */
  static LockRequest lockRequest(AcquireRequest request) {
    if (request.getSessionId().isEmpty()) {
      throw SynodException.invalid("session_id", "is required");
    }
    var mode = LockProtoMapping.fromProto(request.getMode(), "mode");
    Duration timeout;
    if (request.getTryOnly()) {
      if (request.getTimeoutMs() != 0) {
        throw SynodException.invalid("timeout_ms", "must be 0 (or unset) with try_only; got "
            + request.getTimeoutMs());
      }
      timeout = Duration.ZERO;
    } else {
      if (request.getTimeoutMs() <= 0 || request.getTimeoutMs() > TIMEOUT_MAX.toMillis()) {
        throw SynodException.invalid("timeout_ms", "must be 1 to " + TIMEOUT_MAX.toMillis()
            + " (how long to wait in the queue), or set try_only; got " + request.getTimeoutMs());
      }
      timeout = Duration.ofMillis(request.getTimeoutMs());
    }
    boolean withIntents = !request.hasWithIntents() || request.getWithIntents();
    return new LockRequest(request.getResource(), mode, timeout, withIntents,
        request.getPriority());
  }

  private static void requireBetween(String field, Duration value, Duration min, Duration max) {
    if (value.compareTo(min) < 0 || value.compareTo(max) > 0) {
      throw SynodException.invalid(field, "must be 0 (the server's default) or "
          + min.toMillis() + " to " + max.toMillis() + "; got " + value.toMillis());
    }
  }

  private static String emptyToNull(String s) {
    return s == null || s.isEmpty() ? null : s;
  }

  // ---- routing --------------------------------------------------------------------------------

  /** A stub of the leader with a deadline, or empty if this node leads and serves the call. */
  private Optional<LocksGrpc.LocksBlockingStub> leader(boolean forwarded, Duration deadline) {
    return leaderChannel(forwarded).map(channel -> LocksGrpc.newBlockingStub(channel)
        .withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS));
  }

  private Optional<Channel> leaderChannel(boolean forwarded) {
    return forwarding.leaderChannel(forwarded);
  }

  /** The driver found itself no longer leading between the routing and the call. */
  private SynodException notLeader(boolean forwarded) {
    return new SynodException(ErrorCode.UNAVAILABLE, null, "node " + node.id()
        + " is not the leader" + (forwarded ? " (forwarded call); " : "; ") + "retry");
  }

  @Override
  public void close() {
    sessions.close();
  }
}
