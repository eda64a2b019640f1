package io.synod.kv.node;

import io.synod.api.kv.Versioned;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * What a coordinator asks of a storage node: over gRPC ({@link StorageNodeClient}), or by a call
 * into a node in the same process ({@link LocalNodes}). Failures are {@link StorageNodeException}s
 * naming the node (inside a {@code CompletionException} for the asynchronous calls).
 */
public interface StorageNodeApi extends AutoCloseable {
  String nodeId();

  String address();

  /** The key's siblings on this node. */
  CompletableFuture<List<Versioned>> get(String tenantId, String key, Duration timeout);

  /** Merges {@code versions} into the key's siblings; answers the siblings after. */
  CompletableFuture<List<Versioned>> put(String tenantId, String key, List<Versioned> versions,
      Duration timeout);

  /** The node's id and size. Blocking. */
  StorageNodeClient.NodeInfo info();

  /** One page of the node's keys in key order, after the given one. Blocking. */
  List<KeyEntry> scan(String afterTenantId, String afterKey, int limit, Duration timeout);

  /** Forgets the keys whose siblings are still the ones given; answers how many. Blocking. */
  long drop(List<KeyEntry> keys, Duration timeout);

  @Override
  void close();
}
