package io.synod.core.lock;

import io.synod.api.lock.LockMode;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/** A session as the table keeps it. Mutable; only {@link LockTable} changes it. */
final class SessionState {
  final String id;
  final String owner;
  final long leaseMs;
  final long openedAtMs;
  /** Order of opening, a counter: a deterministic age that snapshots keep. */
  final long openedSeq;
  /** The latest keepalive (or request) time the log knows about. Only ever raised. */
  long lastSeenMs;
  /** Held locks by path string, so that the locks below a resource are one sorted range. */
  final TreeMap<String, Holding> held = new TreeMap<>();
  /** Held locks per parent path, for escalation; derived from {@link #held}. Lookups only. */
  final Map<String, Integer> childCounts = new HashMap<>();
  /** Ids of this session's waiting requests, in the order they first queued. */
  final LinkedHashSet<String> waiting = new LinkedHashSet<>();

  SessionState(String id, String owner, long leaseMs, long openedAtMs, long openedSeq,
      long lastSeenMs) {
    this.id = id;
    this.owner = owner;
    this.leaseMs = leaseMs;
    this.openedAtMs = openedAtMs;
    this.openedSeq = openedSeq;
    this.lastSeenMs = lastSeenMs;
  }

  Holding holding(ResourcePath resource) {
    return held.get(resource.path());
  }

  LockMode modeAt(ResourcePath resource) {
    Holding holding = held.get(resource.path());
    return holding == null ? null : holding.mode();
  }

  /** The session's locks strictly below {@code resource}. */
  SortedMap<String, Holding> heldBelow(ResourcePath resource) {
    return held.subMap(resource.descendantsFrom(), resource.descendantsTo());
  }

  int childCount(ResourcePath parent) {
    return childCounts.getOrDefault(parent.path(), 0);
  }

  /** The session's lease lapses at this time unless a newer keepalive is logged. */
  long leaseEndMs() {
    return LockTable.saturatedAdd(lastSeenMs, leaseMs);
  }

  LockTable.SessionView view(java.util.List<String> waitingIds) {
    return new LockTable.SessionView(id, owner, leaseMs, openedAtMs, lastSeenMs, openedSeq,
        held.size(), held.values().stream().map(Holding::view).toList(), waitingIds);
  }
}
