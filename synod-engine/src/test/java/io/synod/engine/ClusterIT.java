package io.synod.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.synod.api.CoordinationRequest;
import io.synod.api.CoordinationResult;
import io.synod.api.spi.Participant;
import io.synod.engine.log.LogConfig;
import io.synod.engine.participant.MariaDbParticipant;
import io.synod.engine.participant.PostgresParticipant;
import io.synod.engine.testing.TestMariaDb;
import io.synod.engine.testing.TestDatabase;
import io.synod.engine.testing.TestPostgres;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A three-replica coordinator in one JVM (loopback Raft ports). Clients stream transactions over
 * PostgreSQL and MariaDB to whichever node leads; the leader is killed mid-stream. Afterwards no
 * transaction the API reported committed may be missing, none may be half-applied, nothing may
 * stay in doubt, and the new leader must have committed transactions of its own.
 *
 * <p>H2 is left out on purpose: its prepared transactions belong to the session that prepared
 * them until the database restarts, so it cannot be shared by coordinators in different processes.
 */
class ClusterIT {
  private static final int CLIENTS = 4;

  @TempDir Path dir;
  private final List<SynodNode> nodes = new ArrayList<>();

  @AfterEach
  void stop() {
    nodes.forEach(SynodNode::close);
  }

  @Test
  void aNewLeaderCarriesOnAndNothingCommittedIsLost() throws Exception {
    var pg = TestPostgres.get().newDatabase();
    var maria = TestMariaDb.get().newDatabase();
    createLedger(pg.url(), pg.user(), pg.password());
    createLedger(maria.url(), maria.user(), maria.password());
    Map<String, String> peers = new LinkedHashMap<>();
    for (int i = 1; i <= 3; i++) {
      peers.put("n" + i, "127.0.0.1:" + LogConfig.freeLoopbackPort());
    }
    for (String id : peers.keySet()) {
      List<Participant> stores = List.of(
          PostgresParticipant.create("pg", pg.url(), pg.user(), pg.password(), 8),
          MariaDbParticipant.create("maria", maria.url(), maria.user(), maria.password(), 8));
      LogConfig log = LogConfig.cluster("cluster", id, peers, dir.resolve(id));
      nodes.add(SynodNode.start(log, CoordinatorConfig.DEFAULTS
          .withRecoveryInterval(Duration.ofMillis(500)), stores));
    }
    SynodNode first = awaitLeader(null);

    Set<String> reportedCommitted = ConcurrentHashMap.newKeySet();
    Set<String> committedByNewLeader = ConcurrentHashMap.newKeySet();
    AtomicBoolean running = new AtomicBoolean(true);
    AtomicBoolean killed = new AtomicBoolean();
    List<Thread> clients = new ArrayList<>();
    for (int c = 0; c < CLIENTS; c++) {
      final int client = c;
      clients.add(Thread.ofPlatform().start(() -> {
        for (int i = 0; running.get(); i++) {
          String id = "c" + client + "-" + i;
          boolean afterKill = killed.get();
          if (submitUntilAnswered(id, running) && afterKill) {
            committedByNewLeader.add(id);
          }
          if (status(id)) {
            reportedCommitted.add(id);
          }
        }
      }));
    }
    Thread.sleep(3_000);
    first.log().close(); // the leader dies: its replica stops first, then the rest of it
    first.close();
    killed.set(true);
    SynodNode second = awaitLeader(first);
    Thread.sleep(4_000);
    running.set(false);
    for (Thread t : clients) {
      t.join(60_000);
    }
    awaitNoInDoubt(second, pg, maria);

    Set<String> inPg = ledger(pg.url(), pg.user(), pg.password());
    Set<String> inMaria = ledger(maria.url(), maria.user(), maria.password());
    Set<String> halfApplied = new HashSet<>(inPg);
    halfApplied.addAll(inMaria);
    halfApplied.removeIf(id -> inPg.contains(id) && inMaria.contains(id));
    Set<String> lost = new HashSet<>(reportedCommitted);
    lost.removeAll(inPg);
    System.out.printf("cluster: leader %s killed, new leader %s; reported committed: %d,"
        + " committed after failover: %d, lost: %d, half-applied: %d%n", first.id(), second.id(),
        reportedCommitted.size(), committedByNewLeader.size(), lost.size(), halfApplied.size());
    assertThat(lost).isEmpty();
    assertThat(halfApplied).isEmpty();
    assertThat(committedByNewLeader).isNotEmpty();
    assertThat(reportedCommitted).hasSizeGreaterThan(committedByNewLeader.size());
  }

