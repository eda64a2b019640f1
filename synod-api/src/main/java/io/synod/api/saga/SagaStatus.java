package io.synod.api.saga;

import java.util.List;

/**
 * A saga's progress, as the log has it.
 *
 * @param error why it is compensating, aborted or failed; null otherwise
 * @param createdAtMs when it was logged (leader time)
 * @param updatedAtMs when its state last changed
 */
public record SagaStatus(String sagaId, String definition, SagaState state, List<StepStatus> steps,
    String error, long createdAtMs, long updatedAtMs) {
  public SagaStatus {
    steps = List.copyOf(steps);
  }
}
