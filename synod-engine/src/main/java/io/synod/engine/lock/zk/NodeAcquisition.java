package io.synod.engine.lock.zk;

import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.lock.LockMode;
import java.time.Duration;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.WatcherRemoveCuratorFramework;
import org.apache.curator.framework.api.CuratorEvent;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Takes one lock node on one resource: create it, check the grant rule, wait if needed, stamp it.
 * Every step is a Curator background call, so a waiter holds no thread: it is a registered
 * watcher and a timer entry, nothing more.
 *
 * <pre>
 *   CREATING --created--> CHECKING --no blocker--> GRANTING --stamped--> GRANTED
 *                            |  ^                     |
 *                   blocker  |  | blocker's node      |
 *                   watched  v  | changed or gone     |
 *                          WAITING                    |
 *   any of the above --timeout, abort, error, try not granted--> FAILED (node deleted)
 * </pre>
 *
 * <p><b>Grant rule</b> ({@link LockNodes#blocker}): granted when every earlier node of another
 * session is compatible. While waiting, only the nearest earlier incompatible node is watched
 * (no herd: a release wakes the next waiter, not all of them). Its deletion, or any change to
 * it, triggers a fresh check; a watch that fires for a node no longer relevant costs one extra
 * listing. No wake-up is lost: the watch is set with a read issued after the listing, so a node
 * deleted in between answers NONODE and the check runs again.
 *
 * <p><b>Fencing token</b>: the grant rewrites the node's own data and takes the write's {@code
 * mzxid}. zxids are ZooKeeper's total order of writes, and this write happens after the grant rule
 * held, that is after every conflicting earlier holder's node was deleted. So a later grant, on
 * this resource or any other, carries a larger token. A node's {@code czxid} would not do: a
 * waiter created early and granted late would carry a smaller token than a node created and
 * granted in between elsewhere.
 *
 * <p>The future completes exactly once: with the held node, with {@code null} when a try was not
 * granted at once, or with the failure. A failed acquisition deletes its node before completing,
 * so no trace of it is left in {@code status}. Every transition goes through {@link #state}.
 */
final class NodeAcquisition {
  private static final Logger LOG = LoggerFactory.getLogger(NodeAcquisition.class);

  enum State { CREATING, CHECKING, WAITING, GRANTING, GRANTED, FAILED }

  private static final Map<State, Set<State>> NEXT = new EnumMap<>(Map.of(
      State.CREATING, EnumSet.of(State.CHECKING, State.FAILED),
      State.CHECKING, EnumSet.of(State.WAITING, State.GRANTING, State.FAILED),
      State.WAITING, EnumSet.of(State.CHECKING, State.FAILED),
      State.GRANTING, EnumSet.of(State.GRANTED, State.FAILED),
      State.GRANTED, EnumSet.noneOf(State.class),
      State.FAILED, EnumSet.noneOf(State.class)));

  private final ZkLockSession session;
  private final WatcherRemoveCuratorFramework client;
  private final ResourcePath resource;
  private final String resourceZnode;
  private final LockMode mode;
  private final String what;
  private final boolean tryOnly;
  private final Duration timeout;
  private final CompletableFuture<HeldNode> result = new CompletableFuture<>();
  private final Watcher watcher = this::watched;

  private State state = State.CREATING; // guarded by this
  private String path; // guarded by this; the own node, once created
  private ScheduledFuture<?> timer; // guarded by this
  private boolean overdue; // guarded by this; the deadline passed during a round trip
  private long deadlineNanos; // guarded by this

  /**
   * @param what the request in words for messages, like "IX on pg (intent for X on pg/a/42)"
   * @param timeout the request's timeout, for the message when it passes
   */
  NodeAcquisition(ZkLockSession session, ResourcePath resource, LockMode mode, String what,
      boolean tryOnly, Duration timeout) {
    this.session = session;
    this.client = session.client().newWatcherRemoveCuratorFramework();
    this.resource = resource;
    this.resourceZnode = resource.znode(session.rootPath());
    this.mode = mode;
    this.what = what;
    this.tryOnly = tryOnly;
    this.timeout = timeout;
  }

  /**
   * Starts. A request still waiting in the queue at {@code deadlineNanos} (System.nanoTime scale)
   * fails with DEADLINE_EXCEEDED; one that is between round trips then fails as soon as the check
   * finds it blocked, so a zero timeout still grants a free lock. A round trip that has not
   * answered one operation timeout after the deadline fails the acquisition (UNAVAILABLE).
   */
  CompletableFuture<HeldNode> start(long deadlineNanos) {
    try {
      synchronized (this) {
        this.deadlineNanos = deadlineNanos;
        timer = session.schedule(this::timedOut, deadlineNanos);
      }
      client.create().creatingParentContainersIfNeeded().withProtection()
          .withMode(CreateMode.EPHEMERAL_SEQUENTIAL)
          .inBackground(this::created)
          .forPath(LockNodes.createPath(resourceZnode, mode), session.nodeData());
    } catch (Exception e) {
      end(ZkErrors.unavailable("create lock node under " + resourceZnode, e));
    }
    return result;
  }

  /** Ends a pending acquisition (request cancelled, session ended); no-op once it ended. */
  void abort(SynodException reason) {
    end(reason);
  }

  private void created(CuratorFramework c, CuratorEvent event) {
    if (event.getResultCode() != KeeperException.Code.OK.intValue()) {
      end(ZkErrors.fromResult(event.getResultCode(), "create lock node under", resourceZnode));
      return;
    }
    String created = event.getName();
    session.ownNodeCreated(created);
    boolean proceed;
    synchronized (this) {
      path = created;
      proceed = state == State.CREATING;
      if (proceed) {
        state(State.CHECKING, "created " + created);
      }
    }
    if (proceed) {
      listChildren();
    } else {
      session.deleteNode(created); // ended while the create was in flight: nobody will use it
    }
  }

  private void check(String why) {
    synchronized (this) {
      if (state != State.WAITING) {
        return;
      }
      state(State.CHECKING, why);
    }
    listChildren();
  }

  private void listChildren() {
    try {
      client.getChildren().inBackground(this::listed).forPath(resourceZnode);
    } catch (Exception e) {
      end(ZkErrors.unavailable("list " + resourceZnode, e));
    }
  }

  private void listed(CuratorFramework c, CuratorEvent event) {
    if (event.getResultCode() != KeeperException.Code.OK.intValue()) {
      end(ZkErrors.fromResult(event.getResultCode(), "list", resourceZnode));
      return;
    }
    String own;
    synchronized (this) {
      if (state != State.CHECKING) {
        return;
      }
      own = path;
    }
    List<LockNodes.Child> children = LockNodes.sorted(event.getChildren());
    String ownName = LockNodes.name(own);
    int index = indexOf(children, ownName);
    if (index < 0) {
      end(ZkErrors.of(ErrorCode.UNAVAILABLE, what + ": the lock node " + own
          + " vanished while waiting (lease lapsed, or deleted by an operator); retry"));
      return;
    }
    int blocker = LockNodes.blocker(children, index, LockNodes.Child::mode,
        (earlier, self) -> session.ownsNode(resourceZnode + "/" + earlier.name()));
    if (blocker < 0) {
      stamp(own);
    } else if (tryOnly) {
      end(null);
    } else {
      watch(resourceZnode + "/" + children.get(blocker).name());
    }
  }

  private static int indexOf(List<LockNodes.Child> children, String name) {
    for (int i = 0; i < children.size(); i++) {
      if (children.get(i).name().equals(name)) {
        return i;
      }
    }
    return -1;
  }

  private void watch(String blockerPath) {
    boolean late;
    synchronized (this) {
      if (state != State.CHECKING) {
        return;
      }
      late = overdue;
      if (!late) {
        state(State.WAITING, "behind " + blockerPath);
      }
    }
    if (late) {
      end(deadlineExceeded());
      return;
    }
    try {
      client.getData().usingWatcher(watcher).inBackground(this::watchSet).forPath(blockerPath);
    } catch (Exception e) {
      end(ZkErrors.unavailable("watch " + blockerPath, e));
    }
  }

  private void watchSet(CuratorFramework c, CuratorEvent event) {
    int rc = event.getResultCode();
    if (rc == KeeperException.Code.NONODE.intValue()) {
      check("blocker gone before the watch was set");
    } else if (rc != KeeperException.Code.OK.intValue()) {
      end(ZkErrors.fromResult(rc, "watch", event.getPath()));
    } else if (LockNodes.decode(event.getData()).sessionId().equals(session.id())) {
      // Created by this session concurrently, before its create callback recorded it.
      session.ownNodeCreated(event.getPath());
      check("blocker is this session's own node");
    }
  }

  private void watched(WatchedEvent event) {
    if (event.getType() != Watcher.Event.EventType.None) {
      check(event.getType() + " on " + event.getPath());
    }
  }

  private void stamp(String own) {
    synchronized (this) {
      if (state != State.CHECKING) {
        return;
      }
      state(State.GRANTING, "no earlier incompatible node");
    }
    try {
      client.setData().inBackground(this::stamped).forPath(own, session.nodeData());
    } catch (Exception e) {
      end(ZkErrors.unavailable("stamp " + own, e));
    }
  }

  private void stamped(CuratorFramework c, CuratorEvent event) {
    if (event.getResultCode() != KeeperException.Code.OK.intValue()) {
      end(ZkErrors.fromResult(event.getResultCode(), "stamp grant on", event.getPath()));
      return;
    }
    long token = event.getStat().getMzxid();
    String own;
    synchronized (this) {
      if (state != State.GRANTING) {
        return; // ended (timeout, abort) while the write was in flight; end() deletes the node
      }
      state(State.GRANTED, "token " + token);
      own = path;
      timer.cancel(false);
    }
    removeWatchers();
    HeldNode held = session.granted(resource.value(), mode, own, token);
    if (held == null) {
      result.completeExceptionally(session.notAlive(what));
    } else {
      result.complete(held);
    }
  }

  private void timedOut() {
    boolean waiting;
    synchronized (this) {
      if (state == State.GRANTED || state == State.FAILED) {
        return;
      }
      waiting = state == State.WAITING;
      if (!waiting && !overdue && !tryOnly) {
        // Between round trips: the next check decides; the backstop bounds a silent server.
        overdue = true;
        timer = session.schedule(this::timedOut,
            deadlineNanos + session.operationTimeout().toNanos());
        return;
      }
    }
    end(waiting ? deadlineExceeded() : ZkErrors.of(ErrorCode.UNAVAILABLE, what
        + ": ZooKeeper did not answer within " + session.operationTimeout() + "; retry later"));
  }

  private SynodException deadlineExceeded() {
    return ZkErrors.of(ErrorCode.DEADLINE_EXCEEDED, what + " was not granted within " + timeout
        + "; the request was withdrawn. This backend has no deadlock detection, so a"
        + " deadlock also ends here: retry later, or with a longer timeout");
  }

  /** Ends the acquisition: {@code error}, or {@code null} for a try that was not granted. */
  private void end(SynodException error) {
    String own;
    synchronized (this) {
      if (state == State.GRANTED || state == State.FAILED) {
        return;
      }
      state(State.FAILED, error == null ? "not granted at once" : error.getMessage());
      own = path;
      if (timer != null) {
        timer.cancel(false);
      }
    }
    removeWatchers();
    // Without a path the create is still in flight; created() deletes the node when it lands.
    CompletableFuture<Void> deleted =
        own == null ? CompletableFuture.completedFuture(null) : session.deleteNode(own);
    deleted.whenComplete((v, e) -> {
      if (error == null) {
        result.complete(null);
      } else {
        result.completeExceptionally(error);
      }
    });
  }

  private void removeWatchers() {
    try {
      client.removeWatchers();
    } catch (RuntimeException e) {
      LOG.debug("event=lock_watch_removal_failed session={} resource={} error={}", session.id(),
          resource, e.toString());
    }
  }

  private void state(State next, String reason) {
    assert Thread.holdsLock(this);
    if (!NEXT.get(state).contains(next)) {
      throw new IllegalStateException(
          "ILLEGAL TRANSITION " + state + " -> " + next + " for " + what + ": " + reason);
    }
    LOG.debug("event=lock_acquisition_state session={} resource={} mode={} from={} to={} reason={}",
        session.id(), resource, mode, state, next, reason);
    state = next;
  }
}
