package io.synod.client;

import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.lock.Lock;
import io.synod.api.lock.LockHandle;
import io.synod.api.lock.LockLost;
import io.synod.api.lock.LockMode;
import io.synod.api.lock.LockRequest;
import io.synod.api.lock.LockSession;
import io.synod.proto.v1.AcquireRequest;
import io.synod.proto.v1.AcquireResponse;
import io.synod.proto.v1.CloseSessionRequest;
import io.synod.proto.v1.KeepAliveRequest;
import io.synod.proto.v1.KeepAliveResponse;
import io.synod.proto.v1.LostLock;
import io.synod.proto.v1.ReleaseRequest;
import io.synod.proto.v1.SessionState;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A session held by a server for this client. It keeps its lease alive over a KeepAlive stream,
 * and keeps the client's side of the lease as a native session does: no acknowledged keepalive
 * for a whole lease means every lock is reported lost, before the leader can expire it.
 */
final class RemoteLockSession implements LockSession {
  private static final Logger LOG = LoggerFactory.getLogger(RemoteLockSession.class);
  /** How long past an acquire's timeout the client waits for its answer before withdrawing it. */
  static final Duration ANSWER_GRACE = Duration.ofSeconds(5);
  /** Keepalives unanswered on one stream before it is dropped for another server. */
  private static final int UNANSWERED_MAX = 3;

  private final RemoteLockService service;
  private final String id;
  private final String owner;
  private final Duration lease;
  /** The caller's handles per resource; the lock is released with the last one. */
  private final Map<String, List<RemoteLock>> held = new ConcurrentHashMap<>();
  private volatile boolean alive = true;
  private volatile long lastAckSentNanos = System.nanoTime();
  private volatile boolean keepalivesStopped;
  private ScheduledFuture<?> keepaliveTask;
  /** The open KeepAlive stream, if any, and the send times of its unanswered keepalives. */
  private StreamObserver<KeepAliveRequest> stream;
  private final ArrayDeque<Long> unanswered = new ArrayDeque<>();

