package io.synod.engine.saga.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.saga.StepOperation;
import java.math.BigDecimal;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TemplatesTest {
  private static final Map<String, Object> INPUT =
      Map.of("amount", 5L, "item", "apple", "price", new BigDecimal("1E+3"), "paid", true);

  private static StepOperation.Sql sql(Object... params) {
    return new StepOperation.Sql("pg", "UPDATE t SET n = ? WHERE id = ?", Arrays.asList(params));
  }

  @Test
  void sqlParameterThatIsOnePlaceholderKeepsTheInputsType() {
    StepOperation resolved =
        Templates.resolve(sql("{{saga.amount}}", "{{saga.paid}}", 7), "s1", INPUT);

    assertThat(((StepOperation.Sql) resolved).params()).containsExactly(5L, true, 7);
  }

  @Test
  void placeholderInsideTextTakesTheValuesText() {
    StepOperation resolved =
        Templates.resolve(sql("order {{saga.item}} x{{saga.amount}} at {{saga.price}}"), "s1",
            INPUT);

    assertThat(((StepOperation.Sql) resolved).params()).containsExactly("order apple x5 at 1000");
  }

  @Test
  void sagaIdIsAlwaysThere() {
    Map<String, Object> input = Map.of("saga_id", "not this one");
    StepOperation resolved = Templates.resolve(
        new StepOperation.Redis("r", List.of("SET", "done:{{saga.saga_id}}", "{{saga.saga_id}}")),
        "s-42", input);

    assertThat(((StepOperation.Redis) resolved).command())
        .containsExactly("SET", "done:s-42", "s-42");
  }

  @Test
  void redisWordsAndLocalArgumentsAreText() {
    StepOperation redis = Templates.resolve(
        new StepOperation.Redis("r", List.of("INCRBY", "stock:{{saga.item}}", "{{saga.amount}}")),
        "s1", INPUT);
    StepOperation local = Templates.resolve(
        new StepOperation.Local(
            "mailer", Map.of("to", "{{saga.item}}@example.org", "n", "{{saga.amount}}")),
        "s1", INPUT);

    assertThat(((StepOperation.Redis) redis).command())
        .containsExactly("INCRBY", "stock:apple", "5");
    assertThat(((StepOperation.Local) local).args())
        .containsExactlyInAnyOrderEntriesOf(Map.of("to", "apple@example.org", "n", "5"));
  }

  @Test
  void unknownNameIsAnErrorNamingThePlaceholderAndTheField() {
    assertThatThrownBy(() ->
            Templates.resolve("steps[1].action", sql(1, "{{saga.missing}}"), "s1", INPUT))
        .isInstanceOfSatisfying(SynodException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT);
          assertThat(e.field()).contains("steps[1].action.params[1]");
          assertThat(e.getMessage()).isEqualTo(
              "steps[1].action.params[1]: {{saga.missing}} is not in the saga's input");
        });
    assertThatThrownBy(() -> Templates.resolve(
            new StepOperation.Redis("r", List.of("GET", "k:{{saga.nope}}")), "s1", INPUT))
        .hasMessage("command[1]: {{saga.nope}} is not in the saga's input");
  }

  @Test
  void sqlTextTakesNoPlaceholder() {
    StepOperation pasted =
        new StepOperation.Sql("pg", "DELETE FROM t WHERE id = {{saga.item}}", List.of());

    assertThatThrownBy(() -> Templates.resolve("steps[0].compensation", pasted, "s1", INPUT))
        .isInstanceOf(SynodException.class)
        .hasMessageStartingWith(
            "steps[0].compensation.sql: {{saga.item}} cannot stand in SQL text");
  }

  @Test
  void nullBindsAsSqlNullButCannotBeText() {
    Map<String, Object> input = new HashMap<>();
    input.put("note", null);

    StepOperation resolved = Templates.resolve(sql("{{saga.note}}"), "s1", input);
    assertThat(((StepOperation.Sql) resolved).params()).containsExactly((Object) null);
    assertThatThrownBy(() -> Templates.resolve(sql("note: {{saga.note}}"), "s1", input))
        .hasMessage("params[0]: {{saga.note}} is null, which cannot be written as text");
  }

  @Test
  void bytesBindAsBytesButCannotBeText() {
    byte[] blob = {1, 2, 3};
    Map<String, Object> input = Map.of("blob", blob);

    StepOperation resolved = Templates.resolve(sql("{{saga.blob}}"), "s1", input);
    assertThat(((StepOperation.Sql) resolved).params().getFirst()).isSameAs(blob);
    assertThatThrownBy(() -> Templates.resolve(
            new StepOperation.Redis("r", List.of("SET", "k", "{{saga.blob}}")), "s1", input))
        .hasMessageContaining("is a byte array");
  }

  @Test
  void onePassOnlyAndOtherBracesStay() {
    Map<String, Object> input = Map.of("a", "{{saga.b}}", "b", "never");

    StepOperation resolved =
        Templates.resolve(sql("{{saga.a}}", "x {{saga.a}}", "{{step.id}} {x}"), "s1", input);

    assertThat(((StepOperation.Sql) resolved).params())
        .containsExactly("{{saga.b}}", "x {{saga.b}}", "{{step.id}} {x}");
  }

  @Test
  void operationWithoutPlaceholdersComesBackEqual() {
    StepOperation op = sql(1, "plain");

    assertThat(Templates.resolve(op, "s1", Map.of())).isEqualTo(op);
  }

  @Test
  void aKvStepsTenantKeyAndValueAreTextAndADeleteKeepsNoValue() {
    StepOperation put = Templates.resolve(StepOperation.Kv.put("kv", "{{saga.item}}-shop",
        "order:{{saga.saga_id}}", "{{saga.amount}} x {{saga.price}}"), "s1", INPUT);
    StepOperation delete = Templates.resolve(
        StepOperation.Kv.delete("kv", "acme", "order:{{saga.saga_id}}"), "s2", INPUT);

    assertThat(put).isEqualTo(StepOperation.Kv.put("kv", "apple-shop", "order:s1", "5 x 1000"));
    assertThat(delete).isEqualTo(StepOperation.Kv.delete("kv", "acme", "order:s2"));
  }

  @Test
  void aKvStepsFilledTenantAndKeyAreCheckedNamingTheField() {
    Map<String, Object> input = Map.of("tenant", "no spaces allowed", "long", "x".repeat(1024));

    assertThatThrownBy(() -> Templates.resolve("steps[2].action",
        StepOperation.Kv.put("kv", "{{saga.tenant}}", "k", "v"), "s1", input))
        .isInstanceOfSatisfying(SynodException.class, e -> {
          assertThat(e.field()).contains("steps[2].action.tenant_id");
          assertThat(e.getMessage()).contains("no spaces allowed");
        });
    assertThatThrownBy(() -> Templates.resolve("steps[0].compensation",
        StepOperation.Kv.delete("kv", "acme", "k{{saga.long}}"), "s1", input))
        .isInstanceOfSatisfying(SynodException.class, e -> {
          assertThat(e.field()).contains("steps[0].compensation.key");
          assertThat(e.getMessage()).contains("1025");
        });
    assertThatThrownBy(() -> Templates.resolve("steps[0].action",
        StepOperation.Kv.put("kv", "acme", "k", "{{saga.missing}}"), "s1", input))
        .isInstanceOfSatisfying(SynodException.class,
            e -> assertThat(e.field()).contains("steps[0].action.value"));
  }

  @Test
  void aKvOperationNamesTheFieldItLacks() {
    assertThatThrownBy(() -> new StepOperation.Kv("kv", "", "k", "v", false))
        .isInstanceOfSatisfying(SynodException.class,
            e -> assertThat(e.field()).contains("tenant_id"));
    assertThatThrownBy(() -> new StepOperation.Kv("kv", "acme", "", "v", false))
        .isInstanceOfSatisfying(SynodException.class, e -> assertThat(e.field()).contains("key"));
    assertThatThrownBy(() -> new StepOperation.Kv("kv", "acme", "k", null, false))
        .isInstanceOfSatisfying(SynodException.class,
            e -> assertThat(e.field()).contains("value"));
    assertThatThrownBy(() -> new StepOperation.Kv("kv", "acme", "k", "v", true))
        .isInstanceOfSatisfying(SynodException.class, e -> {
          assertThat(e.field()).contains("value");
          assertThat(e.getMessage()).contains("delete");
        });
    assertThatThrownBy(() -> new StepOperation.Kv(" ", "acme", "k", "v", false))
        .isInstanceOfSatisfying(SynodException.class,
            e -> assertThat(e.field()).contains("store"));
  }
}
