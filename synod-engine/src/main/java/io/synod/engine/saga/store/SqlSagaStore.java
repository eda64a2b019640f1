package io.synod.engine.saga.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.pool.HikariPool;
import io.synod.api.saga.StepOperation;
import io.synod.api.spi.AbortReason;
import io.synod.engine.participant.AbortClassifier;
import io.synod.engine.participant.JdbcSupport;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs {@link StepOperation.Sql} steps on PostgreSQL, MariaDB or H2, each in one local transaction
 * with its barrier row in {@code synod_saga_barrier} (see {@link SagaStore} for the protocol and
 * {@link SqlDialect} for what each store says). The table is created on first use.
 *
 * <p>One try: take a pooled connection, waiting no longer than the step's timeout (nor the pool's
 * {@link JdbcSupport#CONNECTION_TIMEOUT_MS}); begin, in READ COMMITTED so that a barrier row
 * committed by a concurrent try is seen as soon as its insert has waited for it; write the barrier;
 * run the statement with its parameters bound and the step's timeout as query timeout; commit only
 * what {@link StepResult.Applied} or {@link StepResult.Skipped} wrote. On any failure the
 * transaction is rolled back, so neither effect nor barrier stays, and the connection goes back to
 * the pool clean or is evicted from it. Which failures are worth a retry comes from {@link
 * AbortClassifier}.
 */
public final class SqlSagaStore implements SagaStore {
  private static final Logger LOG = LoggerFactory.getLogger(SqlSagaStore.class);

  private final String name;
  private final SqlDialect dialect;
  private final HikariDataSource pool;
  private final Object tableLock = new Object();
  private volatile boolean tableReady;
  private volatile boolean closed;

  private SqlSagaStore(String name, SqlDialect dialect, HikariDataSource pool) {
    this.name = name;
    this.dialect = dialect;
    this.pool = pool;
  }

  /** A store on PostgreSQL with its own pool of at most {@code maxPoolSize} connections. */
  public static SqlSagaStore postgres(
      String name, String jdbcUrl, String user, String password, int maxPoolSize) {
    return create(SqlDialect.POSTGRES, name, jdbcUrl, user, password, maxPoolSize);
  }

  /** A store on MariaDB (10.2 or later: the table is collated utf8mb4_nopad_bin). */
  public static SqlSagaStore mariaDb(
      String name, String jdbcUrl, String user, String password, int maxPoolSize) {
    return create(SqlDialect.MARIADB, name, jdbcUrl, user, password, maxPoolSize);
  }

  /**
   * A store on H2, e.g. {@code jdbc:h2:file:/var/lib/app/db}; the URL gets {@code WRITE_DELAY=0}
   * unless it sets its own, so that a commit (and its barrier) is on disk when it returns.
   */
  public static SqlSagaStore h2(
      String name, String jdbcUrl, String user, String password, int maxPoolSize) {
    String url = JdbcSupport.durableH2Url(jdbcUrl);
    return create(SqlDialect.H2, name, url, user, password, maxPoolSize);
  }

  private static SqlSagaStore create(SqlDialect dialect, String name, String jdbcUrl,
      String user, String password, int maxPoolSize) {
    Objects.requireNonNull(name, "name");
    if (name.isBlank()) {
      throw new IllegalArgumentException("saga store name must not be blank");
    }
    HikariConfig config =
        JdbcSupport.poolConfig("saga-" + name, jdbcUrl, user, password, maxPoolSize);
    config.setTransactionIsolation("TRANSACTION_READ_COMMITTED");
    // A server opens this pool beside the store's atomic-commit pool: keep few idle connections,
    // so that two pools per store per node do not exhaust the database's connection limit.
    config.setMinimumIdle(Math.min(2, maxPoolSize));
    return new SqlSagaStore(name, dialect, new HikariDataSource(config));
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public StepResult apply(StepCall call) {
    Objects.requireNonNull(call, "call");
    if (!(call.operation() instanceof StepOperation.Sql sql)) {
      return new StepResult.Failed(false, call.what() + " on store '" + name
          + "': this store runs SQL operations, not "
          + call.operation().getClass().getSimpleName());
    }
    if (closed) {
      return new StepResult.Failed(true, call.what() + " on store '" + name + "': store closed");
    }
    Connection c;
    try {
      c = connect(call.timeout());
    } catch (SQLException e) {
      return failed(call, e);
    }
    StepResult result = runTry(c, call, sql);
    LOG.debug("saga {} step {} {} on store '{}': {}",
        call.sagaId(), call.step(), call.kindName(), name, result);
    return result;
  }

  /**
   * A pooled connection within the step's timeout: HikariCP's own {@code getConnection} waits for
   * the pool-wide connection timeout, its pool's {@code getConnection(ms)} for the time given.
   */
  private Connection connect(Duration timeout) throws SQLException {
    long waitMs = Math.min(timeout.toMillis(), JdbcSupport.CONNECTION_TIMEOUT_MS);
    if (pool.getHikariPoolMXBean() instanceof HikariPool hikari) {
      return hikari.getConnection(waitMs);
    }
    return pool.getConnection(); // not started or closed: fails with the pool's own message
  }

  private StepResult runTry(Connection c, StepCall call, StepOperation.Sql sql) {
    int timeoutSeconds = JdbcSupport.timeoutSeconds(call.timeout());
    try {
      ensureTable(c, timeoutSeconds);
      dialect.limitLockWait(c, call.timeout());
      c.setAutoCommit(false);
      StepResult result = call.kind() == StepCall.Kind.ACTION
          ? action(c, call, sql, timeoutSeconds)
          : compensation(c, call, sql, timeoutSeconds);
      if (result instanceof StepResult.Applied || result instanceof StepResult.Skipped) {
        c.commit();
      } else {
        c.rollback(); // nothing was written
      }
      release(c, true);
      return result;
    } catch (SQLException | RuntimeException e) {
      release(c, rollback(c));
      return failed(call, e);
    }
  }

  private StepResult action(Connection c, StepCall call, StepOperation.Sql sql, int seconds)
      throws SQLException {
    if (dialect.insertIfAbsent(c, BarrierRow.action(call), seconds)) {
      run(c, sql, seconds);
      return new StepResult.Applied();
    }
    String reason = actionReason(c, call, seconds);
    if (reason == null) {
      // Present a moment ago, gone now: someone deleted barrier rows. Look again next try.
      return new StepResult.Failed(true, call.what() + " on store '" + name
          + "': its barrier row vanished while it was read");
    }
    return BarrierRow.BLOCKED.equals(reason)
        ? new StepResult.Refused()
        : new StepResult.AlreadyApplied();
  }

  private StepResult compensation(Connection c, StepCall call, StepOperation.Sql sql, int seconds)
      throws SQLException {
    if (!dialect.insertIfAbsent(c, BarrierRow.compensation(call), seconds)) {
      return new StepResult.AlreadyApplied();
    }
    if (dialect.insertIfAbsent(c, BarrierRow.blocker(call), seconds)) {
      return new StepResult.Skipped(); // the action never ran; from now on it is refused
    }
    run(c, sql, seconds);
    return new StepResult.Applied();
  }

  private String actionReason(Connection c, StepCall call, int seconds) throws SQLException {
    String sql = "SELECT reason FROM " + SqlDialect.TABLE
        + " WHERE saga_id = ? AND step = ? AND op = ?";
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setQueryTimeout(seconds);
      ps.setString(1, call.sagaId());
      ps.setString(2, call.step());
      ps.setString(3, BarrierRow.ACTION);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getString(1) : null;
      }
    }
  }

  private static void run(Connection c, StepOperation.Sql sql, int seconds) throws SQLException {
    JdbcSupport.execute(c, sql.sql(), sql.params(), seconds);
  }

  /**
   * Creates the barrier table once per store object. A failure is retried once: two processes
   * creating it at the same moment can make PostgreSQL report a duplicate in its catalog.
   */
  private void ensureTable(Connection c, int seconds) throws SQLException {
    if (tableReady) {
      return;
    }
    synchronized (tableLock) {
      if (tableReady) {
        return;
      }
      try {
        createTable(c, seconds);
      } catch (SQLException first) {
        createTable(c, seconds);
      }
      tableReady = true;
    }
  }

  private void createTable(Connection c, int seconds) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.setQueryTimeout(seconds);
      s.execute(dialect.createTable());
    }
  }

  /** Rolls back whatever the try began; false if the connection is not known clean after it. */
  private static boolean rollback(Connection c) {
    try {
      if (!c.getAutoCommit()) {
        c.rollback();
      }
      return true;
    } catch (SQLException e) {
      return false;
    }
  }

  /** Back to the pool (which restores autocommit), or evicted from it when not known clean. */
  private void release(Connection c, boolean clean) {
    if (!clean) {
      pool.evictConnection(c);
      return;
    }
    try {
      c.close();
    } catch (SQLException e) {
      LOG.debug("store '{}': ignored failure returning a connection: {}", name, e.getMessage());
    }
  }

  private StepResult failed(StepCall call, Exception e) {
    if (e instanceof SQLException sql) {
      AbortReason reason = AbortClassifier.classify(sql);
      return new StepResult.Failed(
          retryable(reason), reason + ": " + AbortClassifier.message(call.what(), name, sql));
    }
    // Not the store refusing: a driver or binding fault, which another try would repeat.
    RuntimeException runtime = (RuntimeException) e;
    LOG.warn("store '{}': {} failed", name, call.what(), runtime);
    return new StepResult.Failed(false, AbortReason.INVALID_OPERATION + ": "
        + AbortClassifier.message(call.what(), name, runtime));
  }

  /** Whether another try may succeed where this one failed for {@code reason}. */
  private static boolean retryable(AbortReason reason) {
    return switch (reason) {
      case LOCK_TIMEOUT, CONFLICT, RESOURCE_EXHAUSTED, TIMEOUT, UNAVAILABLE -> true;
      case CONSTRAINT_VIOLATION, INVALID_OPERATION -> false;
    };
  }

  @Override
  public void close() {
    closed = true;
    pool.close();
  }

  @Override
  public String toString() {
    return "SqlSagaStore[" + name + ", " + dialect + "]";
  }
}
