package io.synod.cli;

import io.synod.core.lock.LockTable;
import io.synod.engine.CoordinatorConfig;
import io.synod.engine.lock.LockConfig;
import io.synod.server.SynodServer;
import io.synod.server.config.ServerConfig;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;

/**
 * A single-node synod server in this JVM with two H2 stores, {@code a} and {@code b}, each with
 * a table {@code items (id VARCHAR(64) PRIMARY KEY, amount BIGINT NOT NULL)}.
 */
final class TestServer implements AutoCloseable {
  final SynodServer server;
  final String urlA;
  final String urlB;

  private TestServer(SynodServer server, String urlA, String urlB) {
    this.server = server;
    this.urlA = urlA;
    this.urlB = urlB;
  }

  static TestServer start(Path dir) throws Exception {
    return start(dir, false);
  }

  /**
   * As {@link #start(Path)}; with {@code kv}, the key-value store runs too with its defaults
   * (three embedded storage nodes, tenant "default").
   */
  static TestServer start(Path dir, boolean kv) throws Exception {
    // A long lock timeout lets a test hold a row and keep a coordination preparing.
    String urlA = "jdbc:h2:file:" + dir.resolve("a").toAbsolutePath() + ";LOCK_TIMEOUT=20000";
    String urlB = "jdbc:h2:file:" + dir.resolve("b").toAbsolutePath() + ";LOCK_TIMEOUT=20000";
    for (String url : List.of(urlA, urlB)) {
      execute(url, "CREATE TABLE items (id VARCHAR(64) PRIMARY KEY, amount BIGINT NOT NULL)");
    }
    ServerConfig config = new ServerConfig("clitest", "n1", dir.resolve("data"),
        new ServerConfig.Listen("127.0.0.1", 0, 0, 0),
        List.of(store("a", urlA), store("b", urlB)),
        List.of(),
        CoordinatorConfig.DEFAULTS, LockConfig.DEFAULTS, LockTable.Limits.DEFAULTS, 10_000,
        new ServerConfig.ApiLimits(1 << 20, Duration.ofHours(1)),
        new ServerConfig.Monitoring(true, false, 0.1, "", "text"));
    if (kv) {
      config = new ServerConfig(config.clusterId(), config.nodeId(), config.dataDir(),
          config.listen(), config.stores(), config.peers(), config.coordinator(), config.locks(),
          config.lockLimits(), config.snapshotEveryEntries(), config.limits(),
          config.monitoring(), ServerConfig.Kv.defaults(config.nodeId(), config.dataDir()));
    }
    SynodServer server = SynodServer.start(config);
    try {
      server.node().awaitLeadership(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      server.close();
      throw e;
    }
    return new TestServer(server, urlA, urlB);
  }

  private static ServerConfig.Store store(String name, String url) {
    return new ServerConfig.Store(name, ServerConfig.StoreType.H2, url, "sa", "", 4);
  }

  /** The server's gRPC API as {@code host:port}. */
  String grpcAddress() {
    return "127.0.0.1:" + server.grpcAddress().getPort();
  }

  /** A loopback port where nothing listens (it was free a moment ago). */
  static String deadAddress() throws Exception {
    try (ServerSocket socket = new ServerSocket(0)) {
      return "127.0.0.1:" + socket.getLocalPort();
    }
  }

  /** The amount of row {@code id} in {@code url}'s items, or empty if there is no such row. */
  static OptionalLong amount(String url, String id) throws SQLException {
    try (Connection c = DriverManager.getConnection(url, "sa", "");
        PreparedStatement s = c.prepareStatement("SELECT amount FROM items WHERE id = ?")) {
      s.setString(1, id);
      try (ResultSet rs = s.executeQuery()) {
        return rs.next() ? OptionalLong.of(rs.getLong(1)) : OptionalLong.empty();
      }
    }
  }

  static void execute(String url, String sql) throws SQLException {
    try (Connection c = DriverManager.getConnection(url, "sa", "");
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  @Override
  public void close() {
    server.close();
  }
}
