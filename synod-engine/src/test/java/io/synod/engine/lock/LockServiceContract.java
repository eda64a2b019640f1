package io.synod.engine.lock;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.lock.Lock;
import io.synod.api.lock.LockLost;
import io.synod.api.lock.LockMode;
import io.synod.api.lock.LockRequest;
import io.synod.api.lock.LockService;
import io.synod.api.lock.LockSession;
import io.synod.api.lock.LockStatus;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What every {@link LockService} backend must do, written against the API alone; each backend's
 * test class extends it ({@code ZkLockServiceTest}, and the native backend's). Every test uses
 * resources of its own, so a subclass may share one service across tests.
 *
 * <p>Waits are generous and nothing asserts speed: a test waits for a state ("the status shows
 * two waiters"), never for an amount of time. The only short timeouts are the ones a test wants to
 * see expire.
 */
@Timeout(60)
@SuppressWarnings("try") // scoped locks whose body never names them are the point of several tests
public abstract class LockServiceContract {
  /** Longer than any correct grant takes; only a broken backend ever waits this long. */
  protected static final Duration LONG = Duration.ofSeconds(20);
  /** A wait the test expects to time out. */
  protected static final Duration SHORT = Duration.ofMillis(300);
  private static final AtomicInteger RESOURCES = new AtomicInteger();

  private final List<LockSession> opened = Collections.synchronizedList(new ArrayList<>());

  /** The backend under test; may be shared by all tests of the class. */
  protected abstract LockService service();

  /**
   * Makes {@code session}'s lease lapse as if its client stopped heartbeating: afterwards the
   * service treats its locks as free, and the session's own {@code Lock.lost()} futures complete
   * with {@link LockLost.Reason#LEASE_EXPIRED} (the test waits for that, up to {@link #LONG}).
   */
  protected abstract void expireSession(LockSession session) throws Exception;

  /** The lease sessions of these tests ask for. */
  protected Duration lease() {
    return Duration.ofSeconds(10);
  }

  @AfterEach
  void closeSessions() {
    synchronized (opened) {
      for (LockSession s : opened) {
        s.close();
      }
      opened.clear();
    }
  }

  protected LockSession open(String owner) {
    LockSession s = service().openSession(owner, lease());
    opened.add(s);
    return s;
  }

  /** A resource name no other test uses. */
  protected static String fresh(String name) {
    return name + "-" + RESOURCES.incrementAndGet();
  }

  // --- exclusion and sharing -------------------------------------------------------------------

  @Test
  void exclusiveExcludesExclusiveAcrossSessions() {
    String r = fresh("x");
    LockSession a = open("a");
    LockSession b = open("b");
    Lock held = a.acquire(r, LockMode.X, LONG);

    assertThatThrownBy(() -> b.acquire(r, LockMode.X, SHORT))
        .isInstanceOfSatisfying(SynodException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.DEADLINE_EXCEEDED);
          assertThat(e.getMessage()).contains(r).contains("X");
        });
    LockStatus status = service().status(r);
    assertThat(status.holders()).extracting(LockStatus.Holder::sessionId).containsExactly(a.id());
    assertThat(status.waiters()).as("a timed-out waiter leaves the queue").isEmpty();
    assertThat(held.lost()).isNotDone();
  }

  @Test
  void sharedLocksAreHeldTogether() {
    String r = fresh("s");
    LockSession a = open("a");
    LockSession b = open("b");
    Lock la = a.acquire(r, LockMode.S, LONG);
    Lock lb = b.acquire(r, LockMode.S, LONG);

    LockStatus status = service().status(r);
    assertThat(status.holders()).extracting(LockStatus.Holder::sessionId)
        .containsExactlyInAnyOrder(a.id(), b.id());
    assertThat(status.holders()).extracting(LockStatus.Holder::mode).containsOnly(LockMode.S);
    assertThat(la.fencingToken()).isNotEqualTo(lb.fencingToken());
  }

  @Test
  void sharedBlocksExclusiveUntilReleased() throws Exception {
    String r = fresh("sx");
    LockSession a = open("a");
    LockSession b = open("b");
    Lock shared = a.acquire(r, LockMode.S, LONG);
    CompletableFuture<Lock> exclusive = b.acquireAsync(LockRequest.of(r, LockMode.X, LONG));
    awaitWaiters(r, 1);
    assertThat(exclusive).isNotDone();

    shared.close();
    Lock x = exclusive.get(LONG.toSeconds(), TimeUnit.SECONDS);
    assertThat(x.mode()).isEqualTo(LockMode.X);
    assertThat(service().status(r).holders()).extracting(LockStatus.Holder::sessionId)
        .containsExactly(b.id());
  }

  @Test
  void modesOnOneResourceFollowTheCompatibilityMatrix() {
    LockSession a = open("a");
    LockSession b = open("b");
    for (LockMode held : LockMode.values()) {
      for (LockMode asked : LockMode.values()) {
        String r = fresh("matrix");
        try (Lock first = a.acquire(r, held, LONG)) {
          Optional<Lock> second = b.tryAcquire(r, asked);
          assertThat(second.isPresent())
              .as("%s asked while %s is held", asked, held)
              .isEqualTo(held.compatibleWith(asked));
          second.ifPresent(Lock::close);
        }
      }
    }
  }

  @Test
  void intentLocksOnAParentFollowTheMatrix() {
    String parent = fresh("db");
    LockSession writer = open("writer");
    LockSession reader = open("reader");
    try (Lock row = writer.acquire(parent + "/t/1", LockMode.X, LONG)) {
      // The writer now holds IX on the parent: IS and IX fit beside it, S and X do not.
      assertThat(reader.tryAcquire(parent, LockMode.IS)).hasValueSatisfying(Lock::close);
      assertThat(reader.tryAcquire(parent, LockMode.IX)).hasValueSatisfying(Lock::close);
      assertThat(reader.tryAcquire(parent, LockMode.S)).isEmpty();
      assertThat(reader.tryAcquire(parent, LockMode.X)).isEmpty();
      // A reader of another row only needs IS on the parent, which fits beside IX.
      assertThat(reader.tryAcquire(parent + "/t/2", LockMode.S)).hasValueSatisfying(Lock::close);
    }
    try (Lock table = writer.acquire(parent + "/t", LockMode.S, LONG)) {
      // IS on the parent now: S fits, X does not.
      assertThat(reader.tryAcquire(parent, LockMode.S)).hasValueSatisfying(Lock::close);
      assertThat(reader.tryAcquire(parent, LockMode.X)).isEmpty();
    }
  }

  // --- queueing ----------------------------------------------------------------------------------

  @Test
  void waitersAreGrantedInArrivalOrder() throws Exception {
    String r = fresh("fifo");
    LockSession holder = open("holder");
    Lock first = holder.acquire(r, LockMode.X, LONG);
    List<Integer> order = Collections.synchronizedList(new ArrayList<>());
    List<CompletableFuture<Void>> done = new ArrayList<>();
    for (int i = 1; i <= 3; i++) {
      int n = i;
      LockSession s = open("waiter-" + n);
      done.add(s.acquireAsync(LockRequest.of(r, LockMode.X, LONG)).thenAccept(lock -> {
        order.add(n);
        lock.close();
      }));
      awaitWaiters(r, n); // arrival order is the order the queue saw, not the order of calls
    }
    assertThat(service().status(r).waiters()).extracting(LockStatus.Waiter::owner)
        .containsExactly("waiter-1", "waiter-2", "waiter-3");

    first.close();
    CompletableFuture.allOf(done.toArray(CompletableFuture[]::new))
        .get(LONG.toSeconds(), TimeUnit.SECONDS);
    assertThat(order).containsExactly(1, 2, 3);
  }

  @Test
  void tryAcquireReturnsEmptyWhenBlockedAndLeavesNoTrace() {
    String r = fresh("try");
    LockSession a = open("a");
    LockSession b = open("b");
    Lock held = a.acquire(r, LockMode.X, LONG);

    assertThat(b.tryAcquire(r, LockMode.S)).isEmpty();
    LockStatus status = service().status(r);
    assertThat(status.holders()).extracting(LockStatus.Holder::sessionId).containsExactly(a.id());
    assertThat(status.waiters()).isEmpty();

    held.close();
    assertThat(b.tryAcquire(r, LockMode.S)).hasValueSatisfying(Lock::close);
  }

  // --- fencing tokens ----------------------------------------------------------------------------

  @Test
  void fencingTokensIncreaseInGrantOrderAcrossResources() throws Exception {
    String r1 = fresh("tok");
    String r2 = fresh("tok");
    LockSession a = open("a");
    LockSession b = open("b");
    LockSession c = open("c");
    Lock first = a.acquire(r1, LockMode.X, LONG);
    // b queues on r1 first; c is granted on r2 afterwards; b is granted last.
    CompletableFuture<Lock> waiting = b.acquireAsync(LockRequest.of(r1, LockMode.X, LONG));
    awaitWaiters(r1, 1);
    Lock second = c.acquire(r2, LockMode.X, LONG);
    first.close();
    Lock third = waiting.get(LONG.toSeconds(), TimeUnit.SECONDS);

    assertThat(second.fencingToken()).isGreaterThan(first.fencingToken());
    assertThat(third.fencingToken())
        .as("a waiter created before a grant elsewhere, granted after it")
        .isGreaterThan(second.fencingToken());
    LockStatus status = service().status(r1);
    assertThat(status.holders()).singleElement()
        .satisfies(h -> assertThat(h.fencingToken()).isEqualTo(third.fencingToken()));
  }

  // --- release -----------------------------------------------------------------------------------

  @Test
  void closingALockReleasesIt() {
    String r = fresh("twr");
    LockSession a = open("a");
    try (Lock lock = a.acquire(r, LockMode.X, LONG)) {
      assertThat(service().status(r).holders()).hasSize(1);
      assertThat(lock.resource()).isEqualTo(r);
    }
    assertThat(service().status(r).holders()).isEmpty();
    assertThat(open("b").tryAcquire(r, LockMode.X)).hasValueSatisfying(Lock::close);
  }

  @Test
  void closingALockTwiceIsHarmless() {
    String r = fresh("twice");
    LockSession a = open("a");
    Lock lock = a.acquire(r, LockMode.X, LONG);
    lock.close();
    Lock again = a.acquire(r, LockMode.X, LONG);
    lock.close(); // must not release the newer lock
    assertThat(service().status(r).holders()).extracting(LockStatus.Holder::fencingToken)
        .containsExactly(again.fencingToken());
  }

  @Test
  void closingASessionReleasesItsLocksAndWakesTheWaiter() throws Exception {
    String r = fresh("close");
    LockSession a = open("a");
    LockSession b = open("b");
    Lock held = a.acquire(r, LockMode.X, LONG);
    CompletableFuture<Lock> waiting = b.acquireAsync(LockRequest.of(r, LockMode.X, LONG));
    awaitWaiters(r, 1);

    a.close();
    assertThat(a.isAlive()).isFalse();
    Lock granted = waiting.get(LONG.toSeconds(), TimeUnit.SECONDS);
    assertThat(granted.fencingToken()).isGreaterThan(held.fencingToken());
    assertThat(held.lost().get(LONG.toSeconds(), TimeUnit.SECONDS).reason())
        .isEqualTo(LockLost.Reason.SESSION_CLOSED);
    held.close(); // after the loss: does nothing
    assertThat(service().status(r).holders()).extracting(LockStatus.Holder::sessionId)
        .containsExactly(b.id());
  }

  // --- intents -----------------------------------------------------------------------------------

  @Test
  void withIntentsTakesIntentLocksOnEveryAncestor() {
    String db = fresh("pg");
    LockSession a = open("a");
    try (Lock row = a.acquire(db + "/accounts/42", LockMode.X, LONG)) {
      assertThat(service().status(db).holders()).singleElement().satisfies(h -> {
        assertThat(h.sessionId()).isEqualTo(a.id());
        assertThat(h.mode()).isEqualTo(LockMode.IX);
      });
      assertThat(service().status(db + "/accounts").holders())
          .extracting(LockStatus.Holder::mode).containsExactly(LockMode.IX);
      try (Lock other = a.acquire(db + "/accounts/43", LockMode.S, LONG)) {
        assertThat(other.mode()).isEqualTo(LockMode.S);
      }
      assertThat(service().status(db).holders()).as("still held for row 42").isNotEmpty();
    }
    assertThat(service().status(db).holders()).isEmpty();
    assertThat(service().status(db + "/accounts").holders()).isEmpty();
  }

  @Test
  void aRequestThatTimesOutReleasesTheIntentsItTook() {
    String db = fresh("pg");
    LockSession a = open("a");
    LockSession b = open("b");
    Lock table = b.acquire(db + "/accounts", LockMode.X, LONG);

    assertThatThrownBy(() -> a.acquire(db + "/accounts/42", LockMode.X, SHORT))
        .isInstanceOfSatisfying(SynodException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.DEADLINE_EXCEEDED));
    assertThat(service().status(db).holders()).extracting(LockStatus.Holder::sessionId)
        .as("a's IX on the database went with the failed request").containsExactly(b.id());
    assertThat(service().status(db + "/accounts").waiters()).isEmpty();
    table.close();
  }

  @Test
  void withoutIntentsRequiresTheAncestorIntent() {
    String db = fresh("pg");
    LockSession a = open("a");
    LockRequest row = LockRequest.of(db + "/accounts/42", LockMode.X, LONG).withoutIntents();

    assertThatThrownBy(() -> a.acquire(row))
        .isInstanceOfSatisfying(SynodException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.FAILED_PRECONDITION);
          assertThat(e.getMessage()).contains(db).contains("IX");
        });
    assertThat(service().status(db + "/accounts/42").holders()).isEmpty();

    try (Lock top = a.acquire(LockRequest.of(db, LockMode.IX, LONG));
        Lock table = a.acquire(LockRequest.of(db + "/accounts", LockMode.IX, LONG)
            .withoutIntents());
        Lock granted = a.acquire(row)) {
      assertThat(granted.mode()).isEqualTo(LockMode.X);
    }
  }

  @Test
  void soleSharedHolderUpgradesToExclusive() {
    String r = fresh("up");
    LockSession a = open("a");
    LockSession b = open("b");
    Lock shared = a.acquire(r, LockMode.S, LONG);
    Lock exclusive = a.acquire(r, LockMode.X, LONG);

    assertThat(exclusive.fencingToken()).isGreaterThan(shared.fencingToken());
    assertThat(b.tryAcquire(r, LockMode.S)).isEmpty();
    shared.close();
    assertThat(b.tryAcquire(r, LockMode.S)).as("X still held").isEmpty();
    exclusive.close();
    assertThat(b.tryAcquire(r, LockMode.S)).hasValueSatisfying(Lock::close);
  }

  // --- bad input ---------------------------------------------------------------------------------

  @Test
  void malformedResourcesAreRefused() {
    LockSession a = open("a");
    String seventeen = String.join("/", Collections.nCopies(17, "s"));
    for (String bad : List.of("", "a//b", "/a", "a/", seventeen)) {
      assertThatThrownBy(() -> a.acquire(bad, LockMode.X, LONG))
          .as("acquire '%s'", bad)
          .isInstanceOfSatisfying(SynodException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT);
            assertThat(e.field()).hasValue("resource");
          });
      assertThatThrownBy(() -> a.tryAcquire(bad, LockMode.S))
          .as("tryAcquire '%s'", bad)
          .isInstanceOfSatisfying(SynodException.class,
              e -> assertThat(e.field()).hasValue("resource"));
      assertThatThrownBy(() -> service().status(bad))
          .as("status '%s'", bad)
          .isInstanceOfSatisfying(SynodException.class,
              e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT));
    }
    String sixteen = String.join("/", Collections.nCopies(16, fresh("s")));
    try (Lock deep = a.acquire(sixteen, LockMode.X, LONG)) {
      assertThat(deep.resource()).isEqualTo(sixteen);
    }
  }

  // --- leases and fencing ------------------------------------------------------------------------

  @Test
  void leaseExpiryLosesTheLockAndLetsAnotherSessionIn() throws Exception {
    String r = fresh("lease");
    LockSession a = open("a");
    LockSession b = open("b");
    Lock held = a.acquire(r, LockMode.X, LONG);

    expireSession(a);
    LockLost lost = held.lost().get(LONG.toSeconds(), TimeUnit.SECONDS);
    assertThat(lost.reason()).isEqualTo(LockLost.Reason.LEASE_EXPIRED);
    assertThat(lost.resource()).isEqualTo(r);
    assertThat(lost.fencingToken()).isEqualTo(held.fencingToken());
    assertThat(a.isAlive()).isFalse();

    Lock next = b.acquire(r, LockMode.X, LONG);
    assertThat(next.fencingToken()).isGreaterThan(held.fencingToken());
  }

  @Test
  void staleHolderIsFencedOffAfterItsLeaseLapsed() throws Exception {
    String r = fresh("fence");
    GuardedRegister store = new GuardedRegister();
    LockSession a = open("a");
    LockSession b = open("b");
    Lock stale = a.acquire(r, LockMode.X, LONG);
    assertThat(store.write(stale.fencingToken(), "a1")).isTrue();

    expireSession(a); // a pauses (GC, partition) and does not know yet
    Lock fresh = b.acquire(r, LockMode.X, LONG);
    assertThat(store.write(fresh.fencingToken(), "b1")).isTrue();

    assertThat(store.write(stale.fencingToken(), "a2")).as("stale holder's late write").isFalse();
    assertThat(store.value()).isEqualTo("b1");
    assertThat(store.write(fresh.fencingToken(), "b2")).as("holder writes again").isTrue();
  }

  @Test
  void exclusiveLocksExcludeUnderContention() throws Exception {
    String r = fresh("mutex");
    int threads = 4;
    int rounds = 5;
    AtomicInteger inside = new AtomicInteger();
    AtomicInteger overlaps = new AtomicInteger();
    AtomicInteger entries = new AtomicInteger();
    CountDownLatch start = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<?>> workers = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        LockSession s = open("worker-" + t);
        workers.add(pool.submit(() -> {
          start.await();
          for (int i = 0; i < rounds; i++) {
            try (Lock lock = s.acquire(r, LockMode.X, LONG)) {
              if (inside.incrementAndGet() > 1) {
                overlaps.incrementAndGet();
              }
              entries.incrementAndGet();
              Thread.yield();
              inside.decrementAndGet();
            }
          }
          return null;
        }));
      }
      start.countDown();
      for (Future<?> w : workers) {
        w.get(LONG.toSeconds(), TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(overlaps).hasValue(0);
    assertThat(entries).hasValue(threads * rounds);
  }

  // --- helpers -----------------------------------------------------------------------------------

  /** Waits until {@code resource} shows exactly {@code count} waiters. */
  protected void awaitWaiters(String resource, int count) {
    awaitTrue(() -> service().status(resource).waiters().size() == count,
        resource + " to show " + count + " waiters");
  }

  protected static void awaitTrue(BooleanSupplier condition, String what) {
    long deadline = System.nanoTime() + LONG.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        fail("timed out waiting for " + what);
      }
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        fail("interrupted waiting for " + what);
      }
    }
  }

  /**
   * The smallest fenced store: it accepts a write only with a token at least as high as the highest
   * it has seen, so a holder whose lock was lost and granted again cannot overwrite its successor.
   */
  protected static final class GuardedRegister {
    private long highestToken;
    private String value;

    public synchronized boolean write(long token, String newValue) {
      if (token < highestToken) {
        return false;
      }
      highestToken = token;
      value = newValue;
      return true;
    }

    public synchronized String value() {
      return value;
    }
  }
}
