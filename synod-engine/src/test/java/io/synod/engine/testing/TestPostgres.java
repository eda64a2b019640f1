package io.synod.engine.testing;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One embedded PostgreSQL server per JVM, started on first use and stopped by a shutdown hook,
 * handing out a fresh database per caller. Bound to 127.0.0.1 on a free port, with prepared
 * transactions enabled ({@code max_prepared_transactions}).
 *
 * <pre>{@code
 * TestDatabase db = TestPostgres.get().newDatabase();
 * }</pre>
 */
public final class TestPostgres {
  private static final Logger log = LoggerFactory.getLogger(TestPostgres.class);
  private static final String USER = "postgres";
  private static final int MAX_PREPARED_TRANSACTIONS = 100;
  private static TestPostgres instance;

  private final EmbeddedPostgres server;
  private final AtomicInteger databases = new AtomicInteger();

  private TestPostgres(EmbeddedPostgres server) {
    this.server = server;
  }

  /** The JVM's server, started now if this is the first call. */
  public static synchronized TestPostgres get() {
    if (instance == null) {
      instance = new TestPostgres(start());
      Runtime.getRuntime().addShutdownHook(new Thread(instance::stop, "test-postgres-stop"));
    }
    return instance;
  }

  private static EmbeddedPostgres start() {
    long startNs = System.nanoTime();
    try {
      EmbeddedPostgres server =
          EmbeddedPostgres.builder()
              .setServerConfig("listen_addresses", "127.0.0.1")
              .setServerConfig(
                  "max_prepared_transactions", String.valueOf(MAX_PREPARED_TRANSACTIONS))
              .setRegisterShutdownHook(false)
              .start();
      log.info(
          "embedded PostgreSQL on 127.0.0.1:{} started in {} ms",
          server.getPort(),
          (System.nanoTime() - startNs) / 1_000_000);
      return server;
    } catch (IOException e) {
      throw new UncheckedIOException("could not start embedded PostgreSQL", e);
    }
  }

  public int port() {
    return server.getPort();
  }

  /** Creates an empty database {@code test_N} and returns how to reach it. */
  public TestDatabase newDatabase() {
    String name = "test_" + databases.incrementAndGet();
    try (Connection c = server.getPostgresDatabase().getConnection();
        Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE " + name);
    } catch (SQLException e) {
      throw new IllegalStateException("could not create database " + name, e);
    }
    String url = "jdbc:postgresql://127.0.0.1:" + server.getPort() + "/" + name;
    return new TestDatabase(name, url, USER, "");
  }

  private void stop() {
    try {
      server.close();
    } catch (IOException | RuntimeException e) {
      log.warn("could not stop embedded PostgreSQL: {}", e.toString());
    }
  }
}
