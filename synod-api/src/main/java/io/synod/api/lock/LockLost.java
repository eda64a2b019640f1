package io.synod.api.lock;

/** Why a holder lost a lock it had not released: {@code lock lost, token N}. */
public record LockLost(String resource, long fencingToken, Reason reason) {

  public enum Reason {
    /** The session's lease lapsed (no keepalive reached the leader in time). */
    LEASE_EXPIRED,
    /** The session was closed, by its owner or by the service. */
    SESSION_CLOSED,
    /** The row lock was replaced by a lock on its table (escalation); the table lock is held. */
    ESCALATED
  }

  @Override
  public String toString() {
    return "lock lost, token " + fencingToken + " (" + resource + ", " + reason + ")";
  }
}
