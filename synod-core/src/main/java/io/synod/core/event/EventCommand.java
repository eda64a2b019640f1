package io.synod.core.event;

import io.synod.api.SynodException;
import io.synod.api.event.ChoreographyDefinition;
import io.synod.api.event.Event;
import java.util.Map;
import java.util.Objects;

/**
 * Entries of the event domain of the log: the bus's appends and acknowledgements, and the
 * choreographed sagas' starts, timeouts and aborts. The leader's clock reading travels as {@code
 * nowMs}. Commands are checked when built, in the proposer, so every one in the log can be
 * encoded and applied; {@link EventStateMachine#apply} answers one that does not fit the state
 * with {@link EventEffect.Refused} and changes nothing.
 */
public sealed interface EventCommand {
  /** Bound on reasons: they are for people, and travel in entries and effects. */
  int REASON_CHARS_MAX = 2000;

  /** The leader time when the entry was proposed. */
  long nowMs();

  /** Appends an event to the bus (and lets the saga it answers, if any, go on). */
  record Publish(String type, String correlationId, Map<String, String> payload, long nowMs)
      implements EventCommand {
    public Publish {
      payload = Event.of(type, correlationId, payload).payload();
    }

    /** The event this command appends, before it has an offset. */
    public Event event() {
      return Event.of(type, correlationId, payload);
    }
  }

  /** The group handled every event up to and including {@code offset}. */
  record Acknowledge(String group, long offset, long nowMs) implements EventCommand {
    public Acknowledge {
      Event.requireType("consumer_group", group);
      if (offset < 0) {
        throw SynodException.invalid("offset", "must not be negative; got " + offset);
      }
    }
  }

  /** Logs a choreographed saga and publishes its first step's request. */
  record Start(String correlationId, ChoreographyDefinition definition,
      Map<String, String> payload, long nowMs) implements EventCommand {
    public Start {
      Objects.requireNonNull(definition, "definition");
      payload = Event.of(definition.steps().getFirst().on(), correlationId, payload).payload();
    }
  }

  /**
   * The leader saw the step's deadline pass with no answer. Applied only if the step is still
   * awaited and {@code nowMs} is past its deadline.
   */
  record TimeOut(String correlationId, String step, long nowMs) implements EventCommand {
    public TimeOut {
      requireCorrelationId(correlationId);
      if (step == null || step.isEmpty() || step.length() > Event.TYPE_CHARS_MAX) {
        throw SynodException.invalid("step", "must be 1 to " + Event.TYPE_CHARS_MAX
            + " characters; got '" + step + "'");
      }
    }
  }

  /** A user asks a running saga to stop and compensate. */
  record Abort(String correlationId, String reason, long nowMs) implements EventCommand {
    public Abort {
      requireCorrelationId(correlationId);
      reason = EventStateMachine.bounded(reason);
    }
  }

  private static void requireCorrelationId(String correlationId) {
    if (correlationId == null || correlationId.isEmpty()
        || correlationId.length() > Event.CORRELATION_ID_CHARS_MAX) {
      throw SynodException.invalid("correlation_id", "must be 1 to "
          + Event.CORRELATION_ID_CHARS_MAX + " characters; got '" + correlationId + "'");
    }
  }
}
