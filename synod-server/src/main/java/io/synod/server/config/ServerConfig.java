package io.synod.server.config;

import io.synod.api.spi.Participant;
import io.synod.core.lock.LockTable;
import io.synod.engine.CoordinatorConfig;
import io.synod.engine.lock.LockConfig;
import io.synod.engine.log.LogConfig;
import io.synod.engine.participant.H2Participant;
import io.synod.engine.participant.MariaDbParticipant;
import io.synod.engine.participant.PostgresParticipant;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Everything a server needs to start, validated: what {@link ConfigLoader} makes of a YAML file,
 * the environment and the defaults. Each part is a record of the engine where one exists.
 *
 * @param clusterId names the Raft group and prefixes the stores' prepared transactions
 * @param nodeId this node's id; one of {@code peers} when there are peers
 * @param dataDir where this node keeps its log, snapshots and the embedded stores
 * @param listen where this node listens
 * @param stores the stores transactions may write to, in configuration order
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

  public enum StoreType { POSTGRESQL, MARIADB, H2 }

  /**
   * One store. {@code password} is never printed: {@link #toString} masks it.
   *
   * @param maxConnections the size of this node's connection pool for the store
   */
  public record Store(String name, StoreType type, String jdbcUrl, String username,
      String password, int maxConnections) {
    @Override
    public String toString() {
      return "Store[name=" + name + ", type=" + type + ", jdbcUrl=" + jdbcUrl + ", username="
          + username + ", password=" + (password == null || password.isEmpty() ? "" : "***")
          + ", maxConnections=" + maxConnections + "]";
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

  /** Opens a connection pool per store; the caller owns the participants and closes them. */
  public List<Participant> openStores() {
    List<Participant> opened = new ArrayList<>();
    try {
      for (Store store : stores) {
        opened.add(switch (store.type()) {
          case POSTGRESQL -> PostgresParticipant.create(store.name(), store.jdbcUrl(),
              store.username(), store.password(), store.maxConnections());
          case MARIADB -> MariaDbParticipant.create(store.name(), store.jdbcUrl(),
              store.username(), store.password(), store.maxConnections());
          case H2 -> H2Participant.create(store.name(), store.jdbcUrl(), store.username(),
              store.password(), store.maxConnections());
        });
      }
      return opened;
    } catch (RuntimeException e) {
      opened.forEach(Participant::close);
      throw e;
    }
  }
}
