package io.synod.server.grpc;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.event.DurableEventBus;
import io.synod.api.event.Event;
import io.synod.client.EventProtoMapping;
import io.synod.client.ProtoMapping;
import io.synod.client.SagaProtoMapping;
import io.synod.proto.v1.AbortChoreographyRequest;
import io.synod.proto.v1.AbortChoreographyResponse;
import io.synod.proto.v1.AckRequest;
import io.synod.proto.v1.AckResponse;
import io.synod.proto.v1.EventsGrpc;
import io.synod.proto.v1.GetAcknowledgedRequest;
import io.synod.proto.v1.GetChoreographyStatusRequest;
import io.synod.proto.v1.ListActiveChoreographiesRequest;
import io.synod.proto.v1.ListActiveChoreographiesResponse;
import io.synod.proto.v1.PublishRequest;
import io.synod.proto.v1.PublishResponse;
import io.synod.proto.v1.SagaStatus;
import io.synod.proto.v1.StartChoreographyRequest;
import io.synod.proto.v1.SubscribeRequest;
import io.synod.server.EventRouter;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Events gRPC service. Publish and the choreography calls go to {@link EventRouter}, which
 * sends them to the leader; Subscribe and Acknowledge are served by this node's bus.
 *
 * <p><b>How a stream acknowledges.</b> The bus's handler acknowledges an event by returning
 * normally, and the bus hands it the next event only then. Subscribe's handler sends the event
 * on the stream and blocks until the client's Acknowledge of that offset arrives; if the stream
 * is cancelled (or breaks) first, the handler throws and the subscription is closed, so the bus
 * keeps the event unacknowledged and delivers it again to the group's next subscriber. At least
 * once, one event in flight per stream.
 */
public final class EventGrpcService extends EventsGrpc.EventsImplBase {
  private static final Logger LOG = LoggerFactory.getLogger(EventGrpcService.class);

  private final EventRouter events;
  /** The open streams on this node, by consumer group. */
  private final Map<String, Stream> streams = new ConcurrentHashMap<>();

  public EventGrpcService(EventRouter events) {
    this.events = events;
  }

  @Override
  public void publish(PublishRequest request, StreamObserver<PublishResponse> response) {
    Calls.unary(response, () -> PublishResponse.newBuilder()
        .setOffset(events.publish(EventProtoMapping.fromPublish(request),
            CallContext.forwarded()))
        .build());
  }

  @Override
  public void subscribe(SubscribeRequest request,
      StreamObserver<io.synod.proto.v1.Event> response) {
    ServerCallStreamObserver<io.synod.proto.v1.Event> observer =
        (ServerCallStreamObserver<io.synod.proto.v1.Event>) response;
    String group = request.getConsumerGroup();
    Stream stream = new Stream(group, observer);
    try {
      Event.requireType("consumer_group", group.isEmpty() ? null : group);
      if (streams.putIfAbsent(group, stream) != null) {
        throw new SynodException(ErrorCode.FAILED_PRECONDITION, "consumer_group", "group '"
            + group + "' has a stream open on this node already: close it first (a group is"
            + " delivered through one stream)");
      }
      observer.setOnCancelHandler(stream::cancelled);
      try {
        stream.subscription = events.bus().subscribe(group,
            new LinkedHashSet<>(request.getTypesList()), stream::handle);
      } catch (RuntimeException e) {
        streams.remove(group, stream);
        throw e;
      }
      if (stream.cancelled) { // cancelled while subscribing
        stream.closeSubscription();
      }
    } catch (SynodException e) {
      observer.onError(ProtoMapping.toStatus(e));
    } catch (RuntimeException e) {
      LOG.error("a Subscribe call failed unexpectedly", e);
      observer.onError(Status.INTERNAL.withDescription("internal error: " + e)
          .asRuntimeException());
    }
  }

  @Override
  public void acknowledge(AckRequest request, StreamObserver<AckResponse> response) {
    Calls.unary(response, () -> {
      Stream stream = streams.get(request.getConsumerGroup());
      if (stream == null) {
        throw new SynodException(ErrorCode.NOT_FOUND, "consumer_group", "group '"
            + request.getConsumerGroup() + "' has no stream open on this node: acknowledge on"
            + " the node the stream is open to");
      }
      stream.acknowledge(request.getOffset());
      return AckResponse.newBuilder().setOffset(request.getOffset()).build();
    });
  }

  @Override
  public void getAcknowledged(GetAcknowledgedRequest request,
      StreamObserver<AckResponse> response) {
    Calls.unary(response, () -> {
      Event.requireType("consumer_group", request.getConsumerGroup().isEmpty() ? null
          : request.getConsumerGroup());
      return AckResponse.newBuilder()
          .setOffset(events.bus().acknowledged(request.getConsumerGroup())).build();
    });
  }

