package io.synod.core.saga;

import static io.synod.core.Invariants.check;

import io.synod.api.saga.SagaState;
import io.synod.api.saga.SagaStatus;
import io.synod.api.saga.StepState;
import io.synod.core.saga.SagaEffect.Refused.Reason;
import io.synod.core.saga.SagaRun.StepRun;
import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The replicated state of orchestrated sagas: which step of which saga ran, how often, with what
 * outcome, and what is being undone. The saga driver (in the engine) does the work, logging each
 * try's start and outcome as a {@link SagaCommand}; this machine decides what that means and what
 * is due next ({@link #due}).
 *
 * <p><b>Purity.</b> {@link #apply} reads nothing but its argument and this object: no clock, no
 * I/O, no randomness. Times arrive in the commands ({@code nowMs}, the leader's clock). Replicas
 * that apply the same entries hold the same state and produce the same effects. Not thread-safe:
 * the caller serialises {@code apply} and the queries.
 *
 * <p><b>Forward.</b> A Start logs the saga as STARTED. A step may start once every step it
 * depends on SUCCEEDED (independent steps run in parallel); each try is logged before it runs
 * ({@code StepStarted}, attempt n+1), and its outcome after. A failed try leaves the step
 * RETRYING if the error is retryable and tries remain, else FAILED, which turns the saga
 * COMPENSATING; so does an {@code Abort}. The saga's state is derived from its steps after every
 * change: STEP_EXECUTING while any step is RUNNING, else STEP_FAILED while any is RETRYING, else
 * STEP_COMPLETED once any SUCCEEDED, COMPLETED when all did. CREATED is never used: a logged saga
 * is STARTED.
 *
 * <p><b>Compensation.</b> Every step whose effect may exist is undone: one that SUCCEEDED, one
 * that FAILED (a timed-out try may have taken effect), and one RUNNING or RETRYING when the saga
 * turned (its outcome is unknown). Steps never started become SKIPPED; RETRYING ones become FAILED
 * (no more tries). A step's compensation is due only when every step depending on it is
 * COMPENSATED or SKIPPED, so compensations run in reverse dependency order, independent ones in
 * parallel; and never while its own action is RUNNING: the driver waits for the try's outcome (or
 * its {@link Due.Timeout}), so that a late success is known before the step is undone. A step
 * without a compensation becomes COMPENSATED when its turn comes. A compensation is tried {@code
 * retry.maxAttempts} times; then the step is COMPENSATION_FAILED. Other compensations go on; when
 * nothing else can progress the saga is FAILED, with the reason, until {@code
 * RetryCompensations} sends its failed steps back to COMPENSATING for another round. When every
 * step is COMPENSATED or SKIPPED the saga is ABORTED.
 *
 * <p><b>Stale and out-of-order commands</b> are answered with {@link SagaEffect.Refused} and
 * change nothing, with these exceptions, which record facts rather than refuse them:
 *
 * <ul>
 *   <li>A success of any try that was logged as started (not only the current one) makes a
 *       RUNNING, RETRYING or FAILED step SUCCEEDED, also while compensating: the effect exists
 *       (every try uses the same idempotency key) and must be compensated. A success for a step
 *       already compensating or compensated is refused: the store refuses a step after its
 *       compensation.
 *   <li>A failure counts only for the current, running try: an older try's failure says nothing
 *       about the step now. While compensating, a failed try makes the step FAILED whatever it
 *       says about retrying.
 *   <li>A compensation success counts for any logged try of the compensation, even after the step
 *       was marked COMPENSATION_FAILED (a late answer): it may turn a FAILED saga COMPENSATING or
 *       ABORTED.
 *   <li>Repeating the start of the current, still running try answers {@link
 *       SagaEffect.TryStarted} again (a retried proposal), changing nothing.
 * </ul>
 *
 * <p><b>Retention.</b> COMPLETED and ABORTED sagas are kept {@code retentionMs} after they finished
 * (by the times in later entries), and at most {@code finishedMax} of them; then forgotten, after
 * which their id may start a new saga. Active sagas (FAILED ones included) are never forgotten;
 * at most {@code activeMax} are admitted.
 *
 * <p><b>Invariants</b>, checked by {@link #checkInvariants()} (tests call it after every command;
 * a snapshot is checked when read): see {@link SagaInvariants}.
 */
public final class SagaStateMachine {

  /**
   * Bounds, identical on every replica (they decide outcomes).
   *
   * @param activeMax sagas not yet COMPLETED or ABORTED; a Start beyond is refused (LIMIT)
   * @param finishedMax COMPLETED and ABORTED sagas remembered at most
   * @param retentionMs how long a finished saga is remembered
   */
  public record Limits(int activeMax, int finishedMax, long retentionMs) {
    public static final Limits DEFAULTS =
        new Limits(10_000, 10_000, Duration.ofHours(1).toMillis());

    public Limits {
      positive("activeMax", activeMax);
      positive("finishedMax", finishedMax);
      positive("retentionMs", retentionMs);
    }

    private static void positive(String name, long value) {
      if (value <= 0) {
        throw new IllegalArgumentException(
            "saga limit " + name + " must be positive, was " + value);
      }
    }
  }

  private final Limits limits;
  /** In start order. */
  private final Map<String, SagaRun> sagas = new LinkedHashMap<>();
  /** Ids of sagas not COMPLETED or ABORTED, in start order. */
  private final Set<String> active = new LinkedHashSet<>();
  /** Ids of COMPLETED and ABORTED sagas in the order they finished, for retention. */
  private final ArrayDeque<String> finishedOrder = new ArrayDeque<>();
  /** Effects of the command being applied; null between commands. */
  private List<SagaEffect> effects;

  public SagaStateMachine(Limits limits) {
    this.limits = Objects.requireNonNull(limits, "limits");
  }

  /** Applies one command; the effects are listed in the order they happened. */
  public List<SagaEffect> apply(SagaCommand command) {
    check(effects == null, "SagaStateMachine.apply is not reentrant");
    effects = new ArrayList<>();
    try {
      SagaRun run = sagas.get(command.sagaId());
      SagaState before = run == null ? null : run.state;
      boolean changed = switch (command) {
        case SagaCommand.Start c -> start(c);
        case SagaCommand.StepStarted c -> stepStarted(c);
        case SagaCommand.StepSucceeded c -> stepSucceeded(c);
        case SagaCommand.StepFailed c -> stepFailed(c);
        case SagaCommand.CompensationStarted c -> compensationStarted(c);
        case SagaCommand.CompensationSucceeded c -> compensationSucceeded(c);
        case SagaCommand.CompensationFailed c -> compensationFailed(c);
        case SagaCommand.RetryCompensations c -> retryCompensations(c);
        case SagaCommand.Abort c -> abort(c);
      };
      if (changed) {
        afterChange(sagas.get(command.sagaId()), before, command.nowMs());
      }
      forgetFinishedBefore(SagaRun.saturatedAdd(command.nowMs(), -limits.retentionMs()));
      return List.copyOf(effects);
    } finally {
      effects = null;
    }
  }

  // ---------------------------------------------------------------- forward

  private boolean start(SagaCommand.Start c) {
    SagaRun existing = sagas.get(c.sagaId());
    if (existing != null) {
      effects.add(new SagaEffect.AlreadyExists(existing.sagaId, existing.state));
      return false;
    }
    if (active.size() >= limits.activeMax()) {
      effects.add(new SagaEffect.Refused(c.sagaId(), Reason.LIMIT, "limit activeMax="
          + limits.activeMax() + " reached: wait for sagas to finish or raise the limit"));
      return false;
    }
    sagas.put(c.sagaId(), new SagaRun(c.sagaId(), c.definition(), c.input(), c.nowMs()));
    active.add(c.sagaId());
    return true;
  }

  /** The next try of a PENDING step whose dependencies succeeded, or of a RETRYING one. */
  private boolean stepStarted(SagaCommand.StepStarted c) {
    SagaRun run = target(c.sagaId(), c.step());
    if (run == null) {
      return false;
    }
    StepRun step = run.steps[run.indexOf(c.step())];
    if (step.state == StepState.RUNNING && c.attempt() == step.attempts) {
      effects.add(new SagaEffect.TryStarted(run.sagaId, c.step(), c.attempt(), false));
      return false;
    }
    String stale = !run.isForward() ? "the saga is " + run.state.wireName() + ": no new tries"
        : c.attempt() != step.attempts + 1 ? attemptMismatch(c.attempt(), step.attempts + 1)
        : step.state == StepState.RETRYING ? null
        : step.state != StepState.PENDING ? "the step is " + step.state.wireName()
        : run.dependenciesSucceeded(run.indexOf(c.step())) ? null
        : "a step it depends on has not succeeded";
    if (stale != null) {
      return refuse(run.sagaId, Reason.STALE, "start of " + c.step() + ": " + stale);
    }
    step.state = StepState.RUNNING;
    step.attempts = c.attempt();
    step.updatedAtMs = c.nowMs();
    effects.add(new SagaEffect.TryStarted(run.sagaId, c.step(), c.attempt(), false));
    return true;
  }

  /** Any logged try's success is a fact: the effect exists. */
  private boolean stepSucceeded(SagaCommand.StepSucceeded c) {
    SagaRun run = target(c.sagaId(), c.step());
    if (run == null) {
      return false;
    }
    StepRun step = run.steps[run.indexOf(c.step())];
    boolean open = step.state == StepState.RUNNING || step.state == StepState.RETRYING
        || step.state == StepState.FAILED;
    if (c.attempt() < 1 || c.attempt() > step.attempts || !open) {
      return refuse(run.sagaId, Reason.STALE, "success of " + c.step() + " try " + c.attempt()
          + ": the step is " + step.state.wireName() + " after " + step.attempts + " tries");
    }
    step.state = StepState.SUCCEEDED;
    step.updatedAtMs = c.nowMs();
    return true;
  }

  /** Only the running try's failure counts. */
  private boolean stepFailed(SagaCommand.StepFailed c) {
    SagaRun run = target(c.sagaId(), c.step());
    if (run == null) {
      return false;
    }
    StepRun step = run.steps[run.indexOf(c.step())];
    if (step.state != StepState.RUNNING || c.attempt() != step.attempts) {
      return refuse(run.sagaId, Reason.STALE, "failure of " + c.step() + " try " + c.attempt()
          + ": the step is " + step.state.wireName() + " after " + step.attempts + " tries");
    }
    step.lastError = c.error();
    step.updatedAtMs = c.nowMs();
    int max = step.step.retry().maxAttempts();
    if (run.isForward() && c.retryable() && c.attempt() < max) {
      step.state = StepState.RETRYING;
      return true;
    }
    step.state = StepState.FAILED;
    if (run.isForward()) {
      beginCompensation(run, "step '" + c.step() + "' failed "
          + (c.retryable() ? "after " + max + " tries" : "(not retryable)") + ": " + c.error(),
          c.nowMs());
    }
    return true;
  }

  private boolean abort(SagaCommand.Abort c) {
    SagaRun run = sagas.get(c.sagaId());
    if (run == null) {
      return refuse(c.sagaId(), Reason.UNKNOWN_SAGA, "no saga " + c.sagaId() + " to abort");
    }
    if (!run.isForward()) {
      return refuse(run.sagaId, Reason.STALE, "the saga is " + run.state.wireName()
          + " already");
    }
    beginCompensation(run, "aborted: " + c.reason(), c.nowMs());
    return true;
  }

  /** Fixes the compensation set: unstarted steps are skipped, retrying ones failed. */
  private void beginCompensation(SagaRun run, String reason, long nowMs) {
    run.reason = reason;
    transition(run, SagaState.COMPENSATING);
    for (StepRun step : run.steps) {
      if (step.state == StepState.PENDING || step.state == StepState.RETRYING) {
        step.state = step.state == StepState.PENDING ? StepState.SKIPPED : StepState.FAILED;
        step.updatedAtMs = nowMs;
      }
    }
  }

  // ---------------------------------------------------------------- compensation

  /** The next compensation try of a step whose turn came, or of one that waits for a retry. */
  private boolean compensationStarted(SagaCommand.CompensationStarted c) {
    SagaRun run = target(c.sagaId(), c.step());
    if (run == null) {
      return false;
    }
    int index = run.indexOf(c.step());
    StepRun step = run.steps[index];
    if (step.state == StepState.COMPENSATING && step.compensationRunning
        && c.attempt() == step.compensationAttempts) {
      effects.add(new SagaEffect.TryStarted(run.sagaId, c.step(), c.attempt(), true));
      return false;
    }
    boolean waiting = step.state == StepState.COMPENSATING && !step.compensationRunning;
    String stale = run.state != SagaState.COMPENSATING ? "the saga is " + run.state.wireName()
        : !waiting && !run.readyToCompensate(index) ? "the step is " + step.state.wireName()
            + (run.dependentsUndone(index) ? "" : ", and steps depending on it are not undone")
        : c.attempt() != step.compensationAttempts + 1
            ? attemptMismatch(c.attempt(), step.compensationAttempts + 1)
        : null;
    if (stale != null) {
      return refuse(run.sagaId, Reason.STALE, "compensation of " + c.step() + ": " + stale);
    }
    step.state = StepState.COMPENSATING;
    step.compensationRunning = true;
    step.compensationAttempts = c.attempt();
    step.updatedAtMs = c.nowMs();
    effects.add(new SagaEffect.TryStarted(run.sagaId, c.step(), c.attempt(), true));
    return true;
  }

  /** Any logged compensation try's success is a fact: the effect is undone. */
  private boolean compensationSucceeded(SagaCommand.CompensationSucceeded c) {
    SagaRun run = target(c.sagaId(), c.step());
    if (run == null) {
      return false;
    }
    StepRun step = run.steps[run.indexOf(c.step())];
    if (step.state != StepState.COMPENSATING && step.state != StepState.COMPENSATION_FAILED) {
      return refuse(run.sagaId, Reason.STALE, "compensation success of " + c.step()
          + ": the step is " + step.state.wireName());
    }
    step.state = StepState.COMPENSATED;
    step.compensationRunning = false;
    step.updatedAtMs = c.nowMs();
    return true;
  }

  /** Only the running compensation try's failure counts. */
  private boolean compensationFailed(SagaCommand.CompensationFailed c) {
    SagaRun run = target(c.sagaId(), c.step());
    if (run == null) {
      return false;
    }
    StepRun step = run.steps[run.indexOf(c.step())];
    if (step.state != StepState.COMPENSATING || !step.compensationRunning
        || c.attempt() != step.compensationAttempts) {
      return refuse(run.sagaId, Reason.STALE, "compensation failure of " + c.step() + " try "
          + c.attempt() + ": the step is " + step.state.wireName() + " after "
          + step.compensationAttempts + " compensation tries");
    }
    step.compensationRunning = false;
    step.lastError = c.error();
    step.updatedAtMs = c.nowMs();
    if (step.roundAttempts() >= step.step.retry().maxAttempts()) {
      step.state = StepState.COMPENSATION_FAILED;
    }
    return true;
  }

  /** A new round: failed compensations wait to be tried again, their try counts kept. */
  private boolean retryCompensations(SagaCommand.RetryCompensations c) {
    SagaRun run = sagas.get(c.sagaId());
    if (run == null) {
      return refuse(c.sagaId(), Reason.UNKNOWN_SAGA, "no saga " + c.sagaId() + " to retry");
    }
    if (run.state != SagaState.FAILED) {
      return refuse(run.sagaId, Reason.STALE, "only a failed saga retries its compensations;"
          + " this one is " + run.state.wireName());
    }
    for (StepRun step : run.steps) {
      if (step.state == StepState.COMPENSATION_FAILED) {
        step.state = StepState.COMPENSATING;
        step.compensationBase = step.compensationAttempts;
        step.updatedAtMs = c.nowMs();
      }
    }
    return true;
  }

  // ---------------------------------------------------------------- after a change

  private void afterChange(SagaRun run, SagaState before, long nowMs) {
    run.updatedAtMs = nowMs;
    settle(run, nowMs);
    effects.add(new SagaEffect.Updated(run.sagaId, run.state, run.due()));
    boolean finishing = run.state.isTerminal() || run.state == SagaState.FAILED;
    if (finishing && run.state != before) {
      effects.add(new SagaEffect.Finished(run.sagaId, run.state, run.error()));
      if (run.state.isTerminal()) {
        active.remove(run.sagaId);
        finishedOrder.addLast(run.sagaId);
      }
    }
  }

  /**
   * Derives the saga's state from its steps. While undoing, first marks COMPENSATED (in reverse
   * index order, so one pass cascades) each step without a compensation whose turn came.
   */
  private void settle(SagaRun run, long nowMs) {
    if (run.isForward()) {
      transition(run, run.derivedState());
      return;
    }
    for (int i = run.steps.length - 1; i >= 0; i--) {
      StepRun step = run.steps[i];
      if (step.step.compensation() == null && run.readyToCompensate(i)) {
        step.state = StepState.COMPENSATED;
        step.updatedAtMs = nowMs;
      }
    }
    transition(run, run.derivedState());
  }

  /** The one place a saga's state changes: checked against the successor table. */
  private static void transition(SagaRun run, SagaState next) {
    if (run.state == next) {
      return;
    }
    check(successors(run.state).contains(next), "illegal saga transition %s -> %s for %s",
        run.state, next, run.sagaId);
    run.state = next;
  }

  /** The states a saga may move to from {@code state}. */
  private static Set<SagaState> successors(SagaState state) {
    return switch (state) {
      case CREATED, COMPLETED, ABORTED -> EnumSet.noneOf(SagaState.class);
      case STARTED, STEP_COMPLETED -> EnumSet.of(SagaState.STEP_EXECUTING, SagaState.COMPENSATING);
      case STEP_EXECUTING -> EnumSet.of(SagaState.STEP_COMPLETED, SagaState.STEP_FAILED,
          SagaState.COMPLETED, SagaState.COMPENSATING);
      case STEP_FAILED -> EnumSet.of(SagaState.STEP_EXECUTING, SagaState.STEP_COMPLETED,
          SagaState.COMPLETED, SagaState.COMPENSATING);
      case COMPENSATING -> EnumSet.of(SagaState.ABORTED, SagaState.FAILED);
      case FAILED -> EnumSet.of(SagaState.COMPENSATING, SagaState.ABORTED);
    };
  }

  private void forgetFinishedBefore(long cutoffMs) {
    while (!finishedOrder.isEmpty()) {
      SagaRun oldest = sagas.get(finishedOrder.peekFirst());
      if (oldest.updatedAtMs > cutoffMs && finishedOrder.size() <= limits.finishedMax()) {
        return;
      }
      finishedOrder.pollFirst();
      sagas.remove(oldest.sagaId);
    }
  }

  // ---------------------------------------------------------------- helpers

  /** The saga of a step command, or null after refusing an unknown saga or step. */
  private SagaRun target(String sagaId, String step) {
    SagaRun run = sagas.get(sagaId);
    if (run == null) {
      refuse(sagaId, Reason.UNKNOWN_SAGA, "no saga " + sagaId + " (step " + step + ")");
      return null;
    }
    if (run.indexOf(step) < 0) {
      refuse(sagaId, Reason.UNKNOWN_STEP, "saga " + sagaId + " (" + run.definition.name()
          + ") has no step " + step);
      return null;
    }
    return run;
  }

  /** Adds the refusal; returns false (nothing changed) for the caller to return. */
  private boolean refuse(String sagaId, Reason reason, String message) {
    effects.add(new SagaEffect.Refused(sagaId, reason, message));
    return false;
  }

  private static String attemptMismatch(int attempt, int next) {
    return "try " + attempt + " is not the next one (" + next + ")";
  }

  // ---------------------------------------------------------------- queries

  /**
   * What is due for the saga now, in step order going forward and in reverse step order while
   * compensating; empty for a FAILED, finished or unknown saga. Linear in the saga's steps and
   * their dependencies.
   */
  public List<Due> due(String sagaId) {
    SagaRun run = sagas.get(sagaId);
    return run == null ? List.of() : run.due();
  }

  public Optional<SagaStatus> status(String sagaId) {
    return Optional.ofNullable(sagas.get(sagaId)).map(SagaRun::status);
  }

  /**
   * The Start that logged the saga (its definition, input and creation time), for the driver to
   * run its steps.
   */
  public Optional<SagaCommand.Start> startOf(String sagaId) {
    SagaRun run = sagas.get(sagaId);
    return run == null ? Optional.empty()
        : Optional.of(new SagaCommand.Start(run.sagaId, run.definition, run.input,
            run.createdAtMs));
  }

  /** Sagas not yet COMPLETED or ABORTED (FAILED ones included), in start order. */
  public List<String> active() {
    return List.copyOf(active);
  }

  /** Sagas remembered, active and finished. */
  public int size() {
    return sagas.size();
  }

  public Limits limits() {
    return limits;
  }

  /** Checks every invariant from scratch; throws IllegalStateException naming a broken one. */
  public void checkInvariants() {
    SagaInvariants.checkAll(this);
  }

  // ---------------------------------------------------------------- snapshots

  /** Writes the whole state; {@link #readSnapshot} gives back an identical machine. */
  public void writeSnapshot(DataOutput out) throws IOException {
    SagaCodec.writeSnapshot(out, sagas.values(), finishedOrder);
  }

  /** Reads a snapshot into a new machine with {@code limits}; refuses one breaking invariants. */
  public static SagaStateMachine readSnapshot(DataInput in, Limits limits) throws IOException {
    SagaStateMachine machine = new SagaStateMachine(limits);
    try {
      SagaCodec.readSnapshot(in, machine::restore, machine.finishedOrder::addLast);
      machine.checkInvariants();
    } catch (RuntimeException e) {
      throw new IOException("corrupt saga snapshot: " + e.getMessage(), e);
    }
    return machine;
  }

  private void restore(SagaRun run) {
    check(sagas.put(run.sagaId, run) == null, "saga %s twice in the snapshot", run.sagaId);
    if (!run.state.isTerminal()) {
      active.add(run.sagaId);
    }
  }

  // ---------------------------------------------------------------- for SagaInvariants

  Collection<SagaRun> runs() {
    return Collections.unmodifiableCollection(sagas.values());
  }

  Set<String> activeIds() {
    return Collections.unmodifiableSet(active);
  }

  List<String> finishedIds() {
    return List.copyOf(finishedOrder);
  }
}
