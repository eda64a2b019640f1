package io.synod.api.event;

import io.synod.api.saga.SagaStatus;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Choreographed sagas ({@code coordination_type: saga_choreography}): services react to events
 * on the {@link DurableEventBus}; synod follows each saga by its correlation id, publishes each
 * step's request, notices an answer that does not come within the step's timeout, and asks for
 * compensations by event.
 *
 * <p>States are {@link io.synod.api.saga.SagaState}'s: STEP_EXECUTING while a step's answer is
 * awaited, COMPLETED once the last step answered {@code done}, ABORTED once a step answered
 * {@code failed} or timed out (or an abort was asked) and every compensation was published.
 * ABORTED means the compensation requests are on the bus, durable and delivered at least once;
 * that each service carried its own out is that service's business.
 *
 * <p>Payloads: the first step's {@code on} carries the start's payload; each later {@code on}
 * carries the payload of the answer before it (services pass data along); every {@code
 * compensate} carries the start's payload. Each event carries the saga's correlation id.
 */
public interface ChoreographyService {
  /**
   * Logs the saga and publishes its first step's {@code on} event with {@code payload}. The
   * future completes when the saga is completed or aborted. A correlation id used before (and
   * still remembered) returns that saga's outcome and starts nothing.
   */
  CompletableFuture<SagaStatus> start(String correlationId, ChoreographyDefinition definition,
      Map<String, String> payload);

  /** The saga's progress; its {@code sagaId} is the correlation id. */
  Optional<SagaStatus> status(String correlationId);

  /** Correlation ids of sagas not yet completed or aborted, in start order. */
  List<String> listActive();

  /** Makes a running saga compensate; false if it is finished or unknown. */
  boolean abort(String correlationId, String reason);
}
