package io.synod.client;

import io.grpc.StatusRuntimeException;
import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.lock.LockService;
import io.synod.api.lock.LockSession;
import io.synod.api.lock.LockStatus;
import io.synod.proto.v1.LockStatusRequest;
import io.synod.proto.v1.LockStatusResponse;
import io.synod.proto.v1.LocksGrpc;
import io.synod.proto.v1.OpenSessionRequest;
import io.synod.proto.v1.ReleaseRequest;
import io.synod.proto.v1.Session;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The lock service of a synod server or cluster over gRPC: the same {@link LockService} as an
 * embedded node's, so code moves between the two unchanged.
 *
 * <pre>{@code
 * try (RemoteLockService locks = RemoteLockService.connect(List.of("10.0.0.1:7790"));
 *     LockSession session = locks.openSession("billing-worker-3", Duration.ofSeconds(30));
 *     Lock lock = session.acquire("pg/accounts/42", LockMode.X, Duration.ofSeconds(5))) {
 *   store.write(row, lock.fencingToken());
 * }
 * }</pre>
 *
 * <p><b>Leases.</b> Each session keeps a KeepAlive stream to a server and sends a keepalive every
 * sixth of its lease; the server relays it to the leader. If no keepalive has been acknowledged
 * for a whole lease (counted from when the last acknowledged one was sent), the leader may expire
 * the session at any moment, so every lock is reported lost at once ({@code Lock.lost()}, {@code
 * lock lost, token N}), as a native session does; so is every lock when the server answers that
 * the session is gone, and a single lock lost by escalation.
 *
 * <p><b>Retries.</b> A call that fails with UNAVAILABLE is made again on the next server, after a
 * backoff, with the same request id, which the server answers as it answered the first: a retried
 * open opens no second session, a retried acquire takes no second grant. An acquire is retried
 * until its timeout and a grace have passed; then it is withdrawn (released) and fails with
 * UNAVAILABLE, since the caller cannot tell whether it was granted.
 */
public final class RemoteLockService implements LockService {
  private static final Logger LOG = LoggerFactory.getLogger(RemoteLockService.class);
  private static final Duration CALL_TIMEOUT = Duration.ofSeconds(10);
  private static final Duration RETRY_FOR = Duration.ofSeconds(30);

  private final List<Endpoint> endpoints;
  private final boolean ownsEndpoints;
  /** Where the next call starts: the endpoint that answered last. */
  private final AtomicInteger preferred;
  private final Duration retryFor;
  private final Backoff backoff;
  final ScheduledExecutorService timer;
  /** Where acquireAsync runs and lost-lock notices reach the caller. */
  final ExecutorService callbacks;
  private final Map<String, RemoteLockSession> sessions = new ConcurrentHashMap<>();
  private volatile boolean closed;

