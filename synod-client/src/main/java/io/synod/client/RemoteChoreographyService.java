package io.synod.client;

import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.event.ChoreographyDefinition;
import io.synod.api.event.ChoreographyService;
import io.synod.api.saga.SagaStatus;
import io.synod.proto.v1.StartChoreographyRequest;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * Choreographed sagas of a synod server or cluster over gRPC ({@link
 * SynodClient#choreography()}): the same {@link ChoreographyService} as an embedded node's. The
 * services taking part subscribe through {@link SynodClient#eventBus()}.
 *
 * <p>{@link #start} asks with the same correlation id (a server answers a waiting start after at
 * most 60 s) until the saga completed or aborted; a repeated id starts nothing again. Calls are
 * retried as {@link SynodClient}'s: UNAVAILABLE (and, for a start, DEADLINE_EXCEEDED) on the
 * next server.
 */
public final class RemoteChoreographyService implements ChoreographyService {
  private final SynodClient client;
  private final Executor executor;

  RemoteChoreographyService(SynodClient client, Executor executor) {
    this.client = client;
    this.executor = executor;
  }

  @Override
  public CompletableFuture<SagaStatus> start(String correlationId,
      ChoreographyDefinition definition, Map<String, String> payload) {
    StartChoreographyRequest request;
    try {
      if (correlationId == null || correlationId.isEmpty()) {
        throw SynodException.invalid("correlation_id", "is required: a retry with the same id"
            + " starts nothing again");
      }
      request = EventProtoMapping.toProto(correlationId, definition, payload, true, null);
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

  /** Logs the saga and returns its status at once, without waiting for it to finish. */
  public SagaStatus submit(String correlationId, ChoreographyDefinition definition,
      Map<String, String> payload) {
    return startOnce(EventProtoMapping.toProto(correlationId, definition, payload, false, null));
  }

  @Override
  public Optional<SagaStatus> status(String correlationId) {
    return client.call("status of choreography " + correlationId, SynodClient::isUnavailable,
        endpoint -> endpoint.events().status(correlationId));
  }

  @Override
  public List<String> listActive() {
    return client.call("list active choreographies", SynodClient::isUnavailable,
        endpoint -> endpoint.events().listActive());
  }

  @Override
  public boolean abort(String correlationId, String reason) {
    return client.call("abort choreography " + correlationId, SynodClient::isUnavailable,
        endpoint -> endpoint.events().abort(correlationId, reason));
  }

  private SagaStatus untilFinished(StartChoreographyRequest request) {
    while (true) {
      SagaStatus status = startOnce(request);
      if (status.state().isTerminal()) {
        return status;
      }
    }
  }

  private SagaStatus startOnce(StartChoreographyRequest request) {
    return client.call("start choreography " + request.getCorrelationId(),
        SynodClient::retriesCoordinate, endpoint -> endpoint.events().start(request));
  }
}