  RemoteLockSession(RemoteLockService service, String id, String owner, Duration lease) {
    this.service = service;
    this.id = id;
    this.owner = owner;
    this.lease = lease;
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

  // ---- keepalives -----------------------------------------------------------------------------

  void startKeepalives() {
    long everyMs = Math.max(20, lease.toMillis() / 6);
    keepaliveTask = service.timer.scheduleWithFixedDelay(this::keepalive, everyMs, everyMs,
        TimeUnit.MILLISECONDS);
  }

  /** For tests: the client goes silent, as if paused or cut off, but keeps its objects. */
  void stopKeepalives() {
    keepalivesStopped = true;
  }

  private void keepalive() {
    try {
      if (!alive) {
        return;
      }
      if (!keepalivesStopped) {
        send();
      }
      if (alive && System.nanoTime() - lastAckSentNanos >= lease.toNanos()) {
        LOG.info("lock session {}: no keepalive acknowledged for a lease ({}); its locks are "
            + "lost", id, lease);
        loseAll(LockLost.Reason.LEASE_EXPIRED);
      }
    } catch (RuntimeException e) {
      LOG.warn("lock session {}: keepalive failed", id, e);
    }
  }

  private synchronized void send() {
    if (stream != null && unanswered.size() >= UNANSWERED_MAX) {
      // The server does not answer: try the next one rather than wait for the stream to fail.
      LOG.debug("lock session {}: {} keepalives unanswered; switching servers", id,
          unanswered.size());
      dropStream(new SynodException(ErrorCode.UNAVAILABLE, null, "keepalives unanswered"));
      service.moveOn(streamEndpoint);
    }
    if (stream == null) {
      openStream();
    }
    unanswered.addLast(System.nanoTime());
    stream.onNext(KeepAliveRequest.newBuilder().setSessionId(id).build());
  }

  private Endpoint streamEndpoint;

  private void openStream() {
    Endpoint endpoint = service.preferredEndpoint();
    streamEndpoint = endpoint;
    unanswered.clear();
    Object[] self = new Object[1];
    StreamObserver<KeepAliveRequest> requests = service.asyncStub(endpoint).keepAlive(
        new ClientResponseObserver<KeepAliveRequest, KeepAliveResponse>() {
          @Override
          public void beforeStart(ClientCallStreamObserver<KeepAliveRequest> requestStream) {
            self[0] = requestStream;
          }

          @Override
          public void onNext(KeepAliveResponse response) {
            answered(self[0], response);
          }

          @Override
          public void onError(Throwable error) {
            streamFailed(self[0], endpoint, error);
          }

          @Override
          public void onCompleted() {
            streamFailed(self[0], endpoint, null);
          }
        });
    stream = requests;
  }

  private void answered(Object from, KeepAliveResponse response) {
    Long sent;
    synchronized (this) {
      if (from != stream) {
        return; // an answer on a stream already dropped
      }
      sent = unanswered.pollFirst();
    }
    for (LostLock lost : response.getLostList()) {
      lose(LockProtoMapping.fromProto(lost));
    }
    if (response.getState() == SessionState.GONE) {
      LOG.info("lock session {}: the server says it is gone; its locks are lost", id);
      loseAll(LockLost.Reason.LEASE_EXPIRED);
    } else if (sent != null && sent - lastAckSentNanos > 0) {
      lastAckSentNanos = sent;
    }
  }

  private void streamFailed(Object from, Endpoint endpoint, Throwable error) {
    synchronized (this) {
      if (from != stream) {
        return;
      }
      stream = null;
      unanswered.clear();
    }
    if (error != null && alive) {
      LOG.debug("lock session {}: keepalive stream to {} failed: {}", id, endpoint.address(),
          error.getMessage());
      service.moveOn(endpoint);
    }
  }

  private synchronized void dropStream(Throwable why) {
    if (stream != null) {
      StreamObserver<KeepAliveRequest> old = stream;
      stream = null;
      unanswered.clear();
      try {
        if (why == null) {
          old.onCompleted();
        } else {
          old.onError(why);
        }
      } catch (RuntimeException e) {
        LOG.debug("closing a keepalive stream failed", e);
      }
    }
  }

  // ---- acquire --------------------------------------------------------------------------------

  @Override
  public Lock acquire(LockRequest request) {
    Optional<Lock> lock = request(request, request.timeout().isZero());
    if (lock.isEmpty()) {
      // As a native session answers a wait of zero that cannot be granted.
      throw new SynodException(ErrorCode.DEADLINE_EXCEEDED, "timeout", "'" + request.resource()
          + "' cannot be granted in " + request.mode() + " now and the timeout is 0");
    }
    return lock.get();
  }

  @Override
  public Optional<Lock> tryAcquire(String resource, LockMode mode) {
    return request(new LockRequest(resource, mode, Duration.ZERO, true, 0), true);
  }

  @Override
  public CompletableFuture<Lock> acquireAsync(LockRequest request) {
    try {
      return CompletableFuture.supplyAsync(() -> acquire(request), service.callbacks);
    } catch (RejectedExecutionException e) {
      return CompletableFuture.failedFuture(new SynodException(ErrorCode.UNAVAILABLE,
          "the lock service is closed", e));
    }
  }

  /**
   * One acquire, retried with the same request id on UNAVAILABLE until its timeout and {@link
   * #ANSWER_GRACE} have passed; then withdrawn. Empty if try-only and it would block.
   */
  private Optional<Lock> request(LockRequest request, boolean tryOnly) {
    if (!alive) {
      throw gone();
    }
    if (request.timeout().isNegative()) {
      throw SynodException.invalid("timeout", "must not be negative; got " + request.timeout());
    }
    AcquireRequest proto = AcquireRequest.newBuilder()
        .setSessionId(id)
        .setResource(request.resource())
        .setMode(LockProtoMapping.toProto(request.mode()))
        .setTimeoutMs(request.timeout().toMillis())
        .setWithIntents(request.withIntents())
        .setPriority(request.priority())
        .setTryOnly(tryOnly)
        .setRequestId(UUID.randomUUID().toString())
        .build();
    String what = "acquire " + request.mode() + " on '" + request.resource() + "'";
    long giveUpAt = System.nanoTime() + request.timeout().toNanos() + ANSWER_GRACE.toNanos();
    for (int failures = 1; ; failures++) {
      Endpoint endpoint = service.preferredEndpoint();
      long remainingNanos = giveUpAt - System.nanoTime();
      SynodException error;
      try {
        AcquireResponse granted = service.stub(endpoint,
            Duration.ofNanos(Math.max(remainingNanos, 0))).acquire(proto);
        return Optional.of(granted(granted));
      } catch (StatusRuntimeException e) {
        error = ProtoMapping.fromStatus(e);
      }
      boolean noAnswerInTime = System.nanoTime() - giveUpAt >= 0;
      switch (error.code()) {
        case UNAVAILABLE -> {
          if (service.isClosed()) {
            throw error;
          }
          service.moveOn(endpoint);
        }
        case DEADLINE_EXCEEDED -> {
          if (!noAnswerInTime) {
            throw error; // the server's: the wait timed out
          }
        }
        case FAILED_PRECONDITION -> {
          if (tryOnly && error.getMessage().startsWith("would block")) {
            return Optional.empty();
          }
          throw error;
        }
        case NOT_FOUND -> {
          if (error.field().filter("session_id"::equals).isPresent()) {
            throw gone();
          }
          throw error;
        }
        default -> throw error;
      }
      if (noAnswerInTime || System.nanoTime() - giveUpAt >= 0) {
        withdraw(request.resource());
        throw new SynodException(ErrorCode.UNAVAILABLE, null, what + ": no answer within "
            + request.timeout() + " and " + ANSWER_GRACE + " (last error: " + error.getMessage()
            + "); it is withdrawn");
      }
      RemoteLockService.pause(what, Math.min(service.backoffMillis(failures),
          Math.max(0, (giveUpAt - System.nanoTime()) / 1_000_000)));
    }
  }

  private Lock granted(AcquireResponse response) {
    RemoteLock lock = new RemoteLock(this, response.getResource(),
        LockProtoMapping.serverMode(response.getMode()), response.getFencingToken());
    held.compute(lock.resource(), (r, handles) -> {
      List<RemoteLock> next = handles == null ? new ArrayList<>() : new ArrayList<>(handles);
      next.add(lock);
      return next;
    });
    return lock;
  }

  /** Best effort: a withdrawn request that was granted meanwhile must not stay held. */
  private void withdraw(String resource) {
    try {
      releaseAtServer(resource);
    } catch (SynodException e) {
      LOG.warn("lock session {}: withdrawing the request for '{}' failed: {}", id, resource,
          e.getMessage());
    }
  }

  private SynodException gone() {
    return new SynodException(ErrorCode.FAILED_PRECONDITION, null,
        "session " + id + " is closed or its lease lapsed; open a new one");
  }

  // ---- release and loss -----------------------------------------------------------------------

  void release(RemoteLock lock) {
    boolean[] last = {false};
    held.computeIfPresent(lock.resource(), (r, handles) -> {
      List<RemoteLock> rest = new ArrayList<>(handles);
      rest.remove(lock);
      last[0] = rest.isEmpty();
      return rest.isEmpty() ? null : rest;
    });
    if (!alive || !last[0]) {
      return;
    }
    try {
      releaseAtServer(lock.resource());
    } catch (SynodException e) {
      if (e.code() == ErrorCode.FAILED_PRECONDITION) {
        // Still held (locks below it are held: release goes leaf to root). Keep the handle.
        held.merge(lock.resource(), List.of(lock), (a, b) -> {
          List<RemoteLock> both = new ArrayList<>(a);
          both.addAll(b);
          return both;
        });
        lock.reopen();
      }
      if (e.code() == ErrorCode.NOT_FOUND) {
        return; // the session is gone, and the lock with it
      }
      throw e;
    }
  }

  private void releaseAtServer(String resource) {
    ReleaseRequest request = ReleaseRequest.newBuilder().setSessionId(id).setResource(resource)
        .build();
    service.call("release '" + resource + "'",
        endpoint -> service.stub(endpoint, endpoint.callTimeout()).release(request));
  }

  /** A notice from the server: handles on the resource up to its token are lost. */
  private void lose(LockLost lost) {
    List<RemoteLock> handles = held.get(lost.resource());
    if (handles != null && handles.stream().allMatch(h -> h.fencingToken() <= lost.fencingToken())
        && held.remove(lost.resource(), handles)) {
      handles.forEach(h -> h.lose(lost.reason()));
    }
  }

  private void loseAll(LockLost.Reason reason) {
    alive = false;
    stopKeepaliveTask();
    for (List<RemoteLock> handles : List.copyOf(held.values())) {
      handles.forEach(h -> h.lose(reason));
    }
    held.clear();
    service.sessionEnded(id);
  }

  @Override
  public void close() {
    if (!alive) {
      stopKeepaliveTask();
      service.sessionEnded(id);
      return;
    }
    try {
      CloseSessionRequest request = CloseSessionRequest.newBuilder().setSessionId(id).build();
      service.call("close lock session " + id,
          endpoint -> service.stub(endpoint, endpoint.callTimeout()).closeSession(request));
    } finally {
      loseAll(LockLost.Reason.SESSION_CLOSED);
    }
  }

  private void stopKeepaliveTask() {
    if (keepaliveTask != null) {
      keepaliveTask.cancel(false);
    }
    dropStream(null);
  }

  /** Runs a lost-lock notice on the callback pool, or here once that pool is shut down. */
  private void deliver(Runnable notice) {
    try {
      service.callbacks.execute(notice);
    } catch (RejectedExecutionException e) {
      notice.run();
    }
  }

  /** A granted lock; closing it releases it once. */
  static final class RemoteLock extends LockHandle {
    private final RemoteLockSession session;

    RemoteLock(RemoteLockSession session, String resource, LockMode mode, long token) {
      super(resource, mode, token);
      this.session = session;
    }

    void lose(LockLost.Reason reason) {
      lose(reason, session::deliver);
    }

    @Override
    protected void release() {
      session.release(this);
    }
  }
}
