package io.synod.core.event;

import static io.synod.core.Invariants.check;

import io.synod.api.event.ChoreographyStep;
import io.synod.api.event.Event;
import io.synod.api.saga.SagaState;
import io.synod.api.saga.StepState;
import io.synod.core.event.ChoreographyRun.StepRun;
import io.synod.core.event.EventEffect.Refused.Reason;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The choreographed sagas' part of the event domain: which step of which saga is awaited, and
 * what answering, failing or timing out means. Synod's own requests and compensations go onto
 * the {@link EventStream} in the same apply as the change that asks for them, so the log never
 * holds a saga that moved on without its event, nor an event without its saga's move.
 *
 * <p><b>Forward.</b> Start publishes step 1's {@code on} with the start's payload and awaits its
 * answer. An event appended with the saga's correlation id and the awaited step's {@code done}
 * type makes the step SUCCEEDED and the next one awaited: its {@code on} is published with the
 * answer's payload, unless it is that very {@code done} (the services chain themselves). The last
 * {@code done} makes the saga COMPLETED. Other events, and answers for a step not awaited (late,
 * or repeated by an at-least-once publisher), change nothing.
 *
 * <p><b>Backward.</b> The awaited step's {@code failed}, a {@link EventCommand.TimeOut} the
 * leader logs once the step's deadline passed, or an {@link EventCommand.Abort} make the step
 * FAILED and the saga COMPENSATING: then, in one apply, {@code compensate} is published for the
 * failed step (its effect is unknown: a timed-out service may have acted, and one that answered
 * {@code failed} may have acted in part; compensating a step that did nothing must be a no-op for
 * the service) and for every SUCCEEDED step, in reverse step order, each with the start's
 * payload; those steps become COMPENSATED, steps never asked become SKIPPED, and the saga
 * ABORTED. Synod awaits no answer to a compensation: the bus delivers it at least once, after the
 * step's request (one group receives a type's events in offset order).
 *
 * <p><b>Retention</b> as for orchestrated sagas: finished sagas are kept {@code
 * choreographyRetentionMs} and at most {@code choreographiesFinishedMax}; at most {@code
 * choreographiesActiveMax} run.
 */
final class Choreographies {
  private final EventStateMachine.Limits limits;
  private final EventStream stream;
  /** In start order. */
  private final Map<String, ChoreographyRun> runs = new LinkedHashMap<>();
  /** Correlation ids of sagas not finished, in start order. */
  private final Set<String> active = new LinkedHashSet<>();
  /** Correlation ids of finished sagas in the order they finished. */
  private final ArrayDeque<String> finishedOrder = new ArrayDeque<>();

  Choreographies(EventStateMachine.Limits limits, EventStream stream) {
    this.limits = limits;
    this.stream = stream;
  }

  void start(EventCommand.Start c, List<EventEffect> effects) {
    ChoreographyRun existing = runs.get(c.correlationId());
    if (existing != null) {
      effects.add(new EventEffect.AlreadyExists(c.correlationId(), existing.state));
      return;
    }
    if (active.size() >= limits.choreographiesActiveMax()) {
      effects.add(new EventEffect.Refused(c.correlationId(), Reason.LIMIT,
          "limit choreographiesActiveMax=" + limits.choreographiesActiveMax()
          + " reached: wait for sagas to finish or raise the limit"));
      return;
    }
    ChoreographyRun run = new ChoreographyRun(c.correlationId(), c.definition(), c.payload(),
        c.nowMs());
    runs.put(run.correlationId, run);
    active.add(run.correlationId);
    request(run, 0, c.payload(), true, c.nowMs(), effects);
  }

  /** An appended event: the answer of the step its saga awaits, if its type says so. */
  void answer(Event event, List<EventEffect> effects) {
    ChoreographyRun run = runs.get(event.correlationId());
    if (run == null || run.state != SagaState.STEP_EXECUTING) {
      return;
    }
    ChoreographyStep step = run.step(run.current);
    long nowMs = event.publishedAtMs();
    if (event.type().equals(step.done())) {
      succeed(run, event, effects);
    } else if (event.type().equals(step.failed())) {
      fail(run, "the service answered '" + step.failed() + "'", nowMs);
      compensate(run, "step '" + step.name() + "' failed: the service answered '"
          + step.failed() + "' " + event.payload(), nowMs, effects);
    }
  }

