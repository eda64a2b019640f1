package io.synod.core.saga;

import io.synod.api.SynodException;
import io.synod.api.saga.SagaDefinition;
import io.synod.api.saga.SagaStep;
import io.synod.api.saga.StepOperation;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Entries of the saga log. Everything a replica needs to apply one is in it: the leader's clock
 * reading travels as {@code nowMs}. {@link Start} carries the client's definition and input and is
 * checked when it is built, in the proposer, so that every Start in the log can be encoded and
 * applied; the other commands come from the saga driver, and {@link SagaStateMachine#apply}
 * answers one that does not fit the state (stale, duplicate, unknown saga) with a {@link
 * SagaEffect.Refused} and changes nothing.
 *
 * <p>{@code attempt} numbers count from 1 per step; action and compensation count separately,
 * and compensation attempts keep counting across {@link RetryCompensations}.
 */
public sealed interface SagaCommand {
  /** Bound on ids, step names and input keys: they travel in every entry and effect. */
  int ID_CHARS_MAX = 256;
  /** Errors and reasons are for people; a bound keeps entries small. */
  int ERROR_CHARS_MAX = 2000;
  /**
   * Bound on a step's timeout and retry delays, so that every time the state machine derives
   * from them stays far from overflow.
   */
  Duration DURATION_MAX = Duration.ofDays(30);

  String sagaId();

  /** The leader time when the entry was proposed. */
  long nowMs();

  /**
   * Logs a new saga. A second Start with a known id changes nothing ({@link
   * SagaEffect.AlreadyExists}), whatever its definition.
   *
   * @param input values of the {@code {{saga.NAME}}} placeholders: null, Long, Integer, Double,
   *     BigDecimal, String, Boolean or byte[]; kept sorted by name
   */
  record Start(String sagaId, SagaDefinition definition, Map<String, Object> input, long nowMs)
      implements SagaCommand {
    public Start {
      if (sagaId == null || sagaId.isEmpty() || sagaId.length() > ID_CHARS_MAX) {
        throw SynodException.invalid("saga_id", "must be 1 to " + ID_CHARS_MAX
            + " characters; got " + (sagaId == null ? "none" : sagaId.length() + " characters"));
      }
      Objects.requireNonNull(definition, "definition");
      for (int i = 0; i < definition.steps().size(); i++) {
        SagaStep step = definition.steps().get(i);
        checkDuration("steps[" + i + "].timeout", step.timeout());
        checkDuration("steps[" + i + "].retry_policy.max_delay", step.retry().maxDelay());
        checkOperation("steps[" + i + "].action", step.action());
        if (step.compensation() != null) {
          checkOperation("steps[" + i + "].compensation", step.compensation());
        }
      }
      input = sortedInput(input);
    }

    private static SortedMap<String, Object> sortedInput(Map<String, Object> input) {
      TreeMap<String, Object> sorted = new TreeMap<>();
      if (input != null) {
        input.forEach((name, value) -> {
          if (name == null || name.isEmpty() || name.length() > ID_CHARS_MAX) {
            throw SynodException.invalid("input", "names must be 1 to " + ID_CHARS_MAX
                + " characters; got '" + name + "'");
          }
          checkValue("input." + name, value);
          sorted.put(name, value);
        });
      }
      return Collections.unmodifiableSortedMap(sorted);
    }

    private static void checkDuration(String field, Duration value) {
      if (value.compareTo(DURATION_MAX) > 0) {
        throw SynodException.invalid(field, "must be at most " + DURATION_MAX + "; got " + value);
      }
    }

    private static void checkOperation(String field, StepOperation operation) {
      if (operation instanceof StepOperation.Sql sql) {
        for (int p = 0; p < sql.params().size(); p++) {
          checkValue(field + ".params[" + p + "]", sql.params().get(p));
        }
      }
    }

    private static void checkValue(String field, Object value) {
      if (!isSupportedValue(value)) {
        throw SynodException.invalid(field, "must be null, a Long, Integer, Double, BigDecimal,"
            + " String, Boolean or byte[]; got a " + value.getClass().getName());
      }
    }
  }

  /** The driver is about to run try {@code attempt} of the step's action. */
  record StepStarted(String sagaId, String step, int attempt, long nowMs) implements SagaCommand {
    public StepStarted {
      requireIds(sagaId, step);
    }
  }

  /** Try {@code attempt} of the step's action took effect. */
  record StepSucceeded(String sagaId, String step, int attempt, long nowMs)
      implements SagaCommand {
    public StepSucceeded {
      requireIds(sagaId, step);
    }
  }

  /**
   * Try {@code attempt} of the step's action failed (or timed out: its effect is unknown).
   *
   * @param retryable whether another try may succeed (a timeout or an unavailable store is; a
   *     refused constraint is not)
   */
  record StepFailed(
      String sagaId, String step, int attempt, String error, boolean retryable, long nowMs)
      implements SagaCommand {
    public StepFailed {
      requireIds(sagaId, step);
      error = bounded(error);
    }
  }

  /** The driver is about to run try {@code attempt} of the step's compensation. */
  record CompensationStarted(String sagaId, String step, int attempt, long nowMs)
      implements SagaCommand {
    public CompensationStarted {
      requireIds(sagaId, step);
    }
  }

  /** A try of the step's compensation took effect (any try: compensations are idempotent). */
  record CompensationSucceeded(String sagaId, String step, long nowMs) implements SagaCommand {
    public CompensationSucceeded {
      requireIds(sagaId, step);
    }
  }

  /** Try {@code attempt} of the step's compensation failed (or timed out). */
  record CompensationFailed(String sagaId, String step, int attempt, String error, long nowMs)
      implements SagaCommand {
    public CompensationFailed {
      requireIds(sagaId, step);
      error = bounded(error);
    }
  }

  /** Recovery asks a FAILED saga to try its failed compensations again. */
  record RetryCompensations(String sagaId, long nowMs) implements SagaCommand {
    public RetryCompensations {
      Objects.requireNonNull(sagaId, "sagaId");
    }
  }

  /** A user (or the engine) asks a running saga to stop and compensate. */
  record Abort(String sagaId, String reason, long nowMs) implements SagaCommand {
    public Abort {
      Objects.requireNonNull(sagaId, "sagaId");
      reason = bounded(reason);
    }
  }

  private static void requireIds(String sagaId, String step) {
    Objects.requireNonNull(sagaId, "sagaId");
    Objects.requireNonNull(step, "step");
  }

  private static boolean isSupportedValue(Object value) {
    return value == null || value instanceof Long || value instanceof Integer
        || value instanceof Double || value instanceof BigDecimal || value instanceof String
        || value instanceof Boolean || value instanceof byte[];
  }

  /** Null becomes empty; a long text is cut at {@link #ERROR_CHARS_MAX}. */
  private static String bounded(String text) {
    if (text == null) {
      return "";
    }
    return text.length() <= ERROR_CHARS_MAX ? text : text.substring(0, ERROR_CHARS_MAX - 1) + "…";
  }
}
