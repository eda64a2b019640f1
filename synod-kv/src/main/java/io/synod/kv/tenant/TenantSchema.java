package io.synod.kv.tenant;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The tables of the {@link JdbcTenantStore} and how they get there. Table {@value #SCHEMA_TABLE}
 * holds one row ({@code id = 1}) with the number of the last migration applied; each coordinator
 * applies, at start, the migrations after it.
 *
 * <p>Coordinators may start together. Three things make that safe:
 *
 * <ol>
 *   <li>Creating the version table and its row tolerates losing the race: PostgreSQL can report a
 *       duplicate in its catalog when two sessions create one table at once, so the create is
 *       tried a second time (when {@code IF NOT EXISTS} then sees the table); a duplicate version
 *       row means another coordinator inserted it.
 *   <li>The migrations run in one transaction that first locks the version row ({@code SELECT ...
 *       FOR UPDATE}): on PostgreSQL, whose DDL is transactional, a second coordinator waits and
 *       then finds the new version.
 *   <li>H2 commits before each DDL statement, which releases the lock; so every statement is
 *       {@code IF NOT EXISTS} (repeating it is harmless) and the version moves by compare-and-set
 *       ({@code WHERE version = v - 1}): whoever loses re-reads it.
 * </ol>
 *
 * <p>Migrations only add: a coordinator of an older release works on a schema a newer one
 * migrated (it logs that the schema is ahead of it).
 */
final class TenantSchema {
  private static final Logger LOG = LoggerFactory.getLogger(TenantSchema.class);

  static final String SCHEMA_TABLE = "synod_kv_schema";
  static final String TENANTS_TABLE = "synod_kv_tenants";
  static final String NODES_TABLE = "synod_kv_nodes";
  static final String DUPLICATE_KEY = "23505";

  /** A step of the schema; {@code version} is its position in {@link #MIGRATIONS}, from 1. */
  record Migration(int version, String description, List<String> statements) {}

  static final List<Migration> MIGRATIONS = List.of(
      new Migration(1, "tenants", List.of(
          "CREATE TABLE IF NOT EXISTS " + TENANTS_TABLE + " ("
              + " tenant_id VARCHAR(64) NOT NULL PRIMARY KEY,"
              + " replication_factor INT NOT NULL,"
              + " default_consistency VARCHAR(16) NOT NULL,"
              + " max_value_bytes INT NOT NULL,"
              + " max_requests_per_second INT NOT NULL,"
              + " created_at TIMESTAMP WITH TIME ZONE NOT NULL,"
              + " updated_at TIMESTAMP WITH TIME ZONE NOT NULL)")),
      new Migration(2, "storage nodes of the ring", List.of(
          "CREATE TABLE IF NOT EXISTS " + NODES_TABLE + " ("
              + " node_id VARCHAR(64) NOT NULL PRIMARY KEY,"
              + " address VARCHAR(" + NodeRecord.ADDRESS_CHARS_MAX + ") NOT NULL,"
              + " state VARCHAR(" + NodeRecord.STATE_CHARS_MAX + ") NOT NULL,"
              + " tokens TEXT NOT NULL,"
              + " added_at TIMESTAMP WITH TIME ZONE NOT NULL)")));

  /** The schema version this code writes and reads. */
  static final int VERSION = MIGRATIONS.size();

  private TenantSchema() {}

  /** Brings the schema to {@link #VERSION}; returns the version the database is at after. */
  static int migrate(DataSource dataSource) throws SQLException {
    try (Connection c = dataSource.getConnection()) {
      createVersionTable(c);
      insertVersionRow(c);
      boolean autoCommit = c.getAutoCommit();
      c.setAutoCommit(false);
      try {
        int version = migrateLocked(c);
        c.commit();
        return version;
      } catch (SQLException | RuntimeException e) {
        c.rollback();
        throw e;
      } finally {
        c.setAutoCommit(autoCommit);
      }
    }
  }

  private static int migrateLocked(Connection c) throws SQLException {
    int found = readVersion(c, true);
    if (found < 0) {
      throw new SQLException("schema version in " + SCHEMA_TABLE + " is " + found
          + "; it must be 0 or more");
    }
    if (found > VERSION) {
      LOG.info("tenant store schema is at version {}, ahead of this release's {}; its migrations"
          + " only add, so this release works on it", found, VERSION);
      return found;
    }
    int version = found;
    for (Migration m : MIGRATIONS.subList(found, VERSION)) {
      try (Statement s = c.createStatement()) {
        for (String sql : m.statements()) {
          s.execute(sql);
        }
      }
      version = advance(c, m);
    }
    return version;
  }

  /** Records that {@code m} is applied; tolerates another coordinator having recorded it. */
  private static int advance(Connection c, Migration m) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(
        "UPDATE " + SCHEMA_TABLE + " SET version = ? WHERE id = 1 AND version = ?")) {
      ps.setInt(1, m.version());
      ps.setInt(2, m.version() - 1);
      if (ps.executeUpdate() == 1) {
        LOG.info("tenant store schema: applied migration {} ({})", m.version(), m.description());
        return m.version();
      }
    }
    int now = readVersion(c, false);
    if (now < m.version()) {
      throw new SQLException("schema version of " + SCHEMA_TABLE + " is " + now
          + " after migration " + m.version() + " ran; expected at least " + m.version());
    }
    return now;
  }

  private static void createVersionTable(Connection c) throws SQLException {
    String sql = "CREATE TABLE IF NOT EXISTS " + SCHEMA_TABLE
        + " (id INT NOT NULL PRIMARY KEY, version INT NOT NULL)";
    try (Statement s = c.createStatement()) {
      s.execute(sql);
    } catch (SQLException raced) {
      try (Statement s = c.createStatement()) {
        s.execute(sql);
      }
    }
  }

  private static void insertVersionRow(Connection c) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(
        "INSERT INTO " + SCHEMA_TABLE + " (id, version) VALUES (1, 0)")) {
      ps.executeUpdate();
    } catch (SQLException e) {
      if (!DUPLICATE_KEY.equals(e.getSQLState())) {
        throw e;
      }
    }
  }

  private static int readVersion(Connection c, boolean lock) throws SQLException {
    String sql = "SELECT version FROM " + SCHEMA_TABLE + " WHERE id = 1" + (lock ? " FOR UPDATE"
        : "");
    try (PreparedStatement ps = c.prepareStatement(sql); ResultSet rs = ps.executeQuery()) {
      if (!rs.next()) {
        throw new SQLException("the version row of " + SCHEMA_TABLE + " is missing");
      }
      return rs.getInt(1);
    }
  }
}
