package io.synod.client;

import io.synod.api.CoordinationRequest;
import io.synod.api.CoordinationResult;
import io.synod.api.CoordinationService;
import io.synod.api.ErrorCode;
import io.synod.api.EventBus;
import io.synod.api.SynodException;
import io.synod.proto.v1.ClusterStatus;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordination API of a synod server or cluster over gRPC: the same {@link
 * CoordinationService} as an embedded node, so code moves between the two unchanged.
 *
 * <pre>{@code
 * try (SynodClient synod = SynodClient.connect(List.of("10.0.0.1:7790", "10.0.0.2:7790"))) {
 *   CoordinationResult r = synod.coordinateAndWait(
 *       CoordinationRequest.twoPhaseCommit("order-1842")
 *           .sql("orders", "INSERT INTO orders (id, total) VALUES (?, ?)", 1842, 99)
 *           .sql("billing", "UPDATE accounts SET balance = balance - ? WHERE id = ?", 99, 7)
 *           .build());
 * }
 * }</pre>
 *
 * <p><b>Retries.</b> A call that fails with {@code UNAVAILABLE} (the server is down or
 * unreachable, is not the leader, or the leader changed) is made again on the next endpoint of
 * the list, after an exponential backoff with jitter, until the retry budget (default 30 s) is
 * spent and every endpoint was tried; then the last error is thrown. {@code coordinate} is also
 * retried after {@code DEADLINE_EXCEEDED}, whose outcome is unknown. Both are safe because a
 * coordination is retried with the same {@code coordinationId}, and a server answers a repeated
 * id with the first coordination's outcome without running anything again; a request without an
 * id gets a random one before its first try. Other failures ({@code INVALID_ARGUMENT} naming the
 * field, {@code NOT_FOUND}, ...) are thrown as the server's {@link SynodException} at once.
 *
 * <p>The client is thread-safe; close it to release its channels (one per endpoint).
 */
public final class SynodClient implements CoordinationService {
  private static final Logger LOG = LoggerFactory.getLogger(SynodClient.class);

  private final List<Endpoint> endpoints;
  /** Where the next call starts: the endpoint that answered last. */
  private final AtomicInteger preferred = new AtomicInteger();
  private final Duration retryFor;
  private final Backoff backoff;
  private final Executor executor;
  private final ExecutorService ownedExecutor;
  private final RemoteEventBus events;
  private final RemoteLockService locks;
  private final RemoteSagaService sagas;
  private final RemoteDurableEventBus eventBus;
  private final RemoteChoreographyService choreography;
  private final RemoteKvService kv;
  private volatile boolean closed;

  private SynodClient(Builder builder) {
    this.retryFor = builder.retryFor;
    this.backoff = new Backoff(builder.initialBackoff, builder.maxBackoff);
    this.ownedExecutor = builder.executor == null
        ? Executors.newVirtualThreadPerTaskExecutor() : null;
    this.executor = builder.executor == null ? ownedExecutor : builder.executor;
    List<Endpoint> opened = new ArrayList<>();
    for (String address : builder.endpoints) {
      opened.add(Endpoint.open(address, builder.callTimeout));
    }
    this.endpoints = List.copyOf(opened);
    this.events = new RemoteEventBus(endpoints, preferred::get, backoff);
    this.locks = new RemoteLockService(endpoints, false, preferred, retryFor, backoff);
    this.sagas = new RemoteSagaService(this, executor);
    this.eventBus = new RemoteDurableEventBus(this, endpoints, preferred::get, backoff, executor);
    this.choreography = new RemoteChoreographyService(this, executor);
    this.kv = new RemoteKvService(this);
  }

  /** A client of the servers at {@code endpoints} ({@code host:port} of their gRPC API). */
  public static SynodClient connect(List<String> endpoints) {
    return builder(endpoints).build();
  }

  /** A builder for a client of the servers at {@code endpoints} ({@code host:port}). */
  public static Builder builder(List<String> endpoints) {
    return new Builder(endpoints);
  }

  /**
   * Runs the coordination on this client's executor. A request without a {@code
   * coordinationId} is given a random one first; the result carries it.
   */
  @Override
  public CompletableFuture<CoordinationResult> coordinate(CoordinationRequest request) {
    ensureOpen();
    CoordinationRequest identified = withCoordinationId(request);
    try {
      return CompletableFuture.supplyAsync(() -> coordinateAndWait(identified), executor);
    } catch (RejectedExecutionException e) {
      return CompletableFuture.failedFuture(new SynodException(ErrorCode.UNAVAILABLE,
          "the executor of this SynodClient refused the call: " + e.getMessage(), e));
    }
  }

