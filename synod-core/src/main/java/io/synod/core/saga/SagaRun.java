package io.synod.core.saga;

import static io.synod.core.Invariants.check;

import io.synod.api.saga.SagaDefinition;
import io.synod.api.saga.SagaState;
import io.synod.api.saga.SagaStatus;
import io.synod.api.saga.SagaStep;
import io.synod.api.saga.StepState;
import io.synod.api.saga.StepStatus;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One saga's mutable state inside {@link SagaStateMachine}, and what follows from it: the state
 * its steps call for, what is due, its status. The machine makes every change. Steps are held by
 * their index in the definition; since a step may only depend on earlier ones, index order is a
 * topological order and reverse index order visits every step after all the steps that depend on
 * it.
 */
final class SagaRun {
  final String sagaId;
  final SagaDefinition definition;
  /** Sorted by name (as {@link SagaCommand.Start} made it). */
  final Map<String, Object> input;
  final long createdAtMs;
  final StepRun[] steps;
  /** For each step, the indexes of the steps it names in {@code dependsOn}. */
  final int[][] dependencies;
  /** For each step, the indexes of the steps that name it in {@code dependsOn}. */
  final int[][] dependents;
  private final Map<String, Integer> indexByName = new HashMap<>();
  SagaState state;
  /** Why the saga compensates; null before. */
  String reason;
  long updatedAtMs;

  SagaRun(String sagaId, SagaDefinition definition, Map<String, Object> input, long createdAtMs) {
    this.sagaId = sagaId;
    this.definition = definition;
    this.input = input;
    this.createdAtMs = createdAtMs;
    List<SagaStep> defined = definition.steps();
    this.steps = new StepRun[defined.size()];
    for (int i = 0; i < steps.length; i++) {
      steps[i] = new StepRun(defined.get(i), createdAtMs);
      indexByName.put(defined.get(i).name(), i);
    }
    this.dependencies = new int[steps.length][];
    List<List<Integer>> dependentLists = new ArrayList<>();
    for (int i = 0; i < steps.length; i++) {
      dependentLists.add(new ArrayList<>());
      List<String> names = defined.get(i).dependsOn();
      dependencies[i] = new int[names.size()];
      for (int d = 0; d < names.size(); d++) {
        dependencies[i][d] = indexByName.get(names.get(d));
        dependentLists.get(dependencies[i][d]).add(i);
      }
    }
    this.dependents = new int[steps.length][];
    for (int i = 0; i < steps.length; i++) {
      dependents[i] = dependentLists.get(i).stream().mapToInt(Integer::intValue).toArray();
    }
    this.state = SagaState.STARTED;
    this.updatedAtMs = createdAtMs;
  }

  /** The step's index in the definition, or -1 if it has none of that name. */
  int indexOf(String step) {
    return indexByName.getOrDefault(step, -1);
  }

  /** The forward phase: steps may start. */
  boolean isForward() {
    return switch (state) {
      case CREATED, STARTED, STEP_EXECUTING, STEP_COMPLETED, STEP_FAILED -> true;
      case COMPENSATING, COMPLETED, ABORTED, FAILED -> false;
    };
  }

  boolean dependenciesSucceeded(int index) {
    for (int dependency : dependencies[index]) {
      if (steps[dependency].state != StepState.SUCCEEDED) {
        return false;
      }
    }
    return true;
  }

  /** Every step that depends on this one is compensated or skipped (hence, all transitively). */
  boolean dependentsUndone(int index) {
    for (int dependent : dependents[index]) {
      StepState s = steps[dependent].state;
      if (s != StepState.COMPENSATED && s != StepState.SKIPPED) {
        return false;
      }
    }
    return true;
  }

  /**
   * A step whose action ended (SUCCEEDED or FAILED) and whose turn to be compensated has come:
   * nothing depending on it is left to undo.
   */
  boolean readyToCompensate(int index) {
    StepState s = steps[index].state;
    return (s == StepState.SUCCEEDED || s == StepState.FAILED) && dependentsUndone(index);
  }

  /**
   * The state the steps call for. Going forward (or COMPLETED): COMPLETED when all SUCCEEDED,
   * else STEP_EXECUTING while any is RUNNING, STEP_FAILED while any is RETRYING, STEP_COMPLETED
   * once any SUCCEEDED, else STARTED. Undoing (or ABORTED): ABORTED when every step is
   * COMPENSATED or SKIPPED, COMPENSATING while anything can progress, else FAILED.
   */
  SagaState derivedState() {
    return isForward() || state == SagaState.COMPLETED ? forwardState() : undoingState();
  }

  private SagaState forwardState() {
    boolean running = false;
    boolean retrying = false;
    int succeeded = 0;
    for (StepRun step : steps) {
      running |= step.state == StepState.RUNNING;
      retrying |= step.state == StepState.RETRYING;
      succeeded += step.state == StepState.SUCCEEDED ? 1 : 0;
    }
    return succeeded == steps.length ? SagaState.COMPLETED
        : running ? SagaState.STEP_EXECUTING
        : retrying ? SagaState.STEP_FAILED
        : succeeded > 0 ? SagaState.STEP_COMPLETED
        : SagaState.STARTED;
  }

