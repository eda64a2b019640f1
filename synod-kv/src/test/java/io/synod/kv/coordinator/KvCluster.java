package io.synod.kv.coordinator;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.synod.api.kv.KvService;
import io.synod.kv.idempotency.IdempotencyStore;
import io.synod.kv.idempotency.JdbcIdempotencyStore;
import io.synod.kv.node.LocalNodes;
import io.synod.kv.node.StorageNode;
import io.synod.kv.node.StorageNodeConfig;
import io.synod.kv.tenant.JdbcTenantStore;
import io.synod.kv.tenant.TenantCache;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.h2.jdbcx.JdbcDataSource;

/**
 * Storage nodes and coordinators in one JVM, on loopback ports and temp directories: real RocksDB,
 * real gRPC, a real H2 metadata database. A node is "killed" by closing it (its port and data
 * stay), and comes back on the same port and data.
 */
final class KvCluster implements AutoCloseable {
  private final Path dir;
  private final Duration refresh;
  private final JdbcDataSource metadata = new JdbcDataSource();
  private final JdbcTenantStore tenantStore;
  private final TenantStoreRing ringStore;
  private final IdempotencyStore idempotency;
  private final Map<String, StorageNodeConfig> configs = new LinkedHashMap<>();
  private final Map<String, StorageNode> nodes = new LinkedHashMap<>();
  private final Map<String, KvCoordinator> coordinators = new LinkedHashMap<>();
  private final Map<String, SimpleMeterRegistry> registries = new LinkedHashMap<>();
  private final LocalNodes local;
  private final boolean direct;

  KvCluster(Path dir, Duration refresh, boolean callNodesDirectly) {
    this.dir = dir;
    this.refresh = refresh;
    this.local = callNodesDirectly ? LocalNodes.create() : LocalNodes.none();
    this.direct = callNodesDirectly;
    metadata.setURL("jdbc:h2:" + dir.resolve("meta") + ";DB_CLOSE_DELAY=-1");
    tenantStore = new JdbcTenantStore(metadata);
    ringStore = new TenantStoreRing(tenantStore);
    idempotency = new JdbcIdempotencyStore(metadata, Clock.systemUTC());
  }

  /** Starts storage nodes n1..n{count} and puts them on the ring. */
  static KvCluster start(Path dir, int count) {
    return start(dir, count, false);
  }

  /** As {@link #start(Path, int)}; with {@code callNodesDirectly}, as a server's own nodes are. */
  static KvCluster start(Path dir, int count, boolean callNodesDirectly) {
    KvCluster cluster = new KvCluster(dir, Duration.ofMillis(100), callNodesDirectly);
    for (int i = 1; i <= count; i++) {
      cluster.startNode("n" + i);
    }
    KvService kv = cluster.coordinator("admin");
    cluster.nodes.values().forEach(n -> kv.membership().add(
        new KvService.StorageNodeInfo(n.id(), n.address())));
    return cluster;
  }

  StorageNode startNode(String id) {
    StorageNodeConfig config = configs.computeIfAbsent(id,
        k -> StorageNodeConfig.of(k, dir.resolve(k)));
    StorageNode node = StorageNode.start(config);
    configs.put(id, config.withPort(node.port())); // a restart comes back on the same port
    nodes.put(id, node);
    if (direct) {
      local.register(node);
    }
    return node;
  }

  void kill(String id) {
    nodes.remove(id).close();
  }

  /**
   * Starts the node again and waits until every coordinator reaches it: their channels to it
   * dial again only when a call finds it down (at most every 200 ms).
   */
  void restart(String id) {
    startNode(id);
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    for (KvCoordinator c : coordinators.values()) {
      RingMembership ring = (RingMembership) c.membership();
      while (true) {
        try {
          ring.client(id).info();
          break;
        } catch (RuntimeException e) {
          if (System.nanoTime() - until > 0) {
            throw e;
          }
          sleep(50);
        }
      }
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  StorageNode node(String id) {
    return nodes.get(id);
  }

  KvCoordinator coordinator(String id) {
    return coordinator(id, KvConfig.defaults(id).withRingRefresh(refresh));
  }

  KvCoordinator coordinator(String id, KvConfig config) {
    return coordinators.computeIfAbsent(id, k -> {
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      registries.put(k, registry);
      return new KvCoordinator(config, ringStore, new TenantCache(tenantStore, registry),
          idempotency, registry, System::currentTimeMillis, local);
    });
  }

  /** The idempotency store every coordinator of the cluster shares. */
  IdempotencyStore idempotency() {
    return idempotency;
  }

  SimpleMeterRegistry registry(String coordinatorId) {
    return registries.get(coordinatorId);
  }

  double counter(String coordinatorId, String name) {
    return registry(coordinatorId).find(name).counters().stream()
        .mapToDouble(c -> c.count()).sum();
  }

  List<String> nodeIds() {
    return new ArrayList<>(configs.keySet());
  }

  @Override
  public void close() {
    coordinators.values().forEach(KvCoordinator::close);
    nodes.values().forEach(StorageNode::close);
    try {
      idempotency.close();
      tenantStore.close();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
