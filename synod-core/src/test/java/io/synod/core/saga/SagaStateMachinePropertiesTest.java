package io.synod.core.saga;

import static io.synod.core.saga.SagaHarness.ACT;
import static io.synod.core.saga.SagaHarness.UNDO;
import static org.assertj.core.api.Assertions.assertThat;

import io.synod.api.saga.RetryPolicy;
import io.synod.api.saga.SagaDefinition;
import io.synod.api.saga.SagaState;
import io.synod.api.saga.SagaStatus;
import io.synod.api.saga.SagaStep;
import io.synod.api.saga.StepState;
import io.synod.api.saga.StepStatus;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.statistics.Statistics;

/**
 * Random histories a driver could produce for a few sagas: tries started as they fall due and
 * answered in any order, timeouts, duplicates and old commands delivered again, stale attempt
 * numbers, aborts and compensation retries. After every command the machine's own invariants and
 * this test's (derived from the definitions alone) must hold; small limits make admission and
 * forgetting happen often.
 */
class SagaStateMachinePropertiesTest {
  static final List<String> IDS = List.of("s0", "s1", "s2", "s3");
  static final List<SagaDefinition> DEFINITIONS = List.of(
      SagaDefinition.sequential("chain")
          .step("a", ACT, UNDO, policy(2))
          .step("b", ACT, null, policy(3))
          .step("c", ACT, UNDO, policy(2))
          .build(),
      SagaDefinition.sequential("diamond")
          .add(step("a", true, 3))
          .add(step("b", true, 2, "a"))
          .add(step("c", false, 1, "a"))
          .add(step("d", true, 2, "b", "c"))
          .add(step("e", true, 1))
          .build(),
      SagaDefinition.sequential("single").step("only", ACT, UNDO, policy(1)).build());
  static final SagaStateMachine.Limits LIMITS = new SagaStateMachine.Limits(3, 2, 20_000);
  static final Set<SagaState> FORWARD = EnumSet.of(SagaState.STARTED, SagaState.STEP_EXECUTING,
      SagaState.STEP_COMPLETED, SagaState.STEP_FAILED);
  static final Set<StepState> UNDOING = EnumSet.of(StepState.COMPENSATING,
      StepState.COMPENSATED, StepState.COMPENSATION_FAILED);
  static final Set<StepState> UNDONE = EnumSet.of(StepState.COMPENSATED, StepState.SKIPPED);

  private static RetryPolicy policy(int maxAttempts) {
    return new RetryPolicy(maxAttempts, RetryPolicy.Backoff.EXPONENTIAL, Duration.ofMillis(100),
        Duration.ofMillis(400));
  }

  private static SagaStep step(String name, boolean undo, int maxAttempts, String... after) {
    return new SagaStep(name, ACT, undo ? UNDO : null, List.of(after), Duration.ofSeconds(2),
        policy(maxAttempts));
  }

  static SagaDefinition definitionOf(String sagaId) {
    return DEFINITIONS.get(IDS.indexOf(sagaId) % DEFINITIONS.size());
  }

  enum Kind { START, DUE, LATE, STALE, REPLAY, ABORT, RETRY }

  /** An action before it meets the machine: the command it becomes depends on the state. */
  record Action(Kind kind, int saga, int pick, int variant, int dtMs) {}

  @Property(tries = 600)
  void everyCommandKeepsTheInvariants(@ForAll("histories") List<Action> actions) {
    SagaStateMachine machine = new SagaStateMachine(LIMITS);
    Driver driver = new Driver();
    for (Action action : actions) {
      driver.applyChecked(machine, driver.command(action, machine));
    }
    Statistics.label("effect").coverage(coverage -> {
      for (String effect : List.of("Finished COMPLETED", "Finished ABORTED", "Finished FAILED",
          "Refused STALE", "Refused LIMIT", "Refused UNKNOWN_SAGA", "AlreadyExists",
          "TryStarted action", "TryStarted compensation", "late success of a RETRYING step",
          "late success of a FAILED step", "late success of a COMPENSATION_FAILED step")) {
        coverage.check(effect).count(n -> n >= 10);
      }
    });
  }

