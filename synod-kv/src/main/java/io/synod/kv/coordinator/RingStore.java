package io.synod.kv.coordinator;

import java.util.List;

/**
 * Where the ring's membership lives, shared by every coordinator: the storage nodes, their
 * addresses, their points on the ring (chosen once, when each joined) and whether they are
 * joining, active or leaving.
 */
public interface RingStore {
  /** A node on the ring. {@code tokens} are its points, as {@code HashRing.tokens} gave them. */
  record StoredNode(String id, String address, State state, long[] tokens) {}

  /** A joining node receives writes and keys but serves no reads; a leaving one still does. */
  enum State { JOINING, ACTIVE, LEAVING }

  List<StoredNode> load();

  /** Inserts or replaces the node. */
  void save(StoredNode node);

  boolean remove(String nodeId);
}
