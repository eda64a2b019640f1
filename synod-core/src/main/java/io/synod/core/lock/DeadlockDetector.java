package io.synod.core.lock;

import io.synod.api.lock.LockMode;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Finds a cycle in the wait-for graph between sessions, and the victim that breaks it.
 *
 * <p><b>Edges.</b> A waiting request of session A at resource R waits for every other session that
 * holds R in a mode incompatible with the mode A would hold there, and for the sessions of every
 * request queued ahead of it on R. The second kind is "ahead", not "ahead and incompatible":
 * queues are strict FIFO, so a request is blocked by a compatible request ahead of it as long as
 * that one is blocked (IS behind IX behind an S holder waits, transitively, for the S holder).
 * Only the request just ahead gets an edge: it waits for everything ahead of itself, so paths
 * reach the rest, cycles are the same as with every edge drawn, and the graph stays linear in the
 * queue length.
 *
 * <p><b>Victim</b>: among the sessions of the cycle, the youngest (largest {@code openedAtMs}),
 * then the one holding fewest locks, then the lowest priority of its waiting request, then the
 * largest request id. The request removed is the victim's wait in the cycle.
 *
 * <p>Everything is iterated in a deterministic order (resources by path, queues in order, edges in
 * insertion order), so every replica finds the same cycle and the same victim.
 */
final class DeadlockDetector {
  private DeadlockDetector() {}

  /** Session {@code from} waits for session {@code to}, because of {@code request} at its stage. */
  record Edge(String from, String to, PendingRequest request) {
    String describe() {
      return from + "@" + request.waitingAt;
    }
  }

  /** Edges of a cycle, in order; the last edge leads back to the first's session. */
  record Cycle(List<Edge> edges) {
    Edge victim(Map<String, SessionState> sessions) {
      return edges.stream().min(victimFirst(sessions)).orElseThrow();
    }

    /** The cycle as the victim's effect prints it, starting at the victim. */
    List<String> describeFrom(Edge start) {
      int first = edges.indexOf(start);
      List<String> described = new ArrayList<>(edges.size());
      for (int i = 0; i < edges.size(); i++) {
        described.add(edges.get((first + i) % edges.size()).describe());
      }
      return described;
    }
  }

  static Comparator<Edge> victimFirst(Map<String, SessionState> sessions) {
    Comparator<Edge> youngestFirst =
        Comparator.comparingLong((Edge e) -> sessions.get(e.from()).openedAtMs).reversed();
    return youngestFirst
        .thenComparingInt(e -> sessions.get(e.from()).held.size())
        .thenComparingInt(e -> e.request().priority)
        .thenComparing(e -> e.request().requestId, Comparator.reverseOrder());
  }

  static Optional<Cycle> findCycle(
      Map<String, SessionState> sessions, Collection<ResourceState> resources) {
    return findCycle(graph(sessions, resources));
  }

  static Map<String, Map<String, Edge>> graph(
      Map<String, SessionState> sessions, Collection<ResourceState> resources) {
    Map<String, Map<String, Edge>> graph = new LinkedHashMap<>();
    for (ResourceState resource : resources) {
      PendingRequest ahead = null;
      for (PendingRequest request : resource.queue) {
        LockMode mode = request.effectiveMode(sessions.get(request.sessionId));
        for (Holding holder : resource.holders.values()) {
          if (!holder.sessionId().equals(request.sessionId)
              && !mode.compatibleWith(holder.mode())) {
            addEdge(graph, request.sessionId, holder.sessionId(), request);
          }
        }
        if (ahead != null && !ahead.sessionId.equals(request.sessionId)) {
          addEdge(graph, request.sessionId, ahead.sessionId, request);
        }
        ahead = request;
      }
    }
    return graph;
  }

  private static void addEdge(
      Map<String, Map<String, Edge>> graph, String from, String to, PendingRequest request) {
    graph.computeIfAbsent(from, k -> new LinkedHashMap<>())
        .putIfAbsent(to, new Edge(from, to, request));
  }

  /** Depth-first search with an explicit stack; the first back edge closes the cycle returned. */
  static Optional<Cycle> findCycle(Map<String, Map<String, Edge>> graph) {
    Map<String, Boolean> onStack = new HashMap<>(); // absent: unvisited; false: done
    for (String root : graph.keySet()) {
      if (onStack.containsKey(root)) {
        continue;
      }
      List<Edge> path = new ArrayList<>();
      List<Iterator<Edge>> iterators = new ArrayList<>();
      onStack.put(root, true);
      iterators.add(graph.get(root).values().iterator());
      while (!iterators.isEmpty()) {
        Iterator<Edge> next = iterators.get(iterators.size() - 1);
        if (!next.hasNext()) {
          String done = path.isEmpty() ? root : path.get(path.size() - 1).to();
          onStack.put(done, false);
          iterators.remove(iterators.size() - 1);
          if (!path.isEmpty()) {
            path.remove(path.size() - 1);
          }
          continue;
        }
        Edge edge = next.next();
        Boolean state = onStack.get(edge.to());
        if (Boolean.TRUE.equals(state)) {
          return Optional.of(new Cycle(closeCycle(path, edge)));
        }
        if (state == null) {
          onStack.put(edge.to(), true);
          path.add(edge);
          Map<String, Edge> out = graph.get(edge.to());
          iterators.add(out == null ? List.<Edge>of().iterator() : out.values().iterator());
        }
      }
    }
    return Optional.empty();
  }

  private static List<Edge> closeCycle(List<Edge> path, Edge back) {
    int start = 0;
    while (start < path.size() && !path.get(start).from().equals(back.to())) {
      start++;
    }
    List<Edge> cycle = new ArrayList<>(path.subList(start, path.size()));
    cycle.add(back);
    return cycle;
  }
}
