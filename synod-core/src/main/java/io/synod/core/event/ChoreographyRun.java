package io.synod.core.event;

import io.synod.api.event.ChoreographyDefinition;
import io.synod.api.event.ChoreographyStep;
import io.synod.api.saga.SagaState;
import io.synod.api.saga.SagaStatus;
import io.synod.api.saga.StepState;
import io.synod.api.saga.StepStatus;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One choreographed saga as the log has it. Mutable, owned by {@link Choreographies}; fields are
 * package-visible for it and for the codec.
 */
final class ChoreographyRun {
  final String correlationId;
  final ChoreographyDefinition definition;
  /** The start's payload: the first request's, and every compensation's. */
  final Map<String, String> payload;
  final long createdAtMs;
  long updatedAtMs;
  SagaState state = SagaState.STARTED;
  /** Why it aborted; null otherwise. */
  String reason;
  /** The step whose answer is awaited (while STEP_EXECUTING), or was awaited last. */
  int current;
  final StepRun[] steps;

  /** One step's progress. */
  static final class StepRun {
    StepState state = StepState.PENDING;
    /** When its request went out (its clock started). */
    long startedAtMs;
    long updatedAtMs;
    /** Why it failed; null otherwise. */
    String lastError;
  }

  ChoreographyRun(String correlationId, ChoreographyDefinition definition,
      Map<String, String> payload, long createdAtMs) {
    this.correlationId = correlationId;
    this.definition = definition;
    this.payload = payload;
    this.createdAtMs = createdAtMs;
    this.updatedAtMs = createdAtMs;
    this.steps = new StepRun[definition.steps().size()];
    for (int i = 0; i < steps.length; i++) {
      steps[i] = new StepRun();
    }
  }

  ChoreographyStep step(int index) {
    return definition.steps().get(index);
  }

  /** When the awaited step times out: its start plus its timeout (leader time). */
  long deadlineMs() {
    return EventStateMachine.plus(steps[current].startedAtMs,
        step(current).timeout().toMillis());
  }

  SagaStatus status() {
    List<StepStatus> list = new ArrayList<>(steps.length);
    for (int i = 0; i < steps.length; i++) {
      StepRun run = steps[i];
      boolean requested = run.state != StepState.PENDING && run.state != StepState.SKIPPED;
      boolean undoRequested = run.state == StepState.COMPENSATED && step(i).compensate() != null;
      list.add(new StepStatus(step(i).name(), run.state, requested ? 1 : 0,
          undoRequested ? 1 : 0, run.lastError, run.updatedAtMs));
    }
    return new SagaStatus(correlationId, definition.name(), state, list, reason, createdAtMs,
        updatedAtMs);
  }
}
