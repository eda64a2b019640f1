package io.synod.kv.tenant;

import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.kv.Tenant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A {@link TenantStore} in a map, for cache tests: counts its reads, and fails every call while
 * {@link #down} is set, as a database that cannot be reached would.
 */
final class InMemoryTenantStore implements TenantStore {
  final AtomicInteger reads = new AtomicInteger();
  volatile boolean down;
  private final Map<String, Tenant> tenants = new TreeMap<>();
  private final Map<String, NodeRecord> nodes = new TreeMap<>();

  @Override
  public synchronized Tenant create(Tenant tenant) {
    checkUp();
    if (tenants.putIfAbsent(tenant.id(), tenant) != null) {
      throw new SynodException(ErrorCode.ALREADY_EXISTS, "tenant_id", tenant.id());
    }
    return tenant;
  }

  @Override
  public synchronized Tenant update(Tenant tenant) {
    checkUp();
    if (tenants.replace(tenant.id(), tenant) == null) {
      throw new SynodException(ErrorCode.NOT_FOUND, "tenant_id", tenant.id());
    }
    return tenant;
  }

  @Override
  public synchronized Optional<Tenant> get(String tenantId) {
    reads.incrementAndGet();
    checkUp();
    return Optional.ofNullable(tenants.get(tenantId));
  }

  @Override
  public synchronized List<Tenant> list() {
    checkUp();
    return List.copyOf(tenants.values());
  }

  @Override
  public synchronized boolean delete(String tenantId) {
    checkUp();
    return tenants.remove(tenantId) != null;
  }

  @Override
  public synchronized List<NodeRecord> nodes() {
    return new ArrayList<>(nodes.values());
  }

  @Override
  public synchronized void putNode(NodeRecord node) {
    nodes.put(node.id(), node);
  }

  @Override
  public synchronized boolean removeNode(String nodeId) {
    return nodes.remove(nodeId) != null;
  }

  @Override
  public void close() {}

  private void checkUp() {
    if (down) {
      throw new SynodException(ErrorCode.UNAVAILABLE, "tenant store down", (Throwable) null);
    }
  }
}
