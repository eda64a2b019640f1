package io.synod.engine.lock.zk;

import io.synod.api.lock.Lock;
import io.synod.api.lock.LockLost;
import io.synod.api.lock.LockMode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The handle one acquire returns: the target node plus the intent nodes on its ancestors that the
 * request took or shares. Closing it releases them bottom-up and waits (bounded) until the target's
 * node is gone, so a {@code status} right after shows no holder. The lock is lost when any of its
 * nodes is: without its intents the target no longer keeps writers of an ancestor out.
 */
final class ZkLock implements Lock {
  private final ZkLockSession session;
  private final HeldNode target;
  private final List<HeldNode> nodesBottomUp;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final CompletableFuture<LockLost> lost = new CompletableFuture<>();

  /** {@code intents} top-down, as the request took them. */
  ZkLock(ZkLockSession session, HeldNode target, List<HeldNode> intents) {
    this.session = session;
    this.target = target;
    List<HeldNode> nodes = new ArrayList<>(intents.size() + 1);
    nodes.add(target);
    List<HeldNode> reversed = new ArrayList<>(intents);
    Collections.reverse(reversed);
    nodes.addAll(reversed);
    this.nodesBottomUp = List.copyOf(nodes);
  }

  List<HeldNode> nodesBottomUp() {
    return nodesBottomUp;
  }

  /** Called by the session, off its monitor, when one of this lock's nodes was lost. */
  void nodeLost(LockLost.Reason reason) {
    if (!closed.get()) {
      session.deliver(
          () -> lost.complete(new LockLost(target.resource, target.fencingToken, reason)));
    }
  }

  @Override
  public String resource() {
    return target.resource;
  }

  @Override
  public LockMode mode() {
    return target.mode;
  }

  @Override
  public long fencingToken() {
    return target.fencingToken;
  }

  @Override
  public CompletableFuture<LockLost> lost() {
    return lost;
  }

  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      session.releaseAndWait(this);
    }
  }

  @Override
  public String toString() {
    return target.mode + " on " + target.resource + " (token " + target.fencingToken + ", session "
        + session.id() + ")";
  }
}
