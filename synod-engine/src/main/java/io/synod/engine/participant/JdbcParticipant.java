package io.synod.engine.participant;

import com.zaxxer.hikari.HikariDataSource;
import io.synod.api.SqlOperation;
import io.synod.api.spi.AbortReason;
import io.synod.api.spi.Participant;
import io.synod.api.spi.ParticipantException;
import io.synod.api.spi.Vote;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A participant that takes part in two-phase commit through a JDBC store's own prepared
 * transactions. The subclasses only say which SQL their store speaks.
 *
 * <h2>Contract (see {@link Participant})</h2>
 *
 * <ul>
 *   <li>{@link #prepare} runs the operations, each a {@link PreparedStatement} with its parameters
 *       bound (never formatted into the SQL) and the prepare timeout as query timeout, then
 *       prepares the local transaction under the gid. Every store failure becomes an abort vote
 *       whose reason comes from {@link AbortClassifier} and whose message names the failing {@code
 *       operations[i]} of this participant's list and the store. Before the vote is returned the
 *       local transaction is rolled back and the connection is either clean and back in the pool or
 *       closed and evicted from it, so nothing of an aborted transaction remains.
 *   <li>{@link #commit} and {@link #rollback} are idempotent: a gid the store does not know has
 *       been resolved already. They throw {@link ParticipantException} only when the store could
 *       not do it (unreachable, or the transaction is still bound to another live session); the
 *       coordinator retries.
 *   <li>{@link #inDoubt} lists the store's prepared transactions whose gid has the prefix.
 *   <li>{@link #close} closes the data source. Prepared transactions stay in the store for recovery
 *       by the next participant on it.
 * </ul>
 *
 * <h2>Per-store SQL</h2>
 *
 * <pre>
 * (g = gid)    PostgreSQL                MariaDB / MySQL              H2 2.3
 * begin        autocommit off            XA START 'g'                 autocommit off
 * prepare      PREPARE TRANSACTION 'g'   XA END 'g'; XA PREPARE 'g'   PREPARE COMMIT "g"
 * on failure   ROLLBACK                  XA END 'g'; XA ROLLBACK 'g'  ROLLBACK
 * after vote   connection to the pool    connection held              connection held
 * commit       COMMIT PREPARED 'g'       XA COMMIT 'g'                held: COMMIT, else
 *                                                                     COMMIT TRANSACTION "g"
 * rollback     ROLLBACK PREPARED 'g'     XA ROLLBACK 'g'              held: ROLLBACK, else
 *                                                                     ROLLBACK TRANSACTION "g"
 * unknown gid  SQLSTATE 42704            error 1397 XAER_NOTA         error 90129
 * in doubt     pg_prepared_xacts         XA RECOVER                   INFORMATION_SCHEMA.IN_DOUBT
 * </pre>
 *
 * <h2>Held connections</h2>
 *
 * <p>In MariaDB and H2 a prepared transaction stays bound to the session that prepared it: that
 * session can do nothing else until it commits or rolls back, and MariaDB refuses {@code XA COMMIT}
 * from any other session ({@code XAER_NOTA}) while it lives. So for those stores the connection is
 * taken out of the pool at prepare and kept, by gid, until commit or rollback, which then run on
 * it. Each undecided transaction therefore holds one pooled connection: size the pool for the
 * transactions undecided at once plus those preparing. When the session ends (close, crash, a
 * failed commit) the prepared transaction is detached: it survives in the store and any session
 * resolves it by gid. PostgreSQL detaches at {@code PREPARE TRANSACTION}, so its connection goes
 * straight back to the pool.
 *
 * <p>Gids are written into SQL text, where they cannot be bind parameters; {@link Gids} lets only
 * ASCII letters, digits, '_' and '-' through.
 */
abstract class JdbcParticipant implements Participant {
  private static final Logger LOG = LoggerFactory.getLogger(JdbcParticipant.class);

  /** Query timeout of commit, rollback and in-doubt statements, which have no caller's timeout. */
  static final int RESOLVE_TIMEOUT_SECONDS = 30;

  /** What the coordinator decided about a prepared transaction. */
  enum Outcome {
    COMMIT,
    ROLLBACK;

    String verb() {
      return this == COMMIT ? "commit" : "rollback";
    }
  }

  private final String name;
  private final DataSource dataSource;
  private final ConcurrentMap<String, Connection> held = new ConcurrentHashMap<>();
  private volatile boolean closed;

  /**
   * @param name the store's configured name, used in abort messages and logs
   * @param dataSource connections to the store, in autocommit mode; the participant closes it on
   *     {@link #close} if it can be closed
   */
  JdbcParticipant(String name, DataSource dataSource) {
    this.name = Objects.requireNonNull(name, "name");
    this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
    if (name.isBlank()) {
      throw new IllegalArgumentException("participant name must not be blank");
    }
  }

  /** A pooled connection that the driver finds valid within the timeout. */
  @Override
  public void ping(Duration timeout) throws ParticipantException {
    int seconds = (int) Math.max(1, Math.min(Integer.MAX_VALUE, timeout.toSeconds()));
    try (Connection c = dataSource.getConnection()) {
      if (!c.isValid(seconds)) {
        throw new ParticipantException("store '" + name() + "' did not answer within " + timeout,
            null);
      }
    } catch (SQLException e) {
      throw new ParticipantException("store '" + name() + "' is unreachable: " + e.getMessage(), e);
    }
  }

  // ---- what each store says -------------------------------------------------------------------

  /**
   * Starts the local transaction of {@code gid} on {@code c}. By default: autocommit off, which
   * sends nothing (the driver sends BEGIN with the first operation); the pool turns autocommit
   * back on when the connection returns.
   */
  void begin(Connection c, String gid, int timeoutSeconds) throws SQLException {
    c.setAutoCommit(false);
  }

  /** Ends the local transaction and prepares it, durably, under {@code gid}. */
  abstract void prepareLocal(Connection c, String gid, int timeoutSeconds) throws SQLException;

  /**
   * Whether this store sends the last operation and the prepare in one round trip ({@link
   * #runLastAndPrepare}) rather than one after the other.
   */
  boolean pipelinesPrepare() {
    return false;
  }

  /**
   * Runs the last operation and prepares, in one round trip; only for stores that {@link
   * #pipelinesPrepare}. It must throw unless the transaction is certainly prepared.
   */
  void runLastAndPrepare(Connection c, SqlOperation last, String gid, int timeoutSeconds)
      throws SQLException {
    throw new IllegalStateException("store '" + name + "' does not pipeline its prepare");
  }

  /**
   * After a failure before the prepare succeeded: rolls back whatever {@link #begin} started.
   *
   * @param begun whether {@link #begin} succeeded
   * @return whether {@code c} is clean and may go back to the pool; false has it closed instead
   */
  boolean rollbackLocal(Connection c, String gid, boolean begun) {
    try {
      // Sends nothing when no transaction is open, e.g. after a failed prepare.
      if (!c.getAutoCommit()) {
        c.rollback();
      }
      return true;
    } catch (SQLException e) {
      return false;
    }
  }

  /** Whether a prepared transaction stays bound to the session that prepared it. */
  abstract boolean preparedStaysOnSession();

  /** Resolves {@code gid} on the session that prepared it; for stores that hold sessions. */
  void resolveOnSession(Connection c, String gid, Outcome outcome) throws SQLException {
    throw new IllegalStateException("store '" + name + "' does not hold prepared sessions");
  }

  /** Resolves {@code gid} from any session; a gid the store does not know is resolved already. */
  abstract void resolveDetached(Connection c, String gid, Outcome outcome) throws SQLException;

  /** Gids of the store's prepared transactions, at least all of those starting with prefix. */
  abstract List<String> listPrepared(Connection c, String prefix) throws SQLException;

  // ---- Participant ----------------------------------------------------------------------------

  @Override
  public final String name() {
    return name;
  }

  @Override
  public final Vote prepare(String gid, List<SqlOperation> operations, Duration timeout) {
    Gids.requireGid(gid);
    Objects.requireNonNull(operations, "operations");
    Objects.requireNonNull(timeout, "timeout");
    int timeoutSeconds = JdbcSupport.timeoutSeconds(timeout);
    if (closed) {
      return Vote.abort(
          AbortReason.UNAVAILABLE, "prepare on store '" + name + "': participant closed");
    }
    if (held.containsKey(gid)) {
      return Vote.abort(
          AbortReason.INVALID_OPERATION,
          "prepare on store '" + name + "': gid " + gid + " is prepared here already");
    }
    Connection c;
    try {
      c = dataSource.getConnection();
    } catch (SQLException e) {
      return abortVote(gid, "connect", e);
    }
    return runAndPrepare(c, gid, operations, timeoutSeconds);
  }

  private Vote runAndPrepare(
      Connection c, String gid, List<SqlOperation> operations, int timeoutSeconds) {
    String step = "begin";
    boolean begun = false;
    boolean prepareSent = false;
    try {
      begin(c, gid, timeoutSeconds);
      begun = true;
      int last = operations.size() - 1;
      for (int i = 0; i < last; i++) {
        step = "operations[" + i + "]";
        run(c, operations.get(i), timeoutSeconds);
      }
      if (last >= 0 && pipelinesPrepare()) {
        // A failure is the operation's or the prepare's; the message names the operation.
        step = "operations[" + last + "]";
        prepareSent = true;
        runLastAndPrepare(c, operations.get(last), gid, timeoutSeconds);
      } else {
        if (last >= 0) {
          step = "operations[" + last + "]";
          run(c, operations.get(last), timeoutSeconds);
        }
        step = "prepare";
        prepareSent = true;
        prepareLocal(c, gid, timeoutSeconds);
      }
    } catch (SQLException | RuntimeException e) {
      return abandon(c, gid, begun, prepareSent, step, e);
    }
    keepOrRelease(c, gid);
    LOG.debug("prepared {} on store '{}' ({} operations)", gid, name, operations.size());
    return Vote.commit();
  }

  private Vote abandon(
      Connection c, String gid, boolean begun, boolean prepareSent, String step, Exception e) {
    if (rollbackLocal(c, gid, begun)) {
      closeQuietly(c);
    } else {
      LOG.warn("store '{}': connection not known clean after {} failed; closing it", name, gid);
      closePhysically(c);
    }
    Vote.Abort vote = abortVote(gid, step, e);
    if (prepareSent && vote.reason() == AbortReason.UNAVAILABLE) {
      // The connection broke during the prepare: the store may have prepared it all the same.
      rollbackQuietly(gid);
    }
    return vote;
  }

  private void keepOrRelease(Connection c, String gid) {
    if (!preparedStaysOnSession()) {
      closeQuietly(c);
      return;
    }
    held.put(gid, c);
    if (closed) {
      detachHeld(); // close() ran while this prepare did: do not leave the session behind
    }
  }

  private Vote.Abort abortVote(String gid, String step, Exception e) {
    Vote.Abort vote;
    if (e instanceof SQLException sql) {
      vote =
          new Vote.Abort(AbortClassifier.classify(sql), AbortClassifier.message(step, name, sql));
      // An outcome, not an error: the coordinator reports the vote; this is for tracing only.
      LOG.debug("store '{}' votes to abort {}: {} {}", name, gid, vote.reason(), vote.message());
    } else {
      // Not the store refusing: a driver or binding fault. Still an abort, but worth a trace.
      RuntimeException runtime = (RuntimeException) e;
      vote =
          new Vote.Abort(
              AbortReason.INVALID_OPERATION, AbortClassifier.message(step, name, runtime));
      LOG.warn("store '{}' votes to abort {}: {}", name, gid, vote.message(), runtime);
    }
    return vote;
  }

  @Override
  public final void commit(String gid) throws ParticipantException {
    resolve(gid, Outcome.COMMIT);
  }

  @Override
  public final void rollback(String gid) throws ParticipantException {
    resolve(gid, Outcome.ROLLBACK);
  }

  private void resolve(String gid, Outcome outcome) throws ParticipantException {
    Gids.requireGid(gid);
    Connection session = held.remove(gid);
    if (session != null) {
      resolveHeld(session, gid, outcome);
      return;
    }
    try (Connection c = dataSource.getConnection()) {
      resolveDetached(c, gid, outcome);
    } catch (SQLException e) {
      throw failure(outcome.verb() + " of " + gid, e);
    }
    LOG.debug("{} of {} done on store '{}'", outcome.verb(), gid, name);
  }

  private void resolveHeld(Connection session, String gid, Outcome outcome)
      throws ParticipantException {
    try {
      resolveOnSession(session, gid, outcome);
    } catch (SQLException e) {
      // Ending the session detaches the prepared transaction; the retry resolves it by gid.
      closePhysically(session);
      throw failure(outcome.verb() + " of " + gid, e);
    }
    closeQuietly(session);
    LOG.debug("{} of {} done on store '{}' (held session)", outcome.verb(), gid, name);
  }

  @Override
  public final List<String> inDoubt(String gidPrefix) throws ParticipantException {
    Gids.requirePrefix(gidPrefix);
    TreeSet<String> gids = new TreeSet<>();
    try (Connection c = dataSource.getConnection()) {
      for (String gid : listPrepared(c, gidPrefix)) {
        if (gid.startsWith(gidPrefix)) {
          gids.add(gid);
        }
      }
    } catch (SQLException e) {
      throw failure("listing prepared transactions", e);
    }
    // A held transaction that wrote nothing may not be listed by the store (H2), yet it is
    // prepared here and waits for a decision.
    for (String gid : held.keySet()) {
      if (gid.startsWith(gidPrefix)) {
        gids.add(gid);
      }
    }
    return List.copyOf(gids);
  }

  @Override
  public final void close() {
    closed = true;
    detachHeld();
    if (dataSource instanceof AutoCloseable closeable) {
      try {
        closeable.close();
      } catch (Exception e) {
        LOG.warn("store '{}': closing the connection pool failed: {}", name, e.toString());
      }
    }
  }

  private void detachHeld() {
    int detached = 0;
    for (String gid : List.copyOf(held.keySet())) {
      Connection session = held.remove(gid);
      if (session != null) {
        closePhysically(session);
        detached++;
      }
    }
    if (detached > 0) {
      LOG.warn(
          "store '{}' closed with {} prepared transactions undecided; they stay for recovery",
          name,
          detached);
    }
  }

  @Override
  public String toString() {
    return getClass().getSimpleName() + "[" + name + "]";
  }

  // ---- helpers for the subclasses -------------------------------------------------------------

  /** Runs a statement that has no parameters; a timeout of 0 means none. */
  static void execute(Connection c, String sql, int timeoutSeconds) throws SQLException {
    try (Statement s = c.createStatement()) {
      if (timeoutSeconds > 0) {
        s.setQueryTimeout(timeoutSeconds);
      }
      s.execute(sql);
    }
  }

  /** Runs a statement whose failure does not matter, e.g. cleanup before a rollback. */
  static void executeQuietly(Connection c, String sql) {
    try {
      execute(c, sql, RESOLVE_TIMEOUT_SECONDS);
    } catch (SQLException e) {
      LOG.debug("ignored failure of {}: {}", sql, e.getMessage());
    }
  }

  private static void run(Connection c, SqlOperation operation, int timeoutSeconds)
      throws SQLException {
    JdbcSupport.execute(c, operation.sql(), operation.params(), timeoutSeconds);
  }

  private ParticipantException failure(String what, SQLException e) {
    return new ParticipantException(
        what + " on store '" + name + "' failed: " + AbortClassifier.firstLine(e.getMessage()), e);
  }

  private void rollbackQuietly(String gid) {
    try {
      rollback(gid);
    } catch (ParticipantException | RuntimeException e) {
      LOG.warn("store '{}': {} may stay prepared until recovery: {}", name, gid, e.getMessage());
    }
  }

  private static void closeQuietly(Connection c) {
    try {
      c.close();
    } catch (SQLException e) {
      LOG.debug("ignored failure closing a connection: {}", e.getMessage());
    }
  }

  /**
   * Ends the session itself, without the pool's usual rollback on return, and drops the connection
   * from the pool. A prepared transaction on it stays in the store, detached; an unprepared one is
   * rolled back by the store.
   */
  private void closePhysically(Connection c) {
    try {
      Connection physical = c.unwrap(Connection.class);
      if (physical != c) {
        physical.close();
      }
    } catch (SQLException e) {
      LOG.debug("ignored failure closing a session: {}", e.getMessage());
    }
    if (dataSource instanceof HikariDataSource pool) {
      pool.evictConnection(c);
    } else {
      closeQuietly(c);
    }
  }
}
