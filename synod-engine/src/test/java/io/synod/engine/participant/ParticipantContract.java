package io.synod.engine.participant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.synod.api.SqlOperation;
import io.synod.api.spi.AbortReason;
import io.synod.api.spi.Participant;
import io.synod.api.spi.Vote;
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What every {@link Participant} on a real store must do, run once per store by the {@code *IT}
 * subclasses. Each test gets its own gid prefix (MariaDB's XA RECOVER is server-wide) and a fresh
 * {@code accounts} table holding one row, id 100.
 *
 * <p>Visibility is always checked on a fresh connection: H2 may answer a repeated query on one
 * session from a result cache that an in-doubt commit does not invalidate.
 */
@Timeout(30)
abstract class ParticipantContract {
  static final Duration TIMEOUT = Duration.ofSeconds(5);
  static final Duration SHORT_TIMEOUT = Duration.ofSeconds(1);
  private static final AtomicInteger TESTS = new AtomicInteger();

  /** The participant under test, pool of 4. */
  Participant participant;

  /** This test's gid prefix; ends in '_' so that an unescaped LIKE would match too much. */
  String prefix;

  private final List<Participant> opened = new ArrayList<>();

  /** The store's name in abort messages. */
  abstract String storeName();

  /** A new participant, with its own pool, on this test's store. */
  abstract Participant createParticipant(int maxPoolSize);

  /** A plain connection to this test's store, in autocommit mode. */
  abstract Connection connect() throws SQLException;

  /** Ends the participant as a crash would; prepared transactions must stay in the store. */
  void crash(Participant p) throws Exception {
    p.close();
  }

  @BeforeEach
  void createTableAndParticipant() throws Exception {
    prefix = "t" + TESTS.incrementAndGet() + "_";
    try (Connection c = connect();
        Statement s = c.createStatement()) {
      s.execute("DROP TABLE IF EXISTS accounts");
      s.execute(
          "CREATE TABLE accounts (id BIGINT PRIMARY KEY, owner VARCHAR(100),"
              + " balance DECIMAL(19,2), note VARCHAR(100), active BOOLEAN)");
      s.execute("INSERT INTO accounts (id, owner, balance) VALUES (100, 'seed', 10.00)");
    }
    participant = open(4);
  }

  @AfterEach
  void rollBackLeftoversAndClose() throws Exception {
    for (Participant p : opened) {
      p.close();
    }
    try (Participant cleaner = createParticipant(1)) {
      for (String gid : cleaner.inDoubt(prefix)) {
        cleaner.rollback(gid);
      }
    }
  }

  Participant open(int maxPoolSize) {
    Participant p = createParticipant(maxPoolSize);
    opened.add(p);
    return p;
  }

  String gid(String suffix) {
    return prefix + suffix;
  }

  SqlOperation op(String sql, Object... params) {
    return new SqlOperation(storeName(), sql, Arrays.asList(params));
  }

  SqlOperation insert(long id) {
    return op(
        "INSERT INTO accounts (id, owner, balance) VALUES (?, ?, ?)", id, "o" + id, BigDecimal.ONE);
  }

  // ---- prepare, commit, rollback --------------------------------------------------------------

  @Test
  void preparedWriteIsInvisibleUntilCommitted() throws Exception {
    String gid = gid("commit");

    assertThat(participant.prepare(gid, List.of(insert(1)), TIMEOUT)).isEqualTo(Vote.commit());
    assertThat(count("id = 1")).isZero();

    participant.commit(gid);
    assertThat(count("id = 1")).isOne();
    assertThat(participant.inDoubt(prefix)).isEmpty();
  }

  @Test
  void rolledBackPreparedTransactionLeavesNothing() throws Exception {
    String gid = gid("rollback");
    List<SqlOperation> ops =
        List.of(insert(1), op("UPDATE accounts SET balance = balance + 5 WHERE id = ?", 100L));

    assertThat(participant.prepare(gid, ops, TIMEOUT)).isEqualTo(Vote.commit());
    participant.rollback(gid);

    assertThat(count("id = 1")).isZero();
    assertThat(balanceOf(100)).isEqualByComparingTo("10.00");
    assertThat(participant.inDoubt(prefix)).isEmpty();
  }

  @Test
  void emptyTransactionPreparesAndCommits() throws Exception {
    String gid = gid("empty");

    assertThat(participant.prepare(gid, List.of(), TIMEOUT)).isEqualTo(Vote.commit());
    participant.commit(gid);

    assertThat(participant.inDoubt(prefix)).isEmpty();
  }

  @Test
  void inDoubtListsPreparedGidsWithThePrefixOnly() throws Exception {
    String mine = gid("a");
    // Matches prefix + '%' if '_' were left a LIKE wildcard.
    String other = prefix.substring(0, prefix.length() - 1) + "X" + "b";

    assertThat(participant.prepare(mine, List.of(insert(1)), TIMEOUT)).isEqualTo(Vote.commit());
    assertThat(participant.prepare(other, List.of(insert(2)), TIMEOUT)).isEqualTo(Vote.commit());
    try {
      assertThat(participant.inDoubt(prefix)).containsExactly(mine);
      assertThat(participant.inDoubt(other)).containsExactly(other);
      assertThat(participant.inDoubt(prefix + "zzz")).isEmpty();
    } finally {
      participant.rollback(other);
    }
    participant.commit(mine);
    assertThat(participant.inDoubt(prefix)).isEmpty();
  }

  @Test
  void commitAndRollbackAreIdempotent() throws Exception {
    String committed = gid("c");
    String rolledBack = gid("r");
    assertThat(participant.prepare(committed, List.of(insert(1)), TIMEOUT))
        .isEqualTo(Vote.commit());
    assertThat(participant.prepare(rolledBack, List.of(insert(2)), TIMEOUT))
        .isEqualTo(Vote.commit());

    participant.commit(committed);
    participant.commit(committed);
    participant.rollback(rolledBack);
    participant.rollback(rolledBack);
    participant.commit(gid("unknown"));
    participant.rollback(gid("unknown"));

    assertThat(count("id = 1")).isOne();
    assertThat(count("id = 2")).isZero();
  }

  @Test
  void invalidGidIsRefusedBeforeReachingTheStore() {
    assertThatThrownBy(() -> participant.prepare("x'; DROP TABLE accounts; --", List.of(), TIMEOUT))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> participant.commit("a b"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> participant.inDoubt("%")).isInstanceOf(IllegalArgumentException.class);
  }

  // ---- abort votes ----------------------------------------------------------------------------

  @Test
  void constraintViolationAbortsAndLeavesNothing() throws Exception {
    String gid = gid("dup");
    List<SqlOperation> ops = List.of(insert(1), insert(100));

    Vote vote = participant.prepare(gid, ops, TIMEOUT);

    assertThat(vote)
        .isInstanceOfSatisfying(
            Vote.Abort.class,
            abort -> {
              assertThat(abort.reason()).isEqualTo(AbortReason.CONSTRAINT_VIOLATION);
              assertThat(abort.message())
                  .startsWith("operations[1] on store '" + storeName() + "': ");
            });
    assertNothingLeftOf(gid);
    assertThat(count("id = 1")).isZero();
  }

  @Test
  void syntaxErrorIsInvalidOperation() throws Exception {
    String gid = gid("syntax");
    List<SqlOperation> ops = List.of(insert(1), op("INSRT INTO accounts VALUES (?)", 5L));

    Vote vote = participant.prepare(gid, ops, TIMEOUT);

    assertAbort(vote, AbortReason.INVALID_OPERATION, "operations[1]");
    assertNothingLeftOf(gid);
  }

  /**
   * A missing parameter is refused by every driver. Surplus parameters are not: MariaDB Connector/J
   * 3.5 ignores them, PostgreSQL and H2 refuse them.
   */
  @Test
  void unknownTableAndMissingParameterAreInvalidOperations() throws Exception {
    Vote noTable =
        participant.prepare(
            gid("t"), List.of(op("INSERT INTO no_such_table VALUES (?)", 1L)), TIMEOUT);
    Vote missingParam =
        participant.prepare(
            gid("p"), List.of(op("INSERT INTO accounts (id, owner) VALUES (?, ?)", 1L)), TIMEOUT);

    assertAbort(noTable, AbortReason.INVALID_OPERATION, "operations[0]");
    assertAbort(missingParam, AbortReason.INVALID_OPERATION, "operations[0]");
    assertNothingLeftOf(gid("t"));
    assertNothingLeftOf(gid("p"));
  }

  @Test
  void lockTimeoutAbortsAndLeavesNothing() throws Exception {
    String gid = gid("lock");
    try (Connection locker = connect()) {
      locker.setAutoCommit(false);
      update(locker, "UPDATE accounts SET note = 'locked' WHERE id = 100");

      Vote vote =
          participant.prepare(
              gid,
              List.of(
                  insert(1),
                  op("UPDATE accounts SET balance = ? WHERE id = ?", BigDecimal.TEN, 100L)),
              SHORT_TIMEOUT);

      assertThat(vote)
          .isInstanceOfSatisfying(
              Vote.Abort.class,
              abort -> {
                assertThat(abort.reason()).isIn(AbortReason.LOCK_TIMEOUT, AbortReason.CONFLICT);
                assertThat(abort.message())
                    .startsWith("operations[1] on store '" + storeName() + "': ");
              });
      locker.rollback();
    }
    assertNothingLeftOf(gid);
    assertThat(count("id = 1")).isZero();
    assertThat(balanceOf(100)).isEqualByComparingTo("10.00");
  }

  @Test
  void abortedTransactionsLeaveTheConnectionCleanForTheNext() throws Exception {
    Participant single = open(1); // every transaction reuses the one pooled connection
    try (Connection locker = connect()) {
      locker.setAutoCommit(false);
      update(locker, "UPDATE accounts SET note = 'locked' WHERE id = 100");
      Vote timedOut =
          single.prepare(
              gid("lock"), List.of(op("DELETE FROM accounts WHERE id = ?", 100L)), SHORT_TIMEOUT);
      assertThat(timedOut).isInstanceOf(Vote.Abort.class);
      locker.rollback();
    }
    assertThat(single.prepare(gid("dup"), List.of(insert(100)), TIMEOUT))
        .isInstanceOf(Vote.Abort.class);
    assertThat(single.prepare(gid("bad"), List.of(op("NONSENSE")), TIMEOUT))
        .isInstanceOf(Vote.Abort.class);

    assertThat(single.prepare(gid("ok"), List.of(insert(1)), TIMEOUT)).isEqualTo(Vote.commit());
    single.commit(gid("ok"));

    assertThat(count("id = 1")).isOne();
    assertThat(count("id = 100")).isOne();
    assertThat(single.inDoubt(prefix)).isEmpty();
  }

  // ---- recovery -------------------------------------------------------------------------------

  @Test
  void preparedTransactionSurvivesTheParticipantAndANewOneCommitsIt() throws Exception {
    String gid = gid("survivor");
    Participant first = open(2);
    assertThat(first.prepare(gid, List.of(insert(1)), TIMEOUT)).isEqualTo(Vote.commit());

    crash(first);
    Participant second = open(2);

    assertThat(second.inDoubt(prefix)).containsExactly(gid);
    assertThat(count("id = 1")).isZero();
    second.commit(gid);
    assertThat(count("id = 1")).isOne();
    assertThat(second.inDoubt(prefix)).isEmpty();
    second.commit(gid);
  }

  // ---- parameters -----------------------------------------------------------------------------

  @Test
  void parametersOfSeveralTypesAreBoundNotPasted() throws Exception {
    String gid = gid("types");
    String hostile = "O'Brien'); DROP TABLE accounts; --";
    SqlOperation insert =
        op(
            "INSERT INTO accounts (id, owner, balance, note, active) VALUES (?, ?, ?, ?, ?)",
            7L,
            hostile,
            new BigDecimal("1234.56"),
            null,
            true);
    SqlOperation update =
        op("UPDATE accounts SET active = ?, note = ? WHERE id = ?", false, null, 100L);

    assertThat(participant.prepare(gid, List.of(insert, update), TIMEOUT)).isEqualTo(Vote.commit());
    participant.commit(gid);

    try (Connection c = connect();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery("SELECT id, owner, balance, note, active FROM accounts ORDER BY id")) {
      assertThat(rs.next()).isTrue();
      assertThat(rs.getLong("id")).isEqualTo(7L);
      assertThat(rs.getString("owner")).isEqualTo(hostile);
      assertThat(rs.getBigDecimal("balance")).isEqualByComparingTo("1234.56");
      assertThat(rs.getString("note")).isNull();
      assertThat(rs.getBoolean("active")).isTrue();
      assertThat(rs.next()).isTrue();
      assertThat(rs.getLong("id")).isEqualTo(100L);
      assertThat(rs.getBoolean("active")).isFalse();
      assertThat(rs.wasNull()).isFalse();
    }
  }

  @Test
  void timeValuesAreBound() throws Exception {
    String gid = gid("time");
    try (Connection c = connect();
        Statement s = c.createStatement()) {
      s.execute(
          "CREATE TABLE IF NOT EXISTS events"
              + " (id BIGINT PRIMARY KEY, happened_on DATE, seen_at TIMESTAMP)");
      s.execute("DELETE FROM events");
    }
    LocalDate day = LocalDate.of(2024, 2, 29);
    SqlOperation insert =
        op(
            "INSERT INTO events (id, happened_on, seen_at) VALUES (?, ?, ?)",
            1L,
            day,
            Instant.now());

    assertThat(participant.prepare(gid, List.of(insert), TIMEOUT)).isEqualTo(Vote.commit());
    participant.commit(gid);

    try (Connection c = connect();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT happened_on, seen_at FROM events WHERE id = 1")) {
      assertThat(rs.next()).isTrue();
      assertThat(rs.getObject("happened_on", LocalDate.class)).isEqualTo(day);
      assertThat(rs.getTimestamp("seen_at")).isNotNull();
    }
  }

  // ---- helpers --------------------------------------------------------------------------------

  void assertAbort(Vote vote, AbortReason reason, String step) {
    assertThat(vote)
        .isInstanceOfSatisfying(
            Vote.Abort.class,
            abort -> {
              assertThat(abort.reason()).isEqualTo(reason);
              assertThat(abort.message()).startsWith(step + " on store '" + storeName() + "': ");
            });
  }

  /** Nothing prepared under the gid, and no lock left behind on the table. */
  void assertNothingLeftOf(String gid) throws Exception {
    assertThat(participant.inDoubt(prefix)).doesNotContain(gid);
    try (Connection c = connect()) {
      c.setAutoCommit(false);
      try (PreparedStatement ps =
          c.prepareStatement("UPDATE accounts SET note = ? WHERE id = 100")) {
        ps.setQueryTimeout(5);
        ps.setString(1, "probe");
        assertThat(ps.executeUpdate()).isOne();
      }
      c.rollback();
    }
  }

  long count(String where) throws SQLException {
    try (Connection c = connect();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM accounts WHERE " + where)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  BigDecimal balanceOf(long id) throws SQLException {
    try (Connection c = connect();
        PreparedStatement ps = c.prepareStatement("SELECT balance FROM accounts WHERE id = ?")) {
      ps.setLong(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        assertThat(rs.next()).isTrue();
        return rs.getBigDecimal(1);
      }
    }
  }

  static void update(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.executeUpdate(sql);
    }
  }
}
