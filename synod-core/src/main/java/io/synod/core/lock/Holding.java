package io.synod.core.lock;

import io.synod.api.lock.LockMode;

/**
 * A lock a session holds on a resource. Immutable: an upgrade replaces it, with a new token.
 *
 * @param implicit taken as an intent on the way to a lock below (by {@code withIntents}), never
 *     asked for by itself: the table releases it when the session holds and waits for nothing
 *     below it any more. Implicit locks are always IS or IX.
 */
record Holding(
    String sessionId, ResourcePath resource, LockMode mode, long token, boolean implicit) {

  Holding explicit() {
    return new Holding(sessionId, resource, mode, token, false);
  }

  LockTable.HeldLock view() {
    return new LockTable.HeldLock(resource.path(), mode, token, implicit);
  }
}
