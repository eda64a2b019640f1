package io.synod.engine.participant;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class JdbcSupportTest {

  @Test
  void queryTimeoutIsWholeSecondsRoundedUpAtLeastOne() {
    assertThat(JdbcSupport.timeoutSeconds(Duration.ZERO)).isEqualTo(1);
    assertThat(JdbcSupport.timeoutSeconds(Duration.ofMillis(1))).isEqualTo(1);
    assertThat(JdbcSupport.timeoutSeconds(Duration.ofMillis(1_000))).isEqualTo(1);
    assertThat(JdbcSupport.timeoutSeconds(Duration.ofMillis(1_001))).isEqualTo(2);
    assertThat(JdbcSupport.timeoutSeconds(Duration.ofSeconds(-5))).isEqualTo(1);
    assertThat(JdbcSupport.timeoutSeconds(Duration.ofDays(100_000)))
        .isEqualTo(Integer.MAX_VALUE);
  }

  @Test
  void h2UrlWritesOnEveryCommitUnlessItSaysOtherwise() {
    assertThat(JdbcSupport.durableH2Url("jdbc:h2:file:/x"))
        .isEqualTo("jdbc:h2:file:/x;WRITE_DELAY=0");
    assertThat(JdbcSupport.durableH2Url("jdbc:h2:file:/x;write_delay=100"))
        .isEqualTo("jdbc:h2:file:/x;write_delay=100");
  }
}
