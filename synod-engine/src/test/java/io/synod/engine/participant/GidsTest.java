package io.synod.engine.participant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class GidsTest {

  @ParameterizedTest
  @ValueSource(strings = {"a", "synod-1_abc", "ABC-def_123"})
  void acceptsLettersDigitsUnderscoreAndDash(String gid) {
    assertThat(Gids.requireGid(gid)).isEqualTo(gid);
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "a b", "x'; DROP TABLE t; --", "a\"b", "é", "a.b", "a%"})
  void refusesAnythingElse(String gid) {
    assertThatThrownBy(() -> Gids.requireGid(gid))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("ASCII letters, digits");
  }

  @Test
  void limitsLengthTo64() {
    assertThat(Gids.requireGid("g".repeat(64))).hasSize(64);
    assertThatThrownBy(() -> Gids.requireGid("g".repeat(65)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Gids.requireGid(null)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void prefixMayBeEmpty() {
    assertThat(Gids.requirePrefix("")).isEmpty();
    assertThat(Gids.requirePrefix("synod-")).isEqualTo("synod-");
    assertThatThrownBy(() -> Gids.requirePrefix("a%")).isInstanceOf(IllegalArgumentException.class);
  }
}
