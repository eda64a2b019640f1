package io.synod.kv.idempotency;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.kv.Consistency;
import io.synod.api.kv.KvWriteResult;
import io.synod.api.kv.VectorClock;
import io.synod.kv.idempotency.IdempotencyStore.Claim;
import io.synod.kv.idempotency.IdempotencyStore.Held;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What every {@link IdempotencyStore} must do, run once per store by the subclasses. Each test has
 * its own tenant, so tests on one shared store keep apart. Time passes through {@link #pass}: a
 * test clock moved by hand, or real sleeps for Redis, whose expiry is its own; leases and
 * retentions that are meant to end are {@link #SHORT} for that reason.
 */
@Timeout(60)
abstract class IdempotencyStoreContract {
  /** A lease or retention a test lets run out. */
  static final Duration SHORT = Duration.ofMillis(200);
  /** Past {@link #SHORT}, with a margin for Redis's clock. */
  static final Duration PAST_SHORT = Duration.ofMillis(300);
  static final Duration DAY = IdempotencyStore.DEFAULT_RETENTION;
  static final String FP = IdempotencyStore.fingerprint("write", "user:456", new byte[] {1, 2});
  static final String OTHER_FP =
      IdempotencyStore.fingerprint("write", "user:456", new byte[] {1, 3});
  private static final AtomicInteger TENANTS = new AtomicInteger();

  private final List<IdempotencyStore> opened = new ArrayList<>();
  /** The store under test, with the default lease. */
  IdempotencyStore store;
  String tenant;

  /** A store on the same data as every other store of this test, with this lease. */
  abstract IdempotencyStore openStore(Duration lease);

  /** Lets {@code d} pass, as the stores see time. */
  abstract void pass(Duration d) throws InterruptedException;

  @BeforeEach
  void openDefaultStore() {
    tenant = "tenant-" + TENANTS.incrementAndGet();
    store = open(IdempotencyStore.DEFAULT_LEASE);
  }

  @AfterEach
  void closeStores() {
    opened.forEach(IdempotencyStore::close);
  }

  IdempotencyStore open(Duration lease) {
    IdempotencyStore s = openStore(lease);
    opened.add(s);
    return s;
  }

  static KvWriteResult fullResponse(String idempotencyKey) {
    Map<String, Long> clock = new LinkedHashMap<>();
    clock.put("coordinator-2", 1L);
    clock.put("coordinator-1", 7L);
    clock.put("kö-ø", Long.MAX_VALUE);
    return new KvWriteResult(true, "user:456", idempotencyKey, VectorClock.of(clock), 3,
        Consistency.QUORUM, false, "2 of 3 replicas in time; the third repaired later ✓");
  }

  @Test
  void theFirstClaimOwnsTheKey() {
    assertThat(store.claim(tenant, "k1", FP, DAY)).isEqualTo(new Claim.First());
  }

  @Test
  void aCompletedKeyAnswersTheFirstResponseExactlyToEveryCoordinator() {
    KvWriteResult first = fullResponse("k1");
    store.claim(tenant, "k1", FP, DAY);
    store.complete(tenant, "k1", first, DAY);

    Claim seen = open(IdempotencyStore.DEFAULT_LEASE).claim(tenant, "k1", FP, DAY);

    assertThat(seen).isEqualTo(new Claim.Done(first));
    Claim.Done done = (Claim.Done) seen;
    assertThat(done.firstResponse().clock().entries())
        .containsExactly(Map.entry("coordinator-1", 7L), Map.entry("coordinator-2", 1L),
            Map.entry("kö-ø", Long.MAX_VALUE));
    assertThat(done.duplicateResponse()).isEqualTo(first.asDuplicate());
    assertThat(done.duplicateResponse().duplicate()).isTrue();
  }

  @Test
  void aResponseWithoutItsOptionalPartsRoundTrips() {
    KvWriteResult bare = new KvWriteResult(true, "k", null, VectorClock.EMPTY, 1, null, false,
        null);
    KvWriteResult noClock = new KvWriteResult(false, null, "k2", null, 0, Consistency.ALL, true,
        "");
    store.claim(tenant, "k1", FP, DAY);
    store.complete(tenant, "k1", bare, DAY);
    store.claim(tenant, "k2", FP, DAY);
    store.complete(tenant, "k2", noClock, DAY);

    assertThat(store.claim(tenant, "k1", FP, DAY)).isEqualTo(new Claim.Done(bare));
    assertThat(store.claim(tenant, "k2", FP, DAY)).isEqualTo(new Claim.Done(noClock));
  }

  @Test
  void aClaimedKeyIsInProgressUntilCompleted() {
    store.claim(tenant, "k1", FP, DAY);

    assertThat(store.claim(tenant, "k1", FP, DAY)).isEqualTo(new Claim.InProgress());
    assertThat(open(IdempotencyStore.DEFAULT_LEASE).claim(tenant, "k1", FP, DAY))
        .isEqualTo(new Claim.InProgress());
    store.complete(tenant, "k1", fullResponse("k1"), DAY);
    assertThat(store.claim(tenant, "k1", FP, DAY)).isInstanceOf(Claim.Done.class);
  }

  @Test
  void anotherRequestUnderTheKeyIsAMismatchWhileClaimedAndOnceDone() {
    store.claim(tenant, "k1", FP, DAY);
    assertThat(store.claim(tenant, "k1", OTHER_FP, DAY)).isEqualTo(new Claim.Mismatch());

    store.complete(tenant, "k1", fullResponse("k1"), DAY);
    assertThat(store.claim(tenant, "k1", OTHER_FP, DAY)).isEqualTo(new Claim.Mismatch());
    assertThat(store.claim(tenant, "k1", FP, DAY)).isEqualTo(new Claim.Done(fullResponse("k1")));
  }

  @Test
  void anAbandonedClaimIsTakenOverAfterItsLease() throws Exception {
    IdempotencyStore crashing = open(SHORT);
    assertThat(crashing.claim(tenant, "k1", FP, DAY)).isEqualTo(new Claim.First());
    assertThat(store.claim(tenant, "k1", FP, DAY)).isEqualTo(new Claim.InProgress());

    pass(PAST_SHORT);

    assertThat(store.claim(tenant, "k1", FP, DAY)).isEqualTo(new Claim.First());
    assertThat(crashing.claim(tenant, "k1", FP, DAY)).isEqualTo(new Claim.InProgress());
  }

  @Test
  void anExpiredClaimOfAnotherRequestIsTakenOverToo() throws Exception {
    open(SHORT).claim(tenant, "k1", OTHER_FP, DAY);
    pass(PAST_SHORT);

    assertThat(store.claim(tenant, "k1", FP, DAY)).isEqualTo(new Claim.First());
    assertThat(store.claim(tenant, "k1", OTHER_FP, DAY)).isEqualTo(new Claim.Mismatch());
  }

  @Test
  void aWriteThatOutlivedItsLeaseKeepsNoResponse() throws Exception {
    IdempotencyStore slow = open(SHORT);
    slow.claim(tenant, "k1", FP, DAY);
    pass(PAST_SHORT);

    slow.complete(tenant, "k1", fullResponse("k1"), DAY);

    assertThat(store.claim(tenant, "k1", FP, DAY)).isEqualTo(new Claim.First());
  }

  @Test
  void aReleasedClaimLetsARetryRunButACompletedKeyStays() {
    store.claim(tenant, "k1", FP, DAY);
    store.release(tenant, "k1");
    assertThat(store.claim(tenant, "k1", FP, DAY)).isEqualTo(new Claim.First());

    store.complete(tenant, "k1", fullResponse("k1"), DAY);
    store.release(tenant, "k1");
    store.release(tenant, "never-claimed");
    assertThat(store.claim(tenant, "k1", FP, DAY)).isEqualTo(new Claim.Done(fullResponse("k1")));
  }

  @Test
  void aCompletedKeyIsForgottenAfterItsRetention() throws Exception {
    store.claim(tenant, "k1", FP, DAY);
    store.complete(tenant, "k1", fullResponse("k1"), SHORT);
    assertThat(store.claim(tenant, "k1", OTHER_FP, DAY)).isEqualTo(new Claim.Mismatch());

    pass(PAST_SHORT);

    assertThat(store.claim(tenant, "k1", OTHER_FP, DAY)).isEqualTo(new Claim.First());
  }

  @Test
  void aRetentionShorterThanTheLeaseBoundsTheClaim() throws Exception {
    store.claim(tenant, "k1", FP, SHORT);

    pass(PAST_SHORT);

    assertThat(store.claim(tenant, "k1", FP, DAY)).isEqualTo(new Claim.First());
  }

  @Test
  void tenantsAndKeysAreApart() {
    String otherTenant = tenant + ".other";

    assertThat(store.claim(tenant, "k1", FP, DAY)).isEqualTo(new Claim.First());
    assertThat(store.claim(otherTenant, "k1", FP, DAY)).isEqualTo(new Claim.First());
    assertThat(store.claim(tenant, "k1:x", FP, DAY)).isEqualTo(new Claim.First());
    assertThat(store.claim(tenant, "K1", FP, DAY)).isEqualTo(new Claim.First());
  }

  @Test
  void ofSixteenConcurrentClaimsExactlyOneOwnsTheKey() throws Exception {
    assertThat(claimConcurrently("k1")).containsExactlyInAnyOrderEntriesOf(
        Map.of(new Claim.First(), 1, new Claim.InProgress(), 15));
  }

  @Test
  void ofSixteenConcurrentTakeOversExactlyOneOwnsTheKey() throws Exception {
    open(SHORT).claim(tenant, "k1", FP, DAY);
    pass(PAST_SHORT);

    assertThat(claimConcurrently("k1")).containsExactlyInAnyOrderEntriesOf(
        Map.of(new Claim.First(), 1, new Claim.InProgress(), 15));
  }

  @Test
  void peekShowsWhoHoldsAKeyAndHowFarItGotWithoutClaimingIt() {
    assertThat(store.peek(tenant, "k1")).isEmpty();
    assertThat(store.claim(tenant, "k1", FP, DAY)).isEqualTo(new Claim.First()); // still free

    assertThat(open(IdempotencyStore.DEFAULT_LEASE).peek(tenant, "k1"))
        .contains(new Held.Claimed(FP));
    assertThat(store.claim(tenant, "k1", FP, DAY)).isEqualTo(new Claim.InProgress());

    store.complete(tenant, "k1", fullResponse("k1"), DAY);
    assertThat(store.peek(tenant, "k1")).contains(new Held.Completed(FP, fullResponse("k1")));
    assertThat(store.claim(tenant, "k1", OTHER_FP, DAY)).isEqualTo(new Claim.Mismatch());
    assertThat(store.peek(tenant, "k1")).contains(new Held.Completed(FP, fullResponse("k1")));
    assertThat(store.peek(tenant + ".other", "k1")).isEmpty();
  }

  @Test
  void peekSeesNothingOfAReleasedOrExpiredKey() throws Exception {
    store.claim(tenant, "released", FP, DAY);
    store.release(tenant, "released");
    open(SHORT).claim(tenant, "abandoned", FP, DAY);
    store.claim(tenant, "forgotten", OTHER_FP, DAY);
    store.complete(tenant, "forgotten", fullResponse("forgotten"), SHORT);

    pass(PAST_SHORT);

    assertThat(store.peek(tenant, "released")).isEmpty();
    assertThat(store.peek(tenant, "abandoned")).isEmpty();
    assertThat(store.peek(tenant, "forgotten")).isEmpty();
  }

  @Test
  void badArgumentsAreRefusedNamingTheField() {
    assertInvalid(() -> store.peek("bad tenant", "k"), "tenant_id");
    assertInvalid(() -> store.peek(tenant, ""), "idempotency_key");
    assertInvalid(() -> store.claim("bad tenant", "k", FP, DAY), "tenant_id");
    assertInvalid(() -> store.claim(tenant, "", FP, DAY), "idempotency_key");
    assertInvalid(() -> store.claim(tenant, "k".repeat(257), FP, DAY), "idempotency_key");
    assertInvalid(() -> store.claim(tenant, null, FP, DAY), "idempotency_key");
    assertInvalid(() -> store.claim(tenant, "k", "", DAY), "fingerprint");
    assertInvalid(() -> store.claim(tenant, "k", FP, Duration.ZERO), "retention");
    assertInvalid(() -> store.claim(tenant, "k", FP, Duration.ofDays(31)), "retention");
    assertInvalid(() -> store.complete(tenant, "k", fullResponse("k"), null), "retention");
    assertInvalid(() -> store.release(tenant, ""), "idempotency_key");
    assertThat(store.claim(tenant, "k".repeat(256), FP, DAY)).isEqualTo(new Claim.First());
  }

  /** How many of 16 threads, started together, got each answer. */
  private Map<Claim, Integer> claimConcurrently(String key) throws Exception {
    int threads = 16;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      CountDownLatch ready = new CountDownLatch(threads);
      CountDownLatch go = new CountDownLatch(1);
      List<Future<Claim>> claims = new ArrayList<>();
      for (int i = 0; i < threads; i++) {
        claims.add(pool.submit(() -> {
          ready.countDown();
          go.await();
          return store.claim(tenant, key, FP, DAY);
        }));
      }
      ready.await();
      go.countDown();
      Map<Claim, Integer> counts = new LinkedHashMap<>();
      for (Future<Claim> f : claims) {
        counts.merge(f.get(), 1, Integer::sum);
      }
      return counts;
    } finally {
      pool.shutdownNow();
    }
  }

  private static void assertInvalid(ThrowingCallable call, String field) {
    assertThatThrownBy(call).isInstanceOfSatisfying(SynodException.class, e -> {
      assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT);
      assertThat(e.field()).contains(field);
    });
  }
}
