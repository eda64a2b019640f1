package io.synod.core.event;

import io.synod.api.event.Event;
import io.synod.api.saga.SagaState;

/**
 * What applying an {@link EventCommand} did, for the proposer and for the engine's listener, in
 * the order it happened. One Publish may yield several: the event appended, then what it meant
 * for the saga it answers (the next step's request appended, or compensations).
 */
public sealed interface EventEffect {

  /** An event was appended to the bus (by a publisher, or by synod for a saga). */
  record Published(Event event) implements EventEffect {}

  /** The group's durable position is now {@code offset}. */
  record Acknowledged(String group, long offset) implements EventEffect {}

  /**
   * The saga waits for the step's answer until {@code deadlineMs} (leader time); after that the
   * leader logs {@link EventCommand.TimeOut}. Replaces any earlier deadline of the saga.
   */
  record Awaiting(String correlationId, String step, long deadlineMs) implements EventEffect {}

  /**
   * The saga reached COMPLETED or ABORTED.
   *
   * @param error why it aborted; null when completed
   */
  record Finished(String correlationId, SagaState state, String error) implements EventEffect {}

  /** A Start for a saga the log knows: nothing changed; {@code state} is that saga's. */
  record AlreadyExists(String correlationId, SagaState state) implements EventEffect {}

  /**
   * The command changed nothing.
   *
   * @param subject the correlation id or consumer group the command was about
   */
  record Refused(String subject, Reason reason, String message) implements EventEffect {
    public enum Reason {
      /** No such saga (never started, or finished and forgotten). */
      UNKNOWN,
      /** The command does not fit the state: a step answered already, a finished saga. */
      STALE,
      /** An acknowledgement beyond the last offset. */
      INVALID,
      /** A bound of {@link EventStateMachine.Limits} is reached. */
      LIMIT
    }
  }
}
