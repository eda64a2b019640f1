package io.synod.server.grpc;

import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.synod.api.CoordinationEvent;
import io.synod.api.ErrorCode;
import io.synod.api.EventBus;
import io.synod.api.SynodException;
import io.synod.client.ProtoMapping;
import io.synod.proto.v1.AbortRequest;
import io.synod.proto.v1.AbortResponse;
import io.synod.proto.v1.CoordinateRequest;
import io.synod.proto.v1.CoordinationGrpc;
import io.synod.proto.v1.CoordinationResult;
import io.synod.proto.v1.GetStatusRequest;
import io.synod.proto.v1.ListActiveRequest;
import io.synod.proto.v1.ListActiveResponse;
import io.synod.proto.v1.WatchEventsRequest;
import io.synod.server.LeaderRouter;
import java.util.Set;

/** The Coordination gRPC service: each call goes to {@link Coordinations}, which sends it to the leader. */
public final class CoordinationGrpcService extends CoordinationGrpc.CoordinationImplBase {
  private final LeaderRouter coordinations;
  private final EventBus events;

  public CoordinationGrpcService(LeaderRouter coordinations, EventBus events) {
    this.coordinations = coordinations;
    this.events = events;
  }

  /**
   * The {@code idempotency-key} header stands in for a missing coordination_id (the log
   * remembers finished ids, so a repeated key returns the first outcome); if both are sent they
   * must agree.
   */
  @Override
  public void coordinate(CoordinateRequest request, StreamObserver<CoordinationResult> response) {
    Calls.unary(response, () -> ProtoMapping.toProto(coordinations.coordinate(
        ProtoMapping.fromProto(withIdempotencyKey(request)), CallContext.forwarded())));
  }

  private static CoordinateRequest withIdempotencyKey(CoordinateRequest request) {
    String key = CallContext.idempotencyKey();
    if (key == null) {
      return request;
    }
    if (request.getCoordinationId().isEmpty()) {
      return request.toBuilder().setCoordinationId(key).build();
    }
    if (!request.getCoordinationId().equals(key)) {
      throw SynodException.invalid("coordination_id", "differs from the idempotency-key header ('"
          + key + "'); send one of them, or the same value in both");
    }
    return request;
  }

  @Override
  public void getStatus(GetStatusRequest request, StreamObserver<CoordinationResult> response) {
    Calls.unary(response, () -> ProtoMapping.toProto(coordinations
        .status(request.getCoordinationId(), CallContext.forwarded())
        .orElseThrow(() -> new SynodException(ErrorCode.NOT_FOUND, "coordination_id",
            "no coordination '" + request.getCoordinationId() + "' is known"))));
  }

  @Override
  public void abort(AbortRequest request, StreamObserver<AbortResponse> response) {
    Calls.unary(response, () -> AbortResponse.newBuilder()
        .setAborted(coordinations.abort(request.getCoordinationId(), request.getReason(),
            CallContext.forwarded()))
        .build());
  }

  @Override
  public void listActive(ListActiveRequest request, StreamObserver<ListActiveResponse> response) {
    Calls.unary(response, () -> ListActiveResponse.newBuilder()
        .addAllCoordinationIds(coordinations.listActive(CallContext.forwarded()))
        .build());
  }

  /**
   * Streams this node's events until the caller cancels. Events go out as they are published;
   * a caller too slow to keep up is not buffered without bound: gRPC's flow control holds the
   * stream, and events are dropped while it is not ready.
   */
  @Override
  public void watchEvents(WatchEventsRequest request,
      StreamObserver<io.synod.proto.v1.CoordinationEvent> response) {
    ServerCallStreamObserver<io.synod.proto.v1.CoordinationEvent> stream =
        (ServerCallStreamObserver<io.synod.proto.v1.CoordinationEvent>) response;
    Set<String> types = Set.copyOf(request.getTypesList());
    Object lock = new Object();
    EventBus.Subscription subscription = events.subscribe((CoordinationEvent event) -> {
      if (!types.isEmpty() && !types.contains(event.type())) {
        return;
      }
      synchronized (lock) {
        if (!stream.isCancelled() && stream.isReady()) {
          stream.onNext(ProtoMapping.toProto(event));
        }
      }
    });
    stream.setOnCancelHandler(subscription::close);
    stream.setOnCloseHandler(subscription::close);
  }
}
