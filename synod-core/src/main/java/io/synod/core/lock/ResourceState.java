package io.synod.core.lock;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * One resource's holders and FIFO queue. Exists only while it has either: the table drops it when
 * both are empty.
 */
final class ResourceState {
  final ResourcePath path;
  /** By session id. Pairwise compatible modes, always. */
  final TreeMap<String, Holding> holders = new TreeMap<>();
  /** Oldest first, except that upgrades by holders stand at the front, among themselves FIFO. */
  final List<PendingRequest> queue = new ArrayList<>();

  ResourceState(ResourcePath path) {
    this.path = path;
  }

  boolean isEmpty() {
    return holders.isEmpty() && queue.isEmpty();
  }

  /** How many upgrade requests stand at the front of the queue. */
  int upgradeCount() {
    int count = 0;
    while (count < queue.size() && queue.get(count).queuedAsUpgrade) {
      count++;
    }
    return count;
  }
}
