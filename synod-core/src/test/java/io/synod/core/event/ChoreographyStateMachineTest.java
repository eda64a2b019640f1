package io.synod.core.event;

import static io.synod.core.event.EventHarness.ORDER;
import static io.synod.core.event.EventHarness.published;
import static io.synod.core.event.EventHarness.types;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import io.synod.api.SynodException;
import io.synod.api.event.ChoreographyDefinition;
import io.synod.api.event.Event;
import io.synod.api.saga.SagaState;
import io.synod.api.saga.SagaStatus;
import io.synod.api.saga.StepState;
import io.synod.api.saga.StepStatus;
import io.synod.core.event.EventEffect.Refused.Reason;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Choreographed sagas followed on the bus by correlation id. */
class ChoreographyStateMachineTest {
  private final EventHarness h = new EventHarness();

  @Test
  void aStartPublishesTheFirstRequestAndAwaitsItsAnswer() {
    List<EventEffect> effects = h.start("o1", ORDER);

    assertThat(effects).containsExactly(
        new EventEffect.Published(new Event("inventory.reserve", "o1", Map.of("order", "o-1"),
            1_000, 1)),
        new EventEffect.Awaiting("o1", "inventory", 6_000));
    assertThat(status("o1").state()).isEqualTo(SagaState.STEP_EXECUTING);
    assertThat(status("o1").steps()).extracting(StepStatus::state)
        .containsExactly(StepState.RUNNING, StepState.PENDING, StepState.PENDING);
    assertThat(h.machine.activeChoreographies()).containsExactly("o1");
  }

  @Test
  void eachDoneAnswerPublishesTheNextRequestWithItsPayloadAndTheLastCompletes() {
    h.start("o1", ORDER);
    h.nowMs = 2_000;
    List<EventEffect> reserved = h.publish("inventory.reserved", "o1", Map.of("hold", "h7"));
    assertThat(published(reserved)).extracting(Event::type, Event::payload).containsExactly(
        tuple("inventory.reserved", Map.of("hold", "h7")),
        tuple("payment.charge", Map.of("hold", "h7")));
    assertThat(reserved).contains(new EventEffect.Awaiting("o1", "payment", 7_000));

    h.publish("payment.charged", "o1");
    List<EventEffect> shipped = h.publish("shipping.shipped", "o1");

    assertThat(shipped).last().isEqualTo(new EventEffect.Finished("o1", SagaState.COMPLETED,
        null));
    assertThat(status("o1").state()).isEqualTo(SagaState.COMPLETED);
    assertThat(status("o1").steps()).extracting(StepStatus::state)
        .containsOnly(StepState.SUCCEEDED);
    assertThat(h.machine.activeChoreographies()).isEmpty();
    assertThat(h.machine.after(0, 100)).extracting(Event::type).containsExactly(
        "inventory.reserve", "inventory.reserved", "payment.charge", "payment.charged",
        "shipping.ship", "shipping.shipped");
  }

  @Test
  void aStepThatNeverAnswersTimesOutAndCompletedStepsAreCompensatedInReverse() {
    h.start("o1", ORDER);
    h.publish("inventory.reserved", "o1");
    h.publish("payment.charged", "o1"); // shipping.ship goes out at 1 000, timeout 2 s

    h.nowMs = 2_999;
    assertThat(h.timeOut("o1", "shipping")).singleElement()
        .isInstanceOfSatisfying(EventEffect.Refused.class, r -> {
          assertThat(r.reason()).isEqualTo(Reason.STALE);
          assertThat(r.message()).contains("deadline 3000 is not reached");
        });
    h.nowMs = 3_000;
    List<EventEffect> effects = h.timeOut("o1", "shipping");

    assertThat(types(effects)).containsExactly("shipping.cancel", "payment.refund",
        "inventory.release");
    assertThat(published(effects)).allSatisfy(e -> {
      assertThat(e.correlationId()).isEqualTo("o1");
      assertThat(e.payload()).isEqualTo(Map.of("order", "o-1"));
    });
    SagaStatus status = status("o1");
    assertThat(effects).last().isEqualTo(new EventEffect.Finished("o1", SagaState.ABORTED,
        status.error()));
    assertThat(status.state()).isEqualTo(SagaState.ABORTED);
    assertThat(status.error()).isEqualTo("step 'shipping' timed out: no 'shipping.shipped'"
        + " within PT2S");
    assertThat(status.steps()).extracting(StepStatus::state).containsOnly(StepState.COMPENSATED);
    assertThat(status.steps().get(2).lastError()).isEqualTo("no answer within PT2S");

    assertThat(h.timeOut("o1", "shipping")).singleElement()
        .isInstanceOfSatisfying(EventEffect.Refused.class,
            r -> assertThat(r.reason()).isEqualTo(Reason.STALE));
    assertThat(h.publish("shipping.shipped", "o1")).as("a late answer changes nothing")
        .hasSize(1);
    assertThat(status("o1")).isEqualTo(status);
  }

