package io.synod.engine.lock.zk;

import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.lock.LockService;
import io.synod.api.lock.LockSession;
import io.synod.api.lock.LockStatus;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.BoundedExponentialBackoffRetry;
import org.apache.curator.utils.CloseableUtils;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.client.ZKClientConfig;
import org.apache.zookeeper.data.Stat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The ZooKeeper lock backend (spec 001, {@code ZooKeeperLockManager}): hierarchical locks as
 * ephemeral sequential znodes under a root path, through Curator.
 *
 * <p><b>Layout.</b> Resource {@code pg/accounts/42} is the znode {@code <root>/pg/accounts/42}
 * (container nodes, created on demand, removed by the server once empty). A request creates an
 * EPHEMERAL_SEQUENTIAL child {@code lock-<MODE>-<seq>} there (see {@link LockNodes} for names and
 * data). Each {@link LockSession} owns its own ZooKeeper session, whose timeout is the lease: when
 * the lease lapses the server deletes the session's nodes, and the locks are free.
 *
 * <p><b>Grant rule and FIFO.</b> A node holds the lock when every earlier node (lower sequence) of
 * another session has a compatible mode ({@link io.synod.api.lock.LockMode#compatibleWith}).
 * Earlier waiters count too, so each resource is served in arrival order. A session's own nodes
 * are ignored, so the sole S holder can upgrade to X. A waiter watches only the nearest earlier
 * incompatible node ({@link NodeAcquisition}), so a release wakes one waiter, not the herd.
 *
 * <p><b>Intents.</b> By default a request takes the intent mode on every ancestor, top-down, then
 * the target ({@link StagedAcquire}); the returned lock releases them all. Without intents the
 * session must already hold a covering lock on each ancestor, or the request is refused with
 * FAILED_PRECONDITION.
 *
 * <p><b>Fencing tokens</b> are the {@code mzxid} of a write made to the node at grant time, so they
 * increase in grant order across the whole service (why not {@code czxid}: see {@link
 * NodeAcquisition}). A holder whose node vanished, or whose session expired, is told through
 * {@code Lock.lost()}; a store that checks tokens refuses it either way.
 *
 * <p><b>What this backend does not do</b>, unlike the native one: no deadlock detection and no
 * escalation (spec 001's ZooKeeper backend has neither). A deadlock ends when one of its waits
 * times out (DEADLINE_EXCEEDED); request priorities are ignored. A SUSPENDED connection is not
 * treated as lost: the locks are lost only once Curator reports the session LOST, which may come
 * up to a session timeout after the server already expired it. Fencing tokens cover that gap.
 *
 * <p><b>Bounds.</b> Every ZooKeeper operation retries with a bounded exponential backoff;
 * synchronous ZooKeeper calls carry a request timeout; every wait (acquire, try, status, release)
 * has a deadline; sessions, requests in flight and nodes held per session are capped ({@link
 * ZkLockConfig}). Waiters hold no thread: they are watchers plus one timer entry each.
 *
 * <p>{@code status} reads through a shared client of the service, after a {@code sync}, so it sees
 * at least every write acknowledged before it was called.
 */
public final class ZkLockService implements LockService {
  private static final Logger LOG = LoggerFactory.getLogger(ZkLockService.class);
  static final int OWNER_CHARS_MAX = 256;

  private final ZkLockConfig config;
  private final CuratorFramework shared;
  private final ScheduledExecutorService timer;
  private final ExecutorService callbacks;
  private final Set<ZkLockSession> sessions = ConcurrentHashMap.newKeySet();
  private final AtomicInteger sessionSlots = new AtomicInteger(); // sessions open or opening
  private final AtomicBoolean closed = new AtomicBoolean();

  private ZkLockService(ZkLockConfig config) {
    this.config = config;
    ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, r -> {
      Thread thread = new Thread(r, "synod-zk-lock-timer");
      thread.setDaemon(true);
      return thread;
    });
    t.setRemoveOnCancelPolicy(true);
    this.timer = t;
    this.callbacks =
        Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("synod-zk-lock-", 0).factory());
    this.shared = newClient(Math.toIntExact(config.connectionTimeout().toMillis() * 2));
  }

  /** Connects to {@code connectString} with locks under {@code rootPath} and default settings. */
  public static ZkLockService connect(String connectString, String rootPath) {
    return connect(ZkLockConfig.of(connectString, rootPath));
  }

  /**
   * Connects; blocks until the service's shared client reached the ensemble, or fails with
   * UNAVAILABLE after {@link ZkLockConfig#connectionTimeout()}.
   */
  public static ZkLockService connect(ZkLockConfig config) {
    ZkLockService service = new ZkLockService(config);
    try {
      service.shared.start();
      if (!service.shared.blockUntilConnected(
          Math.toIntExact(config.connectionTimeout().toMillis()), TimeUnit.MILLISECONDS)) {
        throw ZkErrors.of(ErrorCode.UNAVAILABLE, "could not reach ZooKeeper at "
            + config.connectString() + " within " + config.connectionTimeout()
            + "; check connect_string and that the ensemble is up");
      }
    } catch (InterruptedException e) {
      service.close();
      Thread.currentThread().interrupt();
      throw ZkErrors.of(ErrorCode.ABORTED, "interrupted while connecting to ZooKeeper");
    } catch (RuntimeException e) {
      service.close();
      throw e;
    }
    LOG.info("event=zk_lock_service_connected connect_string={} root_path={}",
        config.connectString(), config.rootPath());
    return service;
  }

  @Override
  public LockSession openSession(String owner, Duration lease) {
    ensureOpen();
    if (owner == null || owner.isBlank() || owner.length() > OWNER_CHARS_MAX) {
      throw SynodException.invalid("owner",
          "is required, at most " + OWNER_CHARS_MAX + " characters; got " + quoted(owner));
    }
    if (lease == null || lease.compareTo(config.leaseMin()) < 0
        || lease.compareTo(config.leaseMax()) > 0) {
      throw SynodException.invalid("lease",
          "must be between " + config.leaseMin() + " and " + config.leaseMax() + "; got " + lease);
    }
    if (sessionSlots.incrementAndGet() > config.sessionsMax()) {
      sessionSlots.decrementAndGet();
      throw ZkErrors.of(ErrorCode.RESOURCE_EXHAUSTED, config.sessionsMax()
          + " lock sessions are open on this service (sessions_max); close some first");
    }
    ZkLockSession session;
    try {
      session = ZkLockSession.open(this, owner, lease);
    } catch (RuntimeException e) {
      sessionSlots.decrementAndGet();
      throw e;
    }
    sessions.add(session);
    if (!session.isAlive()) { // expired before it was registered: free its slot
      sessionClosed(session);
    }
    if (closed.get()) { // closed while this session was connecting
      session.close();
      ensureOpen();
    }
    return session;
  }

  @Override
  public LockStatus status(String resource) {
    ResourcePath path = ResourcePath.parse(resource);
    ensureOpen();
    String znode = path.znode(config.rootPath());
    try {
      sync(znode);
      List<String> names;
      try {
        names = shared.getChildren().forPath(znode);
      } catch (KeeperException.NoNodeException e) {
        return new LockStatus(resource, List.of(), List.of());
      }
      return status(resource, znode, LockNodes.sorted(names));
    } catch (SynodException e) {
      throw e;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw ZkErrors.of(ErrorCode.ABORTED, "interrupted while reading the status of " + resource);
    } catch (Exception e) {
      throw ZkErrors.unavailable("read the status of " + resource, e);
    }
  }

  /** One lock node as status reads it. */
  private record Entry(LockNodes.Child child, LockNodes.Data data, long fencingToken) {}

  private LockStatus status(String resource, String znode, List<LockNodes.Child> children)
      throws Exception {
    List<Entry> entries = new ArrayList<>(children.size());
    for (LockNodes.Child child : children) {
      Stat stat = new Stat();
      byte[] data;
      try {
        data = shared.getData().storingStatIn(stat).forPath(znode + "/" + child.name());
      } catch (KeeperException.NoNodeException e) {
        continue; // released while we read
      }
      // Version 0: created, not yet stamped by a grant (see LockNodes).
      long token = stat.getVersion() > 0 ? stat.getMzxid() : 0;
      entries.add(new Entry(child, LockNodes.decode(data), token));
    }
    List<LockStatus.Holder> holders = new ArrayList<>();
    List<LockStatus.Waiter> waiters = new ArrayList<>();
    for (int i = 0; i < entries.size(); i++) {
      Entry e = entries.get(i);
      int blocker = LockNodes.blocker(entries, i, x -> x.child().mode(),
          (a, b) -> a.data().sessionId().equals(b.data().sessionId()));
      if (blocker < 0) {
        holders.add(new LockStatus.Holder(
            e.data().sessionId(), e.data().owner(), e.child().mode(), e.fencingToken()));
      } else {
        waiters.add(
            new LockStatus.Waiter(e.data().sessionId(), e.data().owner(), e.child().mode()));
      }
    }
    return new LockStatus(resource, holders, waiters);
  }

  /** Waits (bounded) until the shared client's server caught up with the leader. */
  private void sync(String znode) throws Exception {
    CompletableFuture<Void> done = new CompletableFuture<>();
    shared.sync().inBackground((c, event) -> done.complete(null)).forPath(znode);
    done.get(config.operationTimeout().toMillis(), TimeUnit.MILLISECONDS);
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    for (ZkLockSession session : List.copyOf(sessions)) {
      session.close();
    }
    CloseableUtils.closeQuietly(shared);
    timer.shutdownNow();
    callbacks.shutdown();
    LOG.info("event=zk_lock_service_closed connect_string={} root_path={}",
        config.connectString(), config.rootPath());
  }

  private void ensureOpen() {
    if (closed.get()) {
      throw ZkErrors.of(ErrorCode.FAILED_PRECONDITION,
          "the ZooKeeper lock service is closed; connect a new one");
    }
  }

  /** A client with this service's bounds; {@code sessionTimeoutMs} is the lease for sessions. */
  CuratorFramework newClient(int sessionTimeoutMs) {
    ZKClientConfig zk = new ZKClientConfig();
    zk.setProperty(ZKClientConfig.ZOOKEEPER_REQUEST_TIMEOUT,
        Long.toString(config.operationTimeout().toMillis()));
    return CuratorFrameworkFactory.builder()
        .connectString(config.connectString())
        .sessionTimeoutMs(sessionTimeoutMs)
        .connectionTimeoutMs(Math.toIntExact(
            Math.min(config.connectionTimeout().toMillis(), sessionTimeoutMs)))
        .retryPolicy(new BoundedExponentialBackoffRetry(
            Math.toIntExact(config.retryBaseSleep().toMillis()),
            Math.toIntExact(config.retryMaxSleep().toMillis()), config.retriesMax()))
        .zkClientConfig(zk)
        .build();
  }

  /** A session left OPEN (closed or expired); its slot is free again. */
  void sessionClosed(ZkLockSession session) {
    if (sessions.remove(session)) {
      sessionSlots.decrementAndGet();
    }
  }

  ZkLockConfig config() {
    return config;
  }

  ScheduledExecutorService timer() {
    return timer;
  }

  ExecutorService callbacks() {
    return callbacks;
  }

  private static String quoted(String s) {
    return s == null ? "null" : "'" + s + "'";
  }
}
