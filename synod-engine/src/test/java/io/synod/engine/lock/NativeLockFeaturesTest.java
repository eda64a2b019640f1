package io.synod.engine.lock;

import static org.assertj.core.api.Assertions.assertThat;

import io.synod.api.CoordinationEvent;
import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.lock.Lock;
import io.synod.api.lock.LockMode;
import io.synod.api.lock.LockRequest;
import io.synod.api.lock.LockService;
import io.synod.api.lock.LockSession;
import io.synod.core.lock.LockTable;
import io.synod.engine.CoordinatorConfig;
import io.synod.engine.SynodNode;
import io.synod.engine.log.LogConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What only the native backend does: deadlock detection with an event, and escalation. */
class NativeLockFeaturesTest {
  private static final Duration LONG = Duration.ofSeconds(20);
  private static final int ESCALATION_THRESHOLD = 5;

  @TempDir static Path dir;
  private static SynodNode node;
  private static LockService locks;

  @BeforeAll
  static void start() throws Exception {
    LogConfig log = LogConfig.singleNode("features", dir.resolve("log"), LogConfig.freeLoopbackPort())
        .withLockLimits(LockTable.Limits.DEFAULTS.withEscalationThreshold(ESCALATION_THRESHOLD));
    node = SynodNode.start(log, CoordinatorConfig.DEFAULTS,
        LockConfig.DEFAULTS.withTick(Duration.ofMillis(50)), List.of());
    node.awaitLeadership(30, TimeUnit.SECONDS);
    locks = node.locks();
  }

  @AfterAll
  static void stop() {
    node.close();
  }

  @Test
  void twoSharedHoldersUpgradingAtOnceIsADeadlockResolvedWithAnEvent() throws Exception {
    List<CoordinationEvent> events = new CopyOnWriteArrayList<>();
    try (var subscription = node.coordination().events().subscribe(events::add);
        LockSession a = locks.openSession("a", Duration.ofSeconds(10));
        LockSession b = locks.openSession("b", Duration.ofSeconds(10))) {
      a.acquire("db/t/upgrade", LockMode.S, LONG);
      b.acquire("db/t/upgrade", LockMode.S, LONG);

      CompletableFuture<Lock> upA = a.acquireAsync(LockRequest.of("db/t/upgrade", LockMode.X, LONG));
      CompletableFuture<Lock> upB = b.acquireAsync(LockRequest.of("db/t/upgrade", LockMode.X, LONG));

      // Exactly one is refused as the victim; the other waits until the victim lets go of its S.
      CompletableFuture<Object> first = CompletableFuture.anyOf(
          upA.exceptionally(e -> null), upB.exceptionally(e -> null));
      first.get(LONG.toSeconds(), TimeUnit.SECONDS);
      boolean aIsVictim = upA.isCompletedExceptionally();
      CompletableFuture<Lock> victim = aIsVictim ? upA : upB;
      SynodException refused = cause(victim);
      assertThat(refused.code()).isEqualTo(ErrorCode.ABORTED);
      assertThat(refused.getMessage()).contains("deadlock", a.id(), b.id());
      assertThat(aIsVictim ? upB : upA).isNotDone();

      (aIsVictim ? a : b).close(); // the victim gives up its S, as a victim should
      Lock winner = (aIsVictim ? upB : upA).get(LONG.toSeconds(), TimeUnit.SECONDS);
      assertThat(winner.mode()).isEqualTo(LockMode.X);
      assertThat(events).anySatisfy(e -> {
        assertThat(e.type()).isEqualTo("DEADLOCK_DETECTED");
        assertThat(((CoordinationEvent.DeadlockDetected) e).victimSessionId())
            .isEqualTo(aIsVictim ? a.id() : b.id());
      });
    }
  }

  @Test
  void manyRowLocksUnderOneTableEscalateToATableLockReleasedWithTheLastRow() throws Exception {
    try (LockSession owner = locks.openSession("bulk", Duration.ofSeconds(10));
        LockSession other = locks.openSession("other", Duration.ofSeconds(10))) {
      List<Lock> rows = new ArrayList<>();
      for (int i = 0; i <= ESCALATION_THRESHOLD; i++) {
        rows.add(owner.acquire("db/orders/" + i, LockMode.X, LONG));
      }
      var table = locks.status("db/orders");
      assertThat(table.holders()).singleElement().satisfies(h -> {
        assertThat(h.sessionId()).isEqualTo(owner.id());
        assertThat(h.mode()).isEqualTo(LockMode.X);
      });
      assertThat(other.tryAcquire("db/orders/999", LockMode.S)).as("covered by the table lock")
          .isEmpty();

      rows.forEach(Lock::close);
      assertThat(locks.status("db/orders").holders()).isEmpty();
      assertThat(other.tryAcquire("db/orders/999", LockMode.S)).hasValueSatisfying(Lock::close);
    }
  }

  private static SynodException cause(CompletableFuture<?> failed) {
    try {
      failed.get();
      throw new AssertionError("expected a failure");
    } catch (ExecutionException e) {
      return (SynodException) e.getCause();
    } catch (InterruptedException e) {
      throw new AssertionError(e);
    }
  }
}