  private SagaState undoingState() {
    boolean undone = true;
    boolean progressing = false;
    boolean stuck = false;
    for (int i = 0; i < steps.length; i++) {
      StepState s = steps[i].state;
      undone &= s == StepState.COMPENSATED || s == StepState.SKIPPED;
      progressing |= s == StepState.RUNNING || s == StepState.COMPENSATING
          || readyToCompensate(i);
      stuck |= s == StepState.COMPENSATION_FAILED;
    }
    if (undone) {
      return SagaState.ABORTED;
    }
    if (progressing) {
      return SagaState.COMPENSATING;
    }
    // The last step not undone has every dependent undone: it is ready unless it failed.
    check(stuck, "saga %s neither undone nor progressing nor stuck", sagaId);
    return SagaState.FAILED;
  }

  /** What is due now (see {@link SagaStateMachine#due}). */
  List<Due> due() {
    List<Due> due = new ArrayList<>();
    if (isForward()) {
      for (int i = 0; i < steps.length; i++) {
        forwardDue(i, due);
      }
    } else if (state == SagaState.COMPENSATING) {
      for (int i = steps.length - 1; i >= 0; i--) {
        undoingDue(i, due);
      }
    }
    return due;
  }

  private void forwardDue(int index, List<Due> due) {
    StepRun step = steps[index];
    String name = step.step.name();
    switch (step.state) {
      case PENDING -> {
        if (dependenciesSucceeded(index)) {
          due.add(new Due.RunStep(sagaId, name, 1, step.updatedAtMs));
        }
      }
      case RETRYING -> due.add(new Due.RunStep(sagaId, name, step.attempts + 1,
          after(step.updatedAtMs, step.step.retry().delayBefore(step.attempts + 1))));
      case RUNNING -> due.add(actionTimeout(step));
      default -> { }
    }
  }

  private void undoingDue(int index, List<Due> due) {
    StepRun step = steps[index];
    String name = step.step.name();
    if (step.state == StepState.RUNNING) {
      due.add(actionTimeout(step));
    } else if (step.state == StepState.COMPENSATING && step.compensationRunning) {
      due.add(new Due.Timeout(sagaId, name, step.compensationAttempts, true,
          after(step.updatedAtMs, step.step.timeout())));
    } else if (step.state == StepState.COMPENSATING || readyToCompensate(index)) {
      due.add(new Due.Compensate(sagaId, name, step.compensationAttempts + 1,
          after(step.updatedAtMs, step.step.retry().delayBefore(step.roundAttempts() + 1))));
    }
  }

  private Due actionTimeout(StepRun step) {
    return new Due.Timeout(sagaId, step.step.name(), step.attempts, false,
        after(step.updatedAtMs, step.step.timeout()));
  }

  private static long after(long atMs, Duration delay) {
    return saturatedAdd(atMs, delay.toMillis());
  }

  static long saturatedAdd(long a, long b) {
    long sum = a + b;
    return ((a ^ sum) & (b ^ sum)) < 0 ? (a < 0 ? Long.MIN_VALUE : Long.MAX_VALUE) : sum;
  }

  SagaStatus status() {
    List<StepStatus> list = new ArrayList<>(steps.length);
    for (StepRun step : steps) {
      list.add(new StepStatus(step.step.name(), step.state, step.attempts,
          step.compensationAttempts, step.lastError, step.updatedAtMs));
    }
    return new SagaStatus(sagaId, definition.name(), state, list, error(), createdAtMs,
        updatedAtMs);
  }

  /**
   * Why the saga compensates, aborted or failed (null going forward or completed); for a FAILED
   * saga, the first failed compensation and the original reason.
   */
  String error() {
    if (state == SagaState.FAILED) {
      for (StepRun step : steps) {
        if (step.state == StepState.COMPENSATION_FAILED) {
          return "compensation of step '" + step.step.name() + "' failed after "
              + step.roundAttempts() + " tries: " + step.lastError + " (compensating because "
              + reason + ")";
        }
      }
    }
    return reason;
  }

  /** One step's mutable state. */
  static final class StepRun {
    final SagaStep step;
    StepState state = StepState.PENDING;
    /** Tries of the action logged as started; the current (or last) try's number. */
    int attempts;
    /** Tries of the compensation logged as started, over all rounds. */
    int compensationAttempts;
    /** {@code compensationAttempts} when the current round of compensation tries began. */
    int compensationBase;
    /** In state COMPENSATING: a try is running (else the next one waits for its time). */
    boolean compensationRunning;
    String lastError;
    /** When the step's state last changed: the start of a running try, the time of a failure. */
    long updatedAtMs;

    StepRun(SagaStep step, long createdAtMs) {
      this.step = step;
      this.updatedAtMs = createdAtMs;
    }

    /** Compensation tries in the current round. */
    int roundAttempts() {
      return compensationAttempts - compensationBase;
    }
  }
}
