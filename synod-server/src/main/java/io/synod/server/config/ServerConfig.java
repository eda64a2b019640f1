package io.synod.server.config;

import io.synod.api.SynodException;
import io.synod.api.kv.KvService;
import io.synod.api.spi.Participant;
import io.synod.core.lock.LockTable;
import io.synod.engine.CoordinatorConfig;
import io.synod.engine.lock.LockConfig;
import io.synod.engine.log.LogConfig;
import io.synod.engine.participant.H2Participant;
import io.synod.engine.participant.MariaDbParticipant;
import io.synod.engine.participant.PostgresParticipant;
import io.synod.engine.saga.store.RedisSagaStore;
import io.synod.engine.saga.store.SagaStore;
import io.synod.engine.saga.store.SqlSagaStore;
import io.synod.kv.coordinator.KvConfig;
import io.synod.kv.tenant.TenantCache;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Everything a server needs to start, validated: what {@link ConfigLoader} makes of a YAML file,
 * the environment and the defaults. Each part is a record of the engine where one exists.
 *
 * @param clusterId names the Raft group and prefixes the stores' prepared transactions
 * @param nodeId this node's id; one of {@code peers} when there are peers
 * @param dataDir where this node keeps its log, snapshots and the embedded stores
 * @param listen where this node listens
 * @param stores the stores transactions (SQL types) and saga steps (every type) may write to,
 *     in configuration order
 * @param peers every member of the group (this node included); a single node when empty
 * @param coordinator the coordinator's timeouts and bounds
 * @param locks the lock service's timing
 * @param lockLimits the lock table's bounds
 * @param snapshotEveryEntries how often the log snapshots (spec: {@code log_compaction_threshold})
 * @param limits bounds of the APIs
 * @param monitoring metrics, tracing and logs
 * @param kv the key-value store this node serves, or {@link Kv#enabled() disabled}
 */
public record ServerConfig(
    String clusterId,
    String nodeId,
    Path dataDir,
    Listen listen,
    List<Store> stores,
    List<Peer> peers,
    CoordinatorConfig coordinator,
    LockConfig locks,
    LockTable.Limits lockLimits,
    long snapshotEveryEntries,
    ApiLimits limits,
    Monitoring monitoring,
    Kv kv) {

  public ServerConfig {
    Objects.requireNonNull(clusterId, "clusterId");
    Objects.requireNonNull(nodeId, "nodeId");
    Objects.requireNonNull(dataDir, "dataDir");
    Objects.requireNonNull(listen, "listen");
    stores = List.copyOf(stores);
    peers = List.copyOf(peers);
    Objects.requireNonNull(coordinator, "coordinator");
    Objects.requireNonNull(locks, "locks");
    Objects.requireNonNull(lockLimits, "lockLimits");
    Objects.requireNonNull(limits, "limits");
    Objects.requireNonNull(monitoring, "monitoring");
    Objects.requireNonNull(kv, "kv");
    if (kv.enabled()) {
      for (Store store : stores) {
        if (store.name().equals(Kv.SAGA_STORE_NAME)) {
          throw SynodException.invalid("stores." + store.name(), Kv.SAGA_STORE_NAME_TAKEN);
        }
      }
    }
  }

  /**
   * A configuration without the key-value store ({@link Kv#disabled}): what programs that build
   * their configuration in code got before the store existed. {@link ConfigLoader} enables it
   * by default.
   */
  public ServerConfig(String clusterId, String nodeId, Path dataDir, Listen listen,
      List<Store> stores, List<Peer> peers, CoordinatorConfig coordinator, LockConfig locks,
      LockTable.Limits lockLimits, long snapshotEveryEntries, ApiLimits limits,
      Monitoring monitoring) {
    this(clusterId, nodeId, dataDir, listen, stores, peers, coordinator, locks, lockLimits,
        snapshotEveryEntries, limits, monitoring, Kv.defaults(nodeId, dataDir).disabled());
  }

  /** Host and ports. Port 0 picks a free port (tests); the server prints what it bound. */
  public record Listen(String host, int httpPort, int grpcPort, int raftPort) {}

  /**
   * The kind of a store. The SQL types serve atomic commit and saga steps; {@code REDIS} serves
   * saga steps only (a coordination naming it is refused).
   */
  public enum StoreType {
    POSTGRESQL, MARIADB, H2, REDIS;

    /** True for the SQL types, which are participants of atomic commit too. */
    public boolean isSql() {
      return this != REDIS;
    }
  }

  /**
   * One store. {@code password} is never printed: {@link #toString} masks it (and the user info
   * of a Redis URL).
   *
   * @param jdbcUrl the store's address: its JDBC URL, or for {@code REDIS} its {@code redis://}
   *     URL (the {@code url} key)
   * @param username for Redis, the ACL user, if any (put in the URL unless it has one)
   * @param password for Redis, the {@code AUTH} password, if any (likewise)
   * @param maxConnections the size of this node's connection pools for the store (one for atomic
   *     commit, one for saga steps)
   */
  public record Store(String name, StoreType type, String jdbcUrl, String username,
      String password, int maxConnections) {
    @Override
    public String toString() {
      String url = jdbcUrl == null ? null : jdbcUrl.replaceFirst("^(rediss?://)[^@/]*@", "$1***@");
      return "Store[name=" + name + ", type=" + type + ", jdbcUrl=" + url + ", username="
          + username + ", password=" + (password == null || password.isEmpty() ? "" : "***")
          + ", maxConnections=" + maxConnections + "]";
    }

    /**
     * The Redis URL with the configured username and password as its user info, unless it has
     * user info of its own.
     */
    URI redisUri() {
      URI uri = URI.create(jdbcUrl);
      boolean credentials = (username != null && !username.isEmpty())
          || (password != null && !password.isEmpty());
      if (uri.getRawUserInfo() != null || !credentials) {
        return uri;
      }
      String userInfo = (username == null ? "" : username) + ":"
          + (password == null ? "" : password);
      try {
        return new URI(uri.getScheme(), userInfo, uri.getHost(), uri.getPort(), uri.getPath(),
            null, null);
      } catch (URISyntaxException e) {
        throw new IllegalArgumentException("store " + name + ": cannot add the credentials to "
            + "its url", e);
      }
    }
  }

  /**
   * A member of the group.
   *
   * @param raftAddress host:port of its Raft endpoint
   * @param apiAddress host:port of its gRPC API, where followers forward writes
   */
  public record Peer(String id, String raftAddress, String apiAddress) {}

  /**
   * @param maxRequestBytes the largest request body (HTTP) or message (gRPC) accepted
   * @param idempotencyKeyRetention how long an idempotency key's first answer is kept
   */
  public record ApiLimits(int maxRequestBytes, Duration idempotencyKeyRetention) {}

  /**
   * @param metricsEnabled serve /metrics
   * @param tracingEnabled make OpenTelemetry spans
   * @param traceSamplingRate the share of new traces sampled (a sampled parent is followed)
   * @param otlpEndpoint where spans are exported over OTLP/gRPC; none when empty
   * @param logFormat {@code json} (one event per line) or {@code text}
   */
  public record Monitoring(boolean metricsEnabled, boolean tracingEnabled,
      double traceSamplingRate, String otlpEndpoint, String logFormat) {}

  /**
   * The key-value store (spec 004) as this node serves it: a stateless coordinator in front of
   * storage nodes, with tenants and the ring's membership in a metadata database.
   *
   * @param enabled serve the KeyValue API; when false the API answers FAILED_PRECONDITION and
   *     nothing below is opened
   * @param coordinator the coordinator's settings; its id is the writer in vector clocks, so
   *     every node sharing the storage nodes needs its own
   * @param metadata the database of tenants, the ring and (without {@code idempotencyRedisUrl})
   *     idempotency keys; nodes that serve the same keys must share it
   * @param idempotencyRedisUrl where idempotency keys live instead of the metadata database
   *     ({@code redis://host:port[/db]}); empty for the metadata database
   * @param embeddedNodes storage nodes run inside this server, under {@code data_dir/kv}
   * @param storageNodes storage nodes run elsewhere, put on the ring at start when missing
   * @param defaultTenant a tenant created with the defaults at start when missing; empty: none
   */
  public record Kv(boolean enabled, KvConfig coordinator, KvMetadata metadata,
      String idempotencyRedisUrl, int embeddedNodes, List<KvService.StorageNodeInfo> storageNodes,
      String defaultTenant) {
    /** The most storage nodes one server runs inside itself. */
    public static final int EMBEDDED_NODES_MAX = 16;
    /** The name saga steps give the key-value store, which no configured store may take. */
    public static final String SAGA_STORE_NAME = "kv";
    /** Why a configured store may not be named {@link #SAGA_STORE_NAME}. */
    public static final String SAGA_STORE_NAME_TAKEN = "must not be \"" + SAGA_STORE_NAME
        + "\" while the key-value store is enabled: saga steps name the key-value store so;"
        + " rename the store, or disable the key-value store";

    public Kv {
      Objects.requireNonNull(coordinator, "coordinator");
      Objects.requireNonNull(metadata, "metadata");
      Objects.requireNonNull(idempotencyRedisUrl, "idempotencyRedisUrl");
      storageNodes = List.copyOf(storageNodes);
      Objects.requireNonNull(defaultTenant, "defaultTenant");
      if (embeddedNodes < 0 || embeddedNodes > EMBEDDED_NODES_MAX) {
        throw new IllegalArgumentException("embeddedNodes must be 0 to " + EMBEDDED_NODES_MAX
            + "; got " + embeddedNodes);
      }
    }

    /**
     * The defaults of a node: enabled, spec 004's coordinator settings under the node's id, an H2
     * metadata database and three storage nodes under {@code dataDir/kv}, tenant "default".
     */
    public static Kv defaults(String nodeId, Path dataDir) {
      return new Kv(true, KvConfig.defaults(nodeId), KvMetadata.h2(dataDir), "", 3, List.of(),
          "default");
    }

    /** The same settings with the store switched off. */
    public Kv disabled() {
      return new Kv(false, coordinator, metadata, idempotencyRedisUrl, embeddedNodes,
          storageNodes, defaultTenant);
    }

    /**
     * The ring id of this server's {@code index}-th embedded storage node (from 1): prefixed with
     * the node id, so that the embedded nodes of servers sharing a ring never collide.
     */
    public static String embeddedNodeId(String nodeId, int index) {
      return nodeId + "-kv" + index;
    }

    /** Where an embedded storage node keeps its RocksDB. */
    public static Path embeddedNodeDir(Path dataDir, String embeddedNodeId) {
      return dataDir.resolve("kv").resolve(embeddedNodeId);
    }

    /**
     * The tenant cache's settings: the coordinator's TTL and size; a missing tenant is
     * remembered for {@link TenantCache.Config#MISSING_TTL_DEFAULT}.
     */
    public TenantCache.Config tenantCache() {
      return new TenantCache.Config(coordinator.tenantCacheTtl(), coordinator.tenantCacheSize(),
          TenantCache.Config.MISSING_TTL_DEFAULT);
    }

    /** The Redis URL as a {@link URI}; only when {@link #idempotencyRedisUrl} is set. */
    public URI idempotencyRedisUri() {
      return URI.create(idempotencyRedisUrl);
    }

    @Override
    public String toString() {
      return "Kv[enabled=" + enabled + ", coordinator=" + coordinator + ", metadata=" + metadata
          + ", idempotencyRedisUrl=" + idempotencyRedisUrl.replaceFirst("^(rediss?://)[^@/]*@",
          "$1***@") + ", embeddedNodes=" + embeddedNodes + ", storageNodes=" + storageNodes
          + ", defaultTenant=" + defaultTenant + "]";
    }
  }

  /**
   * The key-value store's metadata database: PostgreSQL, or H2 for a single server. The password
   * is never printed.
   *
   * @param url its JDBC URL
   * @param poolSize the most connections this node opens to it (and to Redis, when idempotency
   *     keys live there)
   */
  public record KvMetadata(String url, String user, String password, int poolSize) {
    public KvMetadata {
      Objects.requireNonNull(url, "url");
      Objects.requireNonNull(user, "user");
      Objects.requireNonNull(password, "password");
      if (poolSize < 1) {
        throw new IllegalArgumentException("poolSize must be at least 1; got " + poolSize);
      }
    }

    /** The default: an H2 file database at {@code dataDir/kv/metadata}, user sa, 10 connections. */
    public static KvMetadata h2(Path dataDir) {
      return new KvMetadata("jdbc:h2:file:" + dataDir.resolve("kv").resolve("metadata"), "sa", "",
          10);
    }

    @Override
    public String toString() {
      return "KvMetadata[url=" + url + ", user=" + user + ", password="
          + (password.isEmpty() ? "" : "***") + ", poolSize=" + poolSize + "]";
    }
  }

  /** True when this node is one of a group of several. */
  public boolean clustered() {
    return peers.size() > 1;
  }

  /**
   * The coordinator log's settings for this node. A Raft port of 0 must have been resolved to a
   * real one first (see {@link #withRaftPort}): peers dial the address recorded here.
   */
  public LogConfig logConfig() {
    Map<String, String> raftPeers = new LinkedHashMap<>();
    if (peers.isEmpty()) {
      raftPeers.put(nodeId, listen.host() + ":" + listen.raftPort());
    } else {
      for (Peer peer : peers) {
        raftPeers.put(peer.id(), peer.raftAddress());
      }
    }
    return LogConfig.cluster(clusterId, nodeId, raftPeers, dataDir.resolve("log"))
        .withSnapshotEveryEntries(snapshotEveryEntries)
        .withLockLimits(lockLimits);
  }

  /** The same configuration listening for Raft on {@code port}. */
  public ServerConfig withRaftPort(int port) {
    return new ServerConfig(clusterId, nodeId, dataDir,
        new Listen(listen.host(), listen.httpPort(), listen.grpcPort(), port), stores, peers,
        coordinator, locks, lockLimits, snapshotEveryEntries, limits, monitoring, kv);
  }

  /**
   * Opens a connection pool per SQL store, the participants of atomic commit; the caller owns
   * them and closes them. Redis stores are no participants: see {@link #openSagaStores}.
   */
  public List<Participant> openStores() {
    List<Participant> opened = new ArrayList<>();
    try {
      for (Store store : stores) {
        if (!store.type().isSql()) {
          continue;
        }
        opened.add(switch (store.type()) {
          case POSTGRESQL -> PostgresParticipant.create(store.name(), store.jdbcUrl(),
              store.username(), store.password(), store.maxConnections());
          case MARIADB -> MariaDbParticipant.create(store.name(), store.jdbcUrl(),
              store.username(), store.password(), store.maxConnections());
          case H2 -> H2Participant.create(store.name(), store.jdbcUrl(), store.username(),
              store.password(), store.maxConnections());
          case REDIS -> throw new IllegalStateException("a redis store is no participant");
        });
      }
      return opened;
    } catch (RuntimeException e) {
      opened.forEach(Participant::close);
      throw e;
    }
  }

  /**
   * Opens the stores saga steps run in: every store, each with a pool of its own (a SQL store
   * has one next to its participant's, with the same URL, credentials and size). The caller
   * owns them; the node that is given them closes them.
   */
  public List<SagaStore> openSagaStores() {
    List<SagaStore> opened = new ArrayList<>();
    try {
      for (Store store : stores) {
        opened.add(switch (store.type()) {
          case POSTGRESQL -> SqlSagaStore.postgres(store.name(), store.jdbcUrl(),
              store.username(), store.password(), store.maxConnections());
          case MARIADB -> SqlSagaStore.mariaDb(store.name(), store.jdbcUrl(),
              store.username(), store.password(), store.maxConnections());
          case H2 -> SqlSagaStore.h2(store.name(), store.jdbcUrl(), store.username(),
              store.password(), store.maxConnections());
          case REDIS -> RedisSagaStore.create(store.name(), store.redisUri(),
              store.maxConnections());
        });
      }
      return opened;
    } catch (RuntimeException e) {
      opened.forEach(SagaStore::close);
      throw e;
    }
  }

  /** The names of the stores that serve saga steps only (redis). */
  public Set<String> sagaOnlyStores() {
    Set<String> names = new LinkedHashSet<>();
    stores.stream().filter(store -> !store.type().isSql()).forEach(s -> names.add(s.name()));
    return names;
  }
}