  @Property(tries = 150)
  void aSnapshotPlusTheRestOfTheLogGivesTheSameState(
      @ForAll("histories") List<Action> actions, @ForAll @IntRange(max = 150) int cut) {
    SagaStateMachine machine = new SagaStateMachine(LIMITS);
    Driver driver = new Driver();
    int split = Math.min(cut, actions.size());
    for (Action action : actions.subList(0, split)) {
      driver.applyChecked(machine, driver.command(action, machine));
    }
    byte[] snapshot = SagaHarness.snapshot(machine);
    SagaStateMachine restored = SagaHarness.restore(snapshot, LIMITS);
    assertThat(SagaHarness.snapshot(restored)).isEqualTo(snapshot);
    for (Action action : actions.subList(split, actions.size())) {
      SagaCommand command = driver.command(action, machine);
      List<SagaEffect> expected = driver.applyChecked(machine, command);
      assertThat(restored.apply(command)).as("after %s", command).isEqualTo(expected);
    }
    byte[] end = SagaHarness.snapshot(machine);
    assertThat(SagaHarness.snapshot(restored)).isEqualTo(end);

    SagaStateMachine replayed = new SagaStateMachine(LIMITS);
    driver.history.forEach(replayed::apply);
    assertThat(SagaHarness.snapshot(replayed)).as("a replay from the start").isEqualTo(end);
  }

  /** Turns actions into the commands a driver (or a confused one) would log, and checks them. */
  static final class Driver {
    long nowMs = 1_000;
    final List<SagaCommand> history = new ArrayList<>();
    /**
     * Successes of tries that the driver logged as failed (it gave up waiting): the real answer,
     * to be delivered late.
     */
    final List<SagaCommand> lateAnswers = new ArrayList<>();
    /** Steps of each saga whose action was logged as started: their effect may exist. */
    final Map<String, Set<String>> mayExist = new HashMap<>();

    SagaCommand command(Action a, SagaStateMachine machine) {
      nowMs += a.dtMs();
      String sagaId = IDS.get(a.saga());
      return switch (a.kind()) {
        case START -> new SagaCommand.Start(sagaId, definitionOf(sagaId),
            Map.of("n", (long) a.variant()), nowMs);
        case DUE -> dueCommand(sagaId, a, machine);
        case STALE -> staleCommand(sagaId, a);
        case LATE -> lateAnswers.isEmpty() ? staleCommand(sagaId, a)
            : lateAnswers.remove(a.pick() % lateAnswers.size());
        case REPLAY -> history.isEmpty() ? staleCommand(sagaId, a)
            : history.get(a.pick() % history.size());
        case ABORT -> new SagaCommand.Abort(sagaId, "asked " + a.variant(), nowMs);
        case RETRY -> new SagaCommand.RetryCompensations(sagaId, nowMs);
      };
    }

    /** What is due, done: a try started, or a running try answered (variant picks how). */
    private SagaCommand dueCommand(String sagaId, Action a, SagaStateMachine machine) {
      List<Due> due = machine.due(sagaId);
      if (due.isEmpty()) {
        return staleCommand(sagaId, a);
      }
      int v = a.variant() % 10;
      return switch (due.get(a.pick() % due.size())) {
        case Due.RunStep d -> new SagaCommand.StepStarted(sagaId, d.step(), d.attempt(), nowMs);
        case Due.Compensate d ->
            new SagaCommand.CompensationStarted(sagaId, d.step(), d.attempt(), nowMs);
        case Due.Timeout d when !d.compensation() -> {
          if (v < 5) {
            yield new SagaCommand.StepSucceeded(sagaId, d.step(), d.attempt(), nowMs);
          }
          if (v < 7) {
            lateAnswers.add(new SagaCommand.StepSucceeded(sagaId, d.step(), d.attempt(), nowMs));
          }
          yield new SagaCommand.StepFailed(sagaId, d.step(), d.attempt(), "failed " + v, v < 8,
              nowMs);
        }
        case Due.Timeout d -> {
          if (v < 4) {
            yield new SagaCommand.CompensationSucceeded(sagaId, d.step(), nowMs);
          }
          if (v < 6) {
            lateAnswers.add(new SagaCommand.CompensationSucceeded(sagaId, d.step(), nowMs));
          }
          yield new SagaCommand.CompensationFailed(sagaId, d.step(), d.attempt(), "undo " + v,
              nowMs);
        }
      };
    }