  /**
   * Locks over endpoints someone else owns (a {@link SynodClient}'s), sharing its preferred
   * endpoint and retry settings.
   */
  RemoteLockService(List<Endpoint> endpoints, boolean ownsEndpoints, AtomicInteger preferred,
      Duration retryFor, Backoff backoff) {
    if (endpoints.isEmpty()) {
      throw new IllegalArgumentException("a lock service needs at least one server address");
    }
    this.endpoints = List.copyOf(endpoints);
    this.ownsEndpoints = ownsEndpoints;
    this.preferred = preferred;
    this.retryFor = retryFor;
    this.backoff = backoff;
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "synod-remote-locks");
      t.setDaemon(true);
      return t;
    });
    this.callbacks = Executors.newThreadPerTaskExecutor(
        Thread.ofVirtual().name("synod-lock-callback-", 0).factory());
  }

  /**
   * A lock service over the servers at {@code endpoints} ({@code host:port} of their gRPC API),
   * with channels of its own: calls time out after 10 s and are retried for 30 s.
   */
  public static RemoteLockService connect(List<String> endpoints) {
    return connect(endpoints, CALL_TIMEOUT, RETRY_FOR);
  }

  /**
   * A lock service over the servers at {@code endpoints}: the short calls (open, release, close,
   * status) time out after {@code callTimeout}; a call that finds no server is retried for
   * {@code retryFor} (every server is tried at least once).
   */
  public static RemoteLockService connect(List<String> endpoints, Duration callTimeout,
      Duration retryFor) {
    if (callTimeout == null || callTimeout.isNegative() || callTimeout.isZero()) {
      throw new IllegalArgumentException("callTimeout must be positive; got " + callTimeout);
    }
    if (retryFor == null || retryFor.isNegative()) {
      throw new IllegalArgumentException("retryFor must not be negative; got " + retryFor);
    }
    if (endpoints == null || endpoints.isEmpty()) {
      throw new IllegalArgumentException("a lock service needs at least one server address "
          + "(host:port)");
    }
    endpoints.forEach(Endpoint.HostPort::parse);
    List<Endpoint> opened = new ArrayList<>();
    for (String address : endpoints) {
      opened.add(Endpoint.open(address, callTimeout));
    }
    return new RemoteLockService(opened, true, new AtomicInteger(),
        retryFor, new Backoff(Duration.ofMillis(50), Duration.ofSeconds(1)));
  }

  /**
   * Opens a session whose lease this client keeps alive; {@code lease} null means the server's
   * default.
   */
  @Override
  public LockSession openSession(String owner, Duration lease) {
    ensureOpen();
    if (lease != null && (lease.isNegative() || lease.isZero())) {
      throw SynodException.invalid("lease", "must be positive; got " + lease);
    }
    OpenSessionRequest request = OpenSessionRequest.newBuilder()
        .setOwner(owner == null ? "" : owner)
        .setLeaseMs(lease == null ? 0 : lease.toMillis())
        .setRequestId(UUID.randomUUID().toString())
        .build();
    Session opened = call("open a lock session", endpoint -> stub(endpoint,
        endpoint.callTimeout()).openSession(request));
    RemoteLockSession session = new RemoteLockSession(this, opened.getSessionId(),
        request.getOwner(), Duration.ofMillis(opened.getLeaseMs()));
    sessions.put(session.id(), session);
    session.startKeepalives();
    return session;
  }

  @Override
  public LockStatus status(String resource) {
    ensureOpen();
    LockStatusRequest request = LockStatusRequest.newBuilder()
        .setResource(resource == null ? "" : resource).build();
    LockStatusResponse status = call("status of " + resource,
        endpoint -> stub(endpoint, endpoint.callTimeout()).getStatus(request));
    return LockProtoMapping.fromProto(status);
  }

  /**
   * Releases {@code resource} for a session this client did not open (one a script opened over
   * HTTP, say): NOT_FOUND if the session is not open, FAILED_PRECONDITION if it holds locks below
   * the resource. Sessions opened here release through their {@code Lock.close()}.
   */
  public void release(String sessionId, String resource) {
    ensureOpen();
    ReleaseRequest request = ReleaseRequest.newBuilder()
        .setSessionId(sessionId == null ? "" : sessionId)
        .setResource(resource == null ? "" : resource)
        .build();
    call("release '" + resource + "'",
        endpoint -> stub(endpoint, endpoint.callTimeout()).release(request));
  }

  /** Closes every session this service opened (releasing their locks), then the channels. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    for (RemoteLockSession session : List.copyOf(sessions.values())) {
      try {
        session.close();
      } catch (SynodException e) {
        LOG.warn("closing lock session {} failed; its lease will lapse: {}", session.id(),
            e.getMessage());
      }
    }
    closed = true;
    timer.shutdownNow();
    callbacks.shutdown();
    if (ownsEndpoints) {
      endpoints.forEach(Endpoint::close);
    }
  }

  // ---- for sessions ---------------------------------------------------------------------------

  void sessionEnded(String sessionId) {
    sessions.remove(sessionId);
  }

  LocksGrpc.LocksBlockingStub stub(Endpoint endpoint, Duration deadline) {
    return LocksGrpc.newBlockingStub(endpoint.channel())
        .withDeadlineAfter(Math.max(1, deadline.toMillis()), TimeUnit.MILLISECONDS);
  }

  LocksGrpc.LocksStub asyncStub(Endpoint endpoint) {
    return LocksGrpc.newStub(endpoint.channel());
  }

  Endpoint preferredEndpoint() {
    return endpoints.get(preferred.get());
  }

  /** After a failure on {@code failed}: the next call goes to the next endpoint. */
  void moveOn(Endpoint failed) {
    failed.reconnectSoon();
    int index = endpoints.indexOf(failed);
    if (index >= 0) {
      preferred.compareAndSet(index, (index + 1) % endpoints.size());
    }
  }

  long backoffMillis(int failures) {
    return backoff.millis(failures);
  }

  int endpointCount() {
    return endpoints.size();
  }

  /**
   * Makes {@code attempt} on the preferred endpoint, and after each UNAVAILABLE on the next one,
   * until it succeeds, fails otherwise, or the retry budget is spent with every endpoint tried.
   * The attempt must be safe to repeat (it carries its request id).
   */
  <T> T call(String what, Function<Endpoint, T> attempt) {
    long started = System.nanoTime();
    for (int failures = 1; ; failures++) {
      Endpoint endpoint = preferredEndpoint();
      SynodException error;
      try {
        return attempt.apply(endpoint);
      } catch (StatusRuntimeException e) {
        error = ProtoMapping.fromStatus(e);
      }
      if (closed) {
        throw new SynodException(ErrorCode.UNAVAILABLE, what + ": the client was closed", error);
      }
      if (error.code() != ErrorCode.UNAVAILABLE) {
        throw error;
      }
      moveOn(endpoint);
      long remainingMs = retryFor.toMillis() - (System.nanoTime() - started) / 1_000_000;
      if (remainingMs <= 0 && failures >= endpoints.size()) {
        throw new SynodException(ErrorCode.UNAVAILABLE, what + ": no answer from "
            + endpoints.stream().map(Endpoint::address).toList() + " within " + retryFor
            + " (" + failures + " tries); last error from " + endpoint.address() + ": "
            + error.getMessage(), error);
      }
      pause(what, Math.max(0, Math.min(backoff.millis(failures), remainingMs)));
    }
  }

  static void pause(String what, long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SynodException(ErrorCode.UNAVAILABLE, what + ": interrupted while retrying", e);
    }
  }

  boolean isClosed() {
    return closed;
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("this RemoteLockService is closed");
    }
  }
}
