package io.synod.api.lock;

import java.time.Duration;

/**
 * Hierarchical locks with leases, fencing tokens, FIFO wait queues, deadlock detection and
 * escalation. Two backends implement it: synod's own, on the replicated log, and ZooKeeper's.
 */
public interface LockService extends AutoCloseable {

  /** Opens a session for {@code owner} whose locks live while it keeps its lease alive. */
  LockSession openSession(String owner, Duration lease);

  /** Holders and waiters of one resource, as the service sees it now. */
  LockStatus status(String resource);

  @Override
  void close();
}
