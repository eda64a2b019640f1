package io.synod.kv.tenant;

import io.synod.api.kv.KvService;
import java.util.List;

/**
 * Where the KV coordinators keep what they share and must agree on: the tenants' settings and the
 * storage nodes of the ring. Every coordinator reads it (tenants through a {@link TenantCache});
 * changes made through one coordinator are seen by the others when their cache entries expire.
 *
 * <p>Failures are {@link io.synod.api.SynodException}s: ALREADY_EXISTS for a tenant id that is
 * taken, NOT_FOUND for an update of a tenant that does not exist, INVALID_ARGUMENT naming the
 * field for a malformed id, and UNAVAILABLE when the database could not be reached (a retry may
 * succeed).
 */
public interface TenantStore extends KvService.Tenants, AutoCloseable {

  /** The storage nodes, ordered by id. */
  List<NodeRecord> nodes();

  /** Adds the node, or replaces its address and state if its id is there already. */
  void putNode(NodeRecord node);

  /** Removes the node; false if there was none with this id. */
  boolean removeNode(String nodeId);

  /** Releases what the store holds (its connection pool, if it made one). */
  @Override
  void close();
}
