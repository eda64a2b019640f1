package io.synod.engine.saga.store;

import io.synod.api.saga.SagaStep;
import io.synod.api.saga.StepOperation;
import java.time.Duration;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * One try of a saga step's action or compensation, as handed to a {@link SagaStore}.
 *
 * @param sagaId the saga; 1 to {@value #SAGA_ID_CHARS_MAX} characters (as in the saga log)
 * @param step the step's name, as {@link io.synod.api.saga.SagaDefinition} allows it: 1 to 63
 *     lower-case letters, digits, '_' or '-' (so that it cannot contain a ':' of a Redis key)
 * @param kind action or compensation
 * @param idempotencyKey recorded with the barrier for inspection ({@link SagaStep#actionKey},
 *     {@link SagaStep#compensationKey}); 1 to {@value #IDEMPOTENCY_KEY_CHARS_MAX} characters
 * @param operation what to run, already templated ({@link Templates}): no placeholder left
 * @param timeout the longest one statement (or script) of this try may take; positive
 */
public record StepCall(
    String sagaId,
    String step,
    Kind kind,
    String idempotencyKey,
    StepOperation operation,
    Duration timeout) {

  public static final int SAGA_ID_CHARS_MAX = 256;
  public static final int IDEMPOTENCY_KEY_CHARS_MAX = 512;
  private static final Pattern STEP = Pattern.compile("[a-z0-9][a-z0-9_-]{0,62}");

  /** Which way the step goes. */
  public enum Kind {
    ACTION,
    COMPENSATION
  }

  public StepCall {
    if (sagaId == null || sagaId.isEmpty() || sagaId.length() > SAGA_ID_CHARS_MAX) {
      throw new IllegalArgumentException(
          "saga id must be 1 to " + SAGA_ID_CHARS_MAX + " characters; got " + describe(sagaId));
    }
    if (step == null || !STEP.matcher(step).matches()) {
      throw new IllegalArgumentException(
          "step must be 1 to 63 lower-case letters, digits, '_' or '-'; got " + describe(step));
    }
    Objects.requireNonNull(kind, "kind");
    if (idempotencyKey == null
        || idempotencyKey.isEmpty()
        || idempotencyKey.length() > IDEMPOTENCY_KEY_CHARS_MAX) {
      throw new IllegalArgumentException("idempotency key must be 1 to "
          + IDEMPOTENCY_KEY_CHARS_MAX + " characters; got " + describe(idempotencyKey));
    }
    Objects.requireNonNull(operation, "operation");
    if (timeout == null || timeout.isZero() || timeout.isNegative()) {
      throw new IllegalArgumentException("timeout must be positive; got " + timeout);
    }
  }

  /** The action of {@code step}, with its key {@code <saga>_step_<step>} and its timeout. */
  public static StepCall action(String sagaId, SagaStep step, StepOperation resolved) {
    return new StepCall(
        sagaId, step.name(), Kind.ACTION, step.actionKey(sagaId), resolved, step.timeout());
  }

  /** The compensation of {@code step}, with its key {@code <saga>_comp_<step>}. */
  public static StepCall compensation(String sagaId, SagaStep step, StepOperation resolved) {
    return new StepCall(sagaId, step.name(), Kind.COMPENSATION, step.compensationKey(sagaId),
        resolved, step.timeout());
  }

  /**
   * The key of this step's action, {@code <saga>_step_<step>} ({@link SagaStep#actionKey}): what
   * a compensation call looks for when its store keeps the action's barrier under that key (the
   * key-value store, which fences it).
   */
  public String actionKey() {
    return SagaStep.actionKey(sagaId, step);
  }

  /** "action" or "compensation", for messages. */
  String kindName() {
    return kind == Kind.ACTION ? "action" : "compensation";
  }

  /** E.g. {@code action of step 'reserve'}, for failure reasons. */
  String what() {
    return kindName() + " of step '" + step + "'";
  }

  private static String describe(String s) {
    return s == null ? "none" : "'" + (s.length() > 80 ? s.substring(0, 77) + "..." : s) + "'";
  }
}
