package io.synod.core.lock;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ResourcePathTest {

  @Test
  void aPathKnowsItsDepthParentAndAncestorsTopDown() {
    ResourcePath row = ResourcePath.parse("pg/accounts/42");
    assertThat(row.depth()).isEqualTo(3);
    assertThat(row.segments()).containsExactly("pg", "accounts", "42");
    assertThat(row.parent()).contains(ResourcePath.parse("pg/accounts"));
    assertThat(row.ancestors()).extracting(ResourcePath::toString)
        .containsExactly("pg", "pg/accounts");
    assertThat(row.prefix(1)).hasToString("pg");
    assertThat(row.prefix(3)).isEqualTo(row);
    assertThat(ResourcePath.parse("pg").parent()).isEmpty();
    assertThat(ResourcePath.parse("pg").ancestors()).isEmpty();
  }

  @Test
  void ancestryIsBySegmentNotByPrefix() {
    ResourcePath table = ResourcePath.parse("pg/acc");
    assertThat(table.isAncestorOf(ResourcePath.parse("pg/acc/1"))).isTrue();
    assertThat(table.isAncestorOf(ResourcePath.parse("pg/accounts/1"))).isFalse();
    assertThat(table.isAncestorOf(table)).isFalse();
    assertThat(ResourcePath.parse("pg").isAncestorOf(ResourcePath.parse("pg/acc/1"))).isTrue();
  }

  @Test
  void descendantsSortIntoOneRange() {
    ResourcePath table = ResourcePath.parse("pg/acc");
    for (String path : new String[] {"pg/acc/1", "pg/acc/zz/9", "pg/acc/-"}) {
      assertThat(path.compareTo(table.descendantsFrom())).isGreaterThanOrEqualTo(0);
      assertThat(path.compareTo(table.descendantsTo())).isLessThan(0);
    }
    for (String path : new String[] {"pg/acc", "pg/acc-x", "pg/acc0", "pg/accounts/1"}) {
      assertThat(path.compareTo(table.descendantsFrom()) >= 0
          && path.compareTo(table.descendantsTo()) < 0).as(path).isFalse();
    }
  }

  @Test
  void invalidPathsAreRefusedNamingTheRule() {
    assertThatThrownBy(() -> ResourcePath.parse(null)).hasMessageContaining("null");
    assertThatThrownBy(() -> ResourcePath.parse("")).hasMessageContaining("empty");
    assertThatThrownBy(() -> ResourcePath.parse("/pg")).hasMessageContaining("empty segment");
    assertThatThrownBy(() -> ResourcePath.parse("pg/")).hasMessageContaining("empty segment");
    assertThatThrownBy(() -> ResourcePath.parse("pg//t")).hasMessageContaining("index 3");
    assertThatThrownBy(() -> ResourcePath.parse("pg/a b"))
        .hasMessageContaining("whitespace").hasMessageContaining("U+0020");
    assertThatThrownBy(() -> ResourcePath.parse("pg/a\u0000")).hasMessageContaining("control");
    assertThatThrownBy(() -> ResourcePath.parse("pg/a\u00a0b")).hasMessageContaining("U+00A0");
    assertThatThrownBy(() -> ResourcePath.parse("x/".repeat(16) + "x"))
        .hasMessageContaining("17 segments; the limit is 16");
    assertThatThrownBy(() -> ResourcePath.parse("x".repeat(513)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("513 characters; the limit is 512");
    assertThat(ResourcePath.parse("x/".repeat(15) + "x").depth()).isEqualTo(16);
    assertThat(ResourcePath.parse("x".repeat(512)).depth()).isOne();
  }
}
