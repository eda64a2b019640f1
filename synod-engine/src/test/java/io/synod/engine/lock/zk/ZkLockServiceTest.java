package io.synod.engine.lock.zk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.lock.Lock;
import io.synod.api.lock.LockLost;
import io.synod.api.lock.LockMode;
import io.synod.api.lock.LockRequest;
import io.synod.api.lock.LockService;
import io.synod.api.lock.LockSession;
import io.synod.api.lock.LockStatus;
import io.synod.engine.lock.LockServiceContract;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryOneTime;
import org.apache.curator.test.InstanceSpec;
import org.apache.curator.test.KillSession;
import org.apache.curator.test.TestingServer;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.Stat;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The lock contract on ZooKeeper, against one in-process {@link TestingServer} on a free port of
 * 127.0.0.1, plus what is particular to this backend: the znodes themselves, and a lock node
 * deleted behind the holder's back.
 *
 * <p>The server ticks every {@value #TICK_MS} ms, so it accepts session timeouts from {@value
 * #TICK_MS} ms (curator-test sets minSessionTimeout to one tick) to 20 ticks; the contract's
 * 10 s lease fits.
 */
class ZkLockServiceTest extends LockServiceContract {
  static final int TICK_MS = 500;
  static final String ROOT = "/synod-test/locks";

  private static TestingServer server;
  private static ZkLockService service;

  @BeforeAll
  static void startServer() throws Exception {
    System.setProperty("zookeeper.admin.enableServer", "false");
    InstanceSpec spec = new InstanceSpec(null, -1, -1, -1, true, -1, TICK_MS, -1,
        Map.of("clientPortAddress", "127.0.0.1"), "127.0.0.1");
    server = new TestingServer(spec, true);
    service = ZkLockService.connect(server.getConnectString(), ROOT);
  }

  @AfterAll
  static void stopServer() throws Exception {
    if (service != null) {
      service.close();
    }
    if (server != null) {
      server.close();
    }
  }

  @Override
  protected LockService service() {
    return service;
  }

  /**
   * Ends the session at the server first, as a lapsed lease does: a second handle on the same
   * session id and password closes it, and the server deletes its ephemeral nodes at once. Then
   * tells the client, as its next reconnect would (Curator 5's {@link KillSession}, which injects
   * the expiry into the ZooKeeper handle).
   */
  @Override
  protected void expireSession(LockSession session) throws Exception {
    ZooKeeper zk = ((ZkLockSession) session).zooKeeper();
    CountDownLatch connected = new CountDownLatch(1);
    ZooKeeper twin = new ZooKeeper(server.getConnectString(), 10_000, event -> {
      if (event.getState() == Watcher.Event.KeeperState.SyncConnected) {
        connected.countDown();
      }
    }, zk.getSessionId(), zk.getSessionPasswd());
    try {
      assertThat(connected.await(10, TimeUnit.SECONDS)).as("twin handle connected").isTrue();
    } finally {
      twin.close();
    }
    KillSession.kill(zk);
  }

  private static CuratorFramework inspector() {
    CuratorFramework c = CuratorFrameworkFactory.newClient(server.getConnectString(),
        new RetryOneTime(100));
    c.start();
    return c;
  }

  @Test
  void lockNodesAreEphemeralSequentialUnderTheRootPath() throws Exception {
    String db = fresh("zk");
    LockSession a = open("inspected");
    LockSession b = open("other");
    assertThat(a.id()).isNotEqualTo(b.id());
    try (Lock row = a.acquire(db + "/t/1", LockMode.X, LONG);
        CuratorFramework c = inspector()) {
      String rowZnode = ROOT + "/" + db + "/t/1";
      List<String> names = c.getChildren().forPath(rowZnode);
      assertThat(names).singleElement().satisfies(
          name -> assertThat(name).matches("_c_[0-9a-f-]{36}-lock-X-\\d{10}"));
      Stat stat = new Stat();
      byte[] data = c.getData().storingStatIn(stat).forPath(rowZnode + "/" + names.get(0));
      assertThat(Long.toHexString(stat.getEphemeralOwner())).isEqualTo(a.id().substring(2));
      assertThat(new String(data, StandardCharsets.UTF_8)).isEqualTo(a.id() + "\ninspected");
      assertThat(stat.getVersion()).as("stamped once, at the grant").isEqualTo(1);
      assertThat(stat.getMzxid()).as("the fencing token").isEqualTo(row.fencingToken());
      assertThat(stat.getCzxid()).isLessThan(row.fencingToken());

      assertThat(c.getChildren().forPath(ROOT + "/" + db))
          .anySatisfy(name -> assertThat(name).isEqualTo("t"))
          .anySatisfy(name -> assertThat(name).matches("_c_[0-9a-f-]{36}-lock-IX-\\d{10}"));
      assertThat(c.checkExists().forPath(ROOT + "/" + db).getEphemeralOwner())
          .as("resource nodes are not ephemeral").isZero();
    }
    try (CuratorFramework c = inspector()) {
      String rowZnode = ROOT + "/" + db + "/t/1";
      Stat exists = c.checkExists().forPath(rowZnode);
      if (exists != null) { // the server may already have removed the empty container
        assertThat(c.getChildren().forPath(rowZnode)).isEmpty();
      }
    }
  }

  @Test
  void aLockNodeDeletedByAnotherClientMarksTheLockLost() throws Exception {
    String r = fresh("deleted");
    LockSession a = open("a");
    LockSession b = open("b");
    Lock held = a.acquire(r, LockMode.X, LONG);
    try (CuratorFramework c = inspector()) {
      String znode = ROOT + "/" + r;
      for (String name : c.getChildren().forPath(znode)) {
        c.delete().forPath(znode + "/" + name);
      }
    }
    LockLost lost = held.lost().get(LONG.toSeconds(), TimeUnit.SECONDS);
    assertThat(lost.reason()).isEqualTo(LockLost.Reason.LEASE_EXPIRED);
    assertThat(a.isAlive()).as("the session itself lives on").isTrue();

    Lock next = b.acquire(r, LockMode.X, LONG);
    held.close(); // must not touch b's node
    assertThat(service.status(r).holders()).extracting(LockStatus.Holder::sessionId)
        .containsExactly(b.id());
    assertThat(next.fencingToken()).isGreaterThan(held.fencingToken());
  }

  @Test
  void locksSharingALostIntentAreLostToo() throws Exception {
    String db = fresh("shared");
    LockSession a = open("a");
    Lock row1 = a.acquire(db + "/t/1", LockMode.X, LONG);
    Lock row2 = a.acquire(db + "/t/2", LockMode.X, LONG);
    Lock other = a.acquire(fresh("elsewhere"), LockMode.X, LONG);
    try (CuratorFramework c = inspector()) {
      List<String> names = c.getChildren().forPath(ROOT + "/" + db);
      assertThat(names).filteredOn(n -> n.contains("lock-IX-")).as("one shared IX").hasSize(1);
      for (String name : names) {
        if (name.contains("lock-")) {
          c.delete().forPath(ROOT + "/" + db + "/" + name);
        }
      }
    }
    assertThat(row1.lost().get(LONG.toSeconds(), TimeUnit.SECONDS).reason())
        .isEqualTo(LockLost.Reason.LEASE_EXPIRED);
    assertThat(row2.lost().get(LONG.toSeconds(), TimeUnit.SECONDS).resource())
        .isEqualTo(db + "/t/2");
    assertThat(other.lost()).isNotDone();
  }

  @Test
  void aWaiterOfAnExpiredSessionFails() throws Exception {
    String r = fresh("expired-waiter");
    LockSession a = open("a");
    LockSession b = open("b");
    Lock held = b.acquire(r, LockMode.X, LONG);
    CompletableFuture<Lock> waiting = a.acquireAsync(LockRequest.of(r, LockMode.X, LONG));
    awaitWaiters(r, 1);

    expireSession(a);
    assertThatThrownBy(() -> waiting.get(LONG.toSeconds(), TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class)
        .cause().isInstanceOfSatisfying(SynodException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.FAILED_PRECONDITION));
    assertThatThrownBy(() -> a.acquire(fresh("after"), LockMode.S, LONG))
        .isInstanceOfSatisfying(SynodException.class,
            e -> assertThat(e.getMessage()).contains("expired"));
    assertThat(service.status(r).waiters()).isEmpty();
    assertThat(held.lost()).isNotDone();
  }

  @Test
  void aCancelledWaiterLeavesTheQueue() throws Exception {
    String r = fresh("cancel");
    LockSession a = open("a");
    LockSession b = open("b");
    Lock held = a.acquire(r, LockMode.X, LONG);
    CompletableFuture<Lock> waiting = b.acquireAsync(LockRequest.of(r, LockMode.X, LONG));
    awaitWaiters(r, 1);

    waiting.cancel(false);
    awaitWaiters(r, 0);
    held.close();
    assertThat(service.status(r).holders()).isEmpty();
  }

  @Test
  void anAsyncWaitThatTimesOutFailsWithDeadlineExceeded() {
    String r = fresh("async-timeout");
    LockSession a = open("a");
    LockSession b = open("b");
    a.acquire(r, LockMode.S, LONG);
    CompletableFuture<Lock> waiting =
        b.acquireAsync(LockRequest.of(r, LockMode.X, Duration.ofMillis(200)));
    assertThatThrownBy(() -> waiting.get(LONG.toSeconds(), TimeUnit.SECONDS))
        .cause().isInstanceOfSatisfying(SynodException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.DEADLINE_EXCEEDED);
          assertThat(e.getMessage()).contains(r).contains("X").contains("PT0.2S");
        });
    assertThat(service.status(r).waiters()).isEmpty();
  }

  @Test
  void aZeroTimeoutGrantsAFreeLockAndOtherwiseFailsAtOnce() {
    String r = fresh("zero");
    LockSession a = open("a");
    LockSession b = open("b");
    Lock held = a.acquire(r, LockMode.X, Duration.ZERO);
    assertThatThrownBy(() -> b.acquire(r, LockMode.X, Duration.ZERO))
        .isInstanceOfSatisfying(SynodException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.DEADLINE_EXCEEDED));
    assertThat(service.status(r).waiters()).isEmpty();
    held.close();
  }

  @Test
  void aClosedSessionRefusesRequests() {
    LockSession a = open("a");
    a.close();
    a.close(); // twice is fine
    assertThat(a.isAlive()).isFalse();
    assertThatThrownBy(() -> a.acquire(fresh("closed"), LockMode.X, LONG))
        .isInstanceOfSatisfying(SynodException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.FAILED_PRECONDITION));
    assertThatThrownBy(() -> a.tryAcquire(fresh("closed"), LockMode.X))
        .isInstanceOfSatisfying(SynodException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.FAILED_PRECONDITION));
  }

  @Test
  void badSessionAndRequestArgumentsNameTheField() {
    assertThatThrownBy(() -> service.openSession(" ", lease()))
        .isInstanceOfSatisfying(SynodException.class,
            e -> assertThat(e.field()).hasValue("owner"));
    assertThatThrownBy(() -> service.openSession("a", Duration.ofMillis(1)))
        .isInstanceOfSatisfying(SynodException.class,
            e -> assertThat(e.field()).hasValue("lease"));
    LockSession a = open("a");
    assertThatThrownBy(() -> a.acquire(fresh("t"), LockMode.X, Duration.ofDays(1)))
        .isInstanceOfSatisfying(SynodException.class,
            e -> assertThat(e.field()).hasValue("timeout"));
    for (String reserved : List.of("lock-X-0000000001", "a/_c_x", "a/..", "a/b\u0001")) {
      assertThatThrownBy(() -> a.acquire(reserved, LockMode.X, LONG))
          .as(reserved)
          .isInstanceOfSatisfying(SynodException.class,
              e -> assertThat(e.field()).hasValue("resource"));
    }
  }

  @Test
  void configurationIsValidatedBeforeConnecting() {
    for (String root : List.of("locks", "/", "/a/", "/a//b", "/zookeeper/locks", "/a/./b")) {
      assertThatThrownBy(() -> ZkLockService.connect("127.0.0.1:1", root))
          .as(root)
          .isInstanceOfSatisfying(SynodException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT);
            assertThat(e.field()).hasValue("root_path");
          });
    }
    assertThatThrownBy(() -> ZkLockService.connect(" ", ROOT))
        .isInstanceOfSatisfying(SynodException.class,
            e -> assertThat(e.field()).hasValue("connect_string"));
    assertThat(ZkLockConfig.of("127.0.0.1:2181").rootPath()).isEqualTo("/synod/locks");
  }

  @Test
  void anUnreachableEnsembleIsUnavailable() {
    ZkLockConfig config = ZkLockConfig.of("127.0.0.1:1", ROOT)
        .withConnectionTimeout(Duration.ofMillis(300));
    assertThatThrownBy(() -> ZkLockService.connect(config))
        .isInstanceOfSatisfying(SynodException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE);
          assertThat(e.getMessage()).contains("127.0.0.1:1");
        });
  }

  @Test
  void statusOfAResourceNeverLockedIsEmpty() {
    LockStatus status = service.status(fresh("never"));
    assertThat(status.holders()).isEmpty();
    assertThat(status.waiters()).isEmpty();
  }
}
