package io.synod.client;

import io.grpc.Channel;
import io.synod.api.event.Event;
import io.synod.api.saga.SagaStatus;
import io.synod.proto.v1.AbortChoreographyRequest;
import io.synod.proto.v1.AckRequest;
import io.synod.proto.v1.EventsGrpc;
import io.synod.proto.v1.GetAcknowledgedRequest;
import io.synod.proto.v1.GetChoreographyStatusRequest;
import io.synod.proto.v1.ListActiveChoreographiesRequest;
import io.synod.proto.v1.StartChoreographyRequest;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The unary calls of the Events service of one synod server over one gRPC channel, each made
 * once: no retries, no failover. {@link SynodClient#eventBus()} and {@link
 * SynodClient#choreography()} add those; a server uses this directly to forward a call to its
 * leader. Failures arrive as the {@link SynodException} the server raised.
 */
public final class RemoteEvents {
  /** Room beyond a start's own wait: the leader logs the saga first, and the answer travels. */
  private static final Duration START_MARGIN = Duration.ofSeconds(30);

  private final EventsGrpc.EventsBlockingStub stub;
  private final Duration callTimeout;

  /**
   * @param channel the server's channel; the caller owns it
   * @param callTimeout the deadline of every call but a waiting start
   */
  public RemoteEvents(Channel channel, Duration callTimeout) {
    this.stub = EventsGrpc.newBlockingStub(channel);
    this.callTimeout = callTimeout;
  }

  /** Publishes the event; its offset. */
  public long publish(Event event) {
    return ProtoMapping.call(() -> shortCall().publish(EventProtoMapping.toPublish(event))
        .getOffset());
  }

  /** Acknowledges {@code offset} for the group's stream on this server. */
  public void acknowledge(String consumerGroup, long offset) {
    ProtoMapping.call(() -> shortCall().acknowledge(AckRequest.newBuilder()
        .setConsumerGroup(consumerGroup).setOffset(offset).build()));
  }

  public long acknowledged(String consumerGroup) {
    return ProtoMapping.call(() -> shortCall().getAcknowledged(GetAcknowledgedRequest.newBuilder()
        .setConsumerGroup(consumerGroup).build()).getOffset());
  }

  /** StartChoreography, with a deadline of the request's wait (if it waits) plus a margin. */
  public SagaStatus start(StartChoreographyRequest request) {
    Duration wait = request.getWait() ? SagaProtoMapping.waitFor(request.getWaitSeconds())
        : Duration.ZERO;
    return ProtoMapping.call(() -> SagaProtoMapping.fromProto(stub.withDeadlineAfter(
        wait.plus(START_MARGIN).toMillis(), TimeUnit.MILLISECONDS).startChoreography(request)));
  }

  public Optional<SagaStatus> status(String correlationId) {
    return ProtoMapping.find(() -> SagaProtoMapping.fromProto(shortCall().getChoreographyStatus(
        GetChoreographyStatusRequest.newBuilder().setCorrelationId(correlationId).build())));
  }

  public List<String> listActive() {
    return ProtoMapping.call(() -> shortCall().listActiveChoreographies(
        ListActiveChoreographiesRequest.getDefaultInstance()).getCorrelationIdsList());
  }

  public boolean abort(String correlationId, String reason) {
    return ProtoMapping.call(() -> shortCall().abortChoreography(
        AbortChoreographyRequest.newBuilder().setCorrelationId(correlationId)
            .setReason(reason == null ? "" : reason).build()).getAborted());
  }

  private EventsGrpc.EventsBlockingStub shortCall() {
    return stub.withDeadlineAfter(callTimeout.toMillis(), TimeUnit.MILLISECONDS);
  }
}
