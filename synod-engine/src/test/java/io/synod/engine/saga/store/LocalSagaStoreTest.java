package io.synod.engine.saga.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.synod.api.saga.StepOperation;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LocalSagaStoreTest {
  private final List<String> seen = new ArrayList<>();
  private final LocalHandlers handlers = new LocalHandlers();
  private final LocalSagaStore store = new LocalSagaStore(handlers);

  private static StepCall call(StepCall.Kind kind, StepOperation op) {
    String key = kind == StepCall.Kind.ACTION ? "s1_step_mail" : "s1_comp_mail";
    return new StepCall("s1", "mail", kind, key, op, Duration.ofSeconds(1));
  }

  private static StepOperation local(String handler) {
    return new StepOperation.Local(handler, Map.of("to", "a@example.org"));
  }

  @Test
  void handlerRunsWithTheKeyAndArgumentsAndItsAnswerIsTheResult() {
    handlers.register("mailer",
        call -> {
          StepOperation.Local op = (StepOperation.Local) call.operation();
          seen.add(call.idempotencyKey() + " " + op.args().get("to"));
          return new StepResult.Applied();
        },
        call -> {
          seen.add(call.idempotencyKey());
          return new StepResult.Skipped();
        });

    assertThat(store.apply(call(StepCall.Kind.ACTION, local("mailer"))))
        .isEqualTo(new StepResult.Applied());
    assertThat(store.apply(call(StepCall.Kind.COMPENSATION, local("mailer"))))
        .isEqualTo(new StepResult.Skipped());
    assertThat(seen).containsExactly("s1_step_mail a@example.org", "s1_comp_mail");
    assertThat(store.name()).isEqualTo("local");
  }

  @Test
  void exceptionIsARetryableFailure() {
    handlers.register("flaky", call -> {
      throw new IOException("smtp down");
    }, null);

    assertThat(store.apply(call(StepCall.Kind.ACTION, local("flaky"))))
        .isInstanceOfSatisfying(StepResult.Failed.class, failed -> {
          assertThat(failed.retryable()).isTrue();
          assertThat(failed.reason())
              .contains("local handler 'flaky' failed")
              .contains("smtp down");
        });
  }

  @Test
  void missingHandlerOrCompensationFailsForGood() {
    handlers.register("oneway", call -> new StepResult.Applied(), null);

    assertThat(store.apply(call(StepCall.Kind.ACTION, local("unknown"))))
        .isEqualTo(new StepResult.Failed(false,
            "action of step 'mail': no local handler 'unknown' has an action registered"));
    assertThat(store.apply(call(StepCall.Kind.COMPENSATION, local("oneway"))))
        .isEqualTo(new StepResult.Failed(false,
            "compensation of step 'mail': no local handler 'oneway' has a compensation"
                + " registered"));
  }

  @Test
  void nullAnswerAndForeignOperationFailForGood() {
    handlers.register("silent", call -> null, null);
    StepOperation sql = new StepOperation.Sql("pg", "SELECT 1", List.of());

    assertThat(store.apply(call(StepCall.Kind.ACTION, local("silent"))))
        .isInstanceOfSatisfying(StepResult.Failed.class,
            failed -> assertThat(failed.retryable()).isFalse());
    assertThat(store.apply(call(StepCall.Kind.ACTION, sql)))
        .isInstanceOfSatisfying(StepResult.Failed.class,
            failed -> assertThat(failed.retryable()).isFalse());
  }

  @Test
  void aNameIsRegisteredOnce() {
    handlers.register("mailer", call -> new StepResult.Applied(), null);

    assertThatThrownBy(() -> handlers.register("mailer", call -> new StepResult.Applied(), null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'mailer' is registered already");
    assertThat(handlers.names()).containsExactly("mailer");
  }
}
