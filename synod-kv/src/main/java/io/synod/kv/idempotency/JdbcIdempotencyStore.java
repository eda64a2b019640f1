package io.synod.kv.idempotency;

import static io.synod.kv.idempotency.IdempotencyChecks.checkFingerprint;
import static io.synod.kv.idempotency.IdempotencyChecks.checkKey;
import static io.synod.kv.idempotency.IdempotencyChecks.checkRetention;

import com.zaxxer.hikari.HikariDataSource;
import io.synod.kv.MetadataPool;
import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.kv.KvWriteResult;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link IdempotencyStore} in a SQL database: H2 for a single coordinator, PostgreSQL for
 * several. One row per key in {@value #TABLE}:
 *
 * <pre>
 *  tenant_id, idem_key   primary key
 *  fingerprint           the request's
 *  state                 'claimed' or 'done'
 *  response              once done, in the layout of {@code ResponseCodec}
 *  expires_at            epoch ms: the lease's end while claimed, the retention's once done
 * </pre>
 *
 * <p>A claim inserts the row; the primary key lets one of several concurrent inserts win (the
 * others wait for it to commit, then get a duplicate key). A loser reads the row. A row past its
 * {@code expires_at} counts as absent: the claim takes it over with a compare-and-set on the
 * state and expiry it read, so of two callers taking over one row only one succeeds; the other
 * tries again and finds the new claim. Expired rows stay until taken over or {@link
 * #purgeExpired purged}; the owner schedules that ({@link #schedulePurge}). An expired row is
 * absent for {@link #complete} too, as an expired Redis key is: a write that outlived its lease
 * keeps no response.
 *
 * <p>Time is the {@link Clock} given, in epoch milliseconds, not the database's: the coordinators
 * sharing a database must have synchronised clocks (as they do for leases elsewhere).
 */
public final class JdbcIdempotencyStore implements IdempotencyStore {
  private static final Logger LOG = LoggerFactory.getLogger(JdbcIdempotencyStore.class);

  static final String TABLE = "synod_kv_idempotency";
  private static final String DUPLICATE_KEY = "23505";
  private static final String CLAIMED = "claimed";
  private static final String DONE = "done";
  /**
   * Tries of one claim. A try fails only when the row changed between reading and taking it
   * over, i.e. another caller took it, and the next try finds that caller's claim.
   */
  private static final int CLAIM_TRIES_MAX = 3;

  private static final List<String> SCHEMA = List.of(
      "CREATE TABLE IF NOT EXISTS " + TABLE + " ("
          + " tenant_id VARCHAR(64) NOT NULL,"
          + " idem_key VARCHAR(" + IDEMPOTENCY_KEY_CHARS_MAX + ") NOT NULL,"
          + " fingerprint VARCHAR(" + FINGERPRINT_CHARS_MAX + ") NOT NULL,"
          + " state VARCHAR(16) NOT NULL,"
          + " response BYTEA,"
          + " expires_at BIGINT NOT NULL,"
          + " PRIMARY KEY (tenant_id, idem_key))",
      "CREATE INDEX IF NOT EXISTS " + TABLE + "_expires ON " + TABLE + " (expires_at)");

  private final DataSource dataSource;
  private final Clock clock;
  private final Duration lease;
  /** The pool this store made and so closes; null when the caller owns the data source. */
  private final HikariDataSource ownedPool;

  /** A store with {@link #DEFAULT_LEASE}; creates its table now if missing. */
  public JdbcIdempotencyStore(DataSource dataSource, Clock clock) {
    this(dataSource, clock, DEFAULT_LEASE);
  }

  /** A store whose claims hold a key for {@code lease}; creates its table now if missing. */
  public JdbcIdempotencyStore(DataSource dataSource, Clock clock, Duration lease) {
    this(dataSource, clock, lease, null);
  }

  private JdbcIdempotencyStore(DataSource dataSource, Clock clock, Duration lease,
      HikariDataSource ownedPool) {
    this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.lease = IdempotencyChecks.checkLease(lease);
    this.ownedPool = ownedPool;
    createTable();
  }

  /**
   * A store with its own HikariCP pool of at most {@code maxPoolSize} connections to {@code
   * jdbcUrl} (e.g. {@code jdbc:h2:file:/var/synod/kv-idempotency}), closed with the store.
   */
  public static JdbcIdempotencyStore open(String jdbcUrl, String user, String password,
      int maxPoolSize, Clock clock, Duration lease) {
    HikariDataSource pool = MetadataPool.open("synod-kv-idempotency", jdbcUrl, user, password,
        maxPoolSize);
    try {
      return new JdbcIdempotencyStore(pool, clock, lease, pool);
    } catch (RuntimeException e) {
      pool.close();
      throw e;
    }
  }

  @Override
  public Claim claim(String tenantId, String idempotencyKey, String requestFingerprint,
      Duration retention) {
    checkKey(tenantId, idempotencyKey);
    checkFingerprint(requestFingerprint);
    checkRetention(retention);
    long nowMs = clock.millis();
    long claimUntilMs = nowMs + IdempotencyChecks.claimLease(lease, retention).toMillis();
    Key key = new Key(tenantId, idempotencyKey);
    for (int tries = 0; tries < CLAIM_TRIES_MAX; tries++) {
      if (insert(key, requestFingerprint, claimUntilMs)) {
        return new Claim.First();
      }
      Row row = read(key, "claim");
      if (row == null) {
        continue; // released or purged since the insert failed
      }
      if (row.expiresAtMs() <= nowMs) {
        if (takeOver(key, requestFingerprint, claimUntilMs, row)) {
          return new Claim.First();
        }
        continue;
      }
      return found(key, row, requestFingerprint);
    }
    throw new SynodException(ErrorCode.ABORTED, "idempotency_key", "key '" + idempotencyKey
        + "' of tenant '" + tenantId + "' changed hands " + CLAIM_TRIES_MAX
        + " times while it was being claimed; retry");
  }

  @Override
  public void complete(String tenantId, String idempotencyKey, KvWriteResult response,
      Duration retention) {
    checkKey(tenantId, idempotencyKey);
    Objects.requireNonNull(response, "response");
    checkRetention(retention);
    long nowMs = clock.millis();
    Key key = new Key(tenantId, idempotencyKey);
    int rows = run("complete", key, c -> {
      try (PreparedStatement ps = c.prepareStatement("UPDATE " + TABLE
          + " SET state = ?, response = ?, expires_at = ?"
          + " WHERE tenant_id = ? AND idem_key = ? AND expires_at > ?")) {
        ps.setString(1, DONE);
        ps.setBytes(2, ResponseCodec.encode(response));
        ps.setLong(3, nowMs + retention.toMillis());
        bindKey(ps, 4, key);
        ps.setLong(6, nowMs);
        return ps.executeUpdate();
      }
    });
    if (rows == 0) {
      LOG.warn("idempotency key '{}' of tenant '{}' expired before its write completed (lease"
          + " {}); its response is not kept, so a retry writes again", idempotencyKey, tenantId,
          lease);
    }
  }

  @Override
  public void release(String tenantId, String idempotencyKey) {
    checkKey(tenantId, idempotencyKey);
    Key key = new Key(tenantId, idempotencyKey);
    run("release", key, c -> {
      try (PreparedStatement ps = c.prepareStatement(
          "DELETE FROM " + TABLE + " WHERE tenant_id = ? AND idem_key = ? AND state = ?")) {
        bindKey(ps, 1, key);
        ps.setString(3, CLAIMED);
        return ps.executeUpdate();
      }
    });
  }

  @Override
  public Optional<Held> peek(String tenantId, String idempotencyKey) {
    checkKey(tenantId, idempotencyKey);
    Key key = new Key(tenantId, idempotencyKey);
    Row row = read(key, "peek");
    if (row == null || row.expiresAtMs() <= clock.millis()) {
      return Optional.empty(); // an expired row counts as absent, as for claim
    }
    return Optional.of(held(key, row));
  }

  /** Deletes the rows expired at {@code now}, claimed or done; returns how many. */
  public int purgeExpired(Instant now) {
    Objects.requireNonNull(now, "now");
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(
            "DELETE FROM " + TABLE + " WHERE expires_at <= ?")) {
      ps.setLong(1, now.toEpochMilli());
      return ps.executeUpdate();
    } catch (SQLException e) {
      throw unavailable("purge expired keys", e);
    }
  }

  /**
   * Runs {@link #purgeExpired} at the store's clock's time every {@code interval} on {@code
   * executor}, until the returned future is cancelled. A failed purge is logged and the next one
   * runs as planned.
   */
  public ScheduledFuture<?> schedulePurge(ScheduledExecutorService executor, Duration interval) {
    Objects.requireNonNull(executor, "executor");
    if (interval == null || interval.toMillis() < 1) {
      throw SynodException.invalid("idempotency.purge_interval", "must be at least 1 ms (was "
          + interval + ")");
    }
    long ms = interval.toMillis();
    return executor.scheduleWithFixedDelay(this::purgeQuietly, ms, ms, TimeUnit.MILLISECONDS);
  }

  private void purgeQuietly() {
    try {
      int purged = purgeExpired(clock.instant());
      if (purged > 0) {
        LOG.debug("purged {} expired idempotency keys from {}", purged, TABLE);
      }
    } catch (RuntimeException e) {
      LOG.warn("could not purge expired idempotency keys from {}: {}", TABLE, e.getMessage());
    }
  }

  @Override
  public void close() {
    if (ownedPool != null) {
      ownedPool.close();
    }
  }

  private Claim found(Key key, Row row, String requestFingerprint) {
    if (!row.fingerprint().equals(requestFingerprint)) {
      return new Claim.Mismatch();
    }
    return switch (held(key, row)) {
      case Held.Claimed claimed -> new Claim.InProgress();
      case Held.Completed completed -> new Claim.Done(completed.response());
    };
  }

  /** The live {@code row}, decoded; INTERNAL if it is malformed. */
  private static Held held(Key key, Row row) {
    if (CLAIMED.equals(row.state())) {
      return new Held.Claimed(row.fingerprint());
    }
    if (!DONE.equals(row.state()) || row.response() == null) {
      throw corrupt(key, "state '" + row.state() + "'"
          + (row.response() == null ? " without a response" : ""));
    }
    try {
      return new Held.Completed(row.fingerprint(), ResponseCodec.decode(row.response()));
    } catch (IllegalArgumentException e) {
      throw corrupt(key, e.getMessage());
    }
  }

  /** Inserts a claim; false if the key has a row. */
  private boolean insert(Key key, String fingerprint, long claimUntilMs) {
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement("INSERT INTO " + TABLE
            + " (tenant_id, idem_key, fingerprint, state, expires_at) VALUES (?, ?, ?, ?, ?)")) {
      bindKey(ps, 1, key);
      ps.setString(3, fingerprint);
      ps.setString(4, CLAIMED);
      ps.setLong(5, claimUntilMs);
      ps.executeUpdate();
      return true;
    } catch (SQLException e) {
      if (DUPLICATE_KEY.equals(e.getSQLState())) {
        return false;
      }
      throw unavailable("claim", key, e);
    }
  }

  private Row read(Key key, String what) {
    return run(what, key, c -> {
      try (PreparedStatement ps = c.prepareStatement("SELECT fingerprint, state, response,"
          + " expires_at FROM " + TABLE + " WHERE tenant_id = ? AND idem_key = ?")) {
        bindKey(ps, 1, key);
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next() ? new Row(rs.getString(1), rs.getString(2), rs.getBytes(3),
              rs.getLong(4)) : null;
        }
      }
    });
  }

  /** Replaces the expired {@code row} by a new claim, if nobody changed it since it was read. */
  private boolean takeOver(Key key, String fingerprint, long claimUntilMs, Row row) {
    int rows = run("claim", key, c -> {
      try (PreparedStatement ps = c.prepareStatement("UPDATE " + TABLE
          + " SET fingerprint = ?, state = ?, response = NULL, expires_at = ?"
          + " WHERE tenant_id = ? AND idem_key = ? AND state = ? AND expires_at = ?")) {
        ps.setString(1, fingerprint);
        ps.setString(2, CLAIMED);
        ps.setLong(3, claimUntilMs);
        bindKey(ps, 4, key);
        ps.setString(6, row.state());
        ps.setLong(7, row.expiresAtMs());
        return ps.executeUpdate();
      }
    });
    if (rows == 1) {
      LOG.info("idempotency key '{}' of tenant '{}': took over its {} row expired at {}",
          key.idempotencyKey(), key.tenantId(), row.state(),
          Instant.ofEpochMilli(row.expiresAtMs()));
    }
    return rows == 1;
  }

  /**
   * Creates the table and index if missing. Tried a second time on failure: two coordinators
   * creating them at once can make PostgreSQL report a duplicate in its catalog.
   */
  private void createTable() {
    try (Connection c = dataSource.getConnection()) {
      try {
        runSchema(c);
      } catch (SQLException raced) {
        runSchema(c);
      }
    } catch (SQLException e) {
      throw unavailable("create table " + TABLE, e);
    }
  }

  private static void runSchema(Connection c) throws SQLException {
    try (Statement s = c.createStatement()) {
      for (String sql : SCHEMA) {
        s.execute(sql);
      }
    }
  }

  private static void bindKey(PreparedStatement ps, int first, Key key) throws SQLException {
    ps.setString(first, key.tenantId());
    ps.setString(first + 1, key.idempotencyKey());
  }

  /** Work on one connection. */
  @FunctionalInterface
  private interface SqlWork<T> {
    T run(Connection c) throws SQLException;
  }

  private <T> T run(String what, Key key, SqlWork<T> work) {
    try (Connection c = dataSource.getConnection()) {
      return work.run(c);
    } catch (SQLException e) {
      throw unavailable(what, key, e);
    }
  }

  private static SynodException unavailable(String what, Key key, SQLException e) {
    return unavailable(what + " key '" + key.idempotencyKey() + "' of tenant '" + key.tenantId()
        + "'", e);
  }

  private static SynodException unavailable(String what, SQLException e) {
    return new SynodException(ErrorCode.UNAVAILABLE, "idempotency store could not " + what + ": "
        + e.getMessage() + " (SQLSTATE " + e.getSQLState() + "); retry when the database is"
        + " reachable", e);
  }

  private static SynodException corrupt(Key key, String what) {
    return new SynodException(ErrorCode.INTERNAL, "row of idempotency key '"
        + key.idempotencyKey() + "' of tenant '" + key.tenantId() + "' in " + TABLE
        + " is malformed (" + what + "); delete it to let the key be used again",
        (Throwable) null);
  }

  private record Key(String tenantId, String idempotencyKey) {}

  private record Row(String fingerprint, String state, byte[] response, long expiresAtMs) {}
}
