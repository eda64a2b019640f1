package io.synod.engine.lock.zk;

import static org.assertj.core.api.Assertions.assertThat;

import io.synod.api.lock.LockMode;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

/** The grant rule and node names, without a server. */
class LockNodesTest {

  record Node(int session, LockMode mode) {}

  private static int blocker(List<Node> queue, int index) {
    return LockNodes.blocker(queue, index, Node::mode, (a, b) -> a.session() == b.session());
  }

  @Property
  void holdersOfDifferentSessionsAreAlwaysCompatible(
      @ForAll("queues") @Size(max = 12) List<Node> queue) {
    List<Node> holders = new ArrayList<>();
    for (int i = 0; i < queue.size(); i++) {
      if (blocker(queue, i) < 0) {
        holders.add(queue.get(i));
      }
    }
    for (Node a : holders) {
      for (Node b : holders) {
        if (a.session() != b.session()) {
          assertThat(a.mode().compatibleWith(b.mode())).as("%s beside %s", a, b).isTrue();
        }
      }
    }
    if (!queue.isEmpty()) {
      assertThat(blocker(queue, 0)).as("the oldest node always holds").isEqualTo(-1);
    }
  }

  @Property
  void aBlockerIsEarlierIncompatibleAndOfAnotherSession(
      @ForAll("queues") @Size(min = 1, max = 12) List<Node> queue) {
    for (int i = 0; i < queue.size(); i++) {
      int b = blocker(queue, i);
      if (b >= 0) {
        assertThat(b).isLessThan(i);
        assertThat(queue.get(b).session()).isNotEqualTo(queue.get(i).session());
        assertThat(queue.get(b).mode().compatibleWith(queue.get(i).mode())).isFalse();
        for (int j = b + 1; j < i; j++) { // the nearest one: nothing in between blocks
          assertThat(queue.get(j).session() == queue.get(i).session()
              || queue.get(j).mode().compatibleWith(queue.get(i).mode())).isTrue();
        }
      }
    }
  }

  @Provide
  Arbitrary<List<Node>> queues() {
    return Combinators.combine(Arbitraries.integers().between(0, 3),
        Arbitraries.of(LockMode.class)).as(Node::new).list();
  }

  @Test
  void anEarlierWaiterBlocksALaterCompatibleRequest() {
    List<Node> queue = List.of(new Node(1, LockMode.S), new Node(2, LockMode.X),
        new Node(3, LockMode.S));
    assertThat(blocker(queue, 2)).as("FIFO: S waits behind the waiting X").isEqualTo(1);
  }

  @Test
  void theSoleSharedHolderMayUpgrade() {
    List<Node> queue = List.of(new Node(1, LockMode.S), new Node(1, LockMode.X));
    assertThat(blocker(queue, 1)).isEqualTo(-1);
    List<Node> shared = List.of(new Node(1, LockMode.S), new Node(2, LockMode.S),
        new Node(1, LockMode.X));
    assertThat(blocker(shared, 2)).as("another S holder blocks the upgrade").isEqualTo(1);
  }

  @Test
  void namesSortBySequenceWhateverTheProtectionPrefix() {
    List<LockNodes.Child> sorted = LockNodes.sorted(List.of(
        "_c_ffffffff-ffff-ffff-ffff-ffffffffffff-lock-S-0000000002",
        "accounts",
        "_c_00000000-0000-0000-0000-000000000000-lock-X-0000000010",
        "lock-IX-0000000001"));
    assertThat(sorted).extracting(LockNodes.Child::sequence).containsExactly(1L, 2L, 10L);
    assertThat(sorted).extracting(LockNodes.Child::mode)
        .containsExactly(LockMode.IX, LockMode.S, LockMode.X);
  }

  @Test
  void nodeDataCarriesSessionAndOwner() {
    LockNodes.Data data = LockNodes.decode(LockNodes.encode("0x1a", "billing\nworker 7"));
    assertThat(data.sessionId()).isEqualTo("0x1a");
    assertThat(data.owner()).isEqualTo("billing\nworker 7");
    assertThat(LockNodes.decode(null).sessionId()).isEmpty();
  }

  @Test
  void resourcePathsListTheirAncestorsTopDown() {
    ResourcePath p = ResourcePath.parse("pg/accounts/42");
    assertThat(p.ancestors()).containsExactly("pg", "pg/accounts");
    assertThat(p.znode("/synod/locks")).isEqualTo("/synod/locks/pg/accounts/42");
    assertThat(ResourcePath.parse("pg").ancestors()).isEmpty();
  }
}
