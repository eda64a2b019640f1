package io.synod.server;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.synod.api.kv.KvRead;
import io.synod.api.kv.KvReadResult;
import io.synod.core.kv.HashRing;
import io.synod.kv.coordinator.KvConfig;
import io.synod.kv.coordinator.KvCoordinator;
import io.synod.kv.coordinator.RingStore;
import io.synod.kv.coordinator.TenantStoreRing;
import io.synod.kv.idempotency.IdempotencyStore;
import io.synod.kv.idempotency.JdbcIdempotencyStore;
import io.synod.kv.node.LocalNodes;
import io.synod.kv.node.StorageNode;
import io.synod.kv.node.StorageNodeConfig;
import io.synod.kv.tenant.JdbcTenantStore;
import io.synod.kv.tenant.TenantCache;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.h2.jdbcx.JdbcDataSource;

/**
 * A key-value store in this JVM, wired as a server wires its own ({@link KvRuntime}) without the
 * server: storage nodes on loopback ports and temp directories (real RocksDB), called directly,
 * an H2 metadata database, its idempotency store, and one coordinator. With no storage nodes,
 * the ring is empty and every write fails as UNAVAILABLE after claiming its key.
 */
public final class TestKv implements AutoCloseable {
  private final JdbcTenantStore tenants;
  private final JdbcIdempotencyStore idempotency;
  private final List<StorageNode> nodes;
  private final KvCoordinator coordinator;

  private TestKv(JdbcTenantStore tenants, JdbcIdempotencyStore idempotency,
      List<StorageNode> nodes, KvCoordinator coordinator) {
    this.tenants = tenants;
    this.idempotency = idempotency;
    this.nodes = nodes;
    this.coordinator = coordinator;
  }

  /** {@code nodeCount} storage nodes n1.. under {@code dir}, all on the ring, and a coordinator. */
  public static TestKv start(Path dir, int nodeCount) {
    JdbcDataSource metadata = new JdbcDataSource();
    metadata.setURL("jdbc:h2:" + dir.resolve("meta").toAbsolutePath() + ";DB_CLOSE_DELAY=-1");
    JdbcTenantStore tenants = new JdbcTenantStore(metadata);
    JdbcIdempotencyStore idempotency = new JdbcIdempotencyStore(metadata, Clock.systemUTC());
    RingStore ring = new TenantStoreRing(tenants);
    LocalNodes local = LocalNodes.create();
    List<StorageNode> nodes = new ArrayList<>();
    HashRing placed = HashRing.empty(HashRing.DEFAULT_VIRTUAL_NODES);
    for (int i = 1; i <= nodeCount; i++) {
      String id = "n" + i;
      StorageNode node = StorageNode.start(StorageNodeConfig.of(id, dir.resolve(id)));
      nodes.add(node);
      local.register(node);
      placed = placed.with(id);
    }
    for (StorageNode node : nodes) {
      ring.save(new RingStore.StoredNode(node.id(), node.address(), RingStore.State.ACTIVE,
          placed.tokens(node.id())));
    }
    KvCoordinator coordinator = new KvCoordinator(
        KvConfig.defaults("c1").withTimeouts(Duration.ofSeconds(2), Duration.ofSeconds(2)), ring,
        new TenantCache(tenants, new SimpleMeterRegistry()), idempotency,
        new SimpleMeterRegistry(), System::currentTimeMillis, local);
    return new TestKv(tenants, idempotency, List.copyOf(nodes), coordinator);
  }

  public KvCoordinator coordinator() {
    return coordinator;
  }

  /** The idempotency records: where the saga steps' barriers are. */
  public IdempotencyStore idempotency() {
    return idempotency;
  }

  /** The key's value as text, read at quorum; empty when it is absent or deleted. */
  public Optional<String> read(String tenantId, String key) {
    KvReadResult read = coordinator.read(KvRead.of(tenantId, key));
    return read.found() ? Optional.of(new String(read.value(), StandardCharsets.UTF_8))
        : Optional.empty();
  }

  @Override
  public void close() {
    coordinator.close();
    nodes.forEach(StorageNode::close);
    idempotency.close();
    tenants.close();
  }
}
