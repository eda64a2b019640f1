package io.synod.core.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class HashRingTest {
  private static final int KEYS = 100_000;
  private static final List<String> FIVE = List.of("n1", "n2", "n3", "n4", "n5");

  @Test
  void with150VirtualNodesKeysSpreadWithinTenPercentOfEvenOverFiveNodes() {
    HashRing ring = HashRing.of(FIVE, HashRing.DEFAULT_VIRTUAL_NODES);
    Map<String, Integer> owned = new HashMap<>();
    for (int i = 0; i < KEYS; i++) {
      owned.merge(ring.replicas("t", "user:" + i, 1).get(0), 1, Integer::sum);
    }
    double even = KEYS / 5.0;
    System.out.println("ring spread over 5 nodes (150 vnodes): " + owned + ", shares "
        + ring.shares());
    assertThat(owned).hasSize(5);
    owned.values().forEach(n -> assertThat(Math.abs(n - even) / even).isLessThan(0.10));
  }

  @Test
  void addingASixthNodeMovesCloseToASixthOfTheKeysAndOnlyToIt() {
    HashRing five = HashRing.of(FIVE, HashRing.DEFAULT_VIRTUAL_NODES);
    HashRing six = five.with("n6");
    int moved = 0;
    for (int i = 0; i < KEYS; i++) {
      String before = five.replicas("t", "user:" + i, 1).get(0);
      String after = six.replicas("t", "user:" + i, 1).get(0);
      if (!before.equals(after)) {
        moved++;
        assertThat(after).isEqualTo("n6"); // a key moves only to the node that took its range
      }
    }
    double share = moved / (double) KEYS;
    System.out.printf("ring: adding a sixth node moved %.3f of the keys (1/6 = 0.167)%n", share);
    assertThat(share).isBetween(1 / 6.0 - 0.03, 1 / 6.0 + 0.03);
  }

  @Test
  void replicasAreDistinctNodesStartingWithTheOwnerAndStableAcrossBuilds() {
    HashRing ring = HashRing.of(FIVE, 150);
    Map<String, long[]> stored = new HashMap<>();
    ring.nodes().forEach(n -> stored.put(n, ring.tokens(n)));
    HashRing again = HashRing.of(stored, 150); // as a coordinator rebuilds it from membership
    for (int i = 0; i < 1_000; i++) {
      List<String> replicas = ring.replicas("t", "k" + i, 3);
      assertThat(replicas).hasSize(3).doesNotHaveDuplicates()
          .startsWith(ring.replicas("t", "k" + i, 1).get(0))
          .isEqualTo(again.replicas("t", "k" + i, 3));
    }
    assertThat(ring.replicas("t", "k", 9)).hasSize(5);
    assertThat(HashRing.empty(150).replicas("t", "k", 3)).isEmpty();
  }

  @Test
  void removingANodeHandsItsKeysToTheNextReplicasOnly() {
    HashRing five = HashRing.of(FIVE, 150);
    HashRing four = five.without("n3");
    for (int i = 0; i < 10_000; i++) {
      List<String> before = five.replicas("t", "k" + i, 3);
      List<String> after = four.replicas("t", "k" + i, 3);
      if (!before.contains("n3")) {
        assertThat(after).isEqualTo(before);
      } else {
        assertThat(after).containsAll(before.stream().filter(n -> !n.equals("n3")).toList());
      }
    }
  }

  @Test
  void tenantsHashApartAndBadRingsAreRefused() {
    assertThat(HashRing.keyPoint("a", "bc")).isNotEqualTo(HashRing.keyPoint("ab", "c"));
    assertThatThrownBy(() -> HashRing.of(List.of("n1", "n1"), 150))
        .hasMessageContaining("distinct");
    assertThatThrownBy(() -> HashRing.of(FIVE, 0)).hasMessageContaining("virtual_nodes");
  }
}
