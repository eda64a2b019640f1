package io.synod.core.event;

import static org.assertj.core.api.Assertions.assertThat;

import io.synod.api.event.ChoreographyDefinition;
import io.synod.api.event.ChoreographyStep;
import io.synod.api.event.Event;
import io.synod.api.saga.SagaState;
import io.synod.api.saga.StepState;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.statistics.Statistics;

/**
 * Random histories on the bus: sagas started, services answering any step (right, wrong, late,
 * twice), the leader's clock moving and timing steps out (early too), aborts, other traffic and
 * acknowledgements. After every command the machine's invariants hold and the command and
 * effects survive the codec (the harness checks); over the whole history, what was published
 * must tell a consistent story for every saga.
 */
class ChoreographyPropertiesTest {
  static final List<String> IDS = List.of("o0", "o1", "o2");
  static final ChoreographyDefinition CHAINED = ChoreographyDefinition.builder("chained")
      .step("a", "a.go", "a.ok", "a.no", "a.undo", Duration.ofMillis(300))
      .step("b", "a.ok", "b.ok", null, null, Duration.ofMillis(200))
      .step("c", "c.go", "c.ok", "c.no", "c.undo", Duration.ofMillis(100))
      .build();
  static final EventStateMachine.Limits LIMITS = new EventStateMachine.Limits(20, 64L << 20,
      2_000, 2, 1_000, 2, 1, 1_500);

  enum Kind { START, DONE, FAILED, NOISE, TIMEOUT, ABORT, ACK, WAIT }

  record Action(Kind kind, int saga, int step, int dtMs) {}

  @Provide
  Arbitrary<List<Action>> histories() {
    Arbitrary<Kind> kinds = Arbitraries.frequency(Tuple.of(3, Kind.START), Tuple.of(8, Kind.DONE),
        Tuple.of(1, Kind.FAILED), Tuple.of(1, Kind.NOISE), Tuple.of(2, Kind.TIMEOUT),
        Tuple.of(1, Kind.ABORT), Tuple.of(1, Kind.ACK), Tuple.of(2, Kind.WAIT));
    // step 3 stands for the step the saga awaits now, so that answers often fit
    Arbitrary<Action> action = Combinators.combine(kinds,
        Arbitraries.integers().between(0, IDS.size() - 1), Arbitraries.integers().between(0, 3),
        Arbitraries.integers().between(0, 250)).as(Action::new);
    return action.list().ofMinSize(10).ofMaxSize(80);
  }

  @Property(tries = 300)
  void everySagaTellsAConsistentStory(@ForAll("histories") List<Action> history) {
    EventHarness h = new EventHarness(LIMITS);
    List<EventEffect> all = new ArrayList<>();
    for (Action action : history) {
      h.nowMs += action.dtMs();
      List<EventEffect> effects = h.apply(command(h, action));
      all.addAll(effects);
      assertThat(h.machine.activeChoreographies()).hasSizeLessThanOrEqualTo(
          LIMITS.choreographiesActiveMax());
      assertThat(h.machine.after(0, 1_000)).hasSizeLessThanOrEqualTo(LIMITS.eventsRetainedMax());
    }
    checkStory(all);
    EventStateMachine copy = EventHarness.read(h.snapshot(),
        in -> EventStateMachine.readSnapshot(in, LIMITS));
    assertThat(EventHarness.bytes(copy::writeSnapshot)).isEqualTo(h.snapshot());
  }

