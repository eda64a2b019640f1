package io.synod.engine.saga.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.synod.api.kv.Consistency;
import io.synod.api.kv.KvWrite;
import io.synod.api.kv.Tenant;
import io.synod.api.saga.StepOperation;
import io.synod.kv.coordinator.KvCoordinator;
import io.synod.kv.idempotency.IdempotencyStore;
import io.synod.server.KvSagaStore;
import io.synod.server.TestKv;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The contract on a real key-value store ({@link TestKv}: three storage nodes, an H2 metadata
 * database and its idempotency records). The key-value store has no increment, so the stock is a
 * key whose value the action sets to {@code STOCK - n} and the compensation back to {@code
 * STOCK}; the refused operation writes a value over the tenant's limit. The barrier is read from
 * the idempotency records: the action's key holding the write is {@code action}; holding a fence
 * it is {@code blocked}, and the fence is the compensation's record too; the compensation's key
 * holding its write is {@code compensation}.
 */
class KvSagaStoreTest extends SagaStoreContract {
  private static final String TENANT = "shop";
  private static final int MAX_VALUE_BYTES = 64;
  private static final AtomicInteger TESTS = new AtomicInteger();

  @TempDir static Path dir;
  static TestKv kv;

  private String stockKey;

  @BeforeAll
  static void startKv() {
    kv = TestKv.start(dir.resolve("kv"), 3);
    kv.coordinator().tenants().create(new Tenant(TENANT, 3, Consistency.QUORUM, MAX_VALUE_BYTES,
        0));
  }

  @AfterAll
  static void stopKv() {
    if (kv != null) {
      kv.close();
    }
  }

  @Override
  void resetData() {
    stockKey = "stock:" + TESTS.incrementAndGet();
    kv.coordinator().write(KvWrite.of(TENANT, stockKey, utf8(String.valueOf(STOCK))));
  }

  @Override
  SagaStore openStore() {
    return new KvSagaStore(kv.coordinator());
  }

  @Override
  StepOperation take(int n) {
    return StepOperation.Kv.put(KvSagaStore.NAME, TENANT, stockKey, String.valueOf(STOCK - n));
  }

  @Override
  StepOperation giveBack(int n) {
    return StepOperation.Kv.put(KvSagaStore.NAME, TENANT, stockKey, String.valueOf(STOCK));
  }

  @Override
  StepOperation invalid() {
    return StepOperation.Kv.put(KvSagaStore.NAME, TENANT, stockKey,
        "x".repeat(MAX_VALUE_BYTES + 1));
  }

  @Override
  long stock() {
    return Long.parseLong(kv.read(TENANT, stockKey).orElseThrow());
  }

  @Override
  Map<String, String> barrier(String sagaId, String step) {
    return barrier(TENANT, sagaId, step);
  }

  private static Map<String, String> barrier(String tenant, String sagaId, String step) {
    Map<String, String> barrier = new HashMap<>();
    IdempotencyStore records = kv.idempotency();
    Optional<IdempotencyStore.Held> action = records.peek(tenant, sagaId + "_step_" + step);
    action.ifPresent(held -> {
      if (!(held instanceof IdempotencyStore.Held.Completed)) {
        barrier.put("action", "claimed"); // a claim left behind: no row of the table
      } else if (held.fingerprint().equals(KvCoordinator.FENCE_FINGERPRINT)) {
        barrier.put("action", "blocked");
        barrier.put("compensation", "compensation");
      } else {
        barrier.put("action", "action");
      }
    });
    records.peek(tenant, sagaId + "_comp_" + step).ifPresent(held ->
        barrier.put("compensation", held instanceof IdempotencyStore.Held.Completed
            ? "compensation" : "claimed"));
    return barrier;
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  // ---- what only the key-value store has

  @Test
  void aDeleteStepIsUndoneByItsCompensationsWrite() throws Exception {
    StepOperation delete = StepOperation.Kv.delete(KvSagaStore.NAME, TENANT, stockKey);

    assertThat(store.apply(action(delete))).isEqualTo(applied());
    assertThat(kv.read(TENANT, stockKey)).isEmpty();
    assertThat(store.apply(action(delete))).isEqualTo(alreadyApplied());

    assertThat(store.apply(compensation(giveBack(0)))).isEqualTo(applied());
    assertThat(stock()).isEqualTo(STOCK);
  }

  @Test
  void aCompensationWaitsForAnActionsWriteStillUnderWay() throws Exception {
    String actionKey = saga + "_step_reserve";
    assertThat(kv.idempotency().claim(TENANT, actionKey, "the-actions-fingerprint",
        KvSagaStore.BARRIER_RETENTION)).isEqualTo(new IdempotencyStore.Claim.First());

    assertThat(store.apply(compensation(giveBack(3))))
        .isInstanceOfSatisfying(StepResult.Failed.class, failed -> {
          assertThat(failed.retryable()).isTrue();
          assertThat(failed.reason()).contains("compensation of step 'reserve' on store 'kv'")
              .contains("still in progress");
        });

    kv.idempotency().release(TENANT, actionKey); // the action's write failed
    assertThat(store.apply(compensation(giveBack(3)))).isEqualTo(new StepResult.Skipped());
    assertThat(store.apply(action(take(3)))).isEqualTo(new StepResult.Refused());
    assertThat(stock()).isEqualTo(STOCK);
  }

  @Test
  void aSagaIdTooLongForTheStoresKeysIsRecordedUnderItsHash() throws Exception {
    saga = "s".repeat(StepCall.SAGA_ID_CHARS_MAX);

    assertThat(store.apply(action(take(3)))).isEqualTo(applied());
    assertThat(store.apply(action(take(3)))).isEqualTo(alreadyApplied());
    assertThat(store.apply(compensation(giveBack(3)))).isEqualTo(applied());
    assertThat(store.apply(compensation(giveBack(3)))).isEqualTo(alreadyApplied());
    assertThat(stock()).isEqualTo(STOCK);
  }

  @Test
  void anUnknownTenantFailsForGood() {
    StepOperation elsewhere = StepOperation.Kv.put(KvSagaStore.NAME, "nobody", stockKey, "1");

    assertThat(store.apply(action(elsewhere)))
        .isInstanceOfSatisfying(StepResult.Failed.class, failed -> {
          assertThat(failed.retryable()).isFalse();
          assertThat(failed.reason()).contains("tenant_id").contains("nobody");
        });
  }

  @Test
  void tooFewReplicasFailRetryablyAndLeaveNoBarrier(@TempDir Path empty) {
    try (TestKv noNodes = TestKv.start(empty, 0);
        SagaStore down = new KvSagaStore(noNodes.coordinator())) {
      noNodes.coordinator().tenants().create(Tenant.withDefaults(TENANT));

      assertThat(down.apply(action(take(3))))
          .isInstanceOfSatisfying(StepResult.Failed.class, failed -> {
            assertThat(failed.retryable()).isTrue();
            assertThat(failed.reason()).contains("no storage nodes");
          });
      assertThat(noNodes.idempotency().peek(TENANT, saga + "_step_reserve")).isEmpty();
    }
  }

  @Test
  void aClosedStoreFailsRetryably() {
    store.close();

    assertThat(store.apply(action(take(3))))
        .isInstanceOfSatisfying(StepResult.Failed.class,
            failed -> assertThat(failed.retryable()).isTrue());
    assertThat(barrier(saga, "reserve")).isEmpty();
  }
}
