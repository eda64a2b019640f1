package io.synod.engine.saga.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;

/**
 * What each SQL store says for the barrier: its table, and "insert this barrier row unless one
 * with its key exists", answering whether it inserted.
 *
 * <pre>
 *              insert unless present                  on a concurrent insert of the same key
 * PostgreSQL   INSERT ... ON CONFLICT (key) DO NOTHING   waits for the other transaction
 * MariaDB      INSERT IGNORE                           waits (shared lock on the duplicate)
 * H2           INSERT, duplicate-key error caught      waits up to its LOCK_TIMEOUT
 * </pre>
 *
 * All three wait until the other transaction ends: if it committed, the row is there (nothing
 * inserted); if it rolled back, this insert goes in. That wait is what serialises two tries of one
 * step. {@code INSERT IGNORE} would also turn a too-long value into a warning, but {@link
 * StepCall} bounds every value below the column sizes. MariaDB's table is binary-collated: saga
 * ids and steps that differ in case or in trailing spaces are different keys.
 */
enum SqlDialect {
  POSTGRES {
    @Override
    String createTable() {
      return standardTable();
    }

    @Override
    boolean insertIfAbsent(Connection c, BarrierRow row, int timeoutSeconds) throws SQLException {
      return insert(c, "INSERT INTO " + TABLE + COLUMNS_AND_VALUES
          + " ON CONFLICT (saga_id, step, op) DO NOTHING", row, timeoutSeconds);
    }
  },

  MARIADB {
    @Override
    String createTable() {
      return "CREATE TABLE IF NOT EXISTS " + TABLE + " ("
          + KEY_COLUMNS
          + " created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),"
          + " PRIMARY KEY (saga_id, step, op))"
          + " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin";
    }

    @Override
    boolean insertIfAbsent(Connection c, BarrierRow row, int timeoutSeconds) throws SQLException {
      return insert(c, "INSERT IGNORE INTO " + TABLE + COLUMNS_AND_VALUES, row, timeoutSeconds);
    }
  },

  H2 {
    @Override
    String createTable() {
      return standardTable();
    }

    @Override
    boolean insertIfAbsent(Connection c, BarrierRow row, int timeoutSeconds) throws SQLException {
      try {
        return insert(c, "INSERT INTO " + TABLE + COLUMNS_AND_VALUES, row, timeoutSeconds);
      } catch (SQLException e) {
        if (DUPLICATE_KEY.equals(e.getSQLState())) {
          return false; // H2 undoes the failed statement only; the transaction goes on
        }
        throw e;
      }
    }

    /**
     * H2 waits for a row lock for its session's {@code LOCK_TIMEOUT} (not the query timeout), so
     * that is set to the step's timeout.
     */
    @Override
    void limitLockWait(Connection c, Duration timeout) throws SQLException {
      long lockTimeoutMs = Math.max(1, Math.min(Integer.MAX_VALUE, timeout.toMillis()));
      try (Statement s = c.createStatement()) {
        s.execute("SET LOCK_TIMEOUT " + lockTimeoutMs);
      }
    }
  };

  static final String TABLE = "synod_saga_barrier";
  private static final String DUPLICATE_KEY = "23505";
  private static final String KEY_COLUMNS =
      " saga_id VARCHAR(" + StepCall.SAGA_ID_CHARS_MAX + ") NOT NULL,"
          + " step VARCHAR(64) NOT NULL,"
          + " op VARCHAR(16) NOT NULL,"
          + " reason VARCHAR(16) NOT NULL,"
          + " idempotency_key VARCHAR(" + StepCall.IDEMPOTENCY_KEY_CHARS_MAX + ") NOT NULL,";
  private static final String COLUMNS_AND_VALUES =
      " (saga_id, step, op, reason, idempotency_key) VALUES (?, ?, ?, ?, ?)";

  /** {@code CREATE TABLE IF NOT EXISTS} for the barrier table. */
  abstract String createTable();

  /** Inserts {@code row} unless its (saga_id, step, op) exists; true if it inserted. */
  abstract boolean insertIfAbsent(Connection c, BarrierRow row, int timeoutSeconds)
      throws SQLException;

  /**
   * Bounds the session's wait for row locks by {@code timeout}, where the query timeout does not
   * already; called in autocommit mode before the transaction begins.
   */
  void limitLockWait(Connection c, Duration timeout) throws SQLException {}

  private static String standardTable() {
    return "CREATE TABLE IF NOT EXISTS " + TABLE + " ("
        + KEY_COLUMNS
        + " created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,"
        + " PRIMARY KEY (saga_id, step, op))";
  }

  private static boolean insert(Connection c, String sql, BarrierRow row, int timeoutSeconds)
      throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setQueryTimeout(timeoutSeconds);
      ps.setString(1, row.sagaId());
      ps.setString(2, row.step());
      ps.setString(3, row.op());
      ps.setString(4, row.reason());
      ps.setString(5, row.idempotencyKey());
      int inserted = ps.executeUpdate();
      if (inserted > 1) {
        throw new IllegalStateException("barrier insert reported " + inserted + " rows");
      }
      return inserted == 1;
    }
  }
}
