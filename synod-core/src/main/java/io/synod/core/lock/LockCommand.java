package io.synod.core.lock;

import io.synod.api.lock.LockMode;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Entries of the lock log. Everything a replica needs to apply an entry is in it: the leader's
 * clock reading travels as {@code atMs}, ids are made by the proposer. Fields that come from
 * clients are not checked here but by {@link LockTable#apply}, which answers a bad entry with a
 * {@link LockEffect.Refused} and changes nothing: a malformed request must not stop the log.
 */
public sealed interface LockCommand {

  /** The leader time when the entry was proposed. */
  long atMs();

  /** Opens a session whose locks live while its lease is kept alive. Repeating it is harmless. */
  record OpenSession(String sessionId, String owner, long leaseMs, long atMs)
      implements LockCommand {}

  /** The owner closes its session: its locks are released (not lost), its waits cancelled. */
  record CloseSession(String sessionId, long atMs) implements LockCommand {}

  /**
   * One lock request.
   *
   * @param requestId the client's id; a retry with the same id gets the first answer
   * @param resource the path, unparsed (checked on apply)
   * @param timeoutMs how long it may wait; 0 means grant now or refuse with WOULD_BLOCK
   * @param withIntents take the intent locks on every ancestor first, top-down
   * @param priority breaks deadlock-victim ties: the lowest is chosen
   */
  record Acquire(
      String requestId, String sessionId, String resource, LockMode mode, long timeoutMs,
      boolean withIntents, int priority, long atMs) implements LockCommand {}

  /** Releases the session's lock on {@code resource} and cancels its waits at or below it. */
  record Release(String sessionId, String resource, long atMs) implements LockCommand {}

  /**
   * Keepalive times the leader saw, by session id. Applying it only raises a session's
   * {@code lastSeenMs}; ids of sessions the table does not know are ignored.
   */
  record LeaseCheckpoint(Map<String, Long> lastSeenMs, long atMs) implements LockCommand {
    public LeaseCheckpoint {
      Objects.requireNonNull(lastSeenMs, "lastSeenMs");
      // Sorted, so that the entry's bytes and its equality do not depend on the caller's map.
      TreeMap<String, Long> sorted = new TreeMap<>();
      lastSeenMs.forEach((id, ms) -> sorted.put(
          Objects.requireNonNull(id, "session id"), Objects.requireNonNull(ms, "lastSeenMs")));
      lastSeenMs = Collections.unmodifiableSortedMap(sorted);
    }
  }

  /**
   * The leader proposes that a session's lease lapsed. It applies only if no keepalive newer than
   * {@code lastSeenMs} (what the proposer saw) was logged since, and the lease did lapse by
   * {@code atMs}; otherwise it is refused as stale, and the session lives on.
   */
  record ExpireSession(String sessionId, long lastSeenMs, long atMs) implements LockCommand {}

  /** Time passes: waits whose deadline is at or before {@code atMs} time out. */
  record Tick(long atMs) implements LockCommand {}
}
