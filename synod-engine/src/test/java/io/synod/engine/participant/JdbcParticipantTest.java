package io.synod.engine.participant;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class JdbcParticipantTest {

  @Test
  void queryTimeoutIsWholeSecondsRoundedUpAtLeastOne() {
    assertThat(JdbcParticipant.timeoutSeconds(Duration.ZERO)).isEqualTo(1);
    assertThat(JdbcParticipant.timeoutSeconds(Duration.ofMillis(1))).isEqualTo(1);
    assertThat(JdbcParticipant.timeoutSeconds(Duration.ofMillis(1_000))).isEqualTo(1);
    assertThat(JdbcParticipant.timeoutSeconds(Duration.ofMillis(1_001))).isEqualTo(2);
    assertThat(JdbcParticipant.timeoutSeconds(Duration.ofSeconds(-5))).isEqualTo(1);
    assertThat(JdbcParticipant.timeoutSeconds(Duration.ofDays(100_000)))
        .isEqualTo(Integer.MAX_VALUE);
  }
}
