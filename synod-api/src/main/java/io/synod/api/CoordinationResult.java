package io.synod.api;

import java.util.List;
import java.util.Optional;

/**
 * The outcome, or the current status, of a coordination (spec 001 {@code CoordinationResult}).
 *
 * @param coordinationId the caller's id
 * @param success true when the writes took effect (or, while committing, are certain to)
 * @param finalState the state when this result was made; terminal for a finished coordination
 * @param errorMessage why it did not succeed: the store, the operation and the store's reason
 * @param executionDurationMs time from arrival to this result
 * @param participatingStores the stores that took part
 * @param operationsCompleted operations whose effect is committed
 * @param operationsFailed operations whose effect was rolled back or never applied
 */
public record CoordinationResult(
    String coordinationId,
    boolean success,
    TransactionState finalState,
    String errorMessage,
    long executionDurationMs,
    List<String> participatingStores,
    int operationsCompleted,
    int operationsFailed) {

  public CoordinationResult {
    participatingStores = List.copyOf(participatingStores);
  }

  public Optional<String> error() {
    return Optional.ofNullable(errorMessage);
  }
}
