package io.synod.kv.node;

import static io.synod.kv.node.Versions.clock;
import static io.synod.kv.node.Versions.tombstone;
import static io.synod.kv.node.Versions.value;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.synod.api.kv.VectorClock;
import io.synod.api.kv.Versioned;
import io.synod.kv.proto.Clock;
import io.synod.kv.proto.DropRequest;
import io.synod.kv.proto.KeyVersions;
import io.synod.kv.proto.PutRequest;
import io.synod.kv.proto.ScanRequest;
import io.synod.kv.proto.StorageNodeGrpc;
import io.synod.kv.proto.Version;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(60)
class StorageNodeTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(5);
  private static final long NOW = 1_800_000_000_000L;

  @TempDir Path dir;
  private StorageNode node;
  private StorageNodeClient client;

  @BeforeEach
  void start() {
    node = StorageNode.start(StorageNodeConfig.of("n1", dir));
    client = new StorageNodeClient(node.id(), node.address());
  }

  @AfterEach
  void stop() {
    client.close();
    node.close();
  }

  @Test
  void putGetScanDropAndInfoGoThroughTheClient() {
    Versioned a = value("a", clock("c1", 1), NOW);
    Versioned b = value("b", clock("c2", 1), NOW);

    assertThat(client.put("t", "k1", List.of(a), TIMEOUT).join()).containsExactly(a);
    assertThat(client.put("t", "k1", List.of(b), TIMEOUT).join()).containsExactlyInAnyOrder(a, b);
    client.put("t", "k2", List.of(a), TIMEOUT).join();

    assertThat(client.get("t", "k1", TIMEOUT).join()).containsExactlyInAnyOrder(a, b);
    assertThat(client.get("t", "never", TIMEOUT).join()).isEmpty();
    List<KeyEntry> scanned = client.scan("", "", 10, TIMEOUT);
    assertThat(scanned).extracting(KeyEntry::key).containsExactly("k1", "k2");
    assertThat(client.scan("t", "k1", 10, TIMEOUT)).extracting(KeyEntry::key)
        .containsExactly("k2");
    StorageNodeClient.NodeInfo info = client.info();
    assertThat(info.nodeId()).isEqualTo("n1");
    assertThat(info.estimatedKeys()).as("an estimate: counts writes until compaction")
        .isBetween(2L, 3L);

    assertThat(client.drop(scanned, TIMEOUT)).isEqualTo(2);
    assertThat(client.get("t", "k1", TIMEOUT).join()).isEmpty();
    assertThat(client.scan("", "", 10, TIMEOUT)).isEmpty();
  }

  @Test
  void scanStreamsMoreKeysThanAPageInOrder() {
    int keys = StorageNodeService.SCAN_PAGE_KEYS * 2 + 17;
    Versioned v = value("v", clock("c1", 1), NOW);
    List<java.util.concurrent.CompletableFuture<List<Versioned>>> puts = new ArrayList<>();
    for (int i = 0; i < keys; i++) {
      puts.add(client.put("t", String.format("k%05d", i), List.of(v), TIMEOUT));
    }
    puts.forEach(java.util.concurrent.CompletableFuture::join);

    List<String> all = client.scan("", "", keys + 10, TIMEOUT).stream().map(KeyEntry::key)
        .toList();
    List<String> paged = new ArrayList<>();
    long seen = client.scanAll(100, TIMEOUT, e -> paged.add(e.key()));

    assertThat(all).hasSize(keys).isSorted();
    assertThat(seen).isEqualTo(keys);
    assertThat(paged).isEqualTo(all);
    try (Raw raw = new Raw(node.address())) {
      Iterator<KeyVersions> unlimited = raw.stub().scan(ScanRequest.getDefaultInstance());
      int count = 0;
      while (unlimited.hasNext()) {
        unlimited.next();
        count++;
      }
      assertThat(count).as("limit 0: every key").isEqualTo(keys);
    }
  }

  @Test
  void valuesLargerThanGrpcsDefaultMessageLimitPass() {
    byte[] big = new byte[5 << 20];
    Arrays.fill(big, (byte) 7);
    Versioned v = new Versioned(big, clock("c1", 1), NOW, "c1", false);

    client.put("t", "big", List.of(v), TIMEOUT).join();

    assertThat(client.get("t", "big", TIMEOUT).join()).containsExactly(v);
  }

  @Test
  void badInputIsInvalidArgumentNamingTheField() {
    Versioned ok = value("a", clock("c1", 1), NOW);
    Versioned noClock = new Versioned(new byte[] {1}, VectorClock.EMPTY, NOW, "c1", false);

    assertRejected(() -> client.put("", "k", List.of(ok), TIMEOUT).join(), "tenant_id");
    assertRejected(() -> client.put("t", "", List.of(ok), TIMEOUT).join(), "key");
    assertRejected(() -> client.put("t", "k", List.of(), TIMEOUT).join(), "versions");
    assertRejected(() -> client.put("t", "k", List.of(ok, noClock), TIMEOUT).join(),
        "versions[1].clock");
    assertRejected(() -> client.get("t", "", TIMEOUT).join(), "key");

    try (Raw raw = new Raw(node.address())) {
      Version zeroCounter = Version.newBuilder().setValue(ByteString.copyFromUtf8("x"))
          .setWriter("c1").setClock(Clock.newBuilder().putEntries("c1", 0)).build();
      assertThatThrownBy(() -> raw.stub().put(PutRequest.newBuilder().setTenantId("t")
          .setKey("k").addVersions(zeroCounter).build()))
          .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
            assertThat(e.getStatus().getDescription()).startsWith("versions[0].clock.entries[c1]:")
                .contains("positive");
          });
      Version tombstoneWithValue = VersionMapping.toProto(ok).toBuilder().setTombstone(true)
          .build();
      assertThatThrownBy(() -> raw.stub().put(PutRequest.newBuilder().setTenantId("t")
          .setKey("k").addVersions(tombstoneWithValue).build()))
          .hasMessageContaining("INVALID_ARGUMENT: versions[0].value:");
      assertThatThrownBy(() -> raw.stub().scan(ScanRequest.newBuilder().setAfterKey("k").build())
          .hasNext())
          .hasMessageContaining("INVALID_ARGUMENT: after_key:");
      assertThatThrownBy(() -> raw.stub().drop(DropRequest.newBuilder()
          .addKeys(KeyVersions.newBuilder().setTenantId("t").setKey("k")).build()))
          .hasMessageContaining("INVALID_ARGUMENT: keys[0].versions:");
    }
  }

  @Test
  void aRestartOnTheSameDirectoryAndPortKeepsTheData() throws Exception {
    Versioned a = value("a", clock("c1", 1), NOW);
    client.put("t", "k", List.of(a), TIMEOUT).join();
    int port = node.port();

    node.close();
    assertThatThrownBy(() -> client.get("t", "k", TIMEOUT).join())
        .hasMessageContaining("unreachable");
    node = StorageNode.start(StorageNodeConfig.of("n1", dir).withPort(port));

    try (StorageNodeClient fresh = new StorageNodeClient("n1", node.address())) {
      assertThat(fresh.get("t", "k", TIMEOUT).join()).containsExactly(a);
    }
    // The client from before the restart serves again too, once it has reconnected.
    assertThat(eventually(() -> client.get("t", "k", TIMEOUT).join())).containsExactly(a);
  }

  @Test
  void aCallToAClosedNodeFailsNamingTheNode() {
    node.close();

    assertThatThrownBy(() -> client.get("t", "k", Duration.ofSeconds(2)).join())
        .isInstanceOf(CompletionException.class)
        .cause()
        .isInstanceOfSatisfying(StorageNodeException.class, e -> {
          assertThat(e.nodeId()).isEqualTo("n1");
          assertThat(e.code()).isEqualTo(Status.Code.UNAVAILABLE);
        })
        .hasMessageStartingWith("node n1 (" + node.address() + ") unreachable during get:");
    assertThatThrownBy(() -> client.scan("", "", 10, Duration.ofSeconds(2)))
        .isInstanceOf(StorageNodeException.class)
        .hasMessageStartingWith("node n1 (" + node.address() + ") unreachable during scan:");
  }

  @Test
  void oldTombstonesAreCollectedOnSchedule() throws Exception {
    node.close();
    client.close();
    node = StorageNode.start(StorageNodeConfig.of("n1", dir).withTombstoneGrace(Duration.ZERO)
        .withGcInterval(Duration.ofMillis(50)));
    client = new StorageNodeClient("n1", node.address());
    long past = System.currentTimeMillis() - 1_000;
    client.put("t", "deleted", List.of(tombstone(clock("c1", 1), past)), TIMEOUT).join();
    client.put("t", "live", List.of(value("v", clock("c1", 1), past)), TIMEOUT).join();

    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!client.get("t", "deleted", TIMEOUT).join().isEmpty()) {
      assertThat(System.nanoTime()).as("tombstone collected within 10 s").isLessThan(deadline);
      Thread.sleep(20);
    }
    assertThat(client.get("t", "live", TIMEOUT).join()).hasSize(1);
  }

  private static void assertRejected(Runnable call, String field) {
    assertThatThrownBy(call::run)
        .isInstanceOf(CompletionException.class)
        .cause()
        .isInstanceOfSatisfying(StorageNodeException.class,
            e -> assertThat(e.code()).isEqualTo(Status.Code.INVALID_ARGUMENT))
        .hasMessageContaining("rejected during")
        .hasMessageContaining("INVALID_ARGUMENT: " + field + ":");
  }

  private static <T> T eventually(Supplier<T> call) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (true) {
      try {
        return call.get();
      } catch (CompletionException e) {
        if (System.nanoTime() > deadline) {
          throw e;
        }
        Thread.sleep(50);
      }
    }
  }

  /** A bare channel, to send what StorageNodeClient would never build. */
  private record Raw(ManagedChannel channel) implements AutoCloseable {
    Raw(String address) {
      this(NettyChannelBuilder.forTarget(address).usePlaintext().build());
    }

    StorageNodeGrpc.StorageNodeBlockingStub stub() {
      return StorageNodeGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS);
    }

    @Override
    public void close() {
      channel.shutdownNow();
    }
  }
}
