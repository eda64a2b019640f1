package io.synod.kv.coordinator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Five storage nodes, N=3: what one and two lost nodes do to reads and writes. */
@Timeout(180)
class FaultTest {
  @TempDir Path dir;
  KvCluster cluster;
  KvCoordinator kv;

  @BeforeEach
  void start() {
    cluster = KvCluster.start(dir, 5);
    kv = cluster.coordinator("c1");
    kv.tenants().create(Tenant.withDefaults("acme"));
  }

  @AfterEach
  void stop() {
    cluster.close();
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private List<String> replicas(String key) {
    return ((RingMembership) kv.membership()).view().replicas("acme", key, 3);
  }

  @Test
  void oneNodeDownQuorumWorksAllFailsAndReadRepairCatchesItUp() throws Exception {
    String key = "user:1";
    String down = replicas(key).get(1);
    kv.write(new KvWrite("acme", key, bytes("before"), Consistency.ALL, null));
    cluster.kill(down);

    KvWriteResultCheck.ok(kv.write(new KvWrite("acme", key, bytes("during"), Consistency.QUORUM,
        null)), 2);
    KvReadResult read = kv.read(new KvRead("acme", key, Consistency.QUORUM, false));
    assertThat(new String(read.value(), StandardCharsets.UTF_8)).isEqualTo("during");
    assertThatThrownBy(() -> kv.write(new KvWrite("acme", key, bytes("all"), Consistency.ALL,
        null)))
        .isInstanceOfSatisfying(SynodException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE);
          assertThat(e.field()).contains("consistency");
          assertThat(e.getMessage()).contains("all not reached").contains("needs 3 of 3 replicas")
              .contains("1 failed").contains(down);
        });
    assertThatThrownBy(() -> kv.read(new KvRead("acme", key, Consistency.ALL, false)))
        .isInstanceOfSatisfying(SynodException.class,
            e -> assertThat(e.getMessage()).contains("all not reached"));

    // Back: the node still holds "before"; a read finds it behind and repairs it.
    cluster.restart(down);
    assertThat(held(down, key)).extracting(v -> new String(v.value(), StandardCharsets.UTF_8))
        .containsExactly("before");
    double repairs = cluster.counter("c1", "coordinator_repairs_triggered");
    KvReadResult after = kv.read(new KvRead("acme", key, Consistency.ALL, false));
    assertThat(new String(after.value(), StandardCharsets.UTF_8)).isEqualTo("during");
    assertThat(awaitHeld(down, key, "during")).isTrue();
    assertThat(cluster.counter("c1", "coordinator_repairs_triggered")).isGreaterThan(repairs);
  }

  @Test
  void twoNodesDownQuorumFailsAndSaysSo() {
    String key = "user:2";
    List<String> replicas = replicas(key);
    kv.write(new KvWrite("acme", key, bytes("v"), null, null));
    cluster.kill(replicas.get(0));
    cluster.kill(replicas.get(2));
    double failures = cluster.counter("c1", "coordinator_quorum_failures");
    assertThatThrownBy(() -> kv.write(new KvWrite("acme", key, bytes("w"), null, null)))
        .isInstanceOfSatisfying(SynodException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE);
          assertThat(e.getMessage()).contains("quorum not reached").contains("needs 2 of 3 replicas")
              .contains("2 failed");
        });
    assertThatThrownBy(() -> kv.read(KvRead.of("acme", key)))
        .isInstanceOfSatisfying(SynodException.class,
            e -> assertThat(e.getMessage()).contains("quorum not reached"));
    assertThat(cluster.counter("c1", "coordinator_quorum_failures")).isEqualTo(failures + 2);
    // ONE still answers, from the replica that is up.
    assertThat(new String(kv.read(new KvRead("acme", key, Consistency.ONE, false)).value(),
        StandardCharsets.UTF_8)).isEqualTo("v");
  }

  /**
   * Writers at quorum while nodes are killed and restarted, one at a time: every write that was
   * acknowledged is read back afterwards (the last acknowledged value of each key, or a later
   * one whose outcome was unknown).
   */
  @Test
  void noAcknowledgedQuorumWriteIsLostAcrossNodeKills() throws Exception {
    int keys = 200;
    Map<String, Integer> lastAcked = new ConcurrentHashMap<>();
    Map<String, Integer> lastTried = new ConcurrentHashMap<>();
    AtomicBoolean running = new AtomicBoolean(true);
    AtomicInteger acked = new AtomicInteger();
    AtomicInteger refused = new AtomicInteger();
    ExecutorService writers = Executors.newFixedThreadPool(4);
    List<Future<?>> futures = new ArrayList<>();
    for (int w = 0; w < 4; w++) {
      int writer = w;
      futures.add(writers.submit(() -> {
        int n = 0;
        while (running.get()) {
          String key = "k" + (writer + 4 * (n % (keys / 4))); // each key has one writer
          int value = ++n;
          lastTried.put(key, value);
          try {
            kv.write(new KvWrite("acme", key, bytes(Integer.toString(value)), null, null));
            lastAcked.put(key, value);
            acked.incrementAndGet();
          } catch (SynodException e) {
            refused.incrementAndGet();
          }
        }
        return null;
      }));
    }
    Random random = new Random(42);
    List<String> nodes = cluster.nodeIds();
    for (int round = 0; round < 4; round++) {
      Thread.sleep(300);
      String victim = nodes.get(random.nextInt(nodes.size()));
      cluster.kill(victim);
      Thread.sleep(300);
      cluster.restart(victim);
    }
    Thread.sleep(200);
    running.set(false);
    for (Future<?> f : futures) {
      f.get(60, TimeUnit.SECONDS);
    }
    writers.shutdown();

    int lost = 0;
    for (Map.Entry<String, Integer> e : lastAcked.entrySet()) {
      KvReadResult read = kv.read(KvRead.of("acme", e.getKey()));
      int seen = Integer.parseInt(new String(read.value(), StandardCharsets.UTF_8));
      if (seen < e.getValue() || seen > lastTried.get(e.getKey())) {
        lost++;
      }
    }
    System.out.printf("kv faults: acknowledged %d, refused %d, keys %d, lost %d%n", acked.get(),
        refused.get(), lastAcked.size(), lost);
    assertThat(acked.get()).isPositive();
    assertThat(lost).isZero();
  }

  private List<Versioned> held(String node, String key) throws Exception {
    try (StorageNodeClient client = new StorageNodeClient(node, cluster.node(node).address())) {
      return client.get("acme", key, Duration.ofSeconds(2)).get();
    }
  }

  private boolean awaitHeld(String node, String key, String value) throws Exception {
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < until) {
      if (held(node, key).stream()
          .anyMatch(v -> new String(v.value(), StandardCharsets.UTF_8).equals(value))) {
        return true;
      }
      Thread.sleep(20);
    }
    return false;
  }

  /** Small assertions on a write's result. */
  static final class KvWriteResultCheck {
    static void ok(io.synod.api.kv.KvWriteResult result, int atLeast) {
      assertThat(result.success()).isTrue();
      assertThat(result.replicaCount()).isGreaterThanOrEqualTo(atLeast);
    }
  }
}
