package io.synod.api.saga;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Orchestrated sagas (spec 003): each step's outcome is logged before the next starts; a step
 * that fails after its retries makes the saga compensate, in reverse, every step whose effect may
 * exist.
 */
public interface SagaService {
  /**
   * Logs the saga and starts it; the future completes when it is completed, aborted or failed.
   * A {@code sagaId} used before returns that saga's outcome and starts nothing.
   *
   * @param input the values {@code {{saga.NAME}}} placeholders take: strings, numbers, booleans
   */
  CompletableFuture<SagaStatus> start(String sagaId, SagaDefinition definition,
      Map<String, Object> input);

  Optional<SagaStatus> status(String sagaId);

  /** Sagas not yet completed or aborted (failed ones included: recovery keeps at them). */
  List<String> listActive();

  /** Asks a running saga to compensate; false if it had already completed, aborted or is unknown. */
  boolean abort(String sagaId, String reason);
}
