package io.synod.server.grpc;

import io.grpc.stub.StreamObserver;
import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.client.SagaProtoMapping;
import io.synod.proto.v1.AbortSagaRequest;
import io.synod.proto.v1.AbortSagaResponse;
import io.synod.proto.v1.GetSagaStatusRequest;
import io.synod.proto.v1.ListActiveSagasRequest;
import io.synod.proto.v1.ListActiveSagasResponse;
import io.synod.proto.v1.SagaStatus;
import io.synod.proto.v1.SagasGrpc;
import io.synod.proto.v1.StartSagaRequest;
import io.synod.server.SagaRouter;

/** The Sagas gRPC service: each call goes to {@link SagaRouter}, which sends it to the leader. */
public final class SagaGrpcService extends SagasGrpc.SagasImplBase {
  private final SagaRouter sagas;

  public SagaGrpcService(SagaRouter sagas) {
    this.sagas = sagas;
  }

  /**
   * The {@code idempotency-key} header stands in for a missing saga_id; if both are sent they
   * must agree. A wait is bounded by wait_seconds (see sagas.proto).
   */
  @Override
  public void start(StartSagaRequest request, StreamObserver<SagaStatus> response) {
    Calls.unary(response, () -> {
      String sagaId = sagaId(request.getSagaId(), CallContext.idempotencyKey());
      if (!request.hasDefinition()) {
        throw SynodException.invalid("definition", "is required: the saga's name and steps");
      }
      var definition = SagaProtoMapping.fromProto(request.getDefinition());
      var input = SagaProtoMapping.input(request.getInputMap());
      var waitFor = SagaProtoMapping.waitFor(request.getWaitSeconds());
      return SagaProtoMapping.toProto(sagas.start(sagaId, definition, input, request.getWait(),
          waitFor, CallContext.forwarded()));
    });
  }

  /** The saga's id: the field, or the idempotency key standing in for it; equal if both. */
  static String sagaId(String field, String idempotencyKey) {
    String id = field == null || field.isEmpty() ? null : field;
    if (id != null && idempotencyKey != null && !id.equals(idempotencyKey)) {
      throw SynodException.invalid("saga_id", "differs from the idempotency-key header ('"
          + idempotencyKey + "'); send one of them, or the same value in both");
    }
    String chosen = id != null ? id : idempotencyKey;
    if (chosen == null) {
      throw SynodException.invalid("saga_id", "is required (or an idempotency-key header): a"
          + " retry with the same id starts nothing again");
    }
    return chosen;
  }

  @Override
  public void getStatus(GetSagaStatusRequest request, StreamObserver<SagaStatus> response) {
    Calls.unary(response, () -> SagaProtoMapping.toProto(sagas
        .status(request.getSagaId(), CallContext.forwarded())
        .orElseThrow(() -> new SynodException(ErrorCode.NOT_FOUND, "saga_id",
            "no saga '" + request.getSagaId() + "' is known"))));
  }

  @Override
  public void listActive(ListActiveSagasRequest request,
      StreamObserver<ListActiveSagasResponse> response) {
    Calls.unary(response, () -> ListActiveSagasResponse.newBuilder()
        .addAllSagaIds(sagas.listActive(CallContext.forwarded()))
        .build());
  }

  @Override
  public void abort(AbortSagaRequest request, StreamObserver<AbortSagaResponse> response) {
    Calls.unary(response, () -> AbortSagaResponse.newBuilder()
        .setAborted(sagas.abort(request.getSagaId(), request.getReason(),
            CallContext.forwarded()))
        .build());
  }
}