    /** Any step command with any attempt number: mostly refused, sometimes a late fact. */
    private SagaCommand staleCommand(String sagaId, Action a) {
      List<SagaStep> steps = definitionOf(sagaId).steps();
      String step = steps.get(a.pick() % steps.size()).name();
      int attempt = a.variant() % 4;
      return switch ((a.pick() / 7) % 6) {
        case 0 -> new SagaCommand.StepStarted(sagaId, step, attempt, nowMs);
        case 1 -> new SagaCommand.StepSucceeded(sagaId, step, attempt, nowMs);
        case 2 -> new SagaCommand.StepFailed(sagaId, step, attempt, "stale", attempt % 2 == 0,
            nowMs);
        case 3 -> new SagaCommand.CompensationStarted(sagaId, step, attempt, nowMs);
        case 4 -> new SagaCommand.CompensationSucceeded(sagaId, step, nowMs);
        default -> new SagaCommand.CompensationFailed(sagaId, step, attempt, "stale", nowMs);
      };
    }

    List<SagaEffect> applyChecked(SagaStateMachine machine, SagaCommand command) {
      assertThat(SagaHarness.encode(SagaHarness.roundTrip(command)))
          .isEqualTo(SagaHarness.encode(command));
      Map<String, SagaStatus> before = statuses(machine);
      List<SagaEffect> effects = machine.apply(command);
      history.add(command);
      machine.checkInvariants();
      Map<String, SagaStatus> after = statuses(machine);
      collectLateFacts(command, before, effects);
      for (SagaEffect effect : effects) {
        assertThat(SagaHarness.roundTrip(effect)).isEqualTo(effect);
        Statistics.label("effect").collect(label(effect));
        checkEffect(effect, before.get(effect.sagaId()), after.get(effect.sagaId()));
      }
      for (String sagaId : IDS) {
        checkSaga(sagaId, before.get(sagaId), after.get(sagaId), effects);
      }
      return effects;
    }

    /** Counts the outcomes that arrived after the saga moved on and were recorded anyway. */
    private static void collectLateFacts(SagaCommand command, Map<String, SagaStatus> before,
        List<SagaEffect> effects) {
      if (!(effects.getFirst() instanceof SagaEffect.Updated)) {
        return;
      }
      StepState was = switch (command) {
        case SagaCommand.StepSucceeded c -> stepOf(before.get(c.sagaId()), c.step()).state();
        case SagaCommand.CompensationSucceeded c ->
            stepOf(before.get(c.sagaId()), c.step()).state();
        default -> null;
      };
      if (was == StepState.RETRYING || was == StepState.FAILED
          || was == StepState.COMPENSATION_FAILED) {
        Statistics.label("effect").collect("late success of a " + was + " step");
      }
    }

    private void checkEffect(SagaEffect effect, SagaStatus before, SagaStatus after) {
      switch (effect) {
        case SagaEffect.TryStarted t when !t.compensation() -> {
          StepStatus was = stepOf(before, t.step());
          assertThat(FORWARD.contains(before.state())
                  || (was.state() == StepState.RUNNING && was.attempts() == t.attempt()))
              .as("a try of %s started while the saga is %s", t.step(), before.state()).isTrue();
          mayExist.computeIfAbsent(t.sagaId(), k -> new HashSet<>()).add(t.step());
        }
        case SagaEffect.TryStarted t ->
            assertThat(stepOf(after, t.step()).state()).isEqualTo(StepState.COMPENSATING);
        case SagaEffect.Refused r -> unchanged(before, after, r);
        case SagaEffect.AlreadyExists x -> unchanged(before, after, x);
        case SagaEffect.Finished f -> {
          assertThat(f.state()).isNotEqualTo(before == null ? null : before.state());
          assertThat(f.state()).isEqualTo(after.state());
        }
        case SagaEffect.Updated u -> assertThat(u.state()).isEqualTo(after.state());
      }
    }

    /** A saga the command did not change; retention may have forgotten a finished one. */
    private static void unchanged(SagaStatus before, SagaStatus after, SagaEffect effect) {
      if (after != null || before == null || !before.state().isTerminal()) {
        assertThat(after).as("after %s", effect).isEqualTo(before);
      }
    }

