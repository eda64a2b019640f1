package io.synod.engine.lock;

import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Objects;

/**
 * Makes a PostgreSQL table refuse writes from a stale lock holder. A lock can be lost without its
 * holder noticing in time (a long GC pause, a partition): the next holder gets a larger fencing
 * token, and the store must then refuse the old one. This guard keeps, per resource, the largest
 * token that has written, and checks it in the same local transaction as the write:
 *
 * <pre>{@code
 * connection.setAutoCommit(false);
 * fencing.admit(connection, lock.resource(), lock.fencingToken()); // throws if stale
 * ... the guarded writes ...
 * connection.commit();
 * }</pre>
 *
 * <p>{@link #admit} upserts the resource's row with the token only if no larger token has written
 * already; the row lock it takes orders concurrent writers, so once a transaction with token N
 * commits, no transaction with a token below N can commit a guarded write to that resource.
 * Equal tokens are admitted: one holder may write many times.
 */
public final class PostgresFencing {
  private final String table;

  /** @param table the table holding the tokens: a plain identifier, created by {@link #createTable} */
  public PostgresFencing(String table) {
    Objects.requireNonNull(table, "table");
    if (!table.matches("[a-z_][a-z0-9_]{0,62}")) {
      throw SynodException.invalid("table", "must be a lower-case SQL identifier of at most 63"
          + " characters; got '" + table + "'");
    }
    this.table = table;
  }

  public static PostgresFencing withDefaultTable() {
    return new PostgresFencing("synod_fencing");
  }

  public void createTable(Connection c) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute("CREATE TABLE IF NOT EXISTS " + table
          + " (resource VARCHAR(512) PRIMARY KEY, token BIGINT NOT NULL)");
    }
  }

  /**
   * Admits a write under {@code token} to {@code resource}, inside the caller's transaction.
   *
   * @throws SynodException {@code FAILED_PRECONDITION} if a larger token has written already; the
   *     caller must roll back
   */
  public void admit(Connection c, String resource, long token) throws SQLException {
    if (c.getAutoCommit()) {
      throw new IllegalStateException("fencing must run inside the guarded write's transaction"
          + " (autocommit is on)");
    }
    String sql = "INSERT INTO " + table + " AS f (resource, token) VALUES (?, ?)"
        + " ON CONFLICT (resource) DO UPDATE SET token = EXCLUDED.token"
        + " WHERE f.token <= EXCLUDED.token";
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, resource);
      ps.setLong(2, token);
      if (ps.executeUpdate() == 0) {
        throw new SynodException(ErrorCode.FAILED_PRECONDITION, "fencing_token",
            "token " + token + " on '" + resource + "' is stale: a later lock holder has written"
                + " with a larger token (" + highest(c, resource) + ")");
      }
    }
  }

  /** The largest token that has written to {@code resource}, or 0 if none has. */
  public long highest(Connection c, String resource) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement("SELECT token FROM " + table + " WHERE resource = ?")) {
      ps.setString(1, resource);
      try (var rs = ps.executeQuery()) {
        return rs.next() ? rs.getLong(1) : 0;
      }
    }
  }
}
