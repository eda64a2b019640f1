package io.synod.engine.participant;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;

/**
 * An H2 (2.3) store, through its two-phase commit: autocommit off, the operations, {@code PREPARE
 * COMMIT "gid"}; then {@code COMMIT} or {@code ROLLBACK} on that same session, which is held until
 * the decision (see {@link JdbcParticipant}).
 *
 * <p>When that session ends without a decision (the participant closes, the process dies, the
 * database is shut down), the prepared transaction survives in the database file. H2 lists it in
 * {@code INFORMATION_SCHEMA.IN_DOUBT}, also while the database stays open, and any session resolves
 * it with {@code COMMIT TRANSACTION "gid"} or {@code ROLLBACK TRANSACTION "gid"}; an unknown name
 * fails with error 90129, which means resolved already.
 *
 * <p>H2 behaviour this relies on, checked against 2.3.232: names are case-folded to upper case
 * unless quoted, so they are always quoted; a prepared transaction that wrote nothing is not listed
 * in IN_DOUBT (there is nothing to resolve after a crash); H2 does not refuse a second prepared
 * transaction under a name already in use, so this participant refuses a gid it holds. Needs a file
 * database for prepared transactions to outlive the process.
 */
public final class H2Participant extends JdbcParticipant {
  private static final int TRANSACTION_NOT_FOUND = 90129;

  /**
   * @param dataSource connections in autocommit mode; closed with the participant
   */
  public H2Participant(String name, DataSource dataSource) {
    super(name, dataSource);
  }

  /**
   * A participant with its own HikariCP pool of at most {@code maxPoolSize} connections, e.g. on
   * {@code jdbc:h2:file:/var/lib/synod/store}.
   */
  public static H2Participant create(
      String name, String jdbcUrl, String user, String password, int maxPoolSize) {
    String url = JdbcSupport.durableH2Url(jdbcUrl);
    return new H2Participant(name, JdbcSupport.pool(name, url, user, password, maxPoolSize));
  }

  @Override
  void prepareLocal(Connection c, String gid, int timeoutSeconds) throws SQLException {
    execute(c, "PREPARE COMMIT \"" + gid + "\"", timeoutSeconds);
  }

  @Override
  boolean preparedStaysOnSession() {
    return true;
  }

  @Override
  void resolveOnSession(Connection c, String gid, Outcome outcome) throws SQLException {
    if (outcome == Outcome.COMMIT) {
      c.commit();
    } else {
      c.rollback();
    }
  }

  @Override
  void resolveDetached(Connection c, String gid, Outcome outcome) throws SQLException {
    String verb = outcome == Outcome.COMMIT ? "COMMIT TRANSACTION \"" : "ROLLBACK TRANSACTION \"";
    try {
      execute(c, verb + gid + "\"", RESOLVE_TIMEOUT_SECONDS);
    } catch (SQLException e) {
      if (e.getErrorCode() != TRANSACTION_NOT_FOUND) {
        throw e;
      }
      // Not in doubt: resolved already.
    }
  }

  @Override
  List<String> listPrepared(Connection c, String prefix) throws SQLException {
    List<String> gids = new ArrayList<>();
    try (Statement s = c.createStatement()) {
      s.setQueryTimeout(RESOLVE_TIMEOUT_SECONDS);
      try (ResultSet rs =
          s.executeQuery("SELECT TRANSACTION_NAME FROM INFORMATION_SCHEMA.IN_DOUBT")) {
        while (rs.next()) {
          gids.add(rs.getString(1));
        }
      }
    }
    return gids;
  }
}
