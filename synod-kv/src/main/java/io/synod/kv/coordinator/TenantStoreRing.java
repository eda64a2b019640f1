package io.synod.kv.coordinator;

import io.synod.kv.tenant.NodeRecord;
import io.synod.kv.tenant.TenantStore;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The membership kept in the metadata database beside the tenants ({@code synod_kv_nodes}):
 * PostgreSQL when configured, H2 by default. Points are stored as text, one unsigned decimal per
 * point, so that every coordinator builds the same ring from them.
 */
public final class TenantStoreRing implements RingStore {
  private final TenantStore store;

  public TenantStoreRing(TenantStore store) {
    this.store = store;
  }

  @Override
  public List<StoredNode> load() {
    return store.nodes().stream().map(n -> new StoredNode(n.id(), n.address(),
        State.valueOf(n.state().toUpperCase(Locale.ROOT)), n.tokens().isEmpty() ? new long[0]
            : Arrays.stream(n.tokens().split(",")).mapToLong(Long::parseUnsignedLong).toArray()))
        .toList();
  }

  @Override
  public void save(StoredNode node) {
    store.putNode(new NodeRecord(node.id(), node.address(),
        node.state().name().toLowerCase(Locale.ROOT), Arrays.stream(node.tokens())
            .mapToObj(Long::toUnsignedString).collect(Collectors.joining(","))));
  }

  @Override
  public boolean remove(String nodeId) {
    return store.removeNode(nodeId);
  }
}
