package io.synod.engine.saga.store;

/**
 * One row of the barrier table {@code synod_saga_barrier}, keyed by (saga_id, step, op).
 *
 * <pre>
 * op            reason         written by
 * action        action         the action, with its effect
 * action        blocked        a compensation that found no action: a late action is refused
 * compensation  compensation   the compensation, with its effect (or its Skipped)
 * </pre>
 *
 * @param idempotencyKey the key of the call that wrote the row, for inspection
 */
record BarrierRow(String sagaId, String step, String op, String reason, String idempotencyKey) {
  static final String ACTION = "action";
  static final String COMPENSATION = "compensation";
  static final String BLOCKED = "blocked";

  /** The action's own row. */
  static BarrierRow action(StepCall call) {
    return new BarrierRow(call.sagaId(), call.step(), ACTION, ACTION, call.idempotencyKey());
  }

  /** The row that blocks an action which has not run, written by its compensation. */
  static BarrierRow blocker(StepCall call) {
    return new BarrierRow(call.sagaId(), call.step(), ACTION, BLOCKED, call.idempotencyKey());
  }

  /** The compensation's own row. */
  static BarrierRow compensation(StepCall call) {
    return new BarrierRow(
        call.sagaId(), call.step(), COMPENSATION, COMPENSATION, call.idempotencyKey());
  }
}
