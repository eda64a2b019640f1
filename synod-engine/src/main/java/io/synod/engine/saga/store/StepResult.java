package io.synod.engine.saga.store;

import java.util.Objects;

/** What one try of a saga step (or its compensation) came to; see {@link SagaStore}. */
public sealed interface StepResult {

  /** The effect took place now, together with its barrier. */
  record Applied() implements StepResult {}

  /** The barrier shows that this call's effect exists already: this was a retry. */
  record AlreadyApplied() implements StepResult {}

  /**
   * A compensation of an action that never ran: nothing to undo. The barrier now refuses that
   * action should it arrive late.
   */
  record Skipped() implements StepResult {}

  /** An action arriving after its compensation: it must not run, and did not. */
  record Refused() implements StepResult {}

  /**
   * Nothing was applied.
   *
   * @param retryable whether another try may succeed: true for timeouts, lock timeouts,
   *     deadlocks, lost connections and exhausted resources; false for constraint violations,
   *     syntax errors, permissions and wrong data types
   * @param reason which call failed on which store, and the store's own words
   */
  record Failed(boolean retryable, String reason) implements StepResult {
    public Failed {
      Objects.requireNonNull(reason, "reason");
    }
  }
}
