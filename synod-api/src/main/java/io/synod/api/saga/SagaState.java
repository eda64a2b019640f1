package io.synod.api.saga;

import java.util.Locale;

/** A saga's state (spec 000 {@code saga_execution_states}). */
public enum SagaState {
  /** Logged, nothing run yet. */
  CREATED,
  /** Its first step is about to run. */
  STARTED,
  /** A step is running. */
  STEP_EXECUTING,
  /** A step completed and the next has not started. */
  STEP_COMPLETED,
  /** A step failed and will be tried again after its backoff. */
  STEP_FAILED,
  /** A step failed for good (or an abort was asked): compensations run in reverse. */
  COMPENSATING,
  /** Every step completed. */
  COMPLETED,
  /** Every step whose effect may exist was compensated. */
  ABORTED,
  /** A compensation kept failing: effects may remain; recovery keeps retrying it. */
  FAILED;

  public boolean isTerminal() {
    return this == COMPLETED || this == ABORTED;
  }

  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }
}