  /** Runs the coordination on the calling thread, retrying as the class comment says. */
  @Override
  public CoordinationResult coordinateAndWait(CoordinationRequest request) {
    CoordinationRequest identified = withCoordinationId(request);
    return call("coordinate " + identified.coordinationId(), SynodClient::retriesCoordinate,
        endpoint -> endpoint.coordination().coordinate(identified));
  }

  @Override
  public Optional<CoordinationResult> status(String coordinationId) {
    return call("status of " + coordinationId, SynodClient::isUnavailable,
        endpoint -> endpoint.coordination().status(coordinationId));
  }

  @Override
  public boolean abort(String coordinationId, String reason) {
    return call("abort " + coordinationId, SynodClient::isUnavailable,
        endpoint -> endpoint.coordination().abort(coordinationId, reason));
  }

  @Override
  public List<String> listActive() {
    return call("list active", SynodClient::isUnavailable,
        endpoint -> endpoint.coordination().listActive());
  }

  /**
   * The servers' events. {@code subscribe} opens a stream to one server and reopens it on the
   * next one if it fails; {@code publish} is refused (servers publish, clients listen).
   */
  @Override
  public EventBus events() {
    return events;
  }

  /**
   * The servers' lock service over the same connections: sessions keep their leases alive with
   * a keepalive stream and report their locks lost as the embedded ones do.
   */
  public io.synod.api.lock.LockService locks() {
    return locks;
  }

  /**
   * The servers' orchestrated sagas over the same connections, retried as coordinations are:
   * a start is retried with the same saga id, which the server answers without starting
   * anything again.
   */
  public RemoteSagaService sagas() {
    return sagas;
  }

  /**
   * The servers' durable event bus: {@code publish} goes to the leader, retried on UNAVAILABLE;
   * {@code subscribe} opens a stream to one server, acknowledges each event after the handler
   * returned, and reopens on the next server when the stream fails (at least once).
   */
  public io.synod.api.event.DurableEventBus eventBus() {
    return eventBus;
  }

  /**
   * The servers' choreographed sagas: services take part through {@link #eventBus()}; calls are
   * retried as coordinations are, a start with the same correlation id.
   */
  public RemoteChoreographyService choreography() {
    return choreography;
  }

  /**
   * The servers' replicated key-value store (spec 004) over the same connections. Every server
   * serves it itself; a call moves on to the next server when one cannot be reached, but a
   * consistency the replicas could not reach is reported at once (see {@code RemoteKvService}).
   */
  public io.synod.api.kv.KvService kv() {
    return kv;
  }

  /** Members, leader, term and indexes of the group, as the answering server sees them. */
  public ClusterStatus clusterStatus() {
    return call("cluster status", SynodClient::isUnavailable, Endpoint::clusterStatus);
  }

  /** The endpoints this client uses, in the order given. */
  public List<String> endpoints() {
    return endpoints.stream().map(Endpoint::address).toList();
  }

  /** Cancels event streams and closes the channels; calls in flight fail. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    events.close();
    eventBus.close();
    locks.close();
    endpoints.forEach(Endpoint::close);
    try {
      for (Endpoint endpoint : endpoints) {
        endpoint.awaitClosed(Duration.ofSeconds(5));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (ownedExecutor != null) {
      ownedExecutor.shutdown();
    }
  }

  // ---- retries

  /**
   * Makes {@code attempt} on the preferred endpoint, and after each retryable failure on the next
   * one, until it succeeds, fails for good, or the budget is spent with every endpoint tried.
   */
  <T> T call(String what, Predicate<SynodException> retryable,
      Function<Endpoint, T> attempt) {
    ensureOpen();
    long started = System.nanoTime();
    for (int failures = 1; ; failures++) {
      int index = preferred.get();
      Endpoint endpoint = endpoints.get(index);
      try {
        return attempt.apply(endpoint);
      } catch (SynodException e) {
        if (closed) {
          throw new SynodException(ErrorCode.UNAVAILABLE, what + ": the client was closed", e);
        }
        if (!retryable.test(e)) {
          throw e;
        }
        moveOn(index, endpoint);
        long remainingMs = retryFor.toMillis() - elapsedMs(started);
        if (remainingMs <= 0 && failures >= endpoints.size()) {
          throw gaveUp(what, endpoint, e, failures);
        }
        long pause = Math.max(0, Math.min(backoff.millis(failures), remainingMs));
        LOG.debug("{} failed on {} ({}); retrying on {} in {} ms", what, endpoint.address(),
            e.getMessage(), endpoints.get(preferred.get()).address(), pause);
        pause(what, pause);
      }
    }
  }

  /** The next call goes to the next endpoint, unless another call moved on already. */
  private void moveOn(int failedIndex, Endpoint failed) {
    failed.reconnectSoon();
    preferred.compareAndSet(failedIndex, (failedIndex + 1) % endpoints.size());
  }

