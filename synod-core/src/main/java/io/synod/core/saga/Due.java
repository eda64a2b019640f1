package io.synod.core.saga;

/**
 * Something the saga driver has to do for a saga, as the log has it now: computed by {@link
 * SagaStateMachine#due} from logged data only. {@code notBeforeMs} is leader time; an action whose
 * time has come is done by logging its start ({@link SagaCommand.StepStarted}, {@link
 * SagaCommand.CompensationStarted}) with {@code attempt}, and running the try only if that
 * command answered {@link SagaEffect.TryStarted}.
 */
public sealed interface Due {
  String sagaId();

  String step();

  int attempt();

  long notBeforeMs();

  /**
   * Run try {@code attempt} of the step's action. The first try is due once every step it depends
   * on succeeded; a retry after the failure time plus {@code retry.delayBefore(attempt)}.
   */
  record RunStep(String sagaId, String step, int attempt, long notBeforeMs) implements Due {}

  /**
   * Run try {@code attempt} of the step's compensation: every step that depends on it is
   * compensated or skipped, and its own action is not running. A retry is due after the failure
   * time plus {@code retry.delayBefore(n)}, n counting the tries since the last {@link
   * SagaCommand.RetryCompensations}.
   */
  record Compensate(String sagaId, String step, int attempt, long notBeforeMs) implements Due {}

  /**
   * Try {@code attempt} (of the action, or of the compensation if {@code compensation}) was logged
   * as started and its outcome is not logged yet. At {@code notBeforeMs}, its start plus the
   * step's timeout, a driver that has no outcome for it (it crashed, or another replica led when
   * it started) logs it as failed: {@link SagaCommand.StepFailed} (retryable) or {@link
   * SagaCommand.CompensationFailed}. Until then, nothing else is due for the step.
   */
  record Timeout(String sagaId, String step, int attempt, boolean compensation, long notBeforeMs)
      implements Due {}
}