  void timeOut(EventCommand.TimeOut c, List<EventEffect> effects) {
    ChoreographyRun run = runs.get(c.correlationId());
    if (run == null) {
      effects.add(unknown(c.correlationId()));
      return;
    }
    String stale = run.state != SagaState.STEP_EXECUTING ? "the saga is " + run.state.wireName()
        : !run.step(run.current).name().equals(c.step())
            ? "the awaited step is '" + run.step(run.current).name() + "'"
        : c.nowMs() < run.deadlineMs() ? "its deadline " + run.deadlineMs() + " is not reached"
        : null;
    if (stale != null) {
      effects.add(new EventEffect.Refused(c.correlationId(), Reason.STALE, "timeout of step '"
          + c.step() + "': " + stale));
      return;
    }
    ChoreographyStep step = run.step(run.current);
    String answers = "'" + step.done() + "'" + (step.failed() == null ? ""
        : " or '" + step.failed() + "'");
    fail(run, "no answer within " + step.timeout(), c.nowMs());
    compensate(run, "step '" + step.name() + "' timed out: no " + answers + " within "
        + step.timeout(), c.nowMs(), effects);
  }

  void abort(EventCommand.Abort c, List<EventEffect> effects) {
    ChoreographyRun run = runs.get(c.correlationId());
    if (run == null) {
      effects.add(unknown(c.correlationId()));
      return;
    }
    if (run.state != SagaState.STEP_EXECUTING) {
      effects.add(new EventEffect.Refused(c.correlationId(), Reason.STALE, "the saga is "
          + run.state.wireName() + " already"));
      return;
    }
    fail(run, "aborted while its answer was awaited", c.nowMs());
    compensate(run, "aborted: " + c.reason(), c.nowMs(), effects);
  }

  // ---------------------------------------------------------------- moves

  /** Awaits step {@code index}'s answer, publishing its request unless it is out already. */
  private void request(ChoreographyRun run, int index, Map<String, String> payload,
      boolean publish, long nowMs, List<EventEffect> effects) {
    transition(run, SagaState.STEP_EXECUTING, nowMs);
    StepRun step = run.steps[index];
    step.state = StepState.RUNNING;
    step.startedAtMs = nowMs;
    step.updatedAtMs = nowMs;
    run.current = index;
    if (publish) {
      publish(run.step(index).on(), run, payload, nowMs, effects);
    }
    effects.add(new EventEffect.Awaiting(run.correlationId, run.step(index).name(),
        run.deadlineMs()));
  }

  private void succeed(ChoreographyRun run, Event answer, List<EventEffect> effects) {
    long nowMs = answer.publishedAtMs();
    StepRun step = run.steps[run.current];
    step.state = StepState.SUCCEEDED;
    step.updatedAtMs = nowMs;
    int next = run.current + 1;
    if (next < run.steps.length) {
      boolean chained = run.step(next).on().equals(answer.type());
      request(run, next, answer.payload(), !chained, nowMs, effects);
      return;
    }
    transition(run, SagaState.COMPLETED, nowMs);
    finish(run, effects);
  }

  private static void fail(ChoreographyRun run, String error, long nowMs) {
    StepRun step = run.steps[run.current];
    step.state = StepState.FAILED;
    step.lastError = error;
    step.updatedAtMs = nowMs;
  }

  /** Publishes every compensation that is due, in reverse step order, and aborts the saga. */
  private void compensate(ChoreographyRun run, String reason, long nowMs,
      List<EventEffect> effects) {
    run.reason = EventStateMachine.bounded(reason);
    transition(run, SagaState.COMPENSATING, nowMs);
    for (int i = run.steps.length - 1; i >= 0; i--) {
      StepRun step = run.steps[i];
      if (step.state == StepState.PENDING) {
        step.state = StepState.SKIPPED;
      } else {
        String type = run.step(i).compensate();
        if (type != null) {
          publish(type, run, run.payload, nowMs, effects);
        }
        step.state = StepState.COMPENSATED;
      }
      step.updatedAtMs = nowMs;
    }
    transition(run, SagaState.ABORTED, nowMs);
    finish(run, effects);
  }

  private void publish(String type, ChoreographyRun run, Map<String, String> payload, long nowMs,
      List<EventEffect> effects) {
    effects.add(new EventEffect.Published(
        stream.append(Event.of(type, run.correlationId, payload), nowMs)));
  }