  private SynodException gaveUp(String what, Endpoint last, SynodException error, int tries) {
    return new SynodException(error.code(), what + ": no answer from " + endpoints()
        + " within " + format(retryFor) + " (" + tries + " tries); last error from "
        + last.address() + ": " + describe(error), error);
  }

  private static void pause(String what, long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SynodException(ErrorCode.UNAVAILABLE, what + ": interrupted while retrying", e);
    }
  }

  static boolean isUnavailable(SynodException e) {
    return e.code() == ErrorCode.UNAVAILABLE;
  }

  /** A coordination's outcome is unknown after a deadline too; asking again returns it. */
  static boolean retriesCoordinate(SynodException e) {
    return e.code() == ErrorCode.UNAVAILABLE || e.code() == ErrorCode.DEADLINE_EXCEEDED;
  }

  /**
   * The error's message, and the transport's reason (for example "Connection refused") when the
   * gRPC status carries one: its message alone may be as vague as "io exception".
   */
  private static String describe(SynodException e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    boolean transport = root != e && !(root instanceof io.grpc.StatusRuntimeException)
        && root.getMessage() != null && !e.getMessage().contains(root.getMessage());
    return e.getMessage() + (transport ? " (" + root.getMessage() + ")" : "");
  }

  private static String format(Duration duration) {
    return duration.toMillis() % 1000 == 0 ? duration.toSeconds() + " s"
        : duration.toMillis() + " ms";
  }

  private static long elapsedMs(long startedNanos) {
    return (System.nanoTime() - startedNanos) / 1_000_000;
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("this SynodClient is closed");
    }
  }

  /** The request as sent: with the caller's id, or a random one that all its retries share. */
  private static CoordinationRequest withCoordinationId(CoordinationRequest request) {
    Objects.requireNonNull(request, "request");
    if (request.coordinationId() != null && !request.coordinationId().isEmpty()) {
      return request;
    }
    return new CoordinationRequest(UUID.randomUUID().toString(), request.coordinationType(),
        request.participatingStores(), request.operations(), request.timeout(),
        request.consistencyLevel(), request.metadata());
  }

  /**
   * Settings of a {@link SynodClient}. Defaults: short calls (status, abort, list, cluster
   * status) time out after 10 s; a call is retried for up to 30 s with backoff from 50 ms to
   * 1 s; asynchronous coordinations run on virtual threads.
   */
  public static final class Builder {
    private final List<String> endpoints;
    private Duration callTimeout = Duration.ofSeconds(10);
    private Duration retryFor = Duration.ofSeconds(30);
    private Duration initialBackoff = Duration.ofMillis(50);
    private Duration maxBackoff = Duration.ofSeconds(1);
    private Executor executor;

    private Builder(List<String> endpoints) {
      Objects.requireNonNull(endpoints, "endpoints");
      if (endpoints.isEmpty()) {
        throw new IllegalArgumentException("a SynodClient needs at least one server address "
            + "(host:port)");
      }
      endpoints.forEach(Endpoint.HostPort::parse);
      this.endpoints = List.copyOf(endpoints);
    }

    /**
     * The deadline of each short call: status, abort, list active, cluster status. A
     * coordination's deadline is its own timeout plus time for the answer to travel back.
     */
    public Builder callTimeout(Duration timeout) {
      this.callTimeout = positive(timeout, "callTimeout");
      return this;
    }

    /**
     * How long a call is retried after retryable failures, counted from its first try; zero
     * tries each endpoint once. Every endpoint is tried at least once whatever the budget.
     */
    public Builder retryFor(Duration budget) {
      Objects.requireNonNull(budget, "retryFor");
      if (budget.isNegative()) {
        throw new IllegalArgumentException("retryFor must not be negative; got " + budget);
      }
      this.retryFor = budget;
      return this;
    }

    /** The pause after the first failure, doubled after each further one up to {@code max}. */
    public Builder backoff(Duration initial, Duration max) {
      this.initialBackoff = positive(initial, "initial backoff");
      this.maxBackoff = positive(max, "maximum backoff");
      return this;
    }

    /** Where {@link SynodClient#coordinate} runs its calls; the caller keeps ownership. */
    public Builder executor(Executor executor) {
      this.executor = Objects.requireNonNull(executor, "executor");
      return this;
    }

    public SynodClient build() {
      return new SynodClient(this);
    }

    private static Duration positive(Duration duration, String name) {
      Objects.requireNonNull(duration, name);
      if (duration.isNegative() || duration.isZero()) {
        throw new IllegalArgumentException(name + " must be positive; got " + duration);
      }
      return duration;
    }
  }
}
