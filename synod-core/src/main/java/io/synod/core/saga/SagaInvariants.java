package io.synod.core.saga;

import static io.synod.core.Invariants.check;

import io.synod.api.saga.SagaState;
import io.synod.api.saga.StepState;
import io.synod.core.saga.SagaRun.StepRun;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The invariants of {@link SagaStateMachine}, checked from scratch. Linear in the size of the
 * state, so it runs after every command in tests and after reading a snapshot, not on every
 * command in production.
 *
 * <ul>
 *   <li>The active ids are the sagas not COMPLETED or ABORTED, in start order; the finished ids
 *       are the others, each once.
 *   <li>A saga's state is the one its steps call for; it has a reason iff it compensates, failed
 *       or aborted.
 *   <li>Going forward (and COMPLETED), steps are PENDING, RUNNING, RETRYING or SUCCEEDED, and a
 *       step left PENDING only once every step it depends on SUCCEEDED.
 *   <li>Undoing (and ABORTED): nothing is PENDING or RETRYING; a step is SKIPPED iff it never
 *       started; a step is compensating, compensated or failed compensating only when every step
 *       depending on it, directly or transitively, is COMPENSATED or SKIPPED; a step without a
 *       compensation whose turn came is COMPENSATED.
 *   <li>Try counts stay within the retry policy; compensation tries exist only for steps with a
 *       compensation that reached it.
 * </ul>
 */
final class SagaInvariants {
  private SagaInvariants() {}

  static void checkAll(SagaStateMachine machine) {
    List<String> active = new ArrayList<>();
    Set<String> finished = new HashSet<>();
    for (SagaRun run : machine.runs()) {
      checkSaga(run);
      if (run.state.isTerminal()) {
        finished.add(run.sagaId);
      } else {
        active.add(run.sagaId);
      }
    }
    check(active.equals(List.copyOf(machine.activeIds())), "active ids %s, sagas say %s",
        machine.activeIds(), active);
    List<String> finishedIds = machine.finishedIds();
    check(finishedIds.size() == finished.size() && finished.equals(new HashSet<>(finishedIds)),
        "finished ids %s, sagas say %s", finishedIds, finished);
  }

  private static void checkSaga(SagaRun run) {
    check(run.state != SagaState.CREATED, "saga %s is CREATED", run.sagaId);
    check(run.state == run.derivedState(), "saga %s is %s, its steps call for %s", run.sagaId,
        run.state, run.derivedState());
    boolean undoing = !run.isForward() && run.state != SagaState.COMPLETED;
    check(undoing == (run.reason != null), "saga %s is %s with reason %s", run.sagaId, run.state,
        run.reason);
    boolean[] undoneBelow = undoneDependents(run);
    for (int i = 0; i < run.steps.length; i++) {
      checkCounts(run, run.steps[i]);
      if (undoing) {
        checkUndoingStep(run, i, undoneBelow[i]);
      } else {
        checkForwardStep(run, i);
      }
    }
  }

  private static void checkCounts(SagaRun run, StepRun step) {
    int max = step.step.retry().maxAttempts();
    String name = run.sagaId + "/" + step.step.name();
    check(step.attempts >= 0 && step.attempts <= max, "%s has %d tries of %d", name,
        step.attempts, max);
    check(step.state != StepState.RETRYING || step.attempts < max, "%s retrying after %d tries",
        name, step.attempts);
    boolean neverStarted = step.state == StepState.PENDING || step.state == StepState.SKIPPED;
    check(neverStarted == (step.attempts == 0), "%s is %s after %d tries", name, step.state,
        step.attempts);
    check(step.compensationBase >= 0 && step.roundAttempts() >= 0 && step.roundAttempts() <= max,
        "%s has compensation tries %d from %d, of %d", name, step.compensationAttempts,
        step.compensationBase, max);
    check(!step.compensationRunning || step.state == StepState.COMPENSATING,
        "%s runs a compensation while %s", name, step.state);
    boolean compensationTried = switch (step.state) {
      case COMPENSATING, COMPENSATION_FAILED -> true;
      case COMPENSATED -> step.step.compensation() != null;
      case PENDING, RUNNING, RETRYING, SUCCEEDED, FAILED, SKIPPED -> false;
    };
    check(compensationTried == (step.compensationAttempts > 0), "%s is %s after %d compensation"
        + " tries", name, step.state, step.compensationAttempts);
    check(step.state != StepState.COMPENSATION_FAILED || step.roundAttempts() == max,
        "%s failed compensating after %d of %d tries", name, step.roundAttempts(), max);
  }

  private static void checkForwardStep(SagaRun run, int index) {
    StepState state = run.steps[index].state;
    check(state == StepState.PENDING || state == StepState.RUNNING || state == StepState.RETRYING
        || state == StepState.SUCCEEDED, "%s/%s is %s while the saga is %s", run.sagaId,
        run.steps[index].step.name(), state, run.state);
    check(state == StepState.PENDING || run.dependenciesSucceeded(index),
        "%s/%s left PENDING before its dependencies succeeded", run.sagaId,
        run.steps[index].step.name());
  }

  private static void checkUndoingStep(SagaRun run, int index, boolean dependentsUndone) {
    StepRun step = run.steps[index];
    String name = run.sagaId + "/" + step.step.name();
    check(step.state != StepState.PENDING && step.state != StepState.RETRYING,
        "%s is %s while the saga is %s", name, step.state, run.state);
    boolean undoStarted = step.state == StepState.COMPENSATING
        || step.state == StepState.COMPENSATED || step.state == StepState.COMPENSATION_FAILED;
    check(!undoStarted || dependentsUndone, "%s is %s before a step depending on it was undone",
        name, step.state);
    if (step.state == StepState.SKIPPED) {
      for (int dependent : run.dependents[index]) {
        check(run.steps[dependent].state == StepState.SKIPPED, "%s skipped, but %s started",
            name, run.steps[dependent].step.name());
      }
    }
    check(step.step.compensation() != null || !run.readyToCompensate(index),
        "%s has no compensation and its turn came, but it is %s", name, step.state);
  }

  /**
   * For each step: every step depending on it, directly or transitively, is COMPENSATED or
   * SKIPPED. Dependents have higher indexes, so one pass from the end computes it.
   */
  private static boolean[] undoneDependents(SagaRun run) {
    boolean[] undone = new boolean[run.steps.length];
    for (int i = run.steps.length - 1; i >= 0; i--) {
      undone[i] = true;
      for (int dependent : run.dependents[i]) {
        StepState s = run.steps[dependent].state;
        undone[i] &= (s == StepState.COMPENSATED || s == StepState.SKIPPED) && undone[dependent];
      }
    }
    return undone;
  }
}
