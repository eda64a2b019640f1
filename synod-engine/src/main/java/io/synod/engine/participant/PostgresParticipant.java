package io.synod.engine.participant;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;

/**
 * A PostgreSQL store, through its prepared transactions: {@code BEGIN}, the operations, {@code
 * PREPARE TRANSACTION 'gid'}; then {@code COMMIT PREPARED} or {@code ROLLBACK PREPARED} from any
 * session. The server needs {@code max_prepared_transactions} above 0 (it is 0 by default, and then
 * every prepare fails). A prepared transaction belongs to its database, so the in-doubt list is
 * that of the database the pool connects to.
 */
public final class PostgresParticipant extends JdbcParticipant {
  private static final String UNDEFINED_OBJECT = "42704";

  /**
   * @param dataSource connections in autocommit mode (the participant sends {@code BEGIN} itself);
   *     closed with the participant
   */
  public PostgresParticipant(String name, DataSource dataSource) {
    super(name, dataSource);
  }

  /** A participant with its own HikariCP pool of at most {@code maxPoolSize} connections. */
  public static PostgresParticipant create(
      String name, String jdbcUrl, String user, String password, int maxPoolSize) {
    return new PostgresParticipant(name, pool(name, jdbcUrl, user, password, maxPoolSize));
  }

  @Override
  void prepareLocal(Connection c, String gid, int timeoutSeconds) throws SQLException {
    // If PREPARE TRANSACTION fails, PostgreSQL rolls the transaction back.
    execute(c, "PREPARE TRANSACTION '" + gid + "'", timeoutSeconds);
  }

  @Override
  boolean preparedStaysOnSession() {
    return false;
  }

  @Override
  void resolveDetached(Connection c, String gid, Outcome outcome) throws SQLException {
    String verb = outcome == Outcome.COMMIT ? "COMMIT PREPARED '" : "ROLLBACK PREPARED '";
    try {
      execute(c, verb + gid + "'", RESOLVE_TIMEOUT_SECONDS);
    } catch (SQLException e) {
      if (!UNDEFINED_OBJECT.equals(e.getSQLState())) {
        throw e;
      }
      // No such prepared transaction: resolved already.
    }
  }

  @Override
  List<String> listPrepared(Connection c, String prefix) throws SQLException {
    String sql =
        "SELECT gid FROM pg_prepared_xacts WHERE database = current_database() AND gid LIKE ?";
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setQueryTimeout(RESOLVE_TIMEOUT_SECONDS);
      // '_' is a LIKE wildcard and may be in a gid; backslash is PostgreSQL's default LIKE escape.
      ps.setString(1, prefix.replace("_", "\\_") + "%");
      List<String> gids = new ArrayList<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          gids.add(rs.getString(1));
        }
      }
      return gids;
    }
  }
}
