package io.synod.core.kv;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * A consistent-hash ring (spec 004): every node owns {@code virtualNodes} points on a 64-bit ring,
 * and a key's replicas are the first N distinct nodes met walking clockwise from the key's point.
 * Adding a node moves only the keys whose points now fall before one of its points.
 *
 * <p>Points are the first 8 bytes of MD5, as Dynamo and Cassandra's RandomPartitioner place
 * them: not for secrecy, for an even spread. Immutable.
 */
public final class HashRing {
  /** Spec 004's default. */
  public static final int DEFAULT_VIRTUAL_NODES = 150;

  private final List<String> nodes;
  private final int virtualNodes;
  private final long[] points;
  private final int[] owners;

  private HashRing(List<String> nodes, int virtualNodes) {
    this.nodes = List.copyOf(nodes);
    this.virtualNodes = virtualNodes;
    int size = nodes.size() * virtualNodes;
    long[][] pairs = new long[size][];
    int i = 0;
    for (int n = 0; n < nodes.size(); n++) {
      for (int v = 0; v < virtualNodes; v++) {
        pairs[i++] = new long[] {point(nodes.get(n) + "#" + v), n};
      }
    }
    // Ties (astronomically rare) break by node id, so every coordinator builds the same ring.
    Arrays.sort(pairs, (a, b) -> a[0] != b[0] ? Long.compareUnsigned(a[0], b[0])
        : nodes.get((int) a[1]).compareTo(nodes.get((int) b[1])));
    this.points = new long[size];
    this.owners = new int[size];
    for (int p = 0; p < size; p++) {
      points[p] = pairs[p][0];
      owners[p] = (int) pairs[p][1];
    }
  }

  /** A ring of these nodes (ids, in any order) with {@code virtualNodes} points each. */
  public static HashRing of(Collection<String> nodeIds, int virtualNodes) {
    if (virtualNodes < 1 || virtualNodes > 10_000) {
      throw new IllegalArgumentException("virtual_nodes must be 1 to 10000: " + virtualNodes);
    }
    Set<String> sorted = new TreeSet<>(nodeIds);
    if (sorted.size() != nodeIds.size()) {
      throw new IllegalArgumentException("node ids must be distinct: " + nodeIds);
    }
    return new HashRing(new ArrayList<>(sorted), virtualNodes);
  }

  public List<String> nodes() {
    return nodes;
  }

  public int virtualNodes() {
    return virtualNodes;
  }

  public HashRing with(String nodeId) {
    List<String> next = new ArrayList<>(nodes);
    next.add(nodeId);
    return of(next, virtualNodes);
  }

  public HashRing without(String nodeId) {
    List<String> next = new ArrayList<>(nodes);
    next.remove(nodeId);
    return of(next, virtualNodes);
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
