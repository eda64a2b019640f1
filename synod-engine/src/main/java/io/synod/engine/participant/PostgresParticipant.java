package io.synod.engine.participant;

import io.synod.api.SqlOperation;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;
import org.postgresql.core.BaseConnection;
import org.postgresql.core.TransactionState;

/**
 * A PostgreSQL store, through its prepared transactions: {@code BEGIN}, the operations, {@code
 * PREPARE TRANSACTION 'gid'}; then {@code COMMIT PREPARED} or {@code ROLLBACK PREPARED} from any
 * session. The server needs {@code max_prepared_transactions} above 0 (it is 0 by default, and then
 * every prepare fails). A prepared transaction belongs to its database, so the in-doubt list is
 * that of the database the pool connects to.
 */
public final class PostgresParticipant extends JdbcParticipant {
  private static final String UNDEFINED_OBJECT = "42704";
  private static final String INVALID_TRANSACTION_STATE = "25000";
  private static final String NO_ACTIVE_TRANSACTION = "25P01";

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
    return new PostgresParticipant(
        name, JdbcSupport.pool(name, jdbcUrl, user, password, maxPoolSize));
  }

  @Override
  void prepareLocal(Connection c, String gid, int timeoutSeconds) throws SQLException {
    // If PREPARE TRANSACTION fails, PostgreSQL rolls the transaction back.
    execute(c, "PREPARE TRANSACTION '" + gid + "'", timeoutSeconds);
  }

  @Override
  boolean pipelinesPrepare() {
    return true;
  }

  /**
   * Sends the last operation and {@code PREPARE TRANSACTION} in one round trip: pgjdbc splits the
   * text at its top-level semicolons and sends every statement before one Sync, and PostgreSQL
   * stops at the first error. This saves a round trip per store on every transaction (one
   * operation and its prepare travel together, with the BEGIN that autocommit-off adds).
   *
   * <p>The operation's text cannot swallow the prepare unnoticed: the newline ends a trailing line
   * comment, and an unclosed quote or comment is a syntax error. What decides the vote is the
   * session's state afterwards: only a prepared transaction leaves it idle with the operation run.
   */
  @Override
  void runLastAndPrepare(Connection c, SqlOperation last, String gid, int timeoutSeconds)
      throws SQLException {
    String sql = last.sql() + "\n;PREPARE TRANSACTION '" + gid + "'";
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setQueryTimeout(timeoutSeconds);
      List<Object> params = last.params();
      for (int i = 0; i < params.size(); i++) {
        JdbcSupport.bind(ps, i + 1, params.get(i));
      }
      ps.execute();
      // PREPARE TRANSACTION outside a transaction only warns: the operation ended it itself.
      for (SQLWarning w = ps.getWarnings(); w != null; w = w.getNextWarning()) {
        if (NO_ACTIVE_TRANSACTION.equals(w.getSQLState())) {
          throw new SQLException("the operation ended its transaction before PREPARE TRANSACTION;"
              + " an operation's SQL must not contain transaction control", INVALID_TRANSACTION_STATE);
        }
      }
    }
    TransactionState state = c.unwrap(BaseConnection.class).getTransactionState();
    if (state != TransactionState.IDLE) {
      throw new SQLException("PREPARE TRANSACTION did not complete (session is " + state
          + "); the operation's SQL must be one statement without transaction control",
          INVALID_TRANSACTION_STATE);
    }
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
