package io.synod.core.saga;

import static io.synod.core.saga.SagaHarness.ACT;
import static io.synod.core.saga.SagaHarness.UNDO;
import static io.synod.core.saga.SagaHarness.retry;
import static org.assertj.core.api.Assertions.assertThat;

import io.synod.api.saga.SagaDefinition;
import io.synod.api.saga.SagaState;
import io.synod.api.saga.SagaStatus;
import io.synod.api.saga.SagaStep;
import io.synod.api.saga.StepState;
import io.synod.core.saga.SagaEffect.Refused.Reason;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class SagaStateMachineTest {
  private final SagaHarness h = new SagaHarness();

  private static SagaDefinition sequential(int maxAttempts, String... steps) {
    SagaDefinition.Builder builder = SagaDefinition.sequential("order");
    for (String step : steps) {
      builder.step(step, ACT, UNDO, retry(maxAttempts));
    }
    return builder.build();
  }

  private static SagaStep step(String name, boolean undo, String... dependsOn) {
    return new SagaStep(name, ACT, undo ? UNDO : null,
        List.of(dependsOn), Duration.ofSeconds(5), retry(2));
  }

  @Test
  void threeSequentialStepsCompleteOneAfterAnother() {
    assertThat(h.start("s1", sequential(3, "reserve", "charge", "ship"))).containsExactly(
        new SagaEffect.Updated("s1", SagaState.STARTED,
            List.of(new Due.RunStep("s1", "reserve", 1, 1_000))));
    h.nowMs = 1_010;
    assertThat(h.started("s1", "reserve", 1)).containsExactly(
        new SagaEffect.TryStarted("s1", "reserve", 1, false),
        new SagaEffect.Updated("s1", SagaState.STEP_EXECUTING,
            List.of(new Due.Timeout("s1", "reserve", 1, false, 31_010))));
    assertThat(h.succeeded("s1", "reserve", 1)).containsExactly(
        new SagaEffect.Updated("s1", SagaState.STEP_COMPLETED,
            List.of(new Due.RunStep("s1", "charge", 1, 1_000))));
    h.runs("s1", "charge");
    assertThat(h.state("s1")).isEqualTo(SagaState.STEP_COMPLETED);
    assertThat(h.due("s1")).containsExactly(new Due.RunStep("s1", "ship", 1, 1_000));

    h.nowMs = 2_000;
    h.started("s1", "ship", 1);
    assertThat(h.succeeded("s1", "ship", 1)).containsExactly(
        new SagaEffect.Updated("s1", SagaState.COMPLETED, List.of()),
        new SagaEffect.Finished("s1", SagaState.COMPLETED, null));

    SagaStatus status = h.status("s1");
    assertThat(status.steps()).allSatisfy(s -> {
      assertThat(s.state()).isEqualTo(StepState.SUCCEEDED);
      assertThat(s.attempts()).isEqualTo(1);
    });
    assertThat(status.error()).isNull();
    assertThat(status.createdAtMs()).isEqualTo(1_000);
    assertThat(status.updatedAtMs()).isEqualTo(2_000);
    assertThat(h.machine.active()).isEmpty();
    assertThat(h.due("s1")).isEmpty();
  }

  @Test
  void independentStepsAreDueTogetherAndAJoinWaitsForAll() {
    SagaDefinition trip = SagaDefinition.sequential("trip")
        .add(step("flight", true))
        .add(step("hotel", true))
        .add(step("car", true, "flight"))
        .add(step("invoice", false, "hotel", "car"))
        .build();
    h.start("t", trip);
    assertThat(h.due("t")).containsExactly(
        new Due.RunStep("t", "flight", 1, 1_000), new Due.RunStep("t", "hotel", 1, 1_000));

    h.started("t", "flight", 1);
    h.started("t", "hotel", 1);
    assertThat(h.due("t")).containsExactly(new Due.Timeout("t", "flight", 1, false, 6_000),
        new Due.Timeout("t", "hotel", 1, false, 6_000));
    h.succeeded("t", "flight", 1);
    assertThat(h.state("t")).isEqualTo(SagaState.STEP_EXECUTING);
    assertThat(h.due("t")).containsExactly(new Due.Timeout("t", "hotel", 1, false, 6_000),
        new Due.RunStep("t", "car", 1, 1_000));
    assertThat(h.started("t", "invoice", 1)).singleElement()
        .isInstanceOfSatisfying(SagaEffect.Refused.class,
            r -> assertThat(r.message()).contains("depends on has not succeeded"));

    h.succeeded("t", "hotel", 1);
    assertThat(h.due("t")).containsExactly(new Due.RunStep("t", "car", 1, 1_000));
    h.runs("t", "car");
    assertThat(h.due("t")).containsExactly(new Due.RunStep("t", "invoice", 1, 1_000));
    h.runs("t", "invoice");
    assertThat(h.state("t")).isEqualTo(SagaState.COMPLETED);
  }

  @Test
  void aStepRetriesAfterItsBackoffUntilItSucceeds() {
    h.start("s", sequential(3, "pay"));
    h.nowMs = 2_000;
    h.started("s", "pay", 1);
    h.nowMs = 3_000;
    assertThat(h.failed("s", "pay", 1, true)).containsExactly(
        new SagaEffect.Updated("s", SagaState.STEP_FAILED,
            List.of(new Due.RunStep("s", "pay", 2, 4_000))));
    assertThat(h.step("s", "pay").state()).isEqualTo(StepState.RETRYING);
    assertThat(h.step("s", "pay").lastError()).isEqualTo("boom 1");

    h.nowMs = 4_000;
    h.started("s", "pay", 2);
    h.nowMs = 5_000;
    h.failed("s", "pay", 2, true);
    assertThat(h.due("s")).containsExactly(new Due.RunStep("s", "pay", 3, 7_000));

    h.nowMs = 7_000;
    h.started("s", "pay", 3);
    h.succeeded("s", "pay", 3);
    assertThat(h.state("s")).isEqualTo(SagaState.COMPLETED);
    assertThat(h.step("s", "pay").attempts()).isEqualTo(3);
  }

  @Test
  void exhaustedRetriesCompensateInReverseOnlyTheStepsWhoseEffectMayExist() {
    h.start("s", sequential(2, "a", "b", "c", "d"));
    h.runs("s", "a");
    h.runs("s", "b");
    h.started("s", "c", 1);
    h.failed("s", "c", 1, true);
    h.started("s", "c", 2);
    h.nowMs = 9_000;
    String why = "step 'c' failed after 2 tries: boom 2";
    assertThat(h.failed("s", "c", 2, true)).containsExactly(
        new SagaEffect.Updated("s", SagaState.COMPENSATING,
            List.of(new Due.Compensate("s", "c", 1, 9_000))));
    assertThat(h.status("s").error()).isEqualTo(why);
    assertThat(h.stepState("s", "c")).isEqualTo(StepState.FAILED);
    assertThat(h.stepState("s", "d")).isEqualTo(StepState.SKIPPED);

    // b is undone only after c, a only after b.
    assertThat(h.compensationStarted("s", "b", 1)).singleElement()
        .isInstanceOfSatisfying(SagaEffect.Refused.class,
            r -> assertThat(r.reason()).isEqualTo(Reason.STALE));
    h.compensates("s", "c");
    assertThat(h.due("s")).extracting(Due::step).containsExactly("b");
    h.compensates("s", "b");
    assertThat(h.due("s")).extracting(Due::step).containsExactly("a");
    h.compensationStarted("s", "a", 1);
    assertThat(h.compensationSucceeded("s", "a")).containsExactly(
        new SagaEffect.Updated("s", SagaState.ABORTED, List.of()),
        new SagaEffect.Finished("s", SagaState.ABORTED, why));

    assertThat(h.status("s").steps()).extracting(s -> s.state()).containsExactly(
        StepState.COMPENSATED, StepState.COMPENSATED, StepState.COMPENSATED, StepState.SKIPPED);
    assertThat(h.step("s", "d").attempts()).isZero();
    assertThat(h.machine.active()).isEmpty();
  }

  @Test
  void aFailureThatIsNotRetryableCompensatesAtOnce() {
    h.start("s", sequential(3, "a"));
    h.started("s", "a", 1);
    h.failed("s", "a", 1, false);
    assertThat(h.state("s")).isEqualTo(SagaState.COMPENSATING);
    assertThat(h.status("s").error()).isEqualTo("step 'a' failed (not retryable): boom 1");
    assertThat(h.due("s")).containsExactly(new Due.Compensate("s", "a", 1, 1_000));
  }

  @Test
  void aCompensationFailingForGoodFailsTheSagaUntilRecoveryRetriesIt() {
    h.start("s", sequential(2, "a", "b"));
    h.runs("s", "a");
    h.started("s", "b", 1);
    h.failed("s", "b", 1, false);
    h.nowMs = 10_000;
    h.compensationStarted("s", "b", 1);
    assertThat(h.due("s")).containsExactly(new Due.Timeout("s", "b", 1, true, 40_000));
    h.nowMs = 11_000;
    h.compensationFailed("s", "b", 1);
    assertThat(h.stepState("s", "b")).isEqualTo(StepState.COMPENSATING);
    assertThat(h.due("s")).containsExactly(new Due.Compensate("s", "b", 2, 12_000));

    h.nowMs = 12_000;
    h.compensationStarted("s", "b", 2);
    h.nowMs = 13_000;
    List<SagaEffect> effects = h.compensationFailed("s", "b", 2);
    assertThat(effects).hasSize(2);
    assertThat(effects.get(0)).isEqualTo(new SagaEffect.Updated("s", SagaState.FAILED,
        List.of()));
    assertThat(effects.get(1)).isInstanceOfSatisfying(SagaEffect.Finished.class, f -> {
      assertThat(f.state()).isEqualTo(SagaState.FAILED);
      assertThat(f.error()).contains("compensation of step 'b' failed after 2 tries: undo"
          + " failed 2", "step 'b' failed (not retryable)");
    });
    assertThat(h.stepState("s", "b")).isEqualTo(StepState.COMPENSATION_FAILED);
    assertThat(h.stepState("s", "a")).isEqualTo(StepState.SUCCEEDED);
    assertThat(h.machine.active()).containsExactly("s");
    assertThat(h.due("s")).isEmpty();

    h.nowMs = 20_000;
    assertThat(h.retryCompensations("s")).containsExactly(new SagaEffect.Updated("s",
        SagaState.COMPENSATING, List.of(new Due.Compensate("s", "b", 3, 20_000))));
    assertThat(h.step("s", "b").compensationAttempts()).isEqualTo(2);
    h.compensates("s", "b");
    h.compensates("s", "a");
    assertThat(h.state("s")).isEqualTo(SagaState.ABORTED);
    assertThat(h.status("s").error()).isEqualTo("step 'b' failed (not retryable): boom 1");
    assertThat(h.retryCompensations("s")).singleElement()
        .isInstanceOfSatisfying(SagaEffect.Refused.class,
            r -> assertThat(r.reason()).isEqualTo(Reason.STALE));
  }

  @Test
  void otherCompensationsGoOnWhileOneHasFailedForGood() {
    SagaDefinition fork = SagaDefinition.sequential("fork")
        .add(step("a", true))
        .add(step("b", true, "a"))
        .add(step("c", true, "a"))
        .build();
    h.start("f", fork);
    h.runs("f", "a");
    h.runs("f", "b");
    h.started("f", "c", 1);
    h.failed("f", "c", 1, false);
    assertThat(h.due("f")).extracting(Due::step).containsExactly("c", "b");
    h.compensationStarted("f", "b", 1);
    h.compensationFailed("f", "b", 1);
    h.compensationStarted("f", "b", 2);
    h.compensationFailed("f", "b", 2);
    assertThat(h.stepState("f", "b")).isEqualTo(StepState.COMPENSATION_FAILED);
    assertThat(h.state("f")).isEqualTo(SagaState.COMPENSATING);
    h.compensates("f", "c");
    assertThat(h.state("f")).isEqualTo(SagaState.FAILED);
    assertThat(h.stepState("f", "a")).isEqualTo(StepState.SUCCEEDED);
  }

  @Test
  void aLateCompensationSuccessEndsAFailedSaga() {
    h.start("s", sequential(1, "a"));
    h.started("s", "a", 1);
    h.failed("s", "a", 1, true);
    h.compensationStarted("s", "a", 1);
    h.compensationFailed("s", "a", 1);
    assertThat(h.state("s")).isEqualTo(SagaState.FAILED);
    assertThat(h.compensationSucceeded("s", "a")).containsExactly(
        new SagaEffect.Updated("s", SagaState.ABORTED, List.of()),
        new SagaEffect.Finished("s", SagaState.ABORTED, "step 'a' failed after 1 tries: boom 1"));
  }

  @Test
  void anAbortWaitsForTheRunningTryAndCompensatesItsLateSuccess() {
    h.start("s", sequential(3, "a", "b", "c"));
    h.runs("s", "a");
    h.started("s", "b", 1);
    assertThat(h.abort("s")).containsExactly(new SagaEffect.Updated("s", SagaState.COMPENSATING,
        List.of(new Due.Timeout("s", "b", 1, false, 31_000))));
    assertThat(h.stepState("s", "c")).isEqualTo(StepState.SKIPPED);
    assertThat(h.started("s", "c", 1)).singleElement()
        .isInstanceOfSatisfying(SagaEffect.Refused.class,
            r -> assertThat(r.message()).contains("compensating: no new tries"));
    assertThat(h.compensationStarted("s", "b", 1)).singleElement()
        .isInstanceOf(SagaEffect.Refused.class);

    h.succeeded("s", "b", 1);
    assertThat(h.stepState("s", "b")).isEqualTo(StepState.SUCCEEDED);
    assertThat(h.due("s")).extracting(Due::step).containsExactly("b");
    h.compensates("s", "b");
    h.compensates("s", "a");
    assertThat(h.state("s")).isEqualTo(SagaState.ABORTED);
    assertThat(h.status("s").error()).isEqualTo("aborted: user asked");
    assertThat(h.abort("s")).singleElement().isInstanceOfSatisfying(SagaEffect.Refused.class,
        r -> assertThat(r.reason()).isEqualTo(Reason.STALE));
  }

  @Test
  void aRunningTryThatFailsAfterTheAbortIsCompensatedToo() {
    h.start("s", sequential(3, "a"));
    h.started("s", "a", 1);
    h.abort("s");
    h.failed("s", "a", 1, true);
    assertThat(h.stepState("s", "a")).isEqualTo(StepState.FAILED);
    assertThat(h.due("s")).containsExactly(new Due.Compensate("s", "a", 1, 1_000));
  }

  @Test
  void anAbortWhileRetryingCompensatesTheStepAndALateSuccessIsRecorded() {
    h.start("s", sequential(3, "a", "b"));
    h.started("s", "a", 1);
    h.failed("s", "a", 1, true);
    h.abort("s");
    assertThat(h.stepState("s", "a")).isEqualTo(StepState.FAILED);
    assertThat(h.due("s")).extracting(Due::step).containsExactly("a");
    h.succeeded("s", "a", 1); // the first try's answer, late: it did take effect
    assertThat(h.stepState("s", "a")).isEqualTo(StepState.SUCCEEDED);
    h.compensates("s", "a");
    assertThat(h.state("s")).isEqualTo(SagaState.ABORTED);
  }

  @Test
  void anAbortBeforeAnyStepRanAbortsAtOnce() {
    h.start("s", sequential(3, "a", "b"));
    assertThat(h.abort("s")).containsExactly(
        new SagaEffect.Updated("s", SagaState.ABORTED, List.of()),
        new SagaEffect.Finished("s", SagaState.ABORTED, "aborted: user asked"));
    assertThat(h.status("s").steps()).allSatisfy(
        s -> assertThat(s.state()).isEqualTo(StepState.SKIPPED));
    assertThat(h.abort("unknown")).singleElement()
        .isInstanceOfSatisfying(SagaEffect.Refused.class,
            r -> assertThat(r.reason()).isEqualTo(Reason.UNKNOWN_SAGA));
  }

  @Test
  void aTimedOutTryIsRetriedAndItsLateSuccessCounts() {
    h.start("s", sequential(3, "a", "b"));
    h.started("s", "a", 1);
    h.nowMs = 31_000;
    h.apply(new SagaCommand.StepFailed("s", "a", 1, "no answer within 30s", true, h.nowMs));
    assertThat(h.stepState("s", "a")).isEqualTo(StepState.RETRYING);
    h.succeeded("s", "a", 1);
    assertThat(h.stepState("s", "a")).isEqualTo(StepState.SUCCEEDED);
    assertThat(h.due("s")).containsExactly(new Due.RunStep("s", "b", 1, 1_000));
  }

  @Test
  void staleAndDuplicateCommandsChangeNothing() {
    h.start("s", sequential(3, "a", "b"));
    h.started("s", "a", 1);
    byte[] before = SagaHarness.snapshot(h.machine);

    assertThat(h.started("s", "a", 1)).containsExactly(
        new SagaEffect.TryStarted("s", "a", 1, false));
    assertThat(refusal(h.started("s", "a", 3))).isEqualTo(Reason.STALE);
    assertThat(refusal(h.succeeded("s", "a", 2))).isEqualTo(Reason.STALE);
    assertThat(refusal(h.failed("s", "a", 2, true))).isEqualTo(Reason.STALE);
    assertThat(refusal(h.compensationStarted("s", "a", 1))).isEqualTo(Reason.STALE);
    assertThat(refusal(h.compensationSucceeded("s", "a"))).isEqualTo(Reason.STALE);
    assertThat(refusal(h.started("s", "nope", 1))).isEqualTo(Reason.UNKNOWN_STEP);
    assertThat(refusal(h.started("other", "a", 1))).isEqualTo(Reason.UNKNOWN_SAGA);
    assertThat(refusal(h.retryCompensations("s"))).isEqualTo(Reason.STALE);
    assertThat(SagaHarness.snapshot(h.machine)).isEqualTo(before);

    h.failed("s", "a", 1, true);
    h.started("s", "a", 2);
    assertThat(refusal(h.failed("s", "a", 1, true))).as("an older try's failure")
        .isEqualTo(Reason.STALE);
    h.succeeded("s", "a", 2);
    assertThat(refusal(h.succeeded("s", "a", 2))).isEqualTo(Reason.STALE);
  }

  @Test
  void aRepeatedStartChangesNothingAndReportsTheSaga() {
    h.start("s", sequential(3, "a"));
    h.started("s", "a", 1);
    SagaStatus before = h.status("s");
    h.nowMs = 5_000;
    assertThat(h.start("s", sequential(1, "x", "y"))).containsExactly(
        new SagaEffect.AlreadyExists("s", SagaState.STEP_EXECUTING));
    assertThat(h.status("s")).isEqualTo(before);
    assertThat(h.machine.startOf("s").orElseThrow().definition().steps())
        .extracting(SagaStep::name).containsExactly("a");
  }

  @Test
  void aStepWithoutCompensationIsCompensatedWhenItsTurnComes() {
    SagaDefinition definition = SagaDefinition.sequential("mixed")
        .add(step("a", true))
        .add(step("notify", false, "a"))
        .add(step("c", true, "notify"))
        .build();
    h.start("m", definition);
    h.runs("m", "a");
    h.runs("m", "notify");
    h.started("m", "c", 1);
    h.failed("m", "c", 1, false);
    assertThat(h.stepState("m", "notify")).isEqualTo(StepState.SUCCEEDED);
    assertThat(h.due("m")).extracting(Due::step).containsExactly("c");
    h.compensates("m", "c");
    assertThat(h.stepState("m", "notify")).isEqualTo(StepState.COMPENSATED);
    assertThat(h.step("m", "notify").compensationAttempts()).isZero();
    assertThat(h.due("m")).extracting(Due::step).containsExactly("a");
  }

  @Test
  void activeSagasAreBoundedAndFinishedOnesForgottenByAgeAndCount() {
    SagaHarness small = new SagaHarness(new SagaStateMachine.Limits(2, 1, 1_000));
    small.start("s1", sequential(1, "a"));
    small.start("s2", sequential(1, "a"));
    assertThat(refusal(small.start("s3", sequential(1, "a")))).isEqualTo(Reason.LIMIT);
    small.runs("s1", "a");
    assertThat(small.machine.active()).containsExactly("s2");
    small.start("s3", sequential(1, "a"));
    assertThat(small.machine.active()).containsExactly("s2", "s3");

    small.nowMs = 1_500;
    small.runs("s2", "a");
    assertThat(small.machine.status("s1")).as("beyond finishedMax").isEmpty();
    assertThat(small.machine.status("s2")).isPresent();
    small.nowMs = 2_501;
    small.abort("s3");
    assertThat(small.machine.status("s2")).as("beyond retention").isEmpty();
    assertThat(small.machine.size()).isEqualTo(1);
    assertThat(small.start("s1", sequential(1, "a"))).first()
        .isInstanceOf(SagaEffect.Updated.class);
  }

  private static Reason refusal(List<SagaEffect> effects) {
    assertThat(effects).singleElement().isInstanceOf(SagaEffect.Refused.class);
    return ((SagaEffect.Refused) effects.getFirst()).reason();
  }
}
