package io.synod.engine.lock.zk;

import io.synod.api.lock.LockLost;
import io.synod.api.lock.LockMode;
import java.util.HashSet;
import java.util.Set;

/**
 * One granted lock node of a session. Several {@link ZkLock}s may share it: an intent node taken
 * for one request is reused (reference counted) by later requests of the same session that need
 * the same or a weaker mode on that ancestor, and is deleted when the last of them is closed.
 *
 * <p>{@code refs}, {@code gone}, {@code lostReason} and {@code handles} are guarded by the owning
 * session's monitor. {@code handles} are the open locks to tell if the node is lost; a lock leaves
 * the set when it is closed, so a long-lived shared intent does not collect closed locks.
 */
final class HeldNode {
  final String resource;
  final LockMode mode;
  final String path;
  final long fencingToken;

  int refs = 1;
  boolean gone;
  LockLost.Reason lostReason;
  final Set<ZkLock> handles = new HashSet<>();

  HeldNode(String resource, LockMode mode, String path, long fencingToken) {
    assert fencingToken > 0 : fencingToken;
    this.resource = resource;
    this.mode = mode;
    this.path = path;
    this.fencingToken = fencingToken;
  }

  @Override
  public String toString() {
    return mode + " on " + resource + " (" + path + ", token " + fencingToken + ")";
  }
}
