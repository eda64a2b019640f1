package io.synod.client;

import io.grpc.Channel;
import io.synod.api.saga.SagaStatus;
import io.synod.proto.v1.AbortSagaRequest;
import io.synod.proto.v1.GetSagaStatusRequest;
import io.synod.proto.v1.ListActiveSagasRequest;
import io.synod.proto.v1.SagasGrpc;
import io.synod.proto.v1.StartSagaRequest;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The saga calls of one synod server over one gRPC channel, each made once: no retries, no
 * failover. {@link SynodClient#sagas()} adds those; a server uses this directly to forward a call
 * to its leader. Failures arrive as the {@link SynodException} the server raised.
 */
public final class RemoteSagas {
  /**
   * Room beyond a Start's own wait: the leader logs the saga first (up to its proposal timeout,
   * 10 s by default), and the answer travels back.
   */
  private static final Duration START_MARGIN = Duration.ofSeconds(30);

  private final SagasGrpc.SagasBlockingStub stub;
  private final Duration callTimeout;

  /**
   * @param channel the server's channel; the caller owns it (a server's forwarding channel marks
   *     its calls as forwarded itself)
   * @param callTimeout the deadline of the short calls (status, abort, list)
   */
  public RemoteSagas(Channel channel, Duration callTimeout) {
    this.stub = SagasGrpc.newBlockingStub(channel);
    this.callTimeout = callTimeout;
  }

  /** Start, with a deadline of the request's wait (if it waits) plus a margin. */
  public SagaStatus start(StartSagaRequest request) {
    Duration wait = request.getWait() ? SagaProtoMapping.waitFor(request.getWaitSeconds())
        : Duration.ZERO;
    return ProtoMapping.call(() -> SagaProtoMapping.fromProto(stub.withDeadlineAfter(
        wait.plus(START_MARGIN).toMillis(), TimeUnit.MILLISECONDS).start(request)));
  }

  public Optional<SagaStatus> status(String sagaId) {
    return ProtoMapping.find(() -> SagaProtoMapping.fromProto(shortCall().getStatus(
        GetSagaStatusRequest.newBuilder().setSagaId(sagaId).build())));
  }

  public List<String> listActive() {
    return ProtoMapping.call(() -> shortCall()
        .listActive(ListActiveSagasRequest.getDefaultInstance()).getSagaIdsList());
  }

  public boolean abort(String sagaId, String reason) {
    return ProtoMapping.call(() -> shortCall().abort(AbortSagaRequest.newBuilder().setSagaId(sagaId)
        .setReason(reason == null ? "" : reason).build()).getAborted());
  }

  private SagasGrpc.SagasBlockingStub shortCall() {
    return stub.withDeadlineAfter(callTimeout.toMillis(), TimeUnit.MILLISECONDS);
  }
}
