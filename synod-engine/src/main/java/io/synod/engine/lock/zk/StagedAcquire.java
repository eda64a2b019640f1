package io.synod.engine.lock.zk;

import io.synod.api.SynodException;
import io.synod.api.lock.LockMode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * One acquire request, as stages run one after the other: with intents, the intent mode on each
 * ancestor top-down, then the requested mode on the target. All stages share the request's
 * deadline. An ancestor this session already holds in a covering mode is not locked again but
 * shared (reference counted), so a session never queues behind a waiter that waits for the
 * session itself.
 *
 * <p>If a stage fails, times out, or (for a try) is not granted at once, the stages this request
 * took are released bottom-up before the result completes: a failed request leaves nothing behind.
 * {@link #result} completes with the lock, with {@code null} for a try that was not granted, or
 * with the failure.
 */
final class StagedAcquire {

  record Stage(ResourcePath resource, LockMode mode, boolean intent) {}

  private final ZkLockSession session;
  private final ResourcePath target;
  private final LockMode mode;
  private final List<Stage> stages;
  private final boolean tryOnly;
  private final Duration timeout;
  private final long deadlineNanos;
  private final CompletableFuture<ZkLock> result = new CompletableFuture<>();

  private final List<HeldNode> intents = new ArrayList<>(); // guarded by this; top-down
  private NodeAcquisition current; // guarded by this
  private SynodException aborted; // guarded by this
  private boolean finished; // guarded by this

  StagedAcquire(ZkLockSession session, ResourcePath target, LockMode mode, boolean withIntents,
      boolean tryOnly, Duration timeout, long deadlineNanos) {
    this.session = session;
    this.target = target;
    this.mode = mode;
    this.stages = plan(target, mode, withIntents);
    this.tryOnly = tryOnly;
    this.timeout = timeout;
    this.deadlineNanos = deadlineNanos;
  }

  static List<Stage> plan(ResourcePath target, LockMode mode, boolean withIntents) {
    List<Stage> out = new ArrayList<>();
    if (withIntents) {
      for (String ancestor : target.ancestors()) {
        out.add(new Stage(ResourcePath.parse(ancestor), mode.intentForAncestors(), true));
      }
    }
    out.add(new Stage(target, mode, false));
    return out;
  }

  int nodesMax() {
    return stages.size();
  }

  CompletableFuture<ZkLock> result() {
    return result;
  }

  void start() {
    next(0);
  }

  /** Withdraws the request; what it took is released and the result fails with {@code reason}. */
  void abort(SynodException reason) {
    NodeAcquisition running;
    synchronized (this) {
      if (finished || aborted != null) {
        return;
      }
      aborted = reason;
      running = current;
    }
    if (running != null) {
      running.abort(reason);
    }
  }

  private void next(int index) {
    Stage stage = stages.get(index);
    boolean last = index == stages.size() - 1;
    if (stage.intent()) {
      HeldNode shared = session.retainCovering(stage.resource().value(), stage.mode());
      if (shared != null) {
        synchronized (this) {
          intents.add(shared);
        }
        next(index + 1);
        return;
      }
    }
    NodeAcquisition acquisition = new NodeAcquisition(session, stage.resource(), stage.mode(),
        describe(stage), tryOnly, timeout);
    SynodException abortedNow;
    synchronized (this) {
      abortedNow = aborted;
      current = acquisition;
    }
    if (abortedNow != null) {
      finish(abortedNow);
      return;
    }
    long deadline = tryOnly
        ? System.nanoTime() + session.operationTimeout().toNanos()
        : deadlineNanos;
    acquisition.start(deadline).whenComplete((node, error) -> {
      if (error != null) {
        finish(ZkErrors.unwrap(error));
      } else if (node == null) {
        finish(null);
      } else if (last) {
        granted(node);
      } else {
        synchronized (this) {
          intents.add(node);
        }
        next(index + 1);
      }
    });
  }

  private void granted(HeldNode node) {
    SynodException abortedNow;
    List<HeldNode> taken;
    synchronized (this) {
      abortedNow = aborted;
      if (abortedNow != null) {
        intents.add(node); // released by finish(), with the rest
      } else {
        finished = true;
      }
      taken = List.copyOf(intents);
    }
    if (abortedNow != null) {
      finish(abortedNow);
      return;
    }
    session.requestEnded(this);
    ZkLock lock = new ZkLock(session, node, taken);
    session.attach(lock);
    result.complete(lock);
  }

  /** Releases what this request took, then fails (or, for a try, answers "not granted"). */
  private void finish(SynodException error) {
    List<HeldNode> taken;
    synchronized (this) {
      if (finished) {
        return;
      }
      finished = true;
      taken = new ArrayList<>(intents);
      intents.clear();
    }
    Collections.reverse(taken);
    session.releaseAll(taken).whenComplete((v, e) -> {
      session.requestEnded(this);
      if (error == null) {
        result.complete(null);
      } else {
        result.completeExceptionally(error);
      }
    });
  }

  private String describe(Stage stage) {
    return stage.intent()
        ? stage.mode() + " on " + stage.resource() + " (intent for " + mode + " on " + target + ")"
        : mode + " on " + target;
  }
}
