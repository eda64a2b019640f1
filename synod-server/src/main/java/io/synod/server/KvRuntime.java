package io.synod.server;

import com.github.benmanes.caffeine.cache.Ticker;
import com.zaxxer.hikari.HikariDataSource;
import io.synod.kv.MetadataPool;
import io.micrometer.core.instrument.MeterRegistry;
import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.kv.KvService;
import io.synod.api.kv.Tenant;
import io.synod.core.kv.HashRing;
import io.synod.kv.coordinator.KvCoordinator;
import io.synod.kv.coordinator.RingStore;
import io.synod.kv.coordinator.TenantStoreRing;
import io.synod.kv.idempotency.IdempotencyStore;
import io.synod.kv.idempotency.JdbcIdempotencyStore;
import io.synod.kv.idempotency.RedisIdempotencyStore;
import io.synod.kv.node.LocalNodes;
import io.synod.kv.node.StorageNode;
import io.synod.kv.node.StorageNodeClient;
import io.synod.kv.node.StorageNodeConfig;
import io.synod.kv.tenant.JdbcTenantStore;
import io.synod.kv.tenant.TenantCache;
import io.synod.server.config.ServerConfig;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The key-value store as one server runs it: the metadata database (tenants, the ring), the
 * idempotency store, the storage nodes embedded in this process, and the KV coordinator in front
 * of them, which the gRPC and HTTP APIs call. The coordinator is stateless, so every server runs
 * its own and serves KV calls itself; servers that share a metadata database serve the same keys.
 *
 * <p><b>The ring at start.</b> The configured nodes (embedded, then {@code storage_nodes}) are
 * reconciled with the ring stored in the metadata database:
 *
 * <ul>
 *   <li>A node already on the ring keeps its points and state; its address is saved again when
 *       it changed. Embedded nodes listen on a free port, so theirs changes at every start.
 *   <li>On an empty ring every configured node is placed at once, as ACTIVE: there are no keys
 *       yet, so nothing has to move, and the start does not wait the two {@code ring_refresh}
 *       periods a join takes.
 *   <li>On a ring that has nodes, a configured node that is missing joins through the
 *       coordinator's membership change (its ranges are streamed to it), on a thread of its own
 *       after the start, since that takes two {@code ring_refresh} periods and the copy.
 * </ul>
 *
 * Nodes on the ring that the configuration does not list stay: they were added through the API,
 * or by another server.
 *
 * <p>Closing stops the coordinator first, then the storage nodes, then the stores. A server
 * closes it after its node, whose saga driver writes through the coordinator ({@link
 * #sagaStore}).
 */
final class KvRuntime implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(KvRuntime.class);
  /** How often expired idempotency keys are deleted from the metadata database. */
  static final Duration IDEMPOTENCY_PURGE_EVERY = Duration.ofMinutes(10);
  /** How long the start waits for an external storage node's answer before warning. */
  private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(2);

  private final List<AutoCloseable> opened;
  private final KvCoordinator coordinator;
  private final List<StorageNode> embedded;
  private final Thread joins;

  private KvRuntime(List<AutoCloseable> opened, KvCoordinator coordinator,
      List<StorageNode> embedded, Thread joins) {
    this.opened = opened;
    this.coordinator = coordinator;
    this.embedded = embedded;
    this.joins = joins;
  }

  /**
   * Opens the metadata and idempotency stores, starts the embedded storage nodes, reconciles the
   * ring (see the class comment), starts the coordinator with its metrics in {@code registry} and
   * creates the default tenant if missing. On failure, closes what it opened.
   */
  static KvRuntime start(ServerConfig config, MeterRegistry registry) {
    ServerConfig.Kv kv = config.kv();
    if (!kv.enabled()) {
      throw new IllegalStateException("the key-value store is disabled");
    }
    // Closed in reverse order of opening.
    List<AutoCloseable> opened = new ArrayList<>();
    try {
      HikariDataSource pool = pool(kv.metadata());
      opened.add(pool);
      JdbcTenantStore tenantStore = new JdbcTenantStore(pool);
      IdempotencyStore idempotency = idempotency(kv, pool, opened);
      List<StorageNode> embedded = startEmbedded(config, opened);
      RingStore ring = new TenantStoreRing(tenantStore);
      Map<String, String> wanted = new LinkedHashMap<>();
      embedded.forEach(node -> wanted.put(node.id(), advertised(config, node)));
      kv.storageNodes().forEach(node -> wanted.put(node.id(), node.address()));
      Map<String, String> missing = reconcile(ring, wanted, kv.coordinator().virtualNodes(),
          embedded.size());
      // The embedded nodes are called straight into their stores, not through loopback gRPC.
      LocalNodes local = LocalNodes.create();
      embedded.forEach(local::register);
      KvCoordinator coordinator = new KvCoordinator(kv.coordinator(), ring,
          new TenantCache(tenantStore, registry, kv.tenantCache(), Ticker.systemTicker()),
          idempotency, registry, System::currentTimeMillis, local);
      opened.add(coordinator);
      createDefaultTenant(coordinator, kv.defaultTenant());
      Thread joins = missing.isEmpty() ? null
          : Thread.ofVirtual().name("synod-kv-join").start(() -> join(coordinator, missing));
      LOG.info("key-value store serving as coordinator {}: {} embedded storage nodes, ring {}",
          kv.coordinator().coordinatorId(), embedded.size(), coordinator.membership().nodes()
              .stream().map(KvService.StorageNodeInfo::id).toList());
      return new KvRuntime(opened, coordinator, embedded, joins);
    } catch (RuntimeException e) {
      closeAll(opened);
      throw e;
    }
  }

  /** The store's API, as the gRPC and HTTP services call it. */
  KvService service() {
    return coordinator;
  }

  /**
   * The store as a saga participant ({@link KvSagaStore}, named {@value KvSagaStore#NAME}),
   * writing through this runtime's coordinator: the node's saga driver is given it, so the
   * runtime must start before the node and close after it.
   */
  KvSagaStore sagaStore() {
    return new KvSagaStore(coordinator);
  }

  /** The embedded storage nodes, in the order of their ids. */
  List<StorageNode> embeddedNodes() {
    return embedded;
  }

  /** For readiness: the ring as the metadata database has it, or why it cannot be read. */
  String check() {
    return "ok (" + coordinator.membership().nodes().size() + " storage nodes on the ring)";
  }

  @Override
  public void close() {
    if (joins != null) {
      joins.interrupt();
    }
    closeAll(opened);
  }

  // ---- opening ---------------------------------------------------------------------------------

  private static HikariDataSource pool(ServerConfig.KvMetadata metadata) {
    return MetadataPool.open("synod-kv-metadata", metadata.url(), metadata.user(),
        metadata.password(), metadata.poolSize());
  }

  /** Redis when configured, else the metadata database, whose expired keys are purged. */
  private static IdempotencyStore idempotency(ServerConfig.Kv kv, HikariDataSource pool,
      List<AutoCloseable> opened) {
    if (!kv.idempotencyRedisUrl().isEmpty()) {
      IdempotencyStore redis = RedisIdempotencyStore.create(kv.idempotencyRedisUri(),
          kv.metadata().poolSize());
      opened.add(redis);
      return redis;
    }
    JdbcIdempotencyStore jdbc = new JdbcIdempotencyStore(pool, Clock.systemUTC());
    opened.add(jdbc);
    ScheduledExecutorService purge = Executors.newSingleThreadScheduledExecutor(
        Thread.ofPlatform().daemon().name("synod-kv-idempotency-purge").factory());
    opened.add(purge::shutdownNow);
    jdbc.schedulePurge(purge, IDEMPOTENCY_PURGE_EVERY);
    return jdbc;
  }

  private static List<StorageNode> startEmbedded(ServerConfig config, List<AutoCloseable> opened) {
    List<StorageNode> nodes = new ArrayList<>();
    for (int i = 1; i <= config.kv().embeddedNodes(); i++) {
      String id = ServerConfig.Kv.embeddedNodeId(config.nodeId(), i);
      StorageNode node = StorageNode.start(StorageNodeConfig.of(id,
          ServerConfig.Kv.embeddedNodeDir(config.dataDir(), id)).withHost(config.listen().host()));
      opened.add(node);
      nodes.add(node);
    }
    return List.copyOf(nodes);
  }

  /**
   * Where coordinators dial an embedded node: the API's host, or loopback when the node listens
   * on every interface (a wildcard address cannot be dialled). This server calls its own nodes
   * directly ({@link LocalNodes}) when the address is the node's own; behind a wildcard it goes
   * through loopback gRPC instead.
   */
  private static String advertised(ServerConfig config, StorageNode node) {
    String host = config.listen().host();
    boolean wildcard = host.equals("0.0.0.0") || host.equals("::") || host.equals("[::]");
    return (wildcard ? "127.0.0.1" : host) + ":" + node.port();
  }

  // ---- the ring ---------------------------------------------------------------------------------

  /**
   * Brings the stored ring in line with {@code wanted} (id to address) as the class comment says;
   * returns the nodes that must still join through a membership change.
   */
  private static Map<String, String> reconcile(RingStore ring, Map<String, String> wanted,
      int virtualNodes, int embeddedCount) {
    List<RingStore.StoredNode> stored = ring.load();
    for (RingStore.StoredNode node : stored) {
      if (node.tokens().length != virtualNodes) {
        throw SynodException.invalid("coordination_service.kv.virtual_nodes", "must stay "
            + node.tokens().length + ", the points per node the ring's nodes were placed with"
            + " (storage node " + node.id() + " has " + node.tokens().length + "); got "
            + virtualNodes);
      }
    }
    if (stored.isEmpty()) {
      place(ring, wanted, virtualNodes, embeddedCount);
      return Map.of();
    }
    Map<String, String> missing = new LinkedHashMap<>(wanted);
    for (RingStore.StoredNode node : stored) {
      String address = missing.remove(node.id());
      if (address != null && !address.equals(node.address())) {
        ring.save(new RingStore.StoredNode(node.id(), address, node.state(), node.tokens()));
        LOG.info("storage node {} is now at {} (was {})", node.id(), address, node.address());
      }
    }
    return missing;
  }

  /** Places every wanted node on the empty ring at once, in order, each choosing its points. */
  private static void place(RingStore ring, Map<String, String> wanted, int virtualNodes,
      int embeddedCount) {
    HashRing placed = HashRing.empty(virtualNodes);
    for (String id : wanted.keySet()) {
      placed = placed.with(id);
    }
    int index = 0;
    for (Map.Entry<String, String> node : wanted.entrySet()) {
      if (index++ >= embeddedCount) {
        probe(node.getKey(), node.getValue());
      }
      ring.save(new RingStore.StoredNode(node.getKey(), node.getValue(), RingStore.State.ACTIVE,
          placed.tokens(node.getKey())));
    }
    if (!wanted.isEmpty()) {
      LOG.info("placed storage nodes {} on the empty ring", wanted.keySet());
    }
  }

  /**
   * Warns when an external node does not answer, or answers with another id. Not fatal: the
   * ring is placed anyway, its replicas catch up by read repair once it runs, and an address
   * fixed in the configuration is saved at the next start.
   */
  private static void probe(String id, String address) {
    try (StorageNodeClient client = new StorageNodeClient(id, address)) {
      String answered = client.info(PROBE_TIMEOUT).nodeId();
      if (!answered.equals(id)) {
        LOG.warn("storage node {} at {} says it is {}; check kv.storage_nodes", id, address,
            answered);
      }
    } catch (RuntimeException e) {
      LOG.warn("storage node {} at {} did not answer ({}); it is on the ring anyway and gets"
          + " writes once it runs", id, address, e.getMessage());
    }
  }

  /** Adds the nodes missing from a ring that has keys, one at a time, moving their ranges. */
  private static void join(KvCoordinator coordinator, Map<String, String> missing) {
    for (Map.Entry<String, String> node : missing.entrySet()) {
      if (Thread.currentThread().isInterrupted()) {
        return;
      }
      LOG.info("storage node {} at {} is not on the ring yet; it joins now, moving its ranges",
          node.getKey(), node.getValue());
      try {
        KvService.MigrationReport report = coordinator.membership().add(
            new KvService.StorageNodeInfo(node.getKey(), node.getValue()));
        LOG.info("storage node {} joined: {} keys scanned, {} versions copied in {} ms",
            report.nodeId(), report.keysScanned(), report.versionsCopied(),
            report.durationMillis());
      } catch (SynodException e) {
        if (e.code() == ErrorCode.ALREADY_EXISTS) {
          LOG.info("storage node {} was put on the ring meanwhile", node.getKey());
        } else {
          LOG.warn("storage node {} could not join the ring: {}; add it with synod kv nodes add",
              node.getKey(), e.getMessage());
        }
      }
    }
  }

  private static void createDefaultTenant(KvService kv, String tenantId) {
    if (tenantId.isEmpty() || kv.tenants().get(tenantId).isPresent()) {
      return;
    }
    try {
      kv.tenants().create(Tenant.withDefaults(tenantId));
      LOG.info("created the default tenant {}", tenantId);
    } catch (SynodException e) {
      if (e.code() != ErrorCode.ALREADY_EXISTS) { // another server created it meanwhile
        throw e;
      }
    }
  }

  private static void closeAll(List<AutoCloseable> opened) {
    for (int i = opened.size() - 1; i >= 0; i--) {
      try {
        opened.get(i).close();
      } catch (Exception e) {
        LOG.warn("closing {} failed: {}", opened.get(i), e.toString());
      }
    }
  }
}