  private void finish(ChoreographyRun run, List<EventEffect> effects) {
    active.remove(run.correlationId);
    finishedOrder.addLast(run.correlationId);
    effects.add(new EventEffect.Finished(run.correlationId, run.state, run.reason));
  }

  /** The one place a saga's state changes: checked against the successor table. */
  private static void transition(ChoreographyRun run, SagaState next, long nowMs) {
    check(successors(run.state).contains(next) || run.state == next,
        "illegal choreography transition %s -> %s for %s", run.state, next, run.correlationId);
    run.state = next;
    run.updatedAtMs = nowMs;
  }

  private static Set<SagaState> successors(SagaState state) {
    return switch (state) {
      case STARTED -> EnumSet.of(SagaState.STEP_EXECUTING);
      case STEP_EXECUTING -> EnumSet.of(SagaState.COMPLETED, SagaState.COMPENSATING);
      case COMPENSATING -> EnumSet.of(SagaState.ABORTED);
      case CREATED, STEP_COMPLETED, STEP_FAILED, FAILED, COMPLETED, ABORTED ->
          EnumSet.noneOf(SagaState.class);
    };
  }

  private static EventEffect.Refused unknown(String correlationId) {
    return new EventEffect.Refused(correlationId, Reason.UNKNOWN, "no choreographed saga with"
        + " correlation id " + correlationId);
  }

  /** Forgets finished sagas older than {@code cutoffMs} and beyond the newest finishedMax. */
  void forgetFinishedBefore(long cutoffMs) {
    while (!finishedOrder.isEmpty()) {
      ChoreographyRun oldest = runs.get(finishedOrder.peekFirst());
      if (oldest.updatedAtMs > cutoffMs
          && finishedOrder.size() <= limits.choreographiesFinishedMax()) {
        return;
      }
      finishedOrder.pollFirst();
      runs.remove(oldest.correlationId);
    }
  }

  // ---------------------------------------------------------------- queries and snapshots

  ChoreographyRun get(String correlationId) {
    return runs.get(correlationId);
  }

  List<String> active() {
    return List.copyOf(active);
  }

  /** Every saga awaiting an answer, with its deadline, in start order. */
  List<EventEffect.Awaiting> awaiting() {
    return active.stream().map(runs::get)
        .map(run -> new EventEffect.Awaiting(run.correlationId, run.step(run.current).name(),
            run.deadlineMs()))
        .toList();
  }

  Collection<ChoreographyRun> runs() {
    return Collections.unmodifiableCollection(runs.values());
  }

  List<String> finishedIds() {
    return List.copyOf(finishedOrder);
  }

  void restore(ChoreographyRun run) {
    check(runs.put(run.correlationId, run) == null, "saga %s twice in the snapshot",
        run.correlationId);
    if (!run.state.isTerminal()) {
      active.add(run.correlationId);
    }
  }

  void restoreFinished(String correlationId) {
    finishedOrder.addLast(correlationId);
  }

  /**
   * What must hold of every saga, checked from scratch. The limits are not checked: a snapshot
   * taken under larger ones must still load.
   */
  void checkInvariants() {
    int finished = 0;
    for (ChoreographyRun run : runs.values()) {
      check(active.contains(run.correlationId) == !run.state.isTerminal(),
          "saga %s is %s but %s the active set", run.correlationId, run.state,
          active.contains(run.correlationId) ? "in" : "not in");
      finished += run.state.isTerminal() ? 1 : 0;
      checkSteps(run);
    }
    check(finished == finishedOrder.size() && runs.keySet().containsAll(finishedOrder),
        "the finished order does not list the %d finished sagas", finished);
  }

  private static void checkSteps(ChoreographyRun run) {
    for (int i = 0; i < run.steps.length; i++) {
      StepState state = run.steps[i].state;
      boolean ok = switch (run.state) {
        case STEP_EXECUTING -> state == (i < run.current ? StepState.SUCCEEDED
            : i == run.current ? StepState.RUNNING : StepState.PENDING);
        case COMPLETED -> state == StepState.SUCCEEDED;
        case ABORTED -> i <= run.current ? state == StepState.COMPENSATED
            : state == StepState.SKIPPED;
        default -> false;
      };
      check(ok, "saga %s is %s with step %d (%s) %s, awaiting step %d", run.correlationId,
          run.state, i, run.step(i).name(), state, run.current);
    }
  }
}
