package io.synod.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.lock.Lock;
import io.synod.api.lock.LockLost;
import io.synod.api.lock.LockMode;
import io.synod.api.lock.LockRequest;
import io.synod.api.lock.LockSession;
import io.synod.api.lock.LockStatus;
import io.synod.server.LockTestServers;
import io.synod.server.SynodServer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Remote sessions through a real server: exclusion, leases driven by the client, deadlocks. */
@Timeout(60)
class RemoteLockServiceTest {
  private static final Duration LONG = Duration.ofSeconds(20);

  @TempDir static Path dir;
  private static SynodServer server;
  private static RemoteLockService locks;

  @BeforeAll
  static void start() throws Exception {
    server = LockTestServers.single(dir);
    locks = RemoteLockService.connect(List.of(LockTestServers.grpc(server)));
  }

  @AfterAll
  static void stop() {
    if (locks != null) {
      locks.close();
    }
    if (server != null) {
      server.close();
    }
  }

  @Test
  void anExclusiveLockIsHeldUntilReleasedThenTheNextHolderGetsALargerToken() throws Exception {
    LockSession a = locks.openSession("a", Duration.ofSeconds(5));
    LockSession b = locks.openSession("b", Duration.ofSeconds(5));
    Lock held = a.acquire("orders/table/row-1", LockMode.X, LONG);

    assertThat(b.tryAcquire("orders/table/row-1", LockMode.X)).isEmpty();
    LockStatus status = locks.status("orders/table/row-1");
    assertThat(status.holders()).singleElement().satisfies(h -> {
      assertThat(h.sessionId()).isEqualTo(a.id());
      assertThat(h.owner()).isEqualTo("a");
      assertThat(h.mode()).isEqualTo(LockMode.X);
      assertThat(h.fencingToken()).isEqualTo(held.fencingToken());
    });
    CompletableFuture<Lock> next = b.acquireAsync(
        LockRequest.of("orders/table/row-1", LockMode.X, LONG));
    awaitTrue(() -> locks.status("orders/table/row-1").waiters().size() == 1);

    held.close();
    Lock granted = next.get(LONG.toSeconds(), TimeUnit.SECONDS);
    assertThat(granted.fencingToken()).isGreaterThan(held.fencingToken());
    assertThat(locks.status("orders/table/row-1").holders())
        .extracting(LockStatus.Holder::sessionId).containsExactly(b.id());
    a.close();
    b.close();
  }

  @Test
  void aSessionWhoseClientFallsSilentLosesItsLockAfterItsLease() throws Exception {
    LockSession silent = locks.openSession("silent", Duration.ofMillis(600));
    LockSession other = locks.openSession("other", Duration.ofSeconds(5));
    Lock held = silent.acquire("jobs/nightly", LockMode.X, LONG);
    // Alive over several leases while its keepalives flow.
    CompletableFuture<Lock> waiting = other.acquireAsync(
        LockRequest.of("jobs/nightly", LockMode.X, LONG));
    awaitTrue(() -> locks.status("jobs/nightly").waiters().size() == 1);

    ((RemoteLockSession) silent).stopKeepalives();
    LockLost lost = held.lost().get(LONG.toSeconds(), TimeUnit.SECONDS);
    assertThat(lost.toString()).startsWith("lock lost, token " + held.fencingToken());
    assertThat(lost.reason()).isEqualTo(LockLost.Reason.LEASE_EXPIRED);
    assertThat(silent.isAlive()).isFalse();

    Lock next = waiting.get(LONG.toSeconds(), TimeUnit.SECONDS);
    assertThat(next.fencingToken()).isGreaterThan(held.fencingToken());
    assertThatThrownBy(() -> silent.acquire("jobs/other", LockMode.X, LONG))
        .isInstanceOfSatisfying(SynodException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.FAILED_PRECONDITION));
    other.close();
  }

  @Test
  void aDeadlockBetweenTwoRemoteSessionsMakesOneVictim() throws Exception {
    LockSession a = locks.openSession("a", Duration.ofSeconds(5));
    LockSession b = locks.openSession("b", Duration.ofSeconds(5));
    Lock first = a.acquire("dl/one", LockMode.X, LONG);
    Lock second = b.acquire("dl/two", LockMode.X, LONG);
    CompletableFuture<Lock> aWaits = a.acquireAsync(LockRequest.of("dl/two", LockMode.X, LONG));
    awaitTrue(() -> locks.status("dl/two").waiters().size() == 1);

    // b closes the cycle; b's session is the younger one, so b's request is the victim.
    assertThatThrownBy(() -> b.acquire("dl/one", LockMode.X, LONG))
        .isInstanceOfSatisfying(SynodException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.ABORTED);
          assertThat(e.getMessage()).contains("deadlock").contains(" -> ")
              .contains(b.id()).contains(a.id());
        });
    assertThat(aWaits).isNotDone();
    second.close();
    Lock granted = aWaits.get(LONG.toSeconds(), TimeUnit.SECONDS);
    assertThat(granted.resource()).isEqualTo("dl/two");
    first.close();
    granted.close();
    a.close();
    b.close();
  }

  @Test
  void closingTheSessionReportsItsLocksLostAsClosed() throws Exception {
    LockSession a = locks.openSession("a", Duration.ofSeconds(5));
    Lock held = a.acquire("close/me", LockMode.S, LONG);

    a.close();
    assertThat(held.lost().get(LONG.toSeconds(), TimeUnit.SECONDS).reason())
        .isEqualTo(LockLost.Reason.SESSION_CLOSED);
    assertThat(locks.status("close/me").holders()).isEmpty();
  }

  private static void awaitTrue(java.util.function.BooleanSupplier condition)
      throws InterruptedException {
    long deadline = System.nanoTime() + LONG.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("condition not met within " + LONG);
      }
      Thread.sleep(10);
    }
  }
}
