package io.synod.client;

import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.synod.api.CoordinationEvent;
import io.synod.api.EventBus;
import io.synod.proto.v1.CoordinationGrpc;
import io.synod.proto.v1.WatchEventsRequest;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.IntSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The events of a synod server, seen from a client: each subscription is a WatchEvents stream
 * to one endpoint, reopened on the next endpoint (after a backoff) whenever it fails or the server
 * ends it. Events published while a stream is being reopened are not seen: events are
 * notifications, and {@code status} is the record.
 */
final class RemoteEventBus implements EventBus, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RemoteEventBus.class);

  private final List<Endpoint> endpoints;
  private final IntSupplier firstEndpoint;
  private final Backoff backoff;
  private final Set<Watch> watches = ConcurrentHashMap.newKeySet();
  private volatile boolean closed;

  /**
   * @param firstEndpoint the index of the endpoint a new subscription starts on
   */
  RemoteEventBus(List<Endpoint> endpoints, IntSupplier firstEndpoint, Backoff backoff) {
    this.endpoints = endpoints;
    this.firstEndpoint = firstEndpoint;
    this.backoff = backoff;
  }

  /** Always refused: events are published by the servers, never by a client. */
  @Override
  public void publish(CoordinationEvent event) {
    throw new UnsupportedOperationException("a SynodClient cannot publish events: they are "
        + "published by the synod servers as coordinations run; subscribe() to receive them");
  }

  /**
   * Opens a stream of every event type to one server and hands each event to {@code subscriber}
   * on a gRPC thread, one at a time, in the order the server sent them. Returns at once; events
   * published before the server has registered the stream are not seen.
   */
  @Override
  public Subscription subscribe(Consumer<? super CoordinationEvent> subscriber) {
    Objects.requireNonNull(subscriber, "subscriber");
    if (closed) {
      throw new IllegalStateException("this SynodClient is closed");
    }
    Watch watch = new Watch(subscriber, firstEndpoint.getAsInt());
    watches.add(watch);
    watch.open();
    return watch;
  }

  /** Cancels every subscription's stream. */
  @Override
  public void close() {
    closed = true;
    watches.forEach(Watch::close);
  }

  /** One subscription: a stream that is reopened until the subscription is closed. */
  private final class Watch implements Subscription {
    private final Consumer<? super CoordinationEvent> subscriber;
    private int endpointIndex;
    private int failures;
    private ClientCallStreamObserver<WatchEventsRequest> stream;
    private boolean cancelled;

    Watch(Consumer<? super CoordinationEvent> subscriber, int endpointIndex) {
      this.subscriber = subscriber;
      this.endpointIndex = endpointIndex;
    }

    synchronized void open() {
      if (cancelled || closed) {
        return;
      }
      Endpoint endpoint = endpoints.get(endpointIndex);
      CoordinationGrpc.newStub(endpoint.channel())
          .watchEvents(WatchEventsRequest.getDefaultInstance(), new Attempt(endpoint));
    }

    synchronized void started(ClientCallStreamObserver<WatchEventsRequest> attempt) {
      if (cancelled) {
        attempt.cancel("the subscription was closed", null);
      } else {
        stream = attempt;
      }
    }

    void deliver(io.synod.proto.v1.CoordinationEvent proto) {
      synchronized (this) {
        failures = 0;
      }
      Optional<CoordinationEvent> event;
      try {
        event = ProtoMapping.fromProto(proto);
      } catch (RuntimeException e) {
        LOG.warn("skipped an event this client cannot read: {}", proto, e);
        return;
      }
      event.ifPresent(this::deliver);
    }

    private void deliver(CoordinationEvent event) {
      try {
        subscriber.accept(event);
      } catch (RuntimeException e) {
        LOG.warn("an event subscriber failed on {} of {}", event.type(), event.coordinationId(),
            e);
      }
    }

    /** The stream ended: reopen it on the next endpoint after a pause, unless closed. */
    synchronized void ended(Endpoint endpoint, Throwable cause) {
      if (cancelled || closed) {
        return;
      }
      failures++;
      endpointIndex = (endpointIndex + 1) % endpoints.size();
      long pause = backoff.millis(failures);
      LOG.debug("event stream from {} ended ({}); reopening on {} in {} ms", endpoint.address(),
          cause == null ? "completed by the server" : cause.toString(),
          endpoints.get(endpointIndex).address(), pause);
      endpoint.reconnectSoon();
      CompletableFuture.runAsync(this::open,
          CompletableFuture.delayedExecutor(pause, TimeUnit.MILLISECONDS));
    }

    @Override
    public void close() {
      ClientCallStreamObserver<WatchEventsRequest> current;
      synchronized (this) {
        cancelled = true;
        current = stream;
        stream = null;
      }
      watches.remove(this);
      if (current != null) {
        current.cancel("the subscription was closed", null);
      }
    }

    /** The observer of one stream. */
    private final class Attempt implements
        ClientResponseObserver<WatchEventsRequest, io.synod.proto.v1.CoordinationEvent> {
      private final Endpoint endpoint;

      Attempt(Endpoint endpoint) {
        this.endpoint = endpoint;
      }

      @Override
      public void beforeStart(ClientCallStreamObserver<WatchEventsRequest> requestStream) {
        started(requestStream);
      }

      @Override
      public void onNext(io.synod.proto.v1.CoordinationEvent event) {
        deliver(event);
      }

      @Override
      public void onError(Throwable t) {
        ended(endpoint, t);
      }

      @Override
      public void onCompleted() {
        ended(endpoint, null);
      }
    }
  }
}
