package io.synod.engine.lock;

import static org.assertj.core.api.Assertions.assertThat;

import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.lock.Lock;
import io.synod.api.lock.LockLost;
import io.synod.api.lock.LockMode;
import io.synod.api.lock.LockSession;
import io.synod.engine.CoordinatorConfig;
import io.synod.engine.SynodNode;
import io.synod.engine.history.CheckResult;
import io.synod.engine.history.History;
import io.synod.engine.history.LinearizabilityChecker;
import io.synod.engine.history.Operation;
import io.synod.engine.log.LogConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Records a history of acquire and release calls, with invocation and return times, from eight
 * clients against a three-node group whose leader is killed mid-run, and checks it against the
 * sequential lock specification (per resource: no incompatible holders at once; tokens grow).
 * Calls that fail without a definite answer are recorded as unknown: the checker may place their
 * effect anywhere after their invocation, or nowhere.
 */
class LockLinearizabilityIT {
  private static final int CLIENTS = 8;
  private static final int RESOURCES = 6;
  private static final long RUN_MS = 6_000;
  private static final long KILL_AT_MS = 2_000;

  @TempDir Path dir;
  private final List<SynodNode> nodes = new ArrayList<>();
  private NativeLockService service;
  private final java.util.concurrent.atomic.AtomicInteger expiries =
      new java.util.concurrent.atomic.AtomicInteger();

  @AfterEach
  void stop() {
    if (service != null) {
      service.close();
    }
    nodes.forEach(SynodNode::close);
  }

  @Test
  void historyUnderLeaderFailoverIsLinearizable() throws Exception {
    startCluster();
    History history = new History();
    long seed = System.nanoTime();
    long endAt = System.currentTimeMillis() + RUN_MS;
    CountDownLatch done = new CountDownLatch(CLIENTS);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    for (int c = 0; c < CLIENTS; c++) {
      int client = c;
      Thread.ofPlatform().name("lin-client-" + c).start(() -> {
        try {
          runClient(client, new Random(seed + client), history, endAt);
        } catch (Throwable t) {
          failure.compareAndSet(null, t);
        } finally {
          done.countDown();
        }
      });
    }
    Thread.sleep(KILL_AT_MS);
    SynodNode leader = nodes.stream().filter(SynodNode::isLeader).findFirst().orElseThrow();
    long killedAt = history.nowNanos();
    leader.close();
    assertThat(done.await(RUN_MS + 60_000, TimeUnit.MILLISECONDS)).isTrue();
    assertThat(failure.get()).isNull();

    CheckResult result = new LinearizabilityChecker().check(history);
    System.out.println("lock history (leader " + leader.id() + " killed at " + KILL_AT_MS
        + " ms, seed " + seed + "): " + result.summary());
    long granted = history.operations().stream()
        .filter(o -> o.result() instanceof Operation.Granted).count();
    long grantedAfterKill = history.operations().stream()
        .filter(o -> o.result() instanceof Operation.Granted && o.invokeNanos() > killedAt).count();
    System.out.println("grants: " + granted + ", of which after the leader was killed: "
        + grantedAfterKill);
    assertThat(granted).as("grants in the history").isGreaterThan(100);
    assertThat(grantedAfterKill).as("grants by the new leader").isGreaterThan(10);
    // Every client kept heartbeating: the new leader must not have expired any of them.
    assertThat(expiries.get()).as("leases lost across the leader change").isZero();
    assertThat(result.isLinearizable()).as(result.toString()).isTrue();
  }

  private void runClient(int client, Random random, History history, long endAt) {
    LockSession session = service.openSession("client-" + client, Duration.ofSeconds(10));
    while (System.currentTimeMillis() < endAt && session.isAlive()) {
      String resource = "lin/r" + random.nextInt(RESOURCES);
      LockMode mode = random.nextInt(10) < 7 ? LockMode.X : LockMode.S;
      long invokedAt = history.nowNanos();
      History.Handle acquire =
          history.invoke(client, Operation.Kind.ACQUIRE, resource, session.id(), mode);
      Lock lock;
      try {
        lock = session.acquire(resource, mode, Duration.ofMillis(500 + random.nextInt(1000)));
        acquire.ok(lock.fencingToken());
      } catch (SynodException e) {
        if (isDefiniteRefusal(e)) {
          acquire.refused();
        } else {
          acquire.unknown();
          // The client withdrew it (a release); record that as a release of unknown effect.
          history.invoke(client, Operation.Kind.RELEASE, resource, session.id(), null).unknown();
        }
        continue;
      }
      lock.lost().thenAccept(lost -> {
        if (lost.reason() == LockLost.Reason.LEASE_EXPIRED) {
          expiries.incrementAndGet();
          history.expired(client, resource, session.id(), invokedAt);
        }
      });
      pause(random.nextInt(4));
      History.Handle release =
          history.invoke(client, Operation.Kind.RELEASE, resource, session.id(), null);
      try {
        lock.close();
        release.ok();
      } catch (SynodException e) {
        release.unknown();
      }
    }
    try {
      session.close();
    } catch (SynodException e) {
      // closing after the run: whatever it still held is not part of the checked history
    }
  }

  private static boolean isDefiniteRefusal(SynodException e) {
    return e.code() == ErrorCode.DEADLINE_EXCEEDED || e.code() == ErrorCode.ABORTED;
  }

  private void startCluster() throws Exception {
    Map<String, String> peers = new LinkedHashMap<>();
    for (int i = 1; i <= 3; i++) {
      peers.put("n" + i, "127.0.0.1:" + LogConfig.freeLoopbackPort());
    }
    for (String id : peers.keySet()) {
      nodes.add(SynodNode.start(LogConfig.cluster("lin", id, peers, dir.resolve(id)),
          CoordinatorConfig.DEFAULTS, LockConfig.DEFAULTS.withTick(Duration.ofMillis(50)),
          List.of()));
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (nodes.stream().noneMatch(SynodNode::isLeader)) {
      assertThat(System.nanoTime()).as("a leader within 30 s").isLessThan(deadline);
      Thread.sleep(20);
    }
    List<LockDriver> drivers = new ArrayList<>();
    nodes.forEach(n -> drivers.add(n.lockDriver()));
    service = new NativeLockService(drivers);
  }

  private static void pause(int ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