  private static EventCommand command(EventHarness h, Action a) {
    String id = IDS.get(a.saga());
    ChoreographyDefinition definition = definitionOf(id);
    ChoreographyStep step = definition.steps().get(a.step() < 3 ? a.step() : awaited(h, id));
    return switch (a.kind()) {
      case START -> new EventCommand.Start(id, definition, Map.of("n", id), h.nowMs);
      case DONE -> new EventCommand.Publish(step.done(), id, Map.of(), h.nowMs);
      case FAILED -> new EventCommand.Publish(step.failed() == null ? step.done() : step.failed(),
          id, Map.of(), h.nowMs);
      case NOISE -> new EventCommand.Publish("noise", id, Map.of(), h.nowMs);
      case TIMEOUT -> new EventCommand.TimeOut(id, step.name(), h.nowMs);
      case ABORT -> new EventCommand.Abort(id, "test", h.nowMs);
      case ACK -> new EventCommand.Acknowledge("g" + a.saga(),
          Math.min(h.machine.lastOffset(), a.dtMs()), h.nowMs);
      case WAIT -> new EventCommand.Publish("tick", "clock", Map.of(), h.nowMs);
    };
  }

  private static int awaited(EventHarness h, String id) {
    return h.machine.choreography(id).map(status -> status.steps().stream()
        .map(step -> step.state()).toList().indexOf(StepState.RUNNING)).filter(i -> i >= 0)
        .orElse(0);
  }

  static ChoreographyDefinition definitionOf(String id) {
    return id.equals("o1") ? CHAINED : EventHarness.ORDER;
  }

  /**
   * Offsets are consecutive; per saga life (from its start to its end): a step's request comes
   * once, in step order, after the previous step's done; compensations come only for requested
   * steps, in reverse step order, each once, and right before the saga's end, after which
   * nothing more is published for it.
   */
  private static void checkStory(List<EventEffect> effects) {
    long offset = 0;
    Map<String, Life> lives = new HashMap<>();
    for (EventEffect effect : effects) {
      switch (effect) {
        case EventEffect.Published p -> {
          assertThat(p.event().offset()).isEqualTo(++offset);
          Life life = lives.get(p.event().correlationId());
          if (life != null) {
            life.see(p.event());
          }
        }
        case EventEffect.Awaiting w -> lives.computeIfAbsent(w.correlationId(), Life::new)
            .await(w.step());
        case EventEffect.Finished f -> {
          lives.remove(f.correlationId()).finish(f.state());
          Statistics.label("saga ends").collect(f.error() == null ? "completed"
              : f.error().startsWith("aborted") ? "aborted"
              : f.error().contains("timed out") ? "timed out" : "failed");
        }
        default -> { }
      }
    }
  }

  /** What one saga published from its start, checked as it goes. */
  static final class Life {
    final ChoreographyDefinition definition;
    final List<String> requested = new ArrayList<>();
    final List<Integer> compensated = new ArrayList<>();
    final Set<String> synodTypes = new HashSet<>();

    Life(String id) {
      this.definition = definitionOf(id);
      for (ChoreographyStep step : definition.steps()) {
        synodTypes.add(step.on());
        if (step.compensate() != null) {
          synodTypes.add(step.compensate());
        }
      }
    }

    void await(String step) {
      assertThat(step).isEqualTo(definition.steps().get(requested.size()).name());
      assertThat(compensated).isEmpty();
      requested.add(step);
    }

    void see(Event event) {
      int index = indexOfCompensation(event.type());
      if (index >= 0) {
        assertThat(index).isLessThan(requested.size());
        assertThat(compensated).allMatch(earlier -> earlier > index);
        compensated.add(index);
      }
    }

    private int indexOfCompensation(String type) {
      for (int i = 0; i < definition.steps().size(); i++) {
        if (type.equals(definition.steps().get(i).compensate())) {
          return i;
        }
      }
      return -1;
    }

    void finish(SagaState state) {
      if (state == SagaState.COMPLETED) {
        assertThat(requested).hasSize(definition.steps().size());
        assertThat(compensated).isEmpty();
        return;
      }
      assertThat(state).isEqualTo(SagaState.ABORTED);
      List<Integer> expected = new ArrayList<>();
      for (int i = requested.size() - 1; i >= 0; i--) {
        if (definition.steps().get(i).compensate() != null) {
          expected.add(i);
        }
      }
      assertThat(compensated).isEqualTo(expected);
    }
  }
}
