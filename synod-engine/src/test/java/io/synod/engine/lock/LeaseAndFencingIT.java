package io.synod.engine.lock;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.lock.Lock;
import io.synod.api.lock.LockLost;
import io.synod.api.lock.LockMode;
import io.synod.api.lock.LockSession;
import io.synod.engine.CoordinatorConfig;
import io.synod.engine.SynodNode;
import io.synod.engine.log.LogConfig;
import io.synod.engine.testing.TestDatabase;
import io.synod.engine.testing.TestPostgres;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A client that stops heartbeating loses its lock after its lease, is told so, and its late write
 * is refused by PostgreSQL through the fencing token, while the next holder's write goes in.
 */
class LeaseAndFencingIT {
  private static final String ROW = "pg/accounts/1";
  private static final Duration LEASE = Duration.ofSeconds(1);

  @TempDir Path dir;
  private SynodNode node;
  private TestDatabase db;
  private final PostgresFencing fencing = PostgresFencing.withDefaultTable();

  @BeforeEach
  void start() throws Exception {
    node = SynodNode.start(
        LogConfig.singleNode("leases", dir.resolve("log"), LogConfig.freeLoopbackPort()),
        CoordinatorConfig.DEFAULTS, LockConfig.DEFAULTS.withTick(Duration.ofMillis(50)), List.of());
    node.awaitLeadership(30, TimeUnit.SECONDS);
    db = TestPostgres.get().newDatabase();
    try (Connection c = db.connect(); Statement s = c.createStatement()) {
      fencing.createTable(c);
      s.execute("CREATE TABLE accounts (id INT PRIMARY KEY, owner TEXT NOT NULL)");
      s.execute("INSERT INTO accounts VALUES (1, 'nobody')");
    }
  }

  @AfterEach
  void stop() {
    node.close();
  }

  @Test
  void silentHolderLosesItsLockAndItsLateWriteIsFenced() throws Exception {
    LockSession stale = node.locks().openSession("stale-client", LEASE);
    Lock first = stale.acquire(ROW, LockMode.X, Duration.ofSeconds(5));
    write(first.fencingToken(), "stale-client"); // while it holds the lock: admitted

    ((NativeLockSession) stale).stopKeepalives(); // a long GC pause, or a partition
    LockSession next = node.locks().openSession("next-client", Duration.ofSeconds(30));
    Lock second = next.acquire(ROW, LockMode.X, Duration.ofSeconds(10)); // waits for the expiry

    LockLost lost = first.lost().get(10, TimeUnit.SECONDS);
    assertThat(lost.reason()).isEqualTo(LockLost.Reason.LEASE_EXPIRED);
    assertThat(lost.fencingToken()).isEqualTo(first.fencingToken());
    assertThat(lost.toString()).startsWith("lock lost, token " + first.fencingToken());
    assertThat(stale.isAlive()).isFalse();
    assertThat(second.fencingToken()).isGreaterThan(first.fencingToken());

    write(second.fencingToken(), "next-client");
    assertThatThrownBy(() -> write(first.fencingToken(), "stale-client"))
        .isInstanceOfSatisfying(SynodException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.FAILED_PRECONDITION);
          assertThat(e.getMessage()).contains("token " + first.fencingToken(), "stale");
        });
    assertThat(ownerOfRow()).isEqualTo("next-client");
    assertThat(node.locks().status(ROW).holders())
        .singleElement()
        .satisfies(h -> assertThat(h.sessionId()).isEqualTo(next.id()));
    next.close();
  }

  @Test
  void heartbeatingHolderKeepsItsLockPastManyLeases() throws Exception {
    LockSession live = node.locks().openSession("live-client", LEASE);
    Lock lock = live.acquire(ROW, LockMode.X, Duration.ofSeconds(5));
    LockSession other = node.locks().openSession("other", Duration.ofSeconds(30));

    // Four leases long: the keepalives (in memory at the leader, checkpointed) keep it.
    assertThatThrownBy(() -> other.acquire(ROW, LockMode.X, LEASE.multipliedBy(4)))
        .isInstanceOfSatisfying(SynodException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.DEADLINE_EXCEEDED));
    assertThat(lock.lost()).isNotDone();
    assertThat(live.isAlive()).isTrue();
    write(lock.fencingToken(), "live-client");
    live.close();
    other.close();
  }

  private void write(long token, String owner) throws SQLException {
    try (Connection c = db.connect()) {
      c.setAutoCommit(false);
      try {
        fencing.admit(c, ROW, token);
        try (PreparedStatement ps = c.prepareStatement("UPDATE accounts SET owner = ? WHERE id = 1")) {
          ps.setString(1, owner);
          ps.executeUpdate();
        }
        c.commit();
      } catch (SQLException | RuntimeException e) {
        c.rollback();
        throw e;
      }
    }
  }

  private String ownerOfRow() throws SQLException {
    try (Connection c = db.connect(); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT owner FROM accounts WHERE id = 1")) {
      rs.next();
      return rs.getString(1);
    }
  }
}
