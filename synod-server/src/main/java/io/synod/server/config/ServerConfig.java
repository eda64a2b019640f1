package io.synod.server.config;

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
    Monitoring monitoring) {

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
        coordinator, locks, lockLimits, snapshotEveryEntries, limits, monitoring);
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
