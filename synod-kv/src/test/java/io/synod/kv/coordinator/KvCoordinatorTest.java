package io.synod.kv.coordinator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.kv.Consistency;
import io.synod.api.kv.KvDelete;
import io.synod.api.kv.KvRead;
import io.synod.api.kv.KvReadResult;
import io.synod.api.kv.KvWrite;
import io.synod.api.kv.KvWriteResult;
import io.synod.api.kv.Tenant;
import io.synod.kv.coordinator.KvCoordinator.Fence;
import io.synod.kv.idempotency.IdempotencyStore;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Idempotent writes, fences, deletes, quotas and bad input, on three real nodes. */
@Timeout(120)
class KvCoordinatorTest {
  private static final Duration WEEK = Duration.ofDays(7);

  @TempDir static Path dir;
  static KvCluster cluster;
  static KvCoordinator kv;

  @BeforeAll
  static void start() {
    cluster = KvCluster.start(dir, 3);
    kv = cluster.coordinator("c1");
    kv.tenants().create(new Tenant("acme", 3, Consistency.QUORUM, 16, 0));
    kv.tenants().create(new Tenant("tiny", 1, Consistency.ONE, 1024, 5));
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void aRepeatedIdempotencyKeyReturnsTheFirstResponseAndWritesNothing() {
    KvWriteResult first = kv.write(new KvWrite("acme", "order:1", bytes("paid"), null, "req-1"));
    KvWriteResult again = cluster.coordinator("c2")
        .write(new KvWrite("acme", "order:1", bytes("paid"), null, "req-1"));
    assertThat(first.duplicate()).isFalse();
    assertThat(again.duplicate()).isTrue();
    assertThat(again.clock()).isEqualTo(first.clock()).hasToString("{c1:1}");
    assertThat(kv.read(KvRead.of("acme", "order:1")).clock()).hasToString("{c1:1}");

    assertThatThrownBy(() -> kv.write(new KvWrite("acme", "order:1", bytes("refunded"), null,
        "req-1"))).isInstanceOfSatisfying(SynodException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT);
          assertThat(e.field()).contains("idempotency_key");
        });
  }

  @Test
  void aFencedKeyRefusesTheWriteThatComesLater() {
    assertThat(kv.fence("acme", "saga-1_step_a", WEEK)).isEqualTo(Fence.NEVER_RAN);

    assertThatThrownBy(() -> cluster.coordinator("c2").write(new KvWrite("acme", "fenced",
        bytes("late"), null, "saga-1_step_a")))
        .isInstanceOfSatisfying(SynodException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.FAILED_PRECONDITION);
          assertThat(e.field()).contains("idempotency_key");
          assertThat(e.getMessage()).contains("fenced by a saga compensation");
        });
    assertThatThrownBy(() -> kv.delete(new KvDelete("acme", "fenced", null, "saga-1_step_a")))
        .isInstanceOfSatisfying(SynodException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.FAILED_PRECONDITION));
    assertThat(kv.read(KvRead.of("acme", "fenced")).found()).isFalse();
    assertThat(kv.fence("acme", "saga-1_step_a", WEEK)).isEqualTo(Fence.FENCED_BEFORE);
    assertThat(cluster.idempotency().peek("acme", "saga-1_step_a")).hasValueSatisfying(held -> {
      assertThat(held.fingerprint()).isEqualTo(KvCoordinator.FENCE_FINGERPRINT);
      assertThat(((IdempotencyStore.Held.Completed) held).response().success()).isFalse();
    });
  }

  @Test
  void aFenceOfAWrittenKeyFindsItAppliedAndLeavesItToTheWrite() {
    KvWriteResult first = kv.write(new KvWrite("acme", "applied", bytes("v"), null,
        "saga-2_step_a"), WEEK);

    assertThat(kv.fence("acme", "saga-2_step_a", WEEK)).isEqualTo(Fence.APPLIED);
    assertThat(kv.fence("acme", "saga-2_step_a", WEEK)).isEqualTo(Fence.APPLIED);
    KvWriteResult again = kv.write(new KvWrite("acme", "applied", bytes("v"), null,
        "saga-2_step_a"), WEEK);
    assertThat(again.duplicate()).isTrue();
    assertThat(again.clock()).isEqualTo(first.clock());
  }

  @Test
  void aFenceOfAKeyWhoseWriteIsUnderWaySaysSoAndTakesItOnceReleased() {
    IdempotencyStore store = cluster.idempotency();
    assertThat(store.claim("acme", "saga-3_step_a", "a-writes-fingerprint", WEEK))
        .isEqualTo(new IdempotencyStore.Claim.First());

    assertThat(kv.fence("acme", "saga-3_step_a", WEEK)).isEqualTo(Fence.IN_PROGRESS);
    store.release("acme", "saga-3_step_a"); // the write failed
    assertThat(kv.fence("acme", "saga-3_step_a", WEEK)).isEqualTo(Fence.NEVER_RAN);
  }

  @Test
  void aFenceRefusesBadInputNamingTheField() {
    invalid(() -> kv.fence("no spaces", "k", WEEK), "tenant_id");
    invalid(() -> kv.fence("acme", " ", WEEK), "idempotency_key");
    invalid(() -> kv.fence("acme", "k".repeat(257), WEEK), "idempotency_key");
    invalid(() -> kv.fence("acme", "k", Duration.ofDays(31)), "retention");
    assertThatThrownBy(() -> kv.fence("nobody", "k", WEEK))
        .isInstanceOfSatisfying(SynodException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND);
          assertThat(e.field()).contains("tenant_id");
        });
  }

  @Test
  void aDeleteLeavesATombstoneThatTheNextWriteSupersedes() {
    kv.write(KvWrite.of("acme", "gone", bytes("x")));
    KvWriteResult deleted = kv.delete(KvDelete.of("acme", "gone"));
    assertThat(deleted.clock()).hasToString("{c1:2}");
    KvReadResult read = kv.read(KvRead.of("acme", "gone"));
    assertThat(read.found()).isFalse();
    assertThat(read.clock()).hasToString("{c1:2}");
    kv.write(KvWrite.of("acme", "gone", bytes("back")));
    KvReadResult again = kv.read(KvRead.of("acme", "gone"));
    assertThat(again.found()).isTrue();
    assertThat(again.clock()).hasToString("{c1:3}");
    assertThat(kv.read(KvRead.of("acme", "never")).found()).isFalse();
  }

  @Test
  void racingWritesThroughOneCoordinatorLoseNothingAndTheNextWriteSettlesThem() throws Exception {
    var pool = java.util.concurrent.Executors.newFixedThreadPool(8);
    java.util.List<java.util.concurrent.Future<KvWriteResult>> writes = new java.util.ArrayList<>();
    for (int i = 0; i < 8; i++) {
      String value = "racer-" + i;
      writes.add(pool.submit(() -> kv.write(KvWrite.of("acme", "hot", bytes(value)))));
    }
    for (var w : writes) {
      w.get();
    }
    pool.shutdown();
    // Writes that read the same clock wrote equal clocks: each one is kept, none overwritten.
    KvReadResult raced = kv.read(new KvRead("acme", "hot", Consistency.ALL, true));
    assertThat(raced.siblings()).isNotEmpty();
    kv.write(KvWrite.of("acme", "hot", bytes("settled")));
    KvReadResult settled = kv.read(new KvRead("acme", "hot", Consistency.ALL, true));
    assertThat(settled.siblings()).singleElement().satisfies(v ->
        assertThat(new String(v.value(), StandardCharsets.UTF_8)).isEqualTo("settled"));
  }

  @Test
  void badInputIsRefusedNamingTheField() {
    invalid(() -> kv.write(KvWrite.of("no spaces", "k", bytes("v"))), "tenant_id");
    invalid(() -> kv.write(KvWrite.of("acme", "", bytes("v"))), "key");
    invalid(() -> kv.write(KvWrite.of("acme", "k".repeat(1025), bytes("v"))), "key");
    invalid(() -> kv.write(KvWrite.of("acme", "k", bytes("seventeen bytes!!"))), "value");
    invalid(() -> kv.write(new KvWrite("acme", "k", bytes("v"), null, " ")), "idempotency_key");
    invalid(() -> Consistency.fromWire("consistency", "most"), "consistency");
    assertThatThrownBy(() -> kv.read(KvRead.of("nobody", "k")))
        .isInstanceOfSatisfying(SynodException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND);
          assertThat(e.field()).contains("tenant_id");
        });
  }

  @Test
  void aTenantOverItsRequestQuotaIsToldToBackOff() {
    int refused = 0;
    for (int i = 0; i < 20; i++) {
      try {
        kv.write(KvWrite.of("tiny", "k", bytes("v" + i)));
      } catch (SynodException e) {
        assertThat(e.code()).isEqualTo(ErrorCode.RESOURCE_EXHAUSTED);
        assertThat(e.getMessage()).contains("quota of 5 requests a second");
        refused++;
      }
    }
    assertThat(refused).isPositive();
  }

  @Test
  void metricsCarryTheSpecNames() {
    kv.read(KvRead.of("acme", "metrics"));
    assertThat(cluster.registry("c1").find("coordinator_requests").tag("operation", "read")
        .tag("outcome", "ok").counter()).isNotNull();
    assertThat(cluster.registry("c1").find("coordinator_request_duration").timer()).isNotNull();
    assertThat(cluster.counter("c1", "coordinator_cache_hits")).isPositive();
  }

  private static void invalid(ThrowingCallable call, String field) {
    assertThatThrownBy(call).isInstanceOfSatisfying(SynodException.class, e -> {
      assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT);
      assertThat(e.field()).contains(field);
    });
  }
}
