package io.synod.engine.participant;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * JDBC plumbing shared by the participants and the saga stores ({@code
 * io.synod.engine.saga.store}): their connection pool, how a parameter is bound, a timeout as a
 * query timeout, and H2's durable URL. Why a store refused is {@link AbortClassifier}'s.
 */
public final class JdbcSupport {
  /** How long a caller waits for a pooled connection before it gives up. */
  public static final long CONNECTION_TIMEOUT_MS = 5_000;

  private JdbcSupport() {}

  /**
   * The settings of a store's HikariCP pool, for callers that add their own before {@code new
   * HikariDataSource(config)}: connections in autocommit mode, named {@code synod-<name>}.
   */
  public static HikariConfig poolConfig(
      String name, String jdbcUrl, String user, String password, int maxPoolSize) {
    if (maxPoolSize < 1) {
      throw new IllegalArgumentException(
          "maxPoolSize of store '" + name + "' is " + maxPoolSize + ", must be at least 1");
    }
    HikariConfig config = new HikariConfig();
    config.setPoolName("synod-" + name);
    config.setJdbcUrl(Objects.requireNonNull(jdbcUrl, "jdbcUrl"));
    config.setUsername(user);
    config.setPassword(password);
    config.setMaximumPoolSize(maxPoolSize);
    config.setAutoCommit(true);
    config.setConnectionTimeout(CONNECTION_TIMEOUT_MS);
    // A store that is down when synod starts makes failed calls that are retried, not a failed
    // start: the pool connects when the store comes back.
    config.setInitializationFailTimeout(-1);
    return config;
  }

  /** A HikariCP pool with the {@link #poolConfig} settings. */
  public static HikariDataSource pool(
      String name, String jdbcUrl, String user, String password, int maxPoolSize) {
    return new HikariDataSource(poolConfig(name, jdbcUrl, user, password, maxPoolSize));
  }

  /**
   * Runs one statement with its parameters bound (never pasted into the text), waiting at most
   * {@code timeoutSeconds}: the one way participants and saga stores execute declared SQL.
   */
  public static void execute(Connection c, String sql, List<Object> params, int timeoutSeconds)
      throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setQueryTimeout(timeoutSeconds);
      for (int i = 0; i < params.size(); i++) {
        bind(ps, i + 1, params.get(i));
      }
      ps.execute();
    }
  }

  /** Binds one parameter; null binds SQL NULL. */
  public static void bind(PreparedStatement ps, int index, Object value) throws SQLException {
    if (value == null) {
      ps.setNull(index, Types.NULL);
    } else if (value instanceof Instant instant) {
      // Not every driver binds Instant (PostgreSQL does not); all bind OffsetDateTime.
      ps.setObject(index, OffsetDateTime.ofInstant(instant, ZoneOffset.UTC));
    } else {
      ps.setObject(index, value);
    }
  }

  /** Whole seconds for {@link Statement#setQueryTimeout}: rounded up, at least 1. */
  public static int timeoutSeconds(Duration timeout) {
    long seconds = (Math.max(0, timeout.toMillis()) + 999) / 1000;
    return (int) Math.max(1, Math.min(Integer.MAX_VALUE, seconds));
  }

  /**
   * H2 writes changes to its file up to {@code WRITE_DELAY} (500 ms) after they happen, so by
   * default a prepared transaction can vanish with the process after its commit vote: the crash
   * test caught exactly that (committed in PostgreSQL and MariaDB, gone from H2). {@code
   * WRITE_DELAY=0} writes on every commit and prepare; the OS has the bytes before the caller is
   * told. A URL that sets its own {@code WRITE_DELAY} keeps it.
   */
  public static String durableH2Url(String jdbcUrl) {
    if (jdbcUrl.toUpperCase(Locale.ROOT).contains(";WRITE_DELAY=")) {
      return jdbcUrl;
    }
    return jdbcUrl + ";WRITE_DELAY=0";
  }
}
