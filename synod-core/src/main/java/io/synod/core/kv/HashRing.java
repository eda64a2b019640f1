package io.synod.core.kv;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A consistent-hash ring (spec 004): every node owns {@code virtualNodes} points on a 64-bit ring,
 * and a key's replicas are the first N distinct nodes met walking clockwise from the key's point.
 * Adding a node moves only the keys whose points now fall before one of its points.
 *
 * <p><b>Where a node's points go.</b> Purely random points (a hash per virtual node) leave each
 * node's share with a spread of about 1/sqrt(150) = 8 %, so one node in five is often 10 % or more
 * off even. A joining node therefore picks each of its points among {@link #CANDIDATES} hashed
 * candidates: the one whose arc is closest to what the newcomer still lacks per point left, taken
 * from a node above its fair share (Cassandra's token allocation works the same way). The points depend
 * on the ring the node joined, so they are data: {@link #tokens(String)} gives them to be stored,
 * and {@link #of(Map, int)} rebuilds the ring from stored points. Removing a node leaves everyone
 * else's points where they are, so its arcs go to the next nodes and nothing else moves.
 *
 * <p>Points are the first 8 bytes of MD5, as Dynamo and Cassandra's RandomPartitioner place
 * them: not for secrecy, for an even spread. Immutable and deterministic: the same joins in the
 * same order give the same ring on every coordinator.
 */
public final class HashRing {
  /** Spec 004's default. */
  public static final int DEFAULT_VIRTUAL_NODES = 150;
  /** Candidates considered per point when a node joins. */
  static final int CANDIDATES = 32;
  private static final double RING = 0x1p64;

  private final Map<String, long[]> tokens;
  private final List<String> nodes;
  private final int virtualNodes;
  private final long[] points;
  private final int[] owners;

  private HashRing(Map<String, long[]> tokens, int virtualNodes) {
    this.tokens = Collections.unmodifiableMap(new TreeMap<>(tokens));
    this.nodes = List.copyOf(this.tokens.keySet());
    this.virtualNodes = virtualNodes;
    TreeMap<Long, Integer> sorted = new TreeMap<>(Long::compareUnsigned);
    for (int n = 0; n < nodes.size(); n++) {
      for (long point : this.tokens.get(nodes.get(n))) {
        Integer before = sorted.putIfAbsent(point, n);
        if (before != null && before != n) {
          throw new IllegalArgumentException("nodes " + nodes.get(before) + " and "
              + nodes.get(n) + " share the point " + Long.toUnsignedString(point));
        }
      }
    }
    this.points = new long[sorted.size()];
    this.owners = new int[sorted.size()];
    int i = 0;
    for (Map.Entry<Long, Integer> e : sorted.entrySet()) {
      points[i] = e.getKey();
      owners[i++] = e.getValue();
    }
  }

  /** An empty ring whose nodes will have {@code virtualNodes} points each. */
  public static HashRing empty(int virtualNodes) {
    if (virtualNodes < 1 || virtualNodes > 10_000) {
      throw new IllegalArgumentException("virtual_nodes must be 1 to 10000: " + virtualNodes);
    }
    return new HashRing(Map.of(), virtualNodes);
  }

  /** The ring these nodes make when they join in this order. */
  public static HashRing of(List<String> joinOrder, int virtualNodes) {
    if (new HashSet<>(joinOrder).size() != joinOrder.size()) {
      throw new IllegalArgumentException("node ids must be distinct: " + joinOrder);
    }
    HashRing ring = empty(virtualNodes);
    for (String node : joinOrder) {
      ring = ring.with(node);
    }
    return ring;
  }

  /** The ring of nodes whose points were stored (from {@link #tokens(String)}). */
  public static HashRing of(Map<String, long[]> tokens, int virtualNodes) {
    empty(virtualNodes);
    tokens.forEach((node, points) -> {
      if (points.length != virtualNodes) {
        throw new IllegalArgumentException("node " + node + " has " + points.length
            + " points, the ring " + virtualNodes);
      }
    });
    return new HashRing(tokens, virtualNodes);
  }

  public List<String> nodes() {
    return nodes;
  }

  public int virtualNodes() {
    return virtualNodes;
  }

  /** The points of {@code nodeId}, to store with the membership. */
  public long[] tokens(String nodeId) {
    long[] mine = tokens.get(nodeId);
    if (mine == null) {
      throw new IllegalArgumentException("no node " + nodeId + " on " + this);
    }
    return mine.clone();
  }

  /** This ring with {@code nodeId} joined: it takes its points, nobody else's move. */
  public HashRing with(String nodeId) {
    if (tokens.containsKey(nodeId)) {
      throw new IllegalArgumentException("node " + nodeId + " is already on " + this);
    }
    Map<String, long[]> next = new HashMap<>(tokens);
    next.put(nodeId, allocate(nodeId));
    return new HashRing(next, virtualNodes);
  }

  /** This ring without {@code nodeId}: its arcs go to the next points, nobody else's move. */
  public HashRing without(String nodeId) {
    Map<String, long[]> next = new HashMap<>(tokens);
    if (next.remove(nodeId) == null) {
      throw new IllegalArgumentException("no node " + nodeId + " on " + this);
    }
    return new HashRing(next, virtualNodes);
  }

  /** The share of the ring each node owns as first replica (sums to 1). */
  public Map<String, Double> shares() {
    Map<String, Double> out = new TreeMap<>();
    nodes.forEach(n -> out.put(n, 0.0));
    for (int i = 0; i < points.length; i++) {
      long previous = points[(i + points.length - 1) % points.length];
      double arc = points.length == 1 ? RING : unsigned(points[i] - previous);
      out.merge(nodes.get(owners[i]), arc / RING, Double::sum);
    }
    return out;
  }

  private long[] allocate(String nodeId) {
    long[] mine = new long[virtualNodes];
    if (nodes.isEmpty()) {
      for (int v = 0; v < virtualNodes; v++) {
        mine[v] = point(nodeId + "#" + v);
      }
      return mine;
    }
    // owner of each point; the joining node is "me"
    TreeMap<Long, String> ring = new TreeMap<>(Long::compareUnsigned);
    for (int i = 0; i < points.length; i++) {
      ring.put(points[i], nodes.get(owners[i]));
    }
    Map<String, Double> share = new HashMap<>(shares());
    share.put(nodeId, 0.0);
    double fair = 1.0 / share.size();
    for (int v = 0; v < virtualNodes; v++) {
      // Each point should take what the newcomer still lacks, spread over the points it has
      // left, and take it from a node that has more than its share.
      double perPoint = Math.max(fair - share.get(nodeId), 0) / (virtualNodes - v);
      long best = 0;
      double bestCost = Double.POSITIVE_INFINITY;
      boolean found = false;
      for (int c = 0; c < CANDIDATES; c++) {
        long candidate = point(nodeId + "#" + v + "#" + c);
        if (ring.containsKey(candidate)) {
          continue;
        }
        Map.Entry<Long, String> after = ring.ceilingEntry(candidate);
        String victim = (after != null ? after : ring.firstEntry()).getValue();
        if (victim.equals(nodeId)) {
          continue; // splitting its own arc gains nothing
        }
        Map.Entry<Long, String> before = ring.lowerEntry(candidate);
        long from = (before != null ? before : ring.lastEntry()).getKey();
        double arc = unsigned(candidate - from) / RING;
        double victimExcess = share.get(victim) - fair;
        double cost = Math.abs(arc - perPoint) + Math.max(0, arc - Math.max(victimExcess, 0));
        if (cost < bestCost) {
          bestCost = cost;
          best = candidate;
          found = true;
        }
      }
      if (!found) { // every candidate fell in its own arcs: take the first free one
        int c = CANDIDATES;
        do {
          best = point(nodeId + "#" + v + "#" + c++);
        } while (ring.containsKey(best));
      }
      Map.Entry<Long, String> after = ring.ceilingEntry(best);
      String victim = (after != null ? after : ring.firstEntry()).getValue();
      Map.Entry<Long, String> before = ring.lowerEntry(best);
      double arc = unsigned(best - (before != null ? before : ring.lastEntry()).getKey()) / RING;
      share.merge(victim, -arc, Double::sum);
      share.merge(nodeId, arc, Double::sum);
      ring.put(best, nodeId);
      mine[v] = best;
    }
    return mine;
  }

  private static double unsigned(long v) {
    double d = (double) (v >>> 1) * 2.0 + (v & 1);
    return d;
  }

  /** The replicas of a tenant's key: up to {@code n} distinct nodes, the first the key's owner. */
  public List<String> replicas(String tenantId, String key, int n) {
    return replicas(keyPoint(tenantId, key), n);
  }

  /** The replicas of the key at ring point {@code point}. */
  public List<String> replicas(long point, int n) {
    int want = Math.min(n, nodes.size());
    List<String> out = new ArrayList<>(want);
    if (want == 0) {
      return out;
    }
    boolean[] taken = new boolean[nodes.size()];
    int start = firstAtOrAfter(point);
    for (int step = 0; step < points.length && out.size() < want; step++) {
      int owner = owners[(start + step) % points.length];
      if (!taken[owner]) {
        taken[owner] = true;
        out.add(nodes.get(owner));
      }
    }
    return out;
  }

  /** The ring point of a tenant's key. */
  public static long keyPoint(String tenantId, String key) {
    return point(tenantId + '\u0000' + key);
  }

  private int firstAtOrAfter(long point) {
    int lo = 0;
    int hi = points.length; // first index whose point >= point (unsigned), or wrap to 0
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (Long.compareUnsigned(points[mid], point) < 0) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo == points.length ? 0 : lo;
  }

  static long point(String text) {
    byte[] digest = md5().digest(text.getBytes(StandardCharsets.UTF_8));
    long v = 0;
    for (int i = 0; i < 8; i++) {
      v = (v << 8) | (digest[i] & 0xff);
    }
    return v;
  }

  private static final ThreadLocal<MessageDigest> MD5 = ThreadLocal.withInitial(() -> {
    try {
      return MessageDigest.getInstance("MD5");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has MD5", e);
    }
  });

  private static MessageDigest md5() {
    MessageDigest digest = MD5.get();
    digest.reset();
    return digest;
  }

  @Override
  public String toString() {
    return "HashRing" + nodes + " x" + virtualNodes;
  }
}