  @Override
  public void startChoreography(StartChoreographyRequest request,
      StreamObserver<SagaStatus> response) {
    Calls.unary(response, () -> {
      if (!request.hasDefinition()) {
        throw SynodException.invalid("definition", "is required: the saga's name and steps");
      }
      var definition = EventProtoMapping.fromProto(request.getDefinition());
      var waitFor = SagaProtoMapping.waitFor(request.getWaitSeconds());
      return SagaProtoMapping.toProto(events.start(request.getCorrelationId(), definition,
          request.getPayloadMap(), request.getWait(), waitFor, CallContext.forwarded()));
    });
  }

  @Override
  public void getChoreographyStatus(GetChoreographyStatusRequest request,
      StreamObserver<SagaStatus> response) {
    Calls.unary(response, () -> SagaProtoMapping.toProto(events
        .status(request.getCorrelationId(), CallContext.forwarded())
        .orElseThrow(() -> new SynodException(ErrorCode.NOT_FOUND, "correlation_id",
            "no choreography '" + request.getCorrelationId() + "' is known"))));
  }

  @Override
  public void listActiveChoreographies(ListActiveChoreographiesRequest request,
      StreamObserver<ListActiveChoreographiesResponse> response) {
    Calls.unary(response, () -> ListActiveChoreographiesResponse.newBuilder()
        .addAllCorrelationIds(events.listActive(CallContext.forwarded())).build());
  }

  @Override
  public void abortChoreography(AbortChoreographyRequest request,
      StreamObserver<AbortChoreographyResponse> response) {
    Calls.unary(response, () -> AbortChoreographyResponse.newBuilder()
        .setAborted(events.abort(request.getCorrelationId(), request.getReason(),
            CallContext.forwarded()))
        .build());
  }

  /** One Subscribe stream: the bridge between the bus's handler and the client's acks. */
  private final class Stream {
    private final String group;
    private final ServerCallStreamObserver<io.synod.proto.v1.Event> observer;
    private volatile DurableEventBus.Subscription subscription;
    private volatile boolean cancelled;
    /** The event sent and not yet acknowledged: its offset and the ack awaited. */
    private volatile long pendingOffset;
    private volatile CompletableFuture<Void> pendingAck;
    private volatile long lastAcked;

    Stream(String group, ServerCallStreamObserver<io.synod.proto.v1.Event> observer) {
      this.group = group;
      this.observer = observer;
    }

    /** The bus's handler, on the subscription's thread: send, then wait for the ack. */
    void handle(Event event) throws Exception {
      if (cancelled) {
        throw new IllegalStateException("the stream of group " + group + " was cancelled");
      }
      CompletableFuture<Void> ack = new CompletableFuture<>();
      pendingOffset = event.offset();
      pendingAck = ack;
      if (cancelled) { // cancelled between the check and pendingAck being visible
        ack.completeExceptionally(new IllegalStateException("cancelled"));
      }
      observer.onNext(EventProtoMapping.toDelivered(event));
      try {
        ack.get();
      } catch (ExecutionException e) {
        throw new IllegalStateException("the stream of group " + group + " ended before offset "
            + event.offset() + " was acknowledged: it is delivered again", e.getCause());
      }
    }

    void acknowledge(long offset) {
      CompletableFuture<Void> ack = pendingAck;
      long pending = pendingOffset;
      if (ack != null && offset == pending) {
        lastAcked = offset;
        ack.complete(null);
        return;
      }
      if (offset <= lastAcked) {
        return; // acknowledged already
      }
      throw new SynodException(ErrorCode.FAILED_PRECONDITION, "offset", "group '" + group
          + "' awaits the acknowledgement of offset " + (ack == null || ack.isDone() ? "none"
          : pending) + " on this node; got " + offset);
    }

    /** The client went away: the event in flight is not acknowledged; end the subscription. */
    void cancelled() {
      cancelled = true;
      CompletableFuture<Void> ack = pendingAck;
      if (ack != null) {
        ack.completeExceptionally(new IllegalStateException("cancelled"));
      }
      closeSubscription();
    }

    /** Closes the subscription off the gRPC thread (close waits for the delivery thread). */
    void closeSubscription() {
      DurableEventBus.Subscription current = subscription;
      if (current == null) {
        return; // not subscribed yet: subscribe() closes it when it sees the cancellation
      }
      Thread.ofVirtual().name("synod-events-close-" + group).start(() -> {
        try {
          current.close();
        } finally {
          streams.remove(group, this);
        }
      });
    }
  }
}
