package io.synod.kv.tenant;

import static io.synod.kv.tenant.TenantSchema.DUPLICATE_KEY;
import static io.synod.kv.tenant.TenantSchema.NODES_TABLE;
import static io.synod.kv.tenant.TenantSchema.TENANTS_TABLE;

import com.zaxxer.hikari.HikariDataSource;
import io.synod.kv.MetadataPool;
import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.kv.Consistency;
import io.synod.api.kv.Tenant;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * The {@link TenantStore} on PostgreSQL or H2: tables {@code synod_kv_tenants} and {@code
 * synod_kv_nodes}, brought to the current schema when the store is made (the migrations and how
 * concurrent starts stay safe are described in {@code TenantSchema}).
 * Every statement is prepared with bound parameters; the data source must hand out connections in
 * autocommit mode (HikariCP's default).
 *
 * <p>Lists come back sorted by id in Java ({@link String#compareTo}), not only by {@code ORDER
 * BY}: PostgreSQL orders text by the database's collation, which differs between installations
 * (and from H2) for '-', '.' and case; callers get one order on every database.
 */
public final class JdbcTenantStore implements TenantStore {

  private static final String TENANT_COLUMNS = "tenant_id, replication_factor,"
      + " default_consistency, max_value_bytes, max_requests_per_second";

  private final DataSource dataSource;
  private final Clock clock;
  /** The pool this store made and so closes; null when the caller owns the data source. */
  private final HikariDataSource ownedPool;

  /** A store on {@code dataSource}, whose schema it migrates now. */
  public JdbcTenantStore(DataSource dataSource) {
    this(dataSource, Clock.systemUTC());
  }

  /** A store on {@code dataSource} stamping rows with {@code clock}; migrates the schema now. */
  public JdbcTenantStore(DataSource dataSource, Clock clock) {
    this(dataSource, clock, null);
  }

  private JdbcTenantStore(DataSource dataSource, Clock clock, HikariDataSource ownedPool) {
    this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.ownedPool = ownedPool;
    try {
      TenantSchema.migrate(dataSource);
    } catch (SQLException e) {
      throw unavailable("migrate its schema", e);
    }
  }

  /**
   * A store with its own HikariCP pool of at most {@code maxPoolSize} connections to {@code
   * jdbcUrl} (e.g. {@code jdbc:postgresql://db:5432/synod} or {@code jdbc:h2:file:/var/synod/kv}),
   * closed with the store. Migrates the schema now.
   */
  public static JdbcTenantStore open(String jdbcUrl, String user, String password,
      int maxPoolSize) {
    HikariDataSource pool = MetadataPool.open("synod-kv-tenants", jdbcUrl, user, password,
        maxPoolSize);
    try {
      return new JdbcTenantStore(pool, Clock.systemUTC(), pool);
    } catch (RuntimeException e) {
      pool.close();
      throw e;
    }
  }

  @Override
  public Tenant create(Tenant tenant) {
    Objects.requireNonNull(tenant, "tenant");
    OffsetDateTime now = now();
    boolean inserted = insert("create tenant '" + tenant.id() + "'", c -> {
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + TENANTS_TABLE + " ("
          + TENANT_COLUMNS + ", created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)")) {
        ps.setString(1, tenant.id());
        bindSettings(ps, 2, tenant);
        ps.setObject(6, now);
        ps.setObject(7, now);
        ps.executeUpdate();
      }
    });
    if (!inserted) {
      throw new SynodException(ErrorCode.ALREADY_EXISTS, "tenant_id", "tenant '" + tenant.id()
          + "' already exists; update it to change its settings, or pick another id");
    }
    return tenant;
  }

  @Override
  public Tenant update(Tenant tenant) {
    Objects.requireNonNull(tenant, "tenant");
    OffsetDateTime now = now();
    int rows = run("update tenant '" + tenant.id() + "'", c -> {
      try (PreparedStatement ps = c.prepareStatement("UPDATE " + TENANTS_TABLE
          + " SET replication_factor = ?, default_consistency = ?, max_value_bytes = ?,"
          + " max_requests_per_second = ?, updated_at = ? WHERE tenant_id = ?")) {
        bindSettings(ps, 1, tenant);
        ps.setObject(5, now);
        ps.setString(6, tenant.id());
        return ps.executeUpdate();
      }
    });
    if (rows == 0) {
      throw new SynodException(ErrorCode.NOT_FOUND, "tenant_id", "no tenant '" + tenant.id()
          + "' to update; create it first");
    }
    return tenant;
  }

  @Override
  public Optional<Tenant> get(String tenantId) {
    Tenant.checkId("tenant_id", tenantId);
    return run("read tenant '" + tenantId + "'", c -> {
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT " + TENANT_COLUMNS + " FROM " + TENANTS_TABLE + " WHERE tenant_id = ?")) {
        ps.setString(1, tenantId);
        try (ResultSet rs = ps.executeQuery()) {
          return rs.next() ? Optional.of(tenant(rs)) : Optional.<Tenant>empty();
        }
      }
    });
  }

  @Override
  public List<Tenant> list() {
    List<Tenant> tenants = run("list tenants", c -> {
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT " + TENANT_COLUMNS + " FROM " + TENANTS_TABLE + " ORDER BY tenant_id");
          ResultSet rs = ps.executeQuery()) {
        List<Tenant> out = new ArrayList<>();
        while (rs.next()) {
          out.add(tenant(rs));
        }
        return out;
      }
    });
    tenants.sort(Comparator.comparing(Tenant::id));
    return List.copyOf(tenants);
  }

  @Override
  public boolean delete(String tenantId) {
    Tenant.checkId("tenant_id", tenantId);
    return run("delete tenant '" + tenantId + "'", c -> {
      try (PreparedStatement ps = c.prepareStatement(
          "DELETE FROM " + TENANTS_TABLE + " WHERE tenant_id = ?")) {
        ps.setString(1, tenantId);
        return ps.executeUpdate() > 0;
      }
    });
  }

  @Override
  public List<NodeRecord> nodes() {
    List<NodeRecord> nodes = run("list storage nodes", c -> {
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT node_id, address, state, tokens FROM " + NODES_TABLE + " ORDER BY node_id");
          ResultSet rs = ps.executeQuery()) {
        List<NodeRecord> out = new ArrayList<>();
        while (rs.next()) {
          out.add(node(rs));
        }
        return out;
      }
    });
    nodes.sort(Comparator.comparing(NodeRecord::id));
    return List.copyOf(nodes);
  }

  /**
   * Update, else insert; an insert that loses to a concurrent insert of the same id updates
   * instead (the last writer's address and state stay). Portable, unlike upsert syntax.
   */
  @Override
  public void putNode(NodeRecord node) {
    Objects.requireNonNull(node, "node");
    if (updateNode(node)) {
      return;
    }
    boolean inserted = insert("add storage node '" + node.id() + "'", c -> {
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + NODES_TABLE
          + " (node_id, address, state, tokens, added_at) VALUES (?, ?, ?, ?, ?)")) {
        ps.setString(1, node.id());
        ps.setString(2, node.address());
        ps.setString(3, node.state());
        ps.setString(4, node.tokens());
        ps.setObject(5, now());
        ps.executeUpdate();
      }
    });
    if (!inserted && !updateNode(node)) {
      throw new SynodException(ErrorCode.ABORTED, "node_id", "storage node '" + node.id()
          + "' was added and removed by others while it was being put; try again");
    }
  }

  private boolean updateNode(NodeRecord node) {
    return run("update storage node '" + node.id() + "'", c -> {
      try (PreparedStatement ps = c.prepareStatement(
          "UPDATE " + NODES_TABLE + " SET address = ?, state = ?, tokens = ? WHERE node_id = ?")) {
        ps.setString(1, node.address());
        ps.setString(2, node.state());
        ps.setString(3, node.tokens());
        ps.setString(4, node.id());
        return ps.executeUpdate() > 0;
      }
    });
  }

  @Override
  public boolean removeNode(String nodeId) {
    Tenant.checkId("node_id", nodeId);
    return run("remove storage node '" + nodeId + "'", c -> {
      try (PreparedStatement ps = c.prepareStatement(
          "DELETE FROM " + NODES_TABLE + " WHERE node_id = ?")) {
        ps.setString(1, nodeId);
        return ps.executeUpdate() > 0;
      }
    });
  }

  @Override
  public void close() {
    if (ownedPool != null) {
      ownedPool.close();
    }
  }

  private static void bindSettings(PreparedStatement ps, int first, Tenant t)
      throws SQLException {
    ps.setInt(first, t.replicationFactor());
    ps.setString(first + 1, t.defaultConsistency().wireName());
    ps.setInt(first + 2, t.maxValueBytes());
    ps.setInt(first + 3, t.maxRequestsPerSecond());
  }

  /** A row as a tenant; a row the {@link Tenant} rules refuse was not written by this store. */
  private static Tenant tenant(ResultSet rs) throws SQLException {
    String id = rs.getString(1);
    try {
      return new Tenant(id, rs.getInt(2), Consistency.fromWire("default_consistency",
          rs.getString(3)), rs.getInt(4), rs.getInt(5));
    } catch (SynodException | NullPointerException e) {
      throw new SynodException(ErrorCode.INTERNAL, "row of tenant '" + id + "' in "
          + TENANTS_TABLE + " is malformed (" + e.getMessage() + "); fix or delete it", e);
    }
  }

  private static NodeRecord node(ResultSet rs) throws SQLException {
    String id = rs.getString(1);
    try {
      return new NodeRecord(id, rs.getString(2), rs.getString(3), rs.getString(4));
    } catch (SynodException e) {
      throw new SynodException(ErrorCode.INTERNAL, "row of storage node '" + id + "' in "
          + NODES_TABLE + " is malformed (" + e.getMessage() + "); fix or delete it", e);
    }
  }

  private OffsetDateTime now() {
    return OffsetDateTime.ofInstant(clock.instant(), ZoneOffset.UTC);
  }

  /** Work on one connection. */
  @FunctionalInterface
  private interface SqlWork<T> {
    T run(Connection c) throws SQLException;
  }

  /** An insert on one connection. */
  @FunctionalInterface
  private interface SqlInsert {
    void run(Connection c) throws SQLException;
  }

  /** Runs {@code work}; failures become UNAVAILABLE. */
  private <T> T run(String what, SqlWork<T> work) {
    try (Connection c = dataSource.getConnection()) {
      return work.run(c);
    } catch (SQLException e) {
      throw unavailable(what, e);
    }
  }

  /** Runs {@code insert}; false if the row's key was taken, other failures UNAVAILABLE. */
  private boolean insert(String what, SqlInsert insert) {
    try (Connection c = dataSource.getConnection()) {
      insert.run(c);
      return true;
    } catch (SQLException e) {
      if (DUPLICATE_KEY.equals(e.getSQLState())) {
        return false;
      }
      throw unavailable(what, e);
    }
  }

  private static SynodException unavailable(String what, SQLException e) {
    return new SynodException(ErrorCode.UNAVAILABLE, "tenant store could not " + what + ": "
        + e.getMessage() + " (SQLSTATE " + e.getSQLState() + "); retry when the database is"
        + " reachable", e);
  }
}
