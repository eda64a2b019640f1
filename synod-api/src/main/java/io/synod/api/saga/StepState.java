package io.synod.api.saga;

import java.util.Locale;

/** Where one step of a saga stands. */
public enum StepState {
  /** Waiting for the steps it depends on, or for the saga to start. */
  PENDING,
  /** Its action is being tried. */
  RUNNING,
  /** Its action failed and will be tried again. */
  RETRYING,
  /** Its action took effect. */
  SUCCEEDED,
  /** Its action failed for good; its effect may exist (a timeout), so it is compensated too. */
  FAILED,
  /** Its compensation is being tried. */
  COMPENSATING,
  /** Its compensation took effect (or had nothing to undo). */
  COMPENSATED,
  /** Its compensation failed for good: the saga is failed and recovery will try again. */
  COMPENSATION_FAILED,
  /** Never run: the saga was compensated before this step's turn. */
  SKIPPED;

  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }
}
