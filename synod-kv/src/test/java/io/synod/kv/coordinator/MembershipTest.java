package io.synod.kv.coordinator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.kv.Consistency;
import io.synod.api.kv.KvRead;
import io.synod.api.kv.KvService;
import io.synod.api.kv.KvWrite;
import io.synod.api.kv.Tenant;
import io.synod.kv.node.KeyEntry;
import io.synod.kv.node.StorageNode;
import io.synod.kv.node.StorageNodeClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Adding and removing storage nodes while reads and writes go on. */
@Timeout(180)
class MembershipTest {
  private static final int KEYS = 1_500;

  @TempDir Path dir;
  KvCluster cluster;
  KvCoordinator kv;

  @BeforeEach
  void start() {
    cluster = KvCluster.start(dir, 5);
    kv = cluster.coordinator("c1");
    kv.tenants().create(Tenant.withDefaults("acme"));
    for (int i = 0; i < KEYS; i++) {
      kv.write(new KvWrite("acme", "k" + i, bytes("v" + i), null, null));
    }
  }

  @AfterEach
  void stop() {
    cluster.close();
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void aJoiningNodeTakesOnlyItsRangesWhileWritesGoOn() throws Exception {
    Map<String, String> written = new ConcurrentHashMap<>();
    for (int i = 0; i < KEYS; i++) {
      written.put("k" + i, "v" + i);
    }
    AtomicBoolean running = new AtomicBoolean(true);
    CompletableFuture<Integer> writer = CompletableFuture.supplyAsync(() -> {
      int n = 0;
      while (running.get()) {
        String key = "k" + (n % KEYS);
        String value = "w" + n++;
        kv.write(new KvWrite("acme", key, bytes(value), null, null));
        written.put(key, value);
      }
      return n;
    });

    StorageNode six = cluster.startNode("n6");
    KvService.MigrationReport report = kv.membership()
        .add(new KvService.StorageNodeInfo("n6", six.address()));
    running.set(false);
    int writesDuring = writer.get(60, TimeUnit.SECONDS);

    RingMembership.View view = ((RingMembership) kv.membership()).view();
    assertThat(view.serving().nodes()).containsExactly("n1", "n2", "n3", "n4", "n5", "n6");
    Set<String> sixShouldHold = new HashSet<>();
    for (int i = 0; i < KEYS; i++) {
      if (view.replicas("acme", "k" + i, 3).contains("n6")) {
        sixShouldHold.add("k" + i);
      }
    }
    // Every key n6 is now a replica of, and nothing else, is on n6.
    assertThat(keysOn("n6")).isEqualTo(sixShouldHold);
    // The others dropped the keys they no longer replicate.
    for (String node : List.of("n1", "n2", "n3", "n4", "n5")) {
      for (String key : keysOn(node)) {
        assertThat(view.replicas("acme", key, 3)).contains(node);
      }
    }
    double share = sixShouldHold.size() / (double) KEYS;
    System.out.printf("kv join: n6 took %d of %d keys (%.3f; N=3 over 6 nodes: 0.5), copied %d"
        + " versions, dropped %d, %d writes during the move, %d ms%n", sixShouldHold.size(), KEYS,
        share, report.versionsCopied(), report.keysDropped(), writesDuring,
        report.durationMillis());
    assertThat(share).isBetween(0.4, 0.6);
    assertThat(report.keysDropped()).isEqualTo(sixShouldHold.size());
    assertEverythingReadable(written);
  }

  @Test
  void aLeavingNodeHandsItsRangesToTheNextNodes() throws Exception {
    Map<String, String> written = new ConcurrentHashMap<>();
    for (int i = 0; i < KEYS; i++) {
      written.put("k" + i, "v" + i);
    }
    KvService.MigrationReport report = kv.membership().remove("n2");
    System.out.printf("kv leave: n2 left, %d keys scanned, %d versions copied, %d ms%n",
        report.keysScanned(), report.versionsCopied(), report.durationMillis());
    assertThat(kv.membership().nodes()).extracting(KvService.StorageNodeInfo::id)
        .containsExactly("n1", "n3", "n4", "n5");
    cluster.kill("n2"); // gone for good: everything must be readable without it
    assertEverythingReadable(written);

    assertThatThrownBy(() -> kv.membership().remove("n2"))
        .isInstanceOfSatisfying(SynodException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
    assertThatThrownBy(() -> kv.membership().add(new KvService.StorageNodeInfo("n1",
        cluster.node("n1").address())))
        .isInstanceOfSatisfying(SynodException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.ALREADY_EXISTS));
    assertThatThrownBy(() -> kv.membership().add(new KvService.StorageNodeInfo("n9",
        cluster.node("n1").address())))
        .isInstanceOfSatisfying(SynodException.class,
            e -> assertThat(e.getMessage()).contains("says it is 'n1'"));
  }

  private void assertEverythingReadable(Map<String, String> written) {
    int wrong = 0;
    for (Map.Entry<String, String> e : written.entrySet()) {
      String seen = new String(kv.read(new KvRead("acme", e.getKey(), Consistency.ALL, false))
          .value(), StandardCharsets.UTF_8);
      if (!seen.equals(e.getValue())) {
        wrong++;
      }
    }
    assertThat(wrong).as("keys not read back as last written").isZero();
  }

  private Set<String> keysOn(String node) {
    Set<String> keys = new HashSet<>();
    try (StorageNodeClient client = new StorageNodeClient(node, cluster.node(node).address())) {
      client.scanAll(500, Duration.ofSeconds(10), (KeyEntry e) -> keys.add(e.key()));
    }
    return keys;
  }
}
