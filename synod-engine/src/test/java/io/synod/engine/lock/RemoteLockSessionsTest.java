package io.synod.engine.lock;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.lock.LockLost;
import io.synod.api.lock.LockMode;
import io.synod.api.lock.LockRequest;
import io.synod.engine.CoordinatorConfig;
import io.synod.engine.SynodNode;
import io.synod.engine.log.LogConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Sessions whose leases live on their (remote) client's keepalives alone. */
@Timeout(60)
class RemoteLockSessionsTest {
  private static final Duration LONG = Duration.ofSeconds(20);

  @TempDir static Path dir;
  private static SynodNode node;
  private static RemoteLockSessions sessions;

  @BeforeAll
  static void start() throws Exception {
    node = SynodNode.start(
        LogConfig.singleNode("remote", dir.resolve("log"), LogConfig.freeLoopbackPort()),
        CoordinatorConfig.DEFAULTS, LockConfig.DEFAULTS.withTick(Duration.ofMillis(50)), List.of());
    node.awaitLeadership(30, TimeUnit.SECONDS);
    sessions = new RemoteLockSessions(List.of(node.lockDriver()));
  }

  @AfterAll
  static void stop() {
    sessions.close();
    node.close();
  }

  @Test
  void withoutKeepalivesASessionLosesItsLocksAfterItsLease() throws Exception {
    String silent = sessions.open("silent", Duration.ofMillis(600), null).sessionId();
    String other = sessions.open("other", Duration.ofSeconds(10), null).sessionId();
    var held = sessions.acquire(silent, LockRequest.of("remote/a", LockMode.X, LONG), null)
        .get(20, TimeUnit.SECONDS);

    // Nothing keeps the silent session alive here: the other gets the lock once it lapsed.
    var next = sessions.acquire(other, LockRequest.of("remote/a", LockMode.X, LONG), null)
        .get(20, TimeUnit.SECONDS);
    assertThat(next.fencingToken()).isGreaterThan(held.fencingToken());
    RemoteLockSessions.Keepalive answer = sessions.keepalive(silent);
    assertThat(answer.answer()).isEqualTo(LockDriver.KeepaliveAnswer.SESSION_GONE);
    assertThat(answer.lost()).containsExactly(
        new LockLost("remote/a", held.fencingToken(), LockLost.Reason.LEASE_EXPIRED));
    assertThat(sessions.keepalive(other).answer()).isEqualTo(LockDriver.KeepaliveAnswer.OK);
    sessions.close(other);
  }

  @Test
  void keepalivesKeepASessionAliveAndRequestIdsMakeRetriesHarmless() throws Exception {
    String id = sessions.open("kept", Duration.ofMillis(1_500), "open-1").sessionId();
    assertThat(sessions.open("kept", Duration.ofMillis(1_500), "open-1").sessionId())
        .isEqualTo(id);
    var first = sessions.acquire(id, LockRequest.of("remote/b", LockMode.S, LONG), "acq-1")
        .get(20, TimeUnit.SECONDS);
    long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(4_000);
    while (System.nanoTime() < until) { // over two leases
      assertThat(sessions.keepalive(id).answer()).isEqualTo(LockDriver.KeepaliveAnswer.OK);
      Thread.sleep(100);
    }
    var again = sessions.acquire(id, LockRequest.of("remote/b", LockMode.S, LONG), "acq-1")
        .get(20, TimeUnit.SECONDS);
    assertThat(again).isEqualTo(first);
    assertThat(sessions.status("remote/b").holders()).singleElement()
        .satisfies(h -> assertThat(h.fencingToken()).isEqualTo(first.fencingToken()));
    assertThat(sessions.close(id)).isTrue();
    assertThat(sessions.close(id)).isFalse();
  }

  @Test
  void aTryOnlyRequestThatWouldBlockAndAnUnknownSessionAreRefused() throws Exception {
    String a = sessions.open("a", null, null).sessionId();
    String b = sessions.open("b", null, null).sessionId();
    sessions.acquire(a, LockRequest.of("remote/c", LockMode.X, LONG), null)
        .get(20, TimeUnit.SECONDS);

    assertThatThrownBy(() -> sessions.acquire(b,
            new LockRequest("remote/c", LockMode.S, Duration.ZERO, true, 0), null).get())
        .isInstanceOf(ExecutionException.class)
        .cause().isInstanceOfSatisfying(SynodException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.FAILED_PRECONDITION);
          assertThat(e.getMessage()).startsWith("would block");
        });
    assertThatThrownBy(() -> sessions.release("r-nobody", "remote/c"))
        .isInstanceOfSatisfying(SynodException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND);
          assertThat(e.field()).hasValue("session_id");
        });
    sessions.close(a);
    sessions.close(b);
  }
}
