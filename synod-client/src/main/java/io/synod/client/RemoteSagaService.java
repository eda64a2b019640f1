package io.synod.client;

import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.saga.SagaDefinition;
import io.synod.api.saga.SagaService;
import io.synod.api.saga.SagaState;
import io.synod.api.saga.SagaStatus;
import io.synod.proto.v1.StartSagaRequest;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * The sagas of a synod server or cluster over gRPC ({@link SynodClient#sagas()}): the same {@link
 * SagaService} as an embedded node's, so code moves between the two unchanged, except that steps
 * must run in configured stores (a {@link io.synod.api.saga.StepOperation.Local} step is refused:
 * only an embedded engine has its handler).
 *
 * <p><b>Waiting.</b> A server answers a waiting Start after at most {@code wait_seconds} (60 s by
 * default) with the saga's status then, finished or not. {@link #start} asks again with the same
 * saga id until the saga has completed, aborted or failed; a repeated id starts nothing again,
 * so asking again only waits longer. {@link #submit} returns once the saga is logged.
 *
 * <p><b>Retries.</b> As {@link SynodClient}'s: UNAVAILABLE (and, for a start, DEADLINE_EXCEEDED)
 * is retried on the next server with the same saga id; other failures are thrown at once, bad
 * input as INVALID_ARGUMENT naming the field as the wire does ({@code
 * definition.steps[1].forward_operation.store}).
 */
public final class RemoteSagaService implements SagaService {
  private final SynodClient client;
  private final Executor executor;

  RemoteSagaService(SynodClient client, Executor executor) {
    this.client = client;
    this.executor = executor;
  }

  /**
   * Starts the saga on this client's executor; the future completes when it has completed,
   * aborted or failed. A null or blank {@code sagaId} is given a random one (the status carries
   * it).
   */
  @Override
  public CompletableFuture<SagaStatus> start(String sagaId, SagaDefinition definition,
      Map<String, Object> input) {
    StartSagaRequest request;
    try {
      request = SagaProtoMapping.toProto(identified(sagaId), definition, input, true, null);
    } catch (SynodException e) {
      return CompletableFuture.failedFuture(e);
    }
    try {
      return CompletableFuture.supplyAsync(() -> untilFinished(request), executor);
    } catch (RejectedExecutionException e) {
      return CompletableFuture.failedFuture(new SynodException(ErrorCode.UNAVAILABLE,
          "the executor of this SynodClient refused the call: " + e.getMessage(), e));
    }
  }

  /** Starts the saga and waits on the calling thread until it has completed, aborted or failed. */
  public SagaStatus startAndWait(String sagaId, SagaDefinition definition,
      Map<String, Object> input) {
    return untilFinished(SagaProtoMapping.toProto(identified(sagaId), definition, input, true,
        null));
  }

  /** Logs the saga and returns its status at once, without waiting for it to run. */
  public SagaStatus submit(String sagaId, SagaDefinition definition, Map<String, Object> input) {
    StartSagaRequest request = SagaProtoMapping.toProto(identified(sagaId), definition, input,
        false, null);
    return startOnce(request);
  }

  /**
   * Starts the saga and waits for it at most {@code waitFor} (up to 1 h): its status then,
   * finished or not.
   */
  public SagaStatus start(String sagaId, SagaDefinition definition, Map<String, Object> input,
      Duration waitFor) {
    SagaProtoMapping.waitFor(waitFor.toMillis() / 1000.0); // refuses a wait out of range
    return startOnce(SagaProtoMapping.toProto(identified(sagaId), definition, input, true,
        waitFor));
  }

  @Override
  public Optional<SagaStatus> status(String sagaId) {
    return client.call("status of saga " + sagaId, SynodClient::isUnavailable,
        endpoint -> endpoint.sagas().status(sagaId));
  }

  @Override
  public List<String> listActive() {
    return client.call("list active sagas", SynodClient::isUnavailable,
        endpoint -> endpoint.sagas().listActive());
  }

  @Override
  public boolean abort(String sagaId, String reason) {
    return client.call("abort saga " + sagaId, SynodClient::isUnavailable,
        endpoint -> endpoint.sagas().abort(sagaId, reason));
  }

  private SagaStatus untilFinished(StartSagaRequest request) {
    while (true) {
      SagaStatus status = startOnce(request);
      if (finished(status.state())) {
        return status;
      }
    }
  }

  private SagaStatus startOnce(StartSagaRequest request) {
    return client.call("start saga " + request.getSagaId(), SynodClient::retriesCoordinate,
        endpoint -> endpoint.sagas().start(request));
  }

  /** Completed or aborted, or failed: nothing more happens until recovery retries it. */
  static boolean finished(SagaState state) {
    return state.isTerminal() || state == SagaState.FAILED;
  }

  private static String identified(String sagaId) {
    return sagaId == null || sagaId.isBlank() ? UUID.randomUUID().toString() : sagaId;
  }
}