  @Test
  void aFailedAnswerCompensatesThatStepAndTheOnesBeforeAndSkipsTheRest() {
    h.start("o1", ORDER);
    h.publish("inventory.reserved", "o1");
    List<EventEffect> effects = h.publish("payment.declined", "o1", Map.of("why", "card"));

    assertThat(types(effects)).containsExactly("payment.declined", "payment.refund",
        "inventory.release");
    SagaStatus status = status("o1");
    assertThat(status.state()).isEqualTo(SagaState.ABORTED);
    assertThat(status.error()).contains("step 'payment' failed")
        .contains("'payment.declined'").contains("why=card");
    assertThat(status.steps()).extracting(StepStatus::state).containsExactly(
        StepState.COMPENSATED, StepState.COMPENSATED, StepState.SKIPPED);
    assertThat(status.steps()).extracting(StepStatus::attempts).containsExactly(1, 1, 0);
    assertThat(status.steps()).extracting(StepStatus::compensationAttempts)
        .containsExactly(1, 1, 0);
  }

  @Test
  void answersMatchOnlyTheAwaitedStepOfTheirOwnCorrelationId() {
    h.start("o1", ORDER);
    h.start("o2", ORDER);

    assertThat(h.publish("payment.charged", "o1")).as("not the awaited step").hasSize(1);
    assertThat(h.publish("inventory.reserved", "other")).as("no such saga").hasSize(1);
    assertThat(h.publish("inventory.unknown-type", "o1")).hasSize(1);
    assertThat(types(h.publish("inventory.reserved", "o2")))
        .containsExactly("inventory.reserved", "payment.charge");

    assertThat(status("o1").steps().getFirst().state()).isEqualTo(StepState.RUNNING);
    assertThat(status("o2").steps().get(1).state()).isEqualTo(StepState.RUNNING);
  }

  @Test
  void aStepWhoseRequestIsThePreviousAnswerIsNotPublishedTwice() {
    ChoreographyDefinition chained = ChoreographyDefinition.builder("chain")
        .step("create", "order.create", "order.created", null, "order.cancel",
            Duration.ofSeconds(1))
        .step("pay", "order.created", "order.paid", null, "order.refund", Duration.ofSeconds(1))
        .build();
    h.start("c1", chained);

    List<EventEffect> effects = h.publish("order.created", "c1");

    assertThat(types(effects)).containsExactly("order.created");
    assertThat(effects).contains(new EventEffect.Awaiting("c1", "pay", 2_000));
    assertThat(types(h.publish("order.paid", "c1"))).containsExactly("order.paid");
    assertThat(status("c1").state()).isEqualTo(SagaState.COMPLETED);
  }

  @Test
  void aStepWithoutCompensationIsMarkedCompensatedWithoutAnEvent() {
    ChoreographyDefinition definition = ChoreographyDefinition.builder("notify")
        .step("note", "note.send", "note.sent", null, null, Duration.ofSeconds(1))
        .step("pay", "pay.charge", "pay.charged", "pay.failed", "pay.refund",
            Duration.ofSeconds(1))
        .build();
    h.start("n1", definition);
    h.publish("note.sent", "n1");

    assertThat(types(h.publish("pay.failed", "n1"))).containsExactly("pay.failed", "pay.refund");
    assertThat(status("n1").steps()).extracting(StepStatus::state)
        .containsOnly(StepState.COMPENSATED);
    assertThat(status("n1").steps()).extracting(StepStatus::compensationAttempts)
        .containsExactly(0, 1);
  }

  @Test
  void anAbortCompensatesTheAwaitedStepTooAndOnlyOnce() {
    h.start("o1", ORDER);
    h.publish("inventory.reserved", "o1");

    List<EventEffect> effects = h.apply(new EventCommand.Abort("o1", "customer left", h.nowMs));

    assertThat(types(effects)).containsExactly("payment.refund", "inventory.release");
    assertThat(status("o1").error()).isEqualTo("aborted: customer left");
    assertThat(h.apply(new EventCommand.Abort("o1", "again", h.nowMs))).singleElement()
        .isInstanceOfSatisfying(EventEffect.Refused.class,
            r -> assertThat(r.reason()).isEqualTo(Reason.STALE));
    assertThat(h.apply(new EventCommand.Abort("nope", "x", h.nowMs))).singleElement()
        .isInstanceOfSatisfying(EventEffect.Refused.class,
            r -> assertThat(r.reason()).isEqualTo(Reason.UNKNOWN));
  }

