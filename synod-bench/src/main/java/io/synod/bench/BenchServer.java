package io.synod.bench;

import io.synod.core.lock.LockTable;
import io.synod.engine.CoordinatorConfig;
import io.synod.engine.SynodNode;
import io.synod.engine.lock.LockConfig;
import io.synod.server.SynodServer;
import io.synod.server.config.ServerConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A synod server in the benchmark's process over the two benchmark databases, with the
 * shipped defaults (tracing at 10 %, no exporter): its node serves the in-process mode, its
 * gRPC port the remote one, so both modes share one coordinator and one log.
 */
final class BenchServer implements AutoCloseable {
  private final SynodServer server;

  private BenchServer(SynodServer server) {
    this.server = server;
  }

  static BenchServer start(Path work, String user, String urlA, String urlB, int maxConcurrency)
      throws Exception {
    List<ServerConfig.Store> stores = List.of(
        new ServerConfig.Store("pg_a", ServerConfig.StoreType.POSTGRESQL, urlA, user, "",
            maxConcurrency + 2),
        new ServerConfig.Store("pg_b", ServerConfig.StoreType.POSTGRESQL, urlB, user, "",
            maxConcurrency + 2));
    ServerConfig config = new ServerConfig("bench", "n1", work.resolve("server"),
        new ServerConfig.Listen("127.0.0.1", 0, 0, 0), stores, List.of(),
        CoordinatorConfig.DEFAULTS, LockConfig.DEFAULTS, LockTable.Limits.DEFAULTS, 10_000,
        new ServerConfig.ApiLimits(1 << 20, Duration.ofHours(1)),
        new ServerConfig.Monitoring(true, true, 0.1, "", "text"));
    SynodServer server = SynodServer.start(config);
    try {
      server.node().awaitLeadership(30, TimeUnit.SECONDS);
      return new BenchServer(server);
    } catch (Exception e) {
      server.close();
      throw e;
    }
  }

  SynodNode node() {
    return server.node();
  }

  String grpcAddress() {
    return server.grpcAddress().getHostString() + ":" + server.grpcAddress().getPort();
  }

  @Override
  public void close() {
    server.close();
  }
}
