package io.synod.server;

import io.synod.core.lock.LockTable;
import io.synod.engine.CoordinatorConfig;
import io.synod.engine.lock.LockConfig;
import io.synod.engine.log.LogConfig;
import io.synod.server.config.ServerConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Servers for the lock tests (without stores) and the saga tests (with the stores given): one
 * node, or a group of three in this JVM.
 */
public final class LockTestServers {
  /** A quick tick: lapsed leases and waits past their deadline are seen within 50 ms. */
  public static final LockConfig LOCKS = LockConfig.DEFAULTS.withTick(Duration.ofMillis(50));

  private LockTestServers() {}

  /** A single node that leads, with free ports. */
  public static SynodServer single(Path dir) throws Exception {
    return single(dir, "locks", List.of());
  }

  /** A single node that leads, with free ports and {@code stores}. */
  public static SynodServer single(Path dir, String clusterId, List<ServerConfig.Store> stores)
      throws Exception {
    SynodServer server = SynodServer.start(config(clusterId, "n1", dir,
        new ServerConfig.Listen("127.0.0.1", 0, 0, 0), List.of(), stores));
    try {
      server.node().awaitLeadership(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      server.close();
      throw e;
    }
    return server;
  }

  /**
   * A single node that leads, with free ports, no stores, and the key-value store with its
   * defaults: three embedded storage nodes and tenant "default" under {@code dir/data}.
   */
  public static SynodServer withKv(Path dir, String clusterId) throws Exception {
    return withKv(dir, clusterId, List.of());
  }

  /** As {@link #withKv(Path, String)}, with {@code stores} for saga steps and coordinations. */
  public static SynodServer withKv(Path dir, String clusterId, List<ServerConfig.Store> stores)
      throws Exception {
    ServerConfig base = config(clusterId, "n1", dir, new ServerConfig.Listen("127.0.0.1", 0, 0, 0),
        List.of(), stores);
    SynodServer server = SynodServer.start(new ServerConfig(base.clusterId(), base.nodeId(),
        base.dataDir(), base.listen(), base.stores(), base.peers(), base.coordinator(),
        base.locks(), base.lockLimits(), base.snapshotEveryEntries(), base.limits(),
        base.monitoring(), ServerConfig.Kv.defaults(base.nodeId(), base.dataDir())));
    try {
      server.node().awaitLeadership(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      server.close();
      throw e;
    }
    return server;
  }

  /** Three nodes of one group, each with its data under {@code dir/<id>}; a leader is elected. */
  public static List<SynodServer> cluster(Path dir) throws Exception {
    return cluster(dir, "locks3", List.of());
  }

  /** As {@link #cluster(Path)}, every node with the same {@code stores}. */
  public static List<SynodServer> cluster(Path dir, String clusterId,
      List<ServerConfig.Store> stores) throws Exception {
    List<ServerConfig.Peer> peers = new ArrayList<>();
    List<Integer> grpcPorts = new ArrayList<>();
    for (int i = 1; i <= 3; i++) {
      int grpc = LogConfig.freeLoopbackPort();
      grpcPorts.add(grpc);
      peers.add(new ServerConfig.Peer("n" + i, "127.0.0.1:" + LogConfig.freeLoopbackPort(),
          "127.0.0.1:" + grpc));
    }
    List<SynodServer> servers = new ArrayList<>();
    try {
      for (int i = 0; i < 3; i++) {
        ServerConfig.Peer self = peers.get(i);
        int raftPort = Integer.parseInt(self.raftAddress().substring(
            self.raftAddress().lastIndexOf(':') + 1));
        servers.add(SynodServer.start(config(clusterId, self.id(), dir.resolve(self.id()),
            new ServerConfig.Listen("127.0.0.1", 0, grpcPorts.get(i), raftPort), peers,
            stores)));
      }
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (servers.stream().noneMatch(s -> s.node().isLeader())) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("no leader elected within 60 s");
        }
        Thread.sleep(50);
      }
      return servers;
    } catch (Exception | Error e) {
      servers.forEach(SynodServer::close);
      throw e;
    }
  }

  private static ServerConfig config(String cluster, String nodeId, Path dir,
      ServerConfig.Listen listen, List<ServerConfig.Peer> peers,
      List<ServerConfig.Store> stores) {
    return new ServerConfig(cluster, nodeId, dir.resolve("data"), listen, stores, peers,
        CoordinatorConfig.DEFAULTS, LOCKS, LockTable.Limits.DEFAULTS, 10_000,
        new ServerConfig.ApiLimits(16_384, Duration.ofHours(1)),
        new ServerConfig.Monitoring(true, false, 0.0, "", "text"));
  }

  /** The gRPC API of {@code server} as {@code host:port}. */
  public static String grpc(SynodServer server) {
    return "127.0.0.1:" + server.grpcAddress().getPort();
  }
}
