package io.synod.api.kv;

import java.util.List;
import java.util.Optional;

/**
 * synod's replicated key-value store (spec 004): keys of a tenant on the replicas a consistent-hash
 * ring picks, written and read at one / quorum / all, versions ordered by vector clocks.
 *
 * <p>Failures are {@link io.synod.api.SynodException}s: INVALID_ARGUMENT naming the field, NOT_FOUND
 * for an unknown tenant, RESOURCE_EXHAUSTED over a quota, UNAVAILABLE when too few replicas
 * answered for the consistency asked (the message says how many did).
 */
public interface KvService {
  KvWriteResult write(KvWrite write);

  KvReadResult read(KvRead read);

  KvWriteResult delete(KvDelete delete);

  /** Tenant administration. */
  Tenants tenants();

  /** The storage nodes of the ring. */
  Membership membership();

  /** Tenants: created, changed and dropped here, cached by every coordinator for a while. */
  interface Tenants {
    /** Creates the tenant; ALREADY_EXISTS if its id is taken. */
    Tenant create(Tenant tenant);

    /** Replaces the tenant's settings; NOT_FOUND if there is none. */
    Tenant update(Tenant tenant);

    Optional<Tenant> get(String tenantId);

    List<Tenant> list();

    /** Removes the tenant's configuration (its keys stay on the nodes); false if there was none. */
    boolean delete(String tenantId);
  }

  /** The storage nodes, and moving keys when they change. */
  interface Membership {
    List<StorageNodeInfo> nodes();

    /**
     * Adds a node to the ring. The keys of the ranges it takes are streamed to it while reads and
     * writes go on; returns when they are there and the ring has switched.
     */
    MigrationReport add(StorageNodeInfo node);

    /** Takes a node out of the ring after streaming its ranges to the nodes that inherit them. */
    MigrationReport remove(String nodeId);
  }

  /** A storage node: its id on the ring and where its gRPC API listens. */
  record StorageNodeInfo(String id, String address) {}

  /** What a membership change moved. */
  record MigrationReport(String nodeId, long keysScanned, long versionsCopied, long keysDropped,
      long durationMillis) {}
}