  @Test
  void aKnownCorrelationIdStartsNothingAndActiveSagasAreBounded() {
    EventHarness small = new EventHarness(new EventStateMachine.Limits(100, 64L << 20, 60_000,
        10, 60_000, 1, 10, 60_000));
    small.start("o1", ORDER);

    assertThat(small.start("o1", ORDER)).containsExactly(
        new EventEffect.AlreadyExists("o1", SagaState.STEP_EXECUTING));
    assertThat(small.start("o2", ORDER)).singleElement()
        .isInstanceOfSatisfying(EventEffect.Refused.class,
            r -> assertThat(r.reason()).isEqualTo(Reason.LIMIT));
    assertThat(small.machine.lastOffset()).isEqualTo(1);
  }

  @Test
  void finishedSagasAreForgottenAfterTheirRetention() {
    EventHarness small = new EventHarness(new EventStateMachine.Limits(100, 64L << 20, 600_000,
        10, 600_000, 10, 1, 10_000));
    small.start("o1", ORDER);
    small.apply(new EventCommand.Abort("o1", "x", small.nowMs));
    small.start("o2", ORDER);
    small.apply(new EventCommand.Abort("o2", "x", small.nowMs));
    assertThat(small.machine.choreography("o1")).as("beyond finishedMax").isEmpty();
    assertThat(small.machine.choreography("o2")).isPresent();

    small.nowMs += 10_001;
    small.publish("tick", "t");
    assertThat(small.machine.choreography("o2")).as("past the retention").isEmpty();
  }

  @Test
  void aNewLeaderFindsEveryAwaitedStepAndItsDeadline() {
    h.start("o1", ORDER);
    h.nowMs = 1_500;
    h.start("o2", ORDER);
    h.publish("inventory.reserved", "o2");

    assertThat(h.machine.awaiting()).containsExactly(
        new EventEffect.Awaiting("o1", "inventory", 6_000),
        new EventEffect.Awaiting("o2", "payment", 6_500));
  }

  @Test
  void aSnapshotGivesBackTheSameSagas() {
    h.start("o1", ORDER);
    h.publish("inventory.reserved", "o1", Map.of("hold", "h1"));
    h.start("o2", ORDER);
    h.publish("inventory.unavailable", "o2");
    h.start("o3", ORDER);
    byte[] snapshot = h.snapshot();

    EventStateMachine copy = EventHarness.read(snapshot,
        in -> EventStateMachine.readSnapshot(in, EventStateMachine.Limits.DEFAULTS));

    assertThat(EventHarness.bytes(copy::writeSnapshot)).isEqualTo(snapshot);
    for (String id : List.of("o1", "o2", "o3")) {
      assertThat(copy.choreography(id)).isEqualTo(h.machine.choreography(id));
    }
    assertThat(copy.awaiting()).isEqualTo(h.machine.awaiting());
    EventCommand next = new EventCommand.Publish("payment.charged", "o1", Map.of(), h.nowMs);
    assertThat(copy.apply(next)).isEqualTo(h.machine.apply(next));
  }

  @Test
  void aDefinitionNamesEachEventTypeOnce() {
    assertThatThrownBy(() -> ChoreographyDefinition.builder("d")
        .step("a", "x.do", "x.done", null, null, Duration.ofSeconds(1))
        .step("b", "y.do", "x.done", null, null, Duration.ofSeconds(1))
        .build())
        .isInstanceOf(SynodException.class).hasMessageContaining("steps[1].done")
        .hasMessageContaining("used twice");
    assertThatThrownBy(() -> ChoreographyDefinition.builder("d")
        .step("a", "x.do", "x.done", null, null, Duration.ofSeconds(1))
        .step("b", "x.do", "y.done", null, null, Duration.ofSeconds(1))
        .build())
        .isInstanceOf(SynodException.class).hasMessageContaining("steps[1].on");
    assertThatThrownBy(() -> ChoreographyDefinition.builder("d")
        .step("a", "x.do", "x.done", null, null, Duration.ZERO).build())
        .isInstanceOf(SynodException.class).hasMessageContaining("steps[0].timeout");
  }

  @Test
  void corruptBytesAreRefusedWithAnIoException() {
    byte[] command = EventHarness.bytes(out -> EventCodec.writeCommand(out,
        new EventCommand.Publish("a", "c", Map.of(), 1)));
    command[1] = 99;
    assertThatThrownBy(() -> EventHarness.read(command, EventCodec::readCommand))
        .hasRootCauseInstanceOf(IOException.class)
        .hasMessageContaining("unknown event command tag 99");
    byte[] snapshot = h.snapshot();
    snapshot[0] = 7;
    assertThatThrownBy(() -> EventHarness.read(snapshot,
        in -> EventStateMachine.readSnapshot(in, EventStateMachine.Limits.DEFAULTS)))
        .hasMessageContaining("event snapshot version 7");
  }

  private SagaStatus status(String correlationId) {
    return h.machine.choreography(correlationId).orElseThrow();
  }
}