    private void checkSaga(String sagaId, SagaStatus before, SagaStatus after,
        List<SagaEffect> effects) {
      if (after == null) {
        if (before != null) {
          assertThat(before.state().isTerminal()).as("%s forgotten while %s", sagaId,
              before.state()).isTrue();
          mayExist.remove(sagaId);
        }
        return;
      }
      if (before != null && before.state().isTerminal()) {
        assertThat(after).as("%s changed after it finished", sagaId).isEqualTo(before);
      }
      boolean finished = effects.stream().anyMatch(e -> e instanceof SagaEffect.Finished f
          && f.sagaId().equals(sagaId));
      boolean turned = before != null && before.state() != after.state()
          && (after.state().isTerminal() || after.state() == SagaState.FAILED);
      assertThat(finished).as("Finished effect for %s -> %s", before, after.state())
          .isEqualTo(turned);
      checkSteps(sagaId, after);
    }

    private void checkSteps(String sagaId, SagaStatus status) {
      SagaDefinition definition = definitionOf(sagaId);
      Set<String> started = mayExist.getOrDefault(sagaId, Set.of());
      for (StepStatus step : status.steps()) {
        if (UNDOING.contains(step.state())) {
          for (String dependent : dependentsOf(definition, step.name())) {
            assertThat(stepOf(status, dependent).state())
                .as("%s/%s is %s before its dependent %s", sagaId, step.name(), step.state(),
                    dependent)
                .isIn(UNDONE);
          }
        }
        if (started.contains(step.name())) {
          assertThat(step.state()).as("%s/%s ran, so it must not be skipped", sagaId,
              step.name()).isNotEqualTo(StepState.SKIPPED);
        }
        switch (status.state()) {
          case COMPLETED -> assertThat(step.state()).isEqualTo(StepState.SUCCEEDED);
          case ABORTED -> assertThat(step.state()).as("%s/%s in an aborted saga", sagaId,
              step.name()).isEqualTo(started.contains(step.name())
                  ? StepState.COMPENSATED : StepState.SKIPPED);
          default -> { }
        }
      }
      if (status.state() == SagaState.FAILED) {
        assertThat(status.error()).contains("compensation of step");
        assertThat(status.steps()).anyMatch(s -> s.state() == StepState.COMPENSATION_FAILED);
      }
    }
  }

  /** Every step that depends on {@code step}, directly or transitively. */
  static Set<String> dependentsOf(SagaDefinition definition, String step) {
    Set<String> result = new HashSet<>();
    for (SagaStep candidate : definition.steps()) {
      for (String dependency : candidate.dependsOn()) {
        if (dependency.equals(step) || result.contains(dependency)) {
          result.add(candidate.name());
        }
      }
    }
    return result;
  }

  static Map<String, SagaStatus> statuses(SagaStateMachine machine) {
    Map<String, SagaStatus> statuses = new HashMap<>();
    for (String sagaId : IDS) {
      Optional<SagaStatus> status = machine.status(sagaId);
      status.ifPresent(s -> statuses.put(sagaId, s));
    }
    return statuses;
  }

  static StepStatus stepOf(SagaStatus status, String step) {
    return status.steps().stream().filter(s -> s.name().equals(step)).findFirst().orElseThrow();
  }

  static String label(SagaEffect effect) {
    return switch (effect) {
      case SagaEffect.Finished f -> "Finished " + f.state();
      case SagaEffect.Refused r -> "Refused " + r.reason();
      case SagaEffect.TryStarted t -> "TryStarted " + (t.compensation() ? "compensation"
          : "action");
      default -> effect.getClass().getSimpleName();
    };
  }

  @Provide
  Arbitrary<List<Action>> histories() {
    Arbitrary<Kind> kinds = Arbitraries.frequency(
        Tuple.of(3, Kind.START),
        Tuple.of(24, Kind.DUE),
        Tuple.of(3, Kind.LATE),
        Tuple.of(3, Kind.STALE),
        Tuple.of(3, Kind.REPLAY),
        Tuple.of(1, Kind.ABORT),
        Tuple.of(2, Kind.RETRY));
    Arbitrary<Action> action = Combinators.combine(
            kinds,
            Arbitraries.integers().between(0, IDS.size() - 1),
            Arbitraries.integers().between(0, 99),
            Arbitraries.integers().between(0, 99),
            Arbitraries.integers().between(0, 400))
        .as(Action::new);
    List<Action> startAll = new ArrayList<>();
    for (int i = 0; i < IDS.size(); i++) {
      startAll.add(new Action(Kind.START, i, 0, 0, 0));
    }
    return action.list().ofMinSize(10).ofMaxSize(200).map(list -> {
      List<Action> history = new ArrayList<>(startAll);
      history.addAll(list);
      return history;
    });
  }
}
