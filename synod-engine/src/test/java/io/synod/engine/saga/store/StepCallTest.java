package io.synod.engine.saga.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.synod.api.saga.SagaStep;
import io.synod.api.saga.StepOperation;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class StepCallTest {
  private static final StepOperation OP = new StepOperation.Redis("r", List.of("PING"));

  @Test
  void factoriesTakeTheStepsKeysAndTimeout() {
    SagaStep step = new SagaStep("reserve", OP, OP, null, Duration.ofSeconds(3), null);

    StepCall action = StepCall.action("s1", step, OP);
    StepCall compensation = StepCall.compensation("s1", step, OP);

    assertThat(action.idempotencyKey()).isEqualTo("s1_step_reserve");
    assertThat(action.kind()).isEqualTo(StepCall.Kind.ACTION);
    assertThat(compensation.idempotencyKey()).isEqualTo("s1_comp_reserve");
    assertThat(compensation.kind()).isEqualTo(StepCall.Kind.COMPENSATION);
    assertThat(compensation.timeout()).isEqualTo(Duration.ofSeconds(3));
    // A compensation knows its action's key, for a store that fences it (the key-value store).
    assertThat(compensation.actionKey()).isEqualTo(action.idempotencyKey());
  }

  @Test
  void boundsAreChecked() {
    Duration t = Duration.ofSeconds(1);
    String longId = "x".repeat(StepCall.SAGA_ID_CHARS_MAX + 1);

    assertThatThrownBy(() -> new StepCall(longId, "s", StepCall.Kind.ACTION, "k", OP, t))
        .hasMessageContaining("saga id must be 1 to 256 characters");
    assertThatThrownBy(() -> new StepCall("g", "a:b", StepCall.Kind.ACTION, "k", OP, t))
        .hasMessageContaining("step must be");
    assertThatThrownBy(() -> new StepCall("g", "s", StepCall.Kind.ACTION, "", OP, t))
        .hasMessageContaining("idempotency key must be");
    assertThatThrownBy(() -> new StepCall("g", "s", StepCall.Kind.ACTION, "k", OP, Duration.ZERO))
        .hasMessageContaining("timeout must be positive");
  }
}
