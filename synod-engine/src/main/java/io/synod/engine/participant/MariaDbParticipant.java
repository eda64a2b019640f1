package io.synod.engine.participant;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import javax.sql.DataSource;

/**
 * A MariaDB (10.5 and later) or MySQL store, through XA: {@code XA START 'gid'}, the operations,
 * {@code XA END 'gid'}, {@code XA PREPARE 'gid'}; then {@code XA COMMIT} or {@code XA ROLLBACK}.
 *
 * <p>The prepared transaction stays bound to its session (which refuses any other statement) and
 * other sessions get {@code XAER_NOTA} for it until that session ends, even though {@code XA
 * RECOVER} lists it. So the session is held until the decision (see {@link JdbcParticipant}); and
 * {@code XAER_NOTA} means "resolved" only if {@code XA RECOVER} does not list the gid. A session
 * that just ended detaches its transaction a moment later, on the server's time: resolving then
 * waits a little for it.
 *
 * <p>Notes: {@code XA RECOVER} is server-wide, not per database, so two synod deployments on one
 * server need distinct gid prefixes; it needs the {@code XA_RECOVER_ADMIN} privilege on MariaDB
 * 10.5+. Only InnoDB tables take part in XA.
 */
public final class MariaDbParticipant extends JdbcParticipant {
  private static final int XAER_NOTA = 1397;

  /** XA RECOVER's formatID for xids written as {@code 'gtrid'}. */
  private static final int FORMAT_ID_DEFAULT = 1;

  /** How often, and how far apart, resolving retries a gid still bound to an ending session. */
  private static final int DETACH_ATTEMPTS_MAX = 10;

  private static final long DETACH_PAUSE_MS = 20;

  /**
   * @param dataSource connections in autocommit mode; closed with the participant
   */
  public MariaDbParticipant(String name, DataSource dataSource) {
    super(name, dataSource);
  }

  /** A participant with its own HikariCP pool of at most {@code maxPoolSize} connections. */
  public static MariaDbParticipant create(
      String name, String jdbcUrl, String user, String password, int maxPoolSize) {
    return new MariaDbParticipant(
        name, JdbcSupport.pool(name, jdbcUrl, user, password, maxPoolSize));
  }

  @Override
  void begin(Connection c, String gid, int timeoutSeconds) throws SQLException {
    execute(c, "XA START '" + gid + "'", timeoutSeconds);
  }

  @Override
  void prepareLocal(Connection c, String gid, int timeoutSeconds) throws SQLException {
    execute(c, "XA END '" + gid + "'", timeoutSeconds);
    execute(c, "XA PREPARE '" + gid + "'", timeoutSeconds);
  }

  @Override
  boolean rollbackLocal(Connection c, String gid, boolean begun) {
    if (!begun) {
      // XA START failed: the session's XA state is not known; do not return it to the pool. Never
      // XA ROLLBACK here: the gid may be another session's (XAER_DUPID).
      return false;
    }
    executeQuietly(c, "XA END '" + gid + "'"); // fails if it ended already, or after a deadlock
    try {
      execute(c, "XA ROLLBACK '" + gid + "'", RESOLVE_TIMEOUT_SECONDS);
      return true;
    } catch (SQLException e) {
      return false;
    }
  }

  @Override
  boolean preparedStaysOnSession() {
    return true;
  }

  @Override
  void resolveOnSession(Connection c, String gid, Outcome outcome) throws SQLException {
    execute(c, xa(outcome, gid), RESOLVE_TIMEOUT_SECONDS);
  }

  @Override
  void resolveDetached(Connection c, String gid, Outcome outcome) throws SQLException {
    for (int attempt = 1; ; attempt++) {
      try {
        execute(c, xa(outcome, gid), RESOLVE_TIMEOUT_SECONDS);
        return;
      } catch (SQLException e) {
        if (e.getErrorCode() != XAER_NOTA) {
          throw e;
        }
        if (!listPrepared(c, gid).contains(gid)) {
          return; // unknown and not prepared: resolved already
        }
        if (attempt == DETACH_ATTEMPTS_MAX) {
          throw new SQLException(
              "prepared transaction " + gid + " is still bound to a live session; retry later", e);
        }
        pause();
      }
    }
  }

  @Override
  List<String> listPrepared(Connection c, String prefix) throws SQLException {
    List<String> gids = new ArrayList<>();
    try (Statement s = c.createStatement()) {
      s.setQueryTimeout(RESOLVE_TIMEOUT_SECONDS);
      try (ResultSet rs = s.executeQuery("XA RECOVER")) {
        while (rs.next()) {
          int gtridLength = rs.getInt("gtrid_length");
          if (rs.getInt("formatID") != FORMAT_ID_DEFAULT || rs.getInt("bqual_length") != 0) {
            continue; // not an xid this participant writes
          }
          byte[] data = rs.getBytes("data");
          gids.add(new String(data, 0, gtridLength, StandardCharsets.US_ASCII));
        }
      }
    }
    return gids;
  }

  private static String xa(Outcome outcome, String gid) {
    return (outcome == Outcome.COMMIT ? "XA COMMIT '" : "XA ROLLBACK '") + gid + "'";
  }

  private static void pause() throws SQLException {
    try {
      Thread.sleep(DETACH_PAUSE_MS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SQLException("interrupted while waiting for a session to end", e);
    }
  }
}