  /** Submits to the current leader, again with the same id after UNAVAILABLE; true if committed. */
  private boolean submitUntilAnswered(String id, AtomicBoolean running) {
    CoordinationRequest request = CoordinationRequest.twoPhaseCommit(id)
        .sql("pg", "INSERT INTO ledger (txn_id) VALUES (?)", id)
        .sql("maria", "INSERT INTO ledger (txn_id) VALUES (?)", id)
        .build();
    for (int attempt = 0; attempt < 200; attempt++) {
      Optional<SynodNode> leader = currentLeader();
      if (leader.isPresent()) {
        try {
          CoordinationResult result = leader.get().coordination().coordinate(request)
              .get(30, TimeUnit.SECONDS);
          return result.success();
        } catch (Exception e) {
          // not the leader any more, or the outcome is unknown: ask again with the same id
        }
      }
      sleep(50);
    }
    return false;
  }

  /** What the cluster says about a transaction, asked of the leader. */
  private boolean status(String id) {
    for (int attempt = 0; attempt < 200; attempt++) {
      Optional<SynodNode> leader = currentLeader();
      if (leader.isPresent()) {
        Optional<CoordinationResult> status = leader.get().coordination().status(id);
        if (status.isPresent() && status.get().finalState().isTerminal()) {
          return status.get().success();
        }
      }
      sleep(50);
    }
    return false;
  }

  private Optional<SynodNode> currentLeader() {
    return nodes.stream().filter(n -> !closed.contains(n) && n.isLeader()).findFirst();
  }

  private final Set<SynodNode> closed = ConcurrentHashMap.newKeySet();

  private SynodNode awaitLeader(SynodNode dead) throws InterruptedException {
    if (dead != null) {
      closed.add(dead);
    }
    for (int i = 0; i < 600; i++) {
      Optional<SynodNode> leader = currentLeader();
      if (leader.isPresent()) {
        return leader.get();
      }
      Thread.sleep(50);
    }
    throw new AssertionError("no leader elected within 30 s");
  }

  private void awaitNoInDoubt(SynodNode leader, TestDatabase pg, TestDatabase maria)
      throws Exception {
    for (int i = 0; i < 100; i++) {
      leader.recoverNow();
      if (pgInDoubt(pg) == 0 && mariaInDoubt(maria) == 0 && leader.coordination().listActive().isEmpty()) {
        return;
      }
      Thread.sleep(200);
    }
    throw new AssertionError("transactions still in doubt after recovery: pg=" + pgInDoubt(pg)
        + " maria=" + mariaInDoubt(maria) + " active=" + leader.coordination().listActive());
  }

  private static int pgInDoubt(TestDatabase pg) throws SQLException {
    try (Connection c = DriverManager.getConnection(pg.url(), pg.user(), pg.password());
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(
            "SELECT COUNT(*) FROM pg_prepared_xacts WHERE database = current_database()")) {
      rs.next();
      return rs.getInt(1);
    }
  }

  private static int mariaInDoubt(TestDatabase maria) throws SQLException {
    int count = 0;
    try (Connection c = DriverManager.getConnection(maria.url(), maria.user(), maria.password());
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("XA RECOVER")) {
      while (rs.next()) {
        if (rs.getString("data").startsWith("synod_cluster_")) {
          count++;
        }
      }
    }
    return count;
  }

  private static void createLedger(String url, String user, String password) throws SQLException {
    try (Connection c = DriverManager.getConnection(url, user, password);
        Statement s = c.createStatement()) {
      s.execute("CREATE TABLE ledger (txn_id VARCHAR(64) PRIMARY KEY)");
    }
  }

  private static Set<String> ledger(String url, String user, String password) throws SQLException {
    Set<String> ids = new HashSet<>();
    try (Connection c = DriverManager.getConnection(url, user, password);
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT txn_id FROM ledger")) {
      while (rs.next()) {
        ids.add(rs.getString(1));
      }
    }
    return ids;
  }


  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
