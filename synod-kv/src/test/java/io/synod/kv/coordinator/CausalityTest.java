package io.synod.kv.coordinator;

import static org.assertj.core.api.Assertions.assertThat;

import io.synod.api.kv.Consistency;
import io.synod.api.kv.KvRead;
import io.synod.api.kv.KvReadResult;
import io.synod.api.kv.KvWrite;
import io.synod.api.kv.Tenant;
import io.synod.api.kv.Versioned;
import io.synod.kv.node.StorageNodeClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Spec 004's causality scenarios, through coordinators and real storage nodes. */
@Timeout(120)
class CausalityTest {
  @TempDir static Path dir;
  static KvCluster cluster;

  @BeforeAll
  static void start() {
    cluster = KvCluster.start(dir, 3);
    cluster.coordinator("c1").tenants().create(Tenant.withDefaults("acme"));
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String put(String coordinator, String key, String value, Consistency c) {
    return cluster.coordinator(coordinator)
        .write(new KvWrite("acme", key, bytes(value), c, null)).clock().toString();
  }

  @Test
  void sequentialWritesThroughOneCoordinatorFormAChain() {
    assertThat(put("c1", "user:1", "Alice", null)).isEqualTo("{c1:1}");
    assertThat(put("c1", "user:1", "Bob", null)).isEqualTo("{c1:2}");
    assertThat(put("c1", "user:1", "Carol", null)).isEqualTo("{c1:3}");
    KvReadResult read = cluster.coordinator("c2").read(KvRead.of("acme", "user:1"));
    assertThat(new String(read.value(), StandardCharsets.UTF_8)).isEqualTo("Carol");
    assertThat(read.clock()).hasToString("{c1:3}");
  }

  @Test
  void concurrentWritesFromTheSameReadAreDetectedAndRepaired() throws Exception {
    String key = "user:2";
    for (int i = 0; i < 5; i++) {
      put("c1", key, "v" + i, Consistency.ALL);
    }
    // c1 writes while the other two replicas are away; c2 writes while c1's replica is away.
    // Both start from {c1:5}: neither saw the other's write.
    List<String> replicas = cluster.coordinator("c1").membership() instanceof RingMembership m
        ? m.view().replicas("acme", key, 3) : List.of();
    assertThat(replicas).hasSize(3);
    String a = replicas.get(0);
    cluster.kill(replicas.get(1));
    cluster.kill(replicas.get(2));
    assertThat(put("c1", key, "Alice", Consistency.ONE)).isEqualTo("{c1:6}");
    cluster.restart(replicas.get(1));
    cluster.restart(replicas.get(2));
    cluster.kill(a);
    assertThat(put("c2", key, "Bob", Consistency.QUORUM)).isEqualTo("{c1:5, c2:1}");
    cluster.restart(a);

    cluster.coordinator("c3");
    double conflictsBefore = cluster.counter("c3", "coordinator_conflicts_detected");
    KvReadResult read = cluster.coordinator("c3")
        .read(new KvRead("acme", key, Consistency.ALL, true));
    assertThat(read.siblings()).extracting(v -> v.clock().toString())
        .containsExactlyInAnyOrder("{c1:6}", "{c1:5, c2:1}");
    assertThat(cluster.counter("c3", "coordinator_conflicts_detected"))
        .isEqualTo(conflictsBefore + 1);
    // Resolved by timestamp when no siblings are asked for: Bob was written last.
    KvReadResult resolved = cluster.coordinator("c3").read(KvRead.of("acme", key));
    assertThat(new String(resolved.value(), StandardCharsets.UTF_8)).isEqualTo("Bob");

    // Read repair gives every replica both versions.
    for (String node : replicas) {
      try (StorageNodeClient client = new StorageNodeClient(node,
          cluster.node(node).address())) {
        List<Versioned> held = awaitSiblings(client, key, 2);
        assertThat(held).extracting(v -> v.clock().toString())
            .containsExactlyInAnyOrder("{c1:6}", "{c1:5, c2:1}");
      }
    }
    assertThat(cluster.counter("c3", "coordinator_repairs_triggered")).isGreaterThan(0);

    // The next write reads both and supersedes them.
    assertThat(put("c3", key, "Carol", null)).isEqualTo("{c1:6, c2:1, c3:1}");
    assertThat(cluster.coordinator("c1").read(new KvRead("acme", key, Consistency.ALL, true))
        .siblings()).singleElement()
        .satisfies(v -> assertThat(new String(v.value(), StandardCharsets.UTF_8))
            .isEqualTo("Carol"));
  }

  @Test
  void aThirdCoordinatorMergesBothClocks() {
    String key = "user:3";
    for (int i = 0; i < 10; i++) {
      put("c1", key, "a" + i, null);
    }
    for (int i = 0; i < 3; i++) {
      put("c2", key, "b" + i, null);
    }
    assertThat(cluster.coordinator("c1").read(KvRead.of("acme", key)).clock())
        .hasToString("{c1:10, c2:3}");
    assertThat(put("c3", key, "c", null)).isEqualTo("{c1:10, c2:3, c3:1}");
  }

  private static List<Versioned> awaitSiblings(StorageNodeClient client, String key, int count)
      throws Exception {
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    List<Versioned> held = List.of();
    while (System.nanoTime() < until) {
      held = client.get("acme", key, Duration.ofSeconds(2)).get();
      if (held.size() == count) {
        return held;
      }
      Thread.sleep(20);
    }
    return held;
  }
}
