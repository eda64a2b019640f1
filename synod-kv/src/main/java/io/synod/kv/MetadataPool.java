package io.synod.kv;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.util.Objects;

/**
 * The connection pool to the KV store's metadata database (tenants, the ring, idempotency keys
 * when there is no Redis): PostgreSQL or H2.
 */
public final class MetadataPool {
  /** How long a statement waits for a connection before the store answers UNAVAILABLE. */
  public static final long CONNECTION_TIMEOUT_MS = 5_000;

  private MetadataPool() {}

  /** A pool of at most {@code maxPoolSize} autocommit connections to {@code jdbcUrl}. */
  public static HikariDataSource open(String poolName, String jdbcUrl, String user,
      String password, int maxPoolSize) {
    Objects.requireNonNull(jdbcUrl, "jdbcUrl");
    if (maxPoolSize < 1) {
      throw new IllegalArgumentException("the pool size of " + poolName + " is " + maxPoolSize
          + "; it must be at least 1");
    }
    HikariConfig config = new HikariConfig();
    config.setPoolName(poolName);
    config.setJdbcUrl(jdbcUrl);
    config.setUsername(user);
    config.setPassword(password);
    config.setMaximumPoolSize(maxPoolSize);
    config.setAutoCommit(true); // every store here commits statement by statement or explicitly
    config.setConnectionTimeout(CONNECTION_TIMEOUT_MS);
    // A database that is down fails the first statement (UNAVAILABLE, naming the store) rather
    // than the pool's construction with an exception of its own.
    config.setInitializationFailTimeout(-1);
    return new HikariDataSource(config);
  }
}
