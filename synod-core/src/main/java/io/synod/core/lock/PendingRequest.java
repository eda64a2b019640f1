package io.synod.core.lock;

import io.synod.api.lock.LockMode;

/**
 * An Acquire on its way: it passes through stages, one per resource from the first ancestor (with
 * intents; the target alone without) down to the target. Stage {@code i} is the resource made of
 * the target's first {@code i + 1} segments. While it waits, {@link #waitingAt} is the resource
 * of its current stage, and the request stands in that resource's queue.
 */
final class PendingRequest {
  final String requestId;
  final String sessionId;
  final ResourcePath target;
  final LockMode mode;
  final boolean withIntents;
  final int priority;
  final long deadlineMs;
  int stage;
  /** Where it waits now, or null while it is being processed (between queues). */
  ResourcePath waitingAt;
  /** It was queued as an upgrade of a lock its session held: at the front of the queue. */
  boolean queuedAsUpgrade;

  PendingRequest(String requestId, String sessionId, ResourcePath target, LockMode mode,
      boolean withIntents, int priority, long deadlineMs) {
    this.requestId = requestId;
    this.sessionId = sessionId;
    this.target = target;
    this.mode = mode;
    this.withIntents = withIntents;
    this.priority = priority;
    this.deadlineMs = deadlineMs;
    this.stage = firstStage();
  }

  int firstStage() {
    return withIntents ? 0 : target.depth() - 1;
  }

  boolean atTarget() {
    return stage == target.depth() - 1;
  }

  ResourcePath stagePath() {
    return target.prefix(stage + 1);
  }

  /**
   * The mode this stage asks for: the requested mode at the target, and above it the intent that
   * the target's resulting mode needs. That depends on what the session holds on the target (S
   * asked over IX becomes X, which needs IX above), so it is computed when needed, not stored.
   */
  LockMode stageMode(SessionState session) {
    if (atTarget()) {
      return mode;
    }
    return LockModes.join(session.modeAt(target), mode).intentForAncestors();
  }

  /** The mode the session would hold on the stage's resource once this stage is granted. */
  LockMode effectiveMode(SessionState session) {
    return LockModes.join(session.modeAt(stagePath()), stageMode(session));
  }

  LockTable.WaitingRequest view(SessionState session) {
    return new LockTable.WaitingRequest(requestId, sessionId, target.path(), mode,
        waitingAt == null ? null : waitingAt.path(), stageMode(session), deadlineMs, priority,
        queuedAsUpgrade);
  }
}
