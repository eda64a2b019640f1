package io.synod.core.saga;

import static io.synod.core.saga.SagaHarness.ACT;
import static io.synod.core.saga.SagaHarness.UNDO;
import static io.synod.core.saga.SagaHarness.encode;
import static io.synod.core.saga.SagaHarness.in;
import static io.synod.core.saga.SagaHarness.retry;
import static io.synod.core.saga.SagaHarness.roundTrip;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.saga.RetryPolicy;
import io.synod.api.saga.SagaDefinition;
import io.synod.api.saga.SagaState;
import io.synod.api.saga.SagaStep;
import io.synod.api.saga.StepOperation;
import java.io.IOException;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SagaCodecTest {

  /** One of every value type the codec carries, {@code null} included. */
  private static List<Object> everyValue() {
    return Arrays.asList(null, 1L, 2, 3.5, new BigDecimal("-12.340"), "tëxt ✓", true,
        new byte[] {1, -2, 3});
  }

  private static SagaDefinition everyOperation() {
    Map<String, String> args = new HashMap<>();
    args.put("z", "last");
    args.put("a", "first");
    args.put("m", "{{saga.id}}");
    return SagaDefinition.sequential("all-kinds")
        .add(new SagaStep("sql", new StepOperation.Sql("pg", "UPDATE t SET v = ? WHERE id = ?"
            + " /* " + "x".repeat(70_000) + " */", everyValue()),
            new StepOperation.Sql("pg", "DELETE FROM t WHERE id = ?", List.of(7L)), List.of(),
            Duration.ofMillis(1_500).plusNanos(7),
            new RetryPolicy(5, RetryPolicy.Backoff.FIXED, Duration.ZERO, Duration.ofMinutes(2))))
        .add(new SagaStep("redis", new StepOperation.Redis("cache",
            List.of("INCRBY", "stock:{{saga.item}}", "-1")), null, List.of("sql"), null, null))
        .add(new SagaStep("local", new StepOperation.Local("app", args),
            new StepOperation.Local("app", Map.of()), List.of("sql", "redis"), null, null))
        .add(new SagaStep("kv-put", StepOperation.Kv.put("kv", "{{saga.tenant}}",
            "order:{{saga.saga_id}}", "rés ✓ {{saga.item}}"),
            StepOperation.Kv.delete("kv", "{{saga.tenant}}", "order:{{saga.saga_id}}"),
            List.of("local"), null, null))
        .add(new SagaStep("kv-empty", StepOperation.Kv.put("kv", "acme", "k", ""), null,
            List.of(), null, null))
        .build();
  }

  private static Map<String, Object> everyInput() {
    Map<String, Object> input = new LinkedHashMap<>();
    List<Object> values = everyValue();
    for (int i = 0; i < values.size(); i++) {
      input.put("v" + (values.size() - i), values.get(i));
    }
    return input;
  }

  @Test
  void aStartWithEveryOperationAndValueTypeSurvivesTheCodec() {
    SagaCommand.Start start = new SagaCommand.Start("saga-1", everyOperation(), everyInput(), 42);
    SagaCommand.Start read = (SagaCommand.Start) roundTrip(start);

    assertThat(read).usingRecursiveComparison().isEqualTo(start);
    assertThat(encode(read)).isEqualTo(encode(start));
    assertThat(read.input().keySet()).containsExactly("v1", "v2", "v3", "v4", "v5", "v6", "v7",
        "v8");
    List<Object> types = new ArrayList<>();
    read.input().values().forEach(v -> types.add(v == null ? null : v.getClass()));
    assertThat(types).containsExactly(byte[].class, Boolean.class, String.class,
        BigDecimal.class, Double.class, Integer.class, Long.class, null);
    assertThat(((BigDecimal) read.input().get("v4")).scale()).isEqualTo(3);
  }

  @Test
  void theBytesOfAStartDoNotDependOnMapOrder() {
    Map<String, Object> reversed = new LinkedHashMap<>();
    List<String> keys = new ArrayList<>(everyInput().keySet());
    for (int i = keys.size() - 1; i >= 0; i--) {
      reversed.put(keys.get(i), everyInput().get(keys.get(i)));
    }
    assertThat(encode(new SagaCommand.Start("s", everyOperation(), reversed, 1)))
        .isEqualTo(encode(new SagaCommand.Start("s", everyOperation(), everyInput(), 1)));
  }

  @Test
  void everyOtherCommandSurvivesTheCodec() {
    List<SagaCommand> commands = List.of(
        new SagaCommand.StepStarted("s", "a", 1, 5),
        new SagaCommand.StepSucceeded("s", "a", 2, 6),
        new SagaCommand.StepFailed("s", "a", 3, "timeout", true, 7),
        new SagaCommand.StepFailed("s", "a", 3, null, false, Long.MAX_VALUE),
        new SagaCommand.CompensationStarted("s", "a", 4, 8),
        new SagaCommand.CompensationSucceeded("s", "a", 9),
        new SagaCommand.CompensationFailed("s", "a", 5, "e".repeat(5_000), 10),
        new SagaCommand.RetryCompensations("s", 11),
        new SagaCommand.Abort("s", "user asked", -1));
    for (SagaCommand command : commands) {
      assertThat(roundTrip(command)).isEqualTo(command);
    }
    assertThat(((SagaCommand.CompensationFailed) commands.get(6)).error())
        .hasSize(SagaCommand.ERROR_CHARS_MAX);
  }

  @Test
  void everyEffectSurvivesTheCodec() {
    List<SagaEffect> effects = List.of(
        new SagaEffect.Updated("s", SagaState.COMPENSATING, List.of(
            new Due.RunStep("s", "a", 1, 2), new Due.Compensate("s", "b", 3, 4),
            new Due.Timeout("s", "c", 5, true, 6), new Due.Timeout("s", "d", 7, false, 8))),
        new SagaEffect.Updated("s", SagaState.COMPLETED, List.of()),
        new SagaEffect.TryStarted("s", "a", 2, true),
        new SagaEffect.AlreadyExists("s", SagaState.FAILED),
        new SagaEffect.Finished("s", SagaState.COMPLETED, null),
        new SagaEffect.Finished("s", SagaState.ABORTED, "why"),
        new SagaEffect.Refused("s", SagaEffect.Refused.Reason.LIMIT, "limit"));
    for (SagaEffect effect : effects) {
      assertThat(roundTrip(effect)).isEqualTo(effect);
    }
  }

  @Test
  void unknownVersionsTagsAndValuesAreRefused() {
    assertThatThrownBy(() -> SagaCodec.readCommand(in(new byte[] {2, 1})))
        .isInstanceOf(IOException.class).hasMessageContaining("version 2");
    assertThatThrownBy(() -> SagaCodec.readCommand(in(new byte[] {1, 99})))
        .isInstanceOf(IOException.class).hasMessageContaining("tag 99");
    assertThatThrownBy(() -> SagaCodec.readEffect(in(new byte[] {1, 0})))
        .isInstanceOf(IOException.class).hasMessageContaining("tag 0");
    byte[] bytes = encode(new SagaCommand.Start("s", SagaDefinition.sequential("d")
        .step("a", ACT, UNDO).build(), Map.of("k", 1L), 1));
    byte[] badLength = bytes.clone();
    badLength[bytes.length - 8 - 8 - 1 - 3 - 4] = (byte) 0x80; // the input count turns negative
    assertThatThrownBy(() -> SagaCodec.readCommand(in(badLength)))
        .isInstanceOf(IOException.class).hasMessageContaining("negative count");
  }

  @Test
  void aStartRefusesValuesAndDurationsTheLogCannotCarry() {
    SagaDefinition fine = SagaDefinition.sequential("d").step("a", ACT, UNDO).build();
    assertThatThrownBy(() -> new SagaCommand.Start("s", fine, Map.of("when", new Object()), 1))
        .isInstanceOfSatisfying(SynodException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT);
          assertThat(e.getMessage()).startsWith("input.when:");
        });
    SagaDefinition badParam = SagaDefinition.sequential("d").step("a",
        new StepOperation.Sql("pg", "SELECT ?", List.of(List.of())), UNDO).build();
    assertThatThrownBy(() -> new SagaCommand.Start("s", badParam, Map.of(), 1))
        .hasMessageStartingWith("steps[0].action.params[0]:");
    SagaDefinition slow = SagaDefinition.sequential("d").add(new SagaStep("a", ACT, UNDO,
        List.of(), Duration.ofDays(31), retry(1))).build();
    assertThatThrownBy(() -> new SagaCommand.Start("s", slow, Map.of(), 1))
        .hasMessageStartingWith("steps[0].timeout:");
    assertThatThrownBy(() -> new SagaCommand.Start("", fine, Map.of(), 1))
        .hasMessageStartingWith("saga_id:");
  }

  @Test
  void aSnapshotGivesBackAnIdenticalMachine() {
    SagaHarness h = new SagaHarness();
    h.start("done", SagaDefinition.sequential("d").step("a", ACT, UNDO).build());
    h.runs("done", "a");
    h.apply(new SagaCommand.Start("mixed", everyOperation(), everyInput(), h.nowMs));
    h.runs("mixed", "sql");
    h.started("mixed", "redis", 1);
    h.failed("mixed", "redis", 1, true);
    h.start("undoing", SagaDefinition.sequential("u").step("a", ACT, UNDO, retry(2))
        .step("b", ACT, UNDO, retry(2)).build());
    h.runs("undoing", "a");
    h.started("undoing", "b", 1);
    h.abort("undoing");
    h.failed("undoing", "b", 1, true);
    h.compensationStarted("undoing", "b", 1);
    h.compensationFailed("undoing", "b", 1);

    byte[] snapshot = SagaHarness.snapshot(h.machine);
    SagaStateMachine restored = SagaHarness.restore(snapshot, h.machine.limits());

    assertThat(SagaHarness.snapshot(restored)).isEqualTo(snapshot);
    for (String id : List.of("done", "mixed", "undoing")) {
      assertThat(restored.status(id)).isEqualTo(h.machine.status(id));
      assertThat(restored.due(id)).isEqualTo(h.machine.due(id));
    }
    assertThat(restored.active()).containsExactly("mixed", "undoing");
    SagaCommand next = new SagaCommand.CompensationStarted("undoing", "b", 2, h.nowMs + 5_000);
    assertThat(restored.apply(next)).isEqualTo(h.machine.apply(next));
  }

  @Test
  void aCorruptSnapshotIsRefusedRatherThanApplied() {
    SagaHarness h = new SagaHarness();
    h.start("s", SagaDefinition.sequential("d").step("a", ACT, UNDO).build());
    h.runs("s", "a");
    byte[] good = SagaHarness.snapshot(h.machine);
    h.machine.runs().iterator().next().state = SagaState.STEP_EXECUTING;
    byte[] lying = SagaHarness.snapshot(h.machine);

    assertThatThrownBy(() -> SagaStateMachine.readSnapshot(in(lying), h.machine.limits()))
        .isInstanceOf(IOException.class).hasMessageContaining("corrupt saga snapshot")
        .hasMessageContaining("its steps call for COMPLETED");
    assertThatThrownBy(() -> SagaStateMachine.readSnapshot(
        in(Arrays.copyOf(good, good.length - 3)), h.machine.limits()))
        .isInstanceOf(IOException.class);
    assertThat(SagaHarness.restore(good, h.machine.limits()).status("s").orElseThrow().state())
        .isEqualTo(SagaState.COMPLETED);
  }
}
