package io.synod.engine.lock.zk;

import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.lock.Lock;
import io.synod.api.lock.LockLost;
import io.synod.api.lock.LockMode;
import io.synod.api.lock.LockRequest;
import io.synod.api.lock.LockSession;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.utils.CloseableUtils;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooKeeper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A lock session backed by its own ZooKeeper session: its own {@link CuratorFramework} whose
 * session timeout is the lease, so the server deletes the session's ephemeral lock nodes when the
 * lease lapses. The server clamps the timeout to its [minSessionTimeout, maxSessionTimeout] (by
 * default 2 and 20 ticks, 4 s and 40 s at a 2 s tick); the lease actually granted is logged.
 *
 * <p>States, each change through {@link #state}: {@code OPEN -> EXPIRED} when Curator reports
 * the session LOST (expired at the server, or unreachable for a whole session timeout); {@code
 * OPEN|EXPIRED -> CLOSED} on {@link #close}. Leaving OPEN fails the requests in flight and marks
 * every held lock lost (LEASE_EXPIRED, or SESSION_CLOSED when closed with locks held). An expired
 * session also closes its client, so that Curator does not quietly go on under a new session.
 *
 * <p>Bookkeeping, all guarded by this object's monitor: the granted nodes by resource (to answer
 * "does this session hold a covering lock on the ancestor?" and to share intents), and the
 * requests in flight (to withdraw them). {@link #ownNodes} (every lock node this session created
 * and has not deleted) is concurrent: the grant rule reads it from ZooKeeper's event thread.
 *
 * <p>Thread safety: every method may be called from any thread. Callbacks of Curator run on its
 * threads and never block; the caller-visible futures ({@code acquireAsync}, {@code
 * Lock.lost()}) are completed on the service's virtual-thread executor, so a caller that blocks in
 * a dependent stage cannot stall ZooKeeper's event delivery.
 */
final class ZkLockSession implements LockSession {
  private static final Logger LOG = LoggerFactory.getLogger(ZkLockSession.class);

  enum State { OPEN, EXPIRED, CLOSED }

  private final ZkLockService service;
  private final CuratorFramework client;
  private final String id;
  private final String owner;
  private final byte[] nodeData;
  private final Set<String> ownNodes = ConcurrentHashMap.newKeySet();

  private State state = State.OPEN; // guarded by this
  private final Map<String, List<HeldNode>> held = new HashMap<>(); // guarded by this
  private int heldNodes; // guarded by this
  private final Set<StagedAcquire> inFlight = new HashSet<>(); // guarded by this
  private int inFlightNodesMax; // guarded by this; nodes the requests in flight may still take

  private ZkLockSession(ZkLockService service, CuratorFramework client, String id, String owner) {
    this.service = service;
    this.client = client;
    this.id = id;
    this.owner = owner;
    this.nodeData = LockNodes.encode(id, owner);
  }

  /** Connects a new ZooKeeper session for {@code owner}; blocks up to the connection timeout. */
  static ZkLockSession open(ZkLockService service, String owner, Duration lease) {
    ZkLockConfig config = service.config();
    int leaseMs = Math.toIntExact(lease.toMillis());
    CuratorFramework client = service.newClient(leaseMs);
    try {
      client.start();
      if (!client.blockUntilConnected(
          Math.toIntExact(config.connectionTimeout().toMillis()), TimeUnit.MILLISECONDS)) {
        throw ZkErrors.of(ErrorCode.UNAVAILABLE, "could not reach ZooKeeper at "
            + config.connectString() + " within " + config.connectionTimeout()
            + " to open a lock session for " + owner + "; check the ensemble and retry");
      }
      ZooKeeper zk = client.getZookeeperClient().getZooKeeper();
      long zkSessionId = zk.getSessionId();
      ZkLockSession session =
          new ZkLockSession(service, client, "0x" + Long.toHexString(zkSessionId), owner);
      client.getConnectionStateListenable().addListener(session::connectionStateChanged);
      if (client.getZookeeperClient().getZooKeeper().getSessionId() != zkSessionId) {
        session.expired("session replaced before its listener was registered");
      }
      int negotiatedMs = zk.getSessionTimeout();
      LOG.info("event=lock_session_opened session={} owner={} lease_ms={} lease_requested_ms={}{}",
          session.id, owner, negotiatedMs, leaseMs,
          negotiatedMs == leaseMs ? "" : " note=lease_clamped_by_server");
      return session;
    } catch (SynodException e) {
      CloseableUtils.closeQuietly(client);
      throw e;
    } catch (InterruptedException e) {
      CloseableUtils.closeQuietly(client);
      Thread.currentThread().interrupt();
      throw ZkErrors.of(ErrorCode.ABORTED, "interrupted while opening a lock session for " + owner);
    } catch (Exception e) {
      CloseableUtils.closeQuietly(client);
      throw ZkErrors.unavailable("open a lock session for " + owner, e);
    }
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public String owner() {
    return owner;
  }

  @Override
  public Lock acquire(LockRequest request) {
    Duration waitMax = service.config().waitMax();
    Duration wait = request.timeout().isNegative() ? Duration.ZERO
        : request.timeout().compareTo(waitMax) > 0 ? waitMax : request.timeout(); // else refused
    CompletableFuture<Lock> future = acquireAsync(request);
    return await(future, wait.plus(service.config().operationTimeout()),
        request.mode() + " on " + request.resource());
  }

  @Override
  public CompletableFuture<Lock> acquireAsync(LockRequest request) {
    StagedAcquire run;
    try {
      run = begin(request.resource(), request.mode(), request.timeout(), request.withIntents(),
          false);
    } catch (SynodException e) {
      return CompletableFuture.failedFuture(e);
    }
    CompletableFuture<Lock> caller = new CompletableFuture<>();
    run.result().whenComplete((lock, error) -> deliver(() -> {
      if (error != null) {
        caller.completeExceptionally(ZkErrors.unwrap(error));
      } else if (!caller.complete(lock)) {
        lock.close(); // the caller gave up (cancelled) before the grant arrived
      }
    }));
    caller.whenComplete((lock, error) -> {
      if (caller.isCancelled()) {
        run.abort(ZkErrors.of(ErrorCode.ABORTED, request.mode() + " on " + request.resource()
            + " was cancelled by the caller; the request was withdrawn"));
      }
    });
    return caller;
  }

  @Override
  public Optional<Lock> tryAcquire(String resource, LockMode mode) {
    StagedAcquire run = begin(resource, mode, Duration.ZERO, true, true);
    Duration bound = service.config().operationTimeout().multipliedBy(run.nodesMax() + 1L);
    try {
      return Optional.ofNullable(run.result().get(bound.toNanos(), TimeUnit.NANOSECONDS));
    } catch (ExecutionException e) {
      throw ZkErrors.unwrap(e);
    } catch (TimeoutException e) {
      run.abort(ZkErrors.of(ErrorCode.UNAVAILABLE, "try timed out"));
      throw ZkErrors.of(ErrorCode.UNAVAILABLE, "tryAcquire " + mode + " on " + resource
          + ": ZooKeeper did not answer within " + bound + "; retry later");
    } catch (InterruptedException e) {
      run.abort(ZkErrors.of(ErrorCode.ABORTED, "interrupted"));
      Thread.currentThread().interrupt();
      throw ZkErrors.of(ErrorCode.ABORTED,
          "interrupted during tryAcquire " + mode + " on " + resource + "; nothing is held");
    }
  }

  private StagedAcquire begin(String resource, LockMode mode, Duration timeout,
      boolean withIntents, boolean tryOnly) {
    ResourcePath path = ResourcePath.parse(resource);
    if (mode == null) {
      throw SynodException.invalid("mode", "is required (IS, IX, S or X)");
    }
    if (timeout.isNegative() || timeout.compareTo(service.config().waitMax()) > 0) {
      throw SynodException.invalid("timeout",
          "must be between 0 and " + service.config().waitMax() + "; got " + timeout);
    }
    long deadlineNanos = System.nanoTime() + timeout.toNanos();
    StagedAcquire run =
        new StagedAcquire(this, path, mode, withIntents, tryOnly, timeout, deadlineNanos);
    synchronized (this) {
      if (state != State.OPEN) {
        throw notAlive(mode + " on " + resource);
      }
      if (!withIntents) {
        requireIntents(path, mode);
      }
      ZkLockConfig config = service.config();
      if (inFlight.size() >= config.acquiresPerSessionMax()) {
        throw ZkErrors.of(ErrorCode.RESOURCE_EXHAUSTED, "session " + id + " already has "
            + inFlight.size() + " acquires in flight (acquires_per_session_max); wait for some"
            + " to finish");
      }
      if (heldNodes + inFlightNodesMax + run.nodesMax() > config.locksPerSessionMax()) {
        throw ZkErrors.of(ErrorCode.RESOURCE_EXHAUSTED, "session " + id + " holds " + heldNodes
            + " lock nodes (locks_per_session_max " + config.locksPerSessionMax()
            + "); release some before taking more");
      }
      inFlight.add(run);
      inFlightNodesMax += run.nodesMax();
    }
    run.start();
    return run;
  }

  /** Without intents, the session itself must hold a covering lock on every ancestor. */
  private void requireIntents(ResourcePath path, LockMode mode) {
    assert Thread.holdsLock(this);
    LockMode needed = mode.intentForAncestors();
    for (String ancestor : path.ancestors()) {
      if (covering(ancestor, needed) == null) {
        throw ZkErrors.of(ErrorCode.FAILED_PRECONDITION, mode + " on " + path + " needs "
            + needed + " (or a mode covering it) on ancestor " + ancestor
            + ", held by this session; acquire it first, or acquire with intents");
      }
    }
  }

  private HeldNode covering(String resource, LockMode needed) {
    assert Thread.holdsLock(this);
    for (HeldNode node : held.getOrDefault(resource, List.of())) {
      if (!node.gone && node.mode.covers(needed)) {
        return node;
      }
    }
    return null;
  }

  /** Shares a held node covering {@code mode} on {@code resource}, or null if there is none. */
  synchronized HeldNode retainCovering(String resource, LockMode mode) {
    if (state != State.OPEN) {
      return null;
    }
    HeldNode node = covering(resource, mode);
    if (node != null) {
      node.refs++;
    }
    return node;
  }

  /** Records a granted node; null if the session ended meanwhile (its nodes go with it). */
  HeldNode granted(String resource, LockMode mode, String path, long token) {
    HeldNode node = new HeldNode(resource, mode, path, token);
    synchronized (this) {
      if (state != State.OPEN) {
        return null;
      }
      held.computeIfAbsent(resource, r -> new ArrayList<>()).add(node);
      heldNodes++;
    }
    LOG.debug("event=lock_granted session={} resource={} mode={} token={} node={}", id, resource,
        mode, token, path);
    watchHeld(node);
    return node;
  }

  /** Watches a held node so that its deletion by anyone else marks the lock lost. */
  private void watchHeld(HeldNode node) {
    Watcher watcher = (WatchedEvent event) -> {
      switch (event.getType()) {
        case NodeDeleted -> vanished(node);
        case NodeDataChanged -> watchHeld(node);
        default -> { } // connection events: the session's state listener handles them
      }
    };
    try {
      client.getData().usingWatcher(watcher).inBackground((c, event) -> {
        if (event.getResultCode() == KeeperException.Code.NONODE.intValue()) {
          vanished(node);
        }
      }).forPath(node.path);
    } catch (Exception e) {
      LOG.warn("event=lock_watch_failed session={} node={} error={}", id, node.path, e.toString());
    }
  }

  private void vanished(HeldNode node) {
    List<ZkLock> handles;
    synchronized (this) {
      if (node.gone || state != State.OPEN) {
        return;
      }
      forget(node);
      handles = lose(node, LockLost.Reason.LEASE_EXPIRED);
    }
    ownNodes.remove(node.path);
    LOG.warn("event=lock_lost session={} owner={} resource={} mode={} token={} reason=node_deleted",
        id, owner, node.resource, node.mode, node.fencingToken);
    for (ZkLock lock : handles) {
      lock.nodeLost(LockLost.Reason.LEASE_EXPIRED);
    }
  }

  private void forget(HeldNode node) {
    assert Thread.holdsLock(this) && !node.gone;
    node.gone = true;
    node.refs = 0;
    List<HeldNode> nodes = held.get(node.resource);
    nodes.remove(node);
    if (nodes.isEmpty()) {
      held.remove(node.resource);
    }
    heldNodes--;
    assert heldNodes >= 0 : heldNodes;
  }

  /** Marks a forgotten node lost; returns the open locks to tell, outside the monitor. */
  private List<ZkLock> lose(HeldNode node, LockLost.Reason reason) {
    assert Thread.holdsLock(this) && node.gone;
    node.lostReason = reason;
    List<ZkLock> handles = new ArrayList<>(node.handles);
    node.handles.clear();
    return handles;
  }

  /** Registers a new lock with its nodes, so that their loss reaches its {@code lost()}. */
  void attach(ZkLock lock) {
    LockLost.Reason lostAlready = null;
    synchronized (this) {
      for (HeldNode node : lock.nodesBottomUp()) {
        if (node.gone) {
          assert node.lostReason != null : "released while its request still held it: " + node;
          lostAlready = node.lostReason;
        } else {
          node.handles.add(lock);
        }
      }
    }
    if (lostAlready != null) {
      lock.nodeLost(lostAlready);
    }
  }

  /**
   * Drops one reference ({@code lock}'s, or a failed request's when null); the last one deletes
   * the node. Completes when that delete answered.
   */
  private CompletableFuture<Void> release(HeldNode node, ZkLock lock) {
    synchronized (this) {
      node.handles.remove(lock);
      if (node.gone) {
        return CompletableFuture.completedFuture(null);
      }
      assert node.refs > 0 : node;
      if (--node.refs > 0) {
        return CompletableFuture.completedFuture(null);
      }
      forget(node);
    }
    return deleteNode(node.path);
  }

  /** Releases what a failed request took, in the given order; completes when all answered. */
  CompletableFuture<Void> releaseAll(List<HeldNode> nodes) {
    List<CompletableFuture<Void>> deletes = new ArrayList<>(nodes.size());
    for (HeldNode node : nodes) {
      deletes.add(release(node, null));
    }
    return CompletableFuture.allOf(deletes.toArray(CompletableFuture[]::new));
  }

  /** Releases a closed lock's nodes bottom-up, waiting (bounded) for the deletes. */
  void releaseAndWait(ZkLock lock) {
    List<CompletableFuture<Void>> deletes = new ArrayList<>();
    for (HeldNode node : lock.nodesBottomUp()) {
      deletes.add(release(node, lock));
    }
    Duration bound = service.config().operationTimeout();
    try {
      CompletableFuture.allOf(deletes.toArray(CompletableFuture[]::new))
          .get(bound.toNanos(), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException e) {
      // The delete is guaranteed (Curator retries it); at the latest it goes with the session.
      LOG.warn("event=lock_release_slow session={} lock={} bound={} error={}", id, lock, bound,
          e.toString());
    }
  }

  /** Deletes a lock node of this session (guaranteed: Curator retries until it is gone). */
  CompletableFuture<Void> deleteNode(String path) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    synchronized (this) {
      if (state != State.OPEN) {
        ownNodes.remove(path); // gone with the session, or about to be
        return CompletableFuture.completedFuture(null);
      }
    }
    try {
      client.delete().guaranteed().inBackground((c, event) -> {
        ownNodes.remove(path);
        done.complete(null);
      }).forPath(path);
    } catch (Exception e) {
      ownNodes.remove(path);
      done.complete(null);
    }
    return done.completeOnTimeout(null, service.config().operationTimeout().toMillis(),
        TimeUnit.MILLISECONDS);
  }

  void ownNodeCreated(String path) {
    ownNodes.add(path);
  }

  boolean ownsNode(String path) {
    return ownNodes.contains(path);
  }

  synchronized void requestEnded(StagedAcquire run) {
    if (inFlight.remove(run)) {
      inFlightNodesMax -= run.nodesMax();
    }
    assert inFlightNodesMax >= 0 : inFlightNodesMax;
  }

  @Override
  public synchronized boolean isAlive() {
    return state == State.OPEN;
  }

  @Override
  public void close() {
    State previous;
    synchronized (this) {
      if (state == State.CLOSED) {
        return;
      }
      previous = state;
      state(State.CLOSED, "closed by its owner");
    }
    endAll(LockLost.Reason.SESSION_CLOSED, "session " + id + " was closed");
    service.sessionClosed(this);
    // Closing the ZooKeeper session deletes its ephemeral nodes at once, waking the waiters.
    CloseableUtils.closeQuietly(client);
    LOG.info("event=lock_session_closed session={} owner={} previous={}", id, owner, previous);
  }

  private void connectionStateChanged(CuratorFramework c, ConnectionState newState) {
    if (newState == ConnectionState.LOST) {
      expired("ZooKeeper reported the session LOST");
    } else if (newState == ConnectionState.SUSPENDED) {
      LOG.warn("event=lock_session_suspended session={} owner={} note=locks_may_be_lost_if_the"
          + "_connection_does_not_return_within_the_lease", id, owner);
    }
  }

  private void expired(String reason) {
    synchronized (this) {
      if (state != State.OPEN) {
        return;
      }
      state(State.EXPIRED, reason);
    }
    endAll(LockLost.Reason.LEASE_EXPIRED, "session " + id + "'s lease expired");
    service.sessionClosed(this);
    // Curator would reconnect under a new ZooKeeper session; this lock session is over.
    deliver(() -> CloseableUtils.closeQuietly(client));
  }

  /** After leaving OPEN: withdraw requests in flight, mark held locks lost. */
  private void endAll(LockLost.Reason reason, String why) {
    List<StagedAcquire> runs;
    List<HeldNode> lost = new ArrayList<>();
    Set<ZkLock> handles = new LinkedHashSet<>();
    synchronized (this) {
      assert state != State.OPEN;
      runs = new ArrayList<>(inFlight);
      for (List<HeldNode> nodes : held.values()) {
        lost.addAll(nodes);
      }
      for (HeldNode node : lost) {
        forget(node);
        handles.addAll(lose(node, reason));
      }
      assert held.isEmpty() && heldNodes == 0 : heldNodes;
    }
    for (StagedAcquire run : runs) {
      run.abort(notAlive(why));
    }
    for (HeldNode node : lost) {
      LOG.info("event=lock_lost session={} owner={} resource={} mode={} token={} reason={}", id,
          owner, node.resource, node.mode, node.fencingToken, reason);
    }
    for (ZkLock lock : handles) {
      lock.nodeLost(reason);
    }
  }

  SynodException notAlive(String what) {
    State now;
    synchronized (this) {
      now = state;
    }
    return ZkErrors.of(ErrorCode.FAILED_PRECONDITION, what + ": session " + id + " of " + owner
        + " is " + (now == State.EXPIRED ? "expired (its lease lapsed)" : "closed")
        + "; open a new session");
  }

  private void state(State next, String reason) {
    assert Thread.holdsLock(this);
    boolean legal = switch (state) {
      case OPEN -> next == State.EXPIRED || next == State.CLOSED;
      case EXPIRED -> next == State.CLOSED;
      case CLOSED -> false;
    };
    if (!legal) {
      throw new IllegalStateException(
          "ILLEGAL TRANSITION " + state + " -> " + next + " of lock session " + id + ": " + reason);
    }
    LOG.info("event=lock_session_state session={} owner={} from={} to={} reason={}", id, owner,
        state, next, reason);
    state = next;
  }

  private Lock await(CompletableFuture<Lock> future, Duration bound, String what) {
    try {
      return future.get(bound.toNanos(), TimeUnit.NANOSECONDS);
    } catch (ExecutionException e) {
      throw ZkErrors.unwrap(e);
    } catch (TimeoutException e) {
      future.cancel(false);
      throw ZkErrors.of(ErrorCode.DEADLINE_EXCEEDED, what + " got no answer within " + bound
          + " (timeout plus operation_timeout); the request was withdrawn");
    } catch (InterruptedException e) {
      future.cancel(false);
      Thread.currentThread().interrupt();
      throw ZkErrors.of(ErrorCode.ABORTED,
          "interrupted while waiting for " + what + "; the request was withdrawn");
    }
  }

  /** Runs caller-visible completions off ZooKeeper's threads. */
  void deliver(Runnable task) {
    try {
      service.callbacks().execute(task);
    } catch (RejectedExecutionException e) {
      task.run(); // the service is closing
    }
  }

  ScheduledFuture<?> schedule(Runnable task, long deadlineNanos) {
    return service.timer().schedule(task, deadlineNanos - System.nanoTime(), TimeUnit.NANOSECONDS);
  }

  CuratorFramework client() {
    return client;
  }

  /** The current ZooKeeper handle, for tests that expire the session at the server. */
  ZooKeeper zooKeeper() throws Exception {
    return client.getZookeeperClient().getZooKeeper();
  }

  String rootPath() {
    return service.config().rootPath();
  }

  byte[] nodeData() {
    return nodeData.clone();
  }

  Duration operationTimeout() {
    return service.config().operationTimeout();
  }

  @Override
  public String toString() {
    return "ZkLockSession[" + id + ", " + owner + "]";
  }
}
