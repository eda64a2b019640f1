package io.synod.core.saga;

import io.synod.api.saga.SagaState;
import java.util.List;

/**
 * What applying a {@link SagaCommand} did, for the proposer and for the driver's listener, in the
 * order it happened. A command that changed a saga yields {@link Updated} (then {@link Finished}
 * if the saga reached COMPLETED, ABORTED or FAILED); a command that changed nothing yields {@link
 * Refused} or {@link AlreadyExists}; a logged start of a try also yields {@link TryStarted}.
 */
public sealed interface SagaEffect {
  String sagaId();

  /**
   * The saga changed. {@code due} is everything due for it now and replaces any list the driver
   * had for it: a driver that acts on the last Updated of each saga never needs to poll.
   */
  record Updated(String sagaId, SagaState state, List<Due> due) implements SagaEffect {
    public Updated {
      due = List.copyOf(due);
    }
  }

  /**
   * The try was logged as started (now, or by an identical command earlier while it is still the
   * step's current try): the driver may run it. Without this effect it must not.
   */
  record TryStarted(String sagaId, String step, int attempt, boolean compensation)
      implements SagaEffect {}

  /** A Start for a saga the log knows: nothing changed; {@code state} is that saga's. */
  record AlreadyExists(String sagaId, SagaState state) implements SagaEffect {}

  /**
   * The saga reached {@code state}: COMPLETED or ABORTED (final), or FAILED (a compensation failed
   * for good and nothing else can progress; {@link SagaCommand.RetryCompensations} resumes it).
   *
   * @param error why it aborted or failed; null when completed
   */
  record Finished(String sagaId, SagaState state, String error) implements SagaEffect {}

  /** The command changed nothing. */
  record Refused(String sagaId, Reason reason, String message) implements SagaEffect {
    public enum Reason {
      /** No such saga (never started, or finished and forgotten). */
      UNKNOWN_SAGA,
      /** The saga has no step of that name. */
      UNKNOWN_STEP,
      /**
       * The command does not fit the saga's state: a duplicate, an old attempt, a try the state
       * no longer allows (the saga began compensating), an abort of a finished saga.
       */
      STALE,
      /** {@link SagaStateMachine.Limits#activeMax} sagas are active already. */
      LIMIT
    }
  }
}
