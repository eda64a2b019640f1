package io.synod.core.lock;

import static io.synod.core.Invariants.check;

import io.synod.api.lock.LockMode;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The whole-table invariants of {@link LockTable}, checked from scratch. Linear in the size of the
 * table (plus the wait-for graph), so it runs after every command in tests and after restoring a
 * snapshot, not on every command in production.
 */
final class LockInvariants {
  private LockInvariants() {}

  static void checkAll(LockTable table) {
    Map<String, SessionState> sessions = table.sessionStates();
    Set<Long> tokens = new HashSet<>();
    int holderCount = 0;
    for (ResourceState resource : table.resourceStates()) {
      check(!resource.isEmpty(), "empty resource %s kept", resource.path);
      holderCount += resource.holders.size();
      checkHolders(table, resource, tokens);
      checkQueue(table, resource);
    }
    int heldCount = 0;
    for (SessionState session : sessions.values()) {
      heldCount += session.held.size();
      checkSession(table, session);
    }
    check(heldCount == holderCount, "sessions hold %d locks, resources list %d",
        heldCount, holderCount);
    int queued = 0;
    for (ResourceState resource : table.resourceStates()) {
      queued += resource.queue.size();
    }
    check(queued == table.pendingRequests().size(), "%d queued, %d waiting requests",
        queued, table.pendingRequests().size());
    check(DeadlockDetector.findCycle(sessions, table.resourceStates()).isEmpty(),
        "a deadlock cycle survived the command");
    check(table.answers().size() <= table.limits().answeredRequestsMax(),
        "%d answers kept", table.answers().size());
  }

  private static void checkHolders(LockTable table, ResourceState resource, Set<Long> tokens) {
    List<Holding> holders = List.copyOf(resource.holders.values());
    for (int i = 0; i < holders.size(); i++) {
      Holding holder = holders.get(i);
      SessionState session = table.sessionStates().get(holder.sessionId());
      check(session != null, "%s held by unknown session %s", resource.path, holder.sessionId());
      check(session.held.get(resource.path.path()) == holder,
          "session %s and resource %s disagree", holder.sessionId(), resource.path);
      check(holder.resource().equals(resource.path), "holding of %s filed under %s",
          holder.resource(), resource.path);
      check(holder.token() > 0 && holder.token() <= table.lastToken(),
          "token %d of %s outside 1..lastToken %d", holder.token(), resource.path,
          table.lastToken());
      check(tokens.add(holder.token()), "token %d held twice", holder.token());
      for (int j = i + 1; j < holders.size(); j++) {
        Holding other = holders.get(j);
        check(holder.mode().compatibleWith(other.mode()),
            "%s holds %s and %s holds %s on %s", holder.sessionId(), holder.mode(),
            other.sessionId(), other.mode(), resource.path);
      }
    }
  }

  private static void checkQueue(LockTable table, ResourceState resource) {
    boolean upgrades = true;
    Set<PendingRequest> seen = new HashSet<>();
    for (PendingRequest request : resource.queue) {
      check(seen.add(request), "request %s twice in the queue of %s", request.requestId,
          resource.path);
      check(table.pendingRequests().get(request.requestId) == request,
          "queued request %s is not waiting", request.requestId);
      SessionState session = table.sessionStates().get(request.sessionId);
      check(session != null && session.waiting.contains(request.requestId),
          "queued request %s of a session that is gone or does not know it", request.requestId);
      check(resource.path.equals(request.waitingAt) && resource.path.equals(request.stagePath()),
          "request %s queued at %s, waiting at %s, stage %s", request.requestId, resource.path,
          request.waitingAt, request.stagePath());
      check(upgrades || !request.queuedAsUpgrade, "upgrade %s behind a newcomer at %s",
          request.requestId, resource.path);
      check(!request.queuedAsUpgrade || session.holding(resource.path) != null,
          "upgrade %s of a lock its session does not hold", request.requestId);
      upgrades = request.queuedAsUpgrade;
    }
    if (!resource.queue.isEmpty()) {
      PendingRequest head = resource.queue.get(0);
      check(!table.canMove(head, table.sessionStates().get(head.sessionId)),
          "the head of %s (request %s) could be granted", resource.path, head.requestId);
    }
  }

  private static void checkSession(LockTable table, SessionState session) {
    Map<String, Integer> childCounts = new HashMap<>();
    for (Holding holding : session.held.values()) {
      check(holding.sessionId().equals(session.id), "holding of %s filed under %s",
          holding.sessionId(), session.id);
      holding.resource().parent().ifPresent(p -> childCounts.merge(p.path(), 1, Integer::sum));
      LockMode intent = holding.mode().intentForAncestors();
      for (ResourcePath ancestor : holding.resource().ancestors()) {
        LockMode above = session.modeAt(ancestor);
        check(above != null && above.covers(intent),
            "session %s holds %s on %s but %s on ancestor %s", session.id, holding.mode(),
            holding.resource(), above, ancestor);
      }
      if (holding.implicit()) {
        check(LockModes.isIntent(holding.mode()), "implicit %s on %s", holding.mode(),
            holding.resource());
        check(table.needed(session, holding.resource()),
            "implicit %s of session %s on %s is needed by nothing", holding.mode(), session.id,
            holding.resource());
      }
    }
    check(childCounts.equals(session.childCounts), "child counts of %s are %s, should be %s",
        session.id, session.childCounts, childCounts);
    for (String id : session.waiting) {
      PendingRequest request = table.pendingRequests().get(id);
      check(request != null && request.sessionId.equals(session.id) && request.waitingAt != null,
          "session %s lists request %s that does not wait for it", session.id, id);
    }
    check(session.waiting.size() == table.pendingRequests().values().stream()
            .filter(r -> r.sessionId.equals(session.id)).count(),
        "session %s lists %d waiting requests", session.id, session.waiting.size());
  }
}
