package io.synod.engine.crash;

import static org.assertj.core.api.Assertions.assertThat;

import io.synod.engine.FaultPoints;
import io.synod.engine.testing.TestMariaDb;
import io.synod.engine.testing.TestPostgres;
import io.synod.engine.log.LogConfig;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kills the coordinator with SIGKILL at each of the protocol's dangerous points, many times, and
 * checks after every restart that each transaction is all-or-nothing across PostgreSQL, MariaDB
 * and H2 and that nothing is left in doubt. The coordinator's log lives on across the kills, as
 * it would on a real machine.
 *
 * <p>Kills per point: {@code -Dsynod.crash.killsPerPoint} (default 4); seed {@code
 * -Dsynod.crash.seed}.
 */
class CrashIT {
  private static final List<String> POINTS = List.of(FaultPoints.AFTER_SOME_PREPARES,
      FaultPoints.AFTER_ALL_PREPARES, FaultPoints.AFTER_DECISION, FaultPoints.AFTER_SOME_COMMITS);

  @TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS) Path dir;

  @Test
  void everyTransactionIsAllOrNothingAfterKillsAtEveryPoint() throws Exception {
    int killsPerPoint = Integer.getInteger("synod.crash.killsPerPoint", 4);
    Random random = new Random(Long.getLong("synod.crash.seed", 20261123L));
    var pg = TestPostgres.get().newDatabase();
    var maria = TestMariaDb.get().newDatabase();
    createLedger(pg.url(), pg.user(), pg.password());
    createLedger(maria.url(), maria.user(), maria.password());
    Map<String, String> common = new LinkedHashMap<>();
    common.put("pg.url", pg.url());
    common.put("pg.user", pg.user());
    common.put("pg.password", pg.password());
    common.put("maria.url", maria.url());
    common.put("maria.user", maria.user());
    common.put("maria.password", maria.password());
    common.put("h2.path", dir.resolve("h2/ledger").toString());
    common.put("log.dir", dir.resolve("log").toString());
    common.put("log.port", String.valueOf(LogConfig.freeLoopbackPort()));

    int kills = 0;
    int transactions = 0;
    int violations = 0;
    int inDoubt = 0;
    for (String point : POINTS) {
      for (int k = 0; k < killsPerPoint; k++) {
        String prefix = "p" + POINTS.indexOf(point) + "k" + k + "-";
        Map<String, String> run = new LinkedHashMap<>(common);
        run.put("mode", "run");
        run.put("point", point);
        run.put("nth", String.valueOf(1 + random.nextInt(30)));
        run.put("prefix", prefix);
        transactions += runUntilKilled(run);
        kills++;

        Map<String, String> recover = new LinkedHashMap<>(common);
        recover.put("mode", "recover");
        ChildOutcome after = recoverAndListH2(recover, "recover-" + prefix);
        Set<String> inPg = ledger(pg.url(), pg.user(), pg.password(), prefix);
        Set<String> inMaria = ledger(maria.url(), maria.user(), maria.password(), prefix);
        Set<String> inH2 = new HashSet<>();
        after.h2Ids().stream().filter(id -> id.startsWith(prefix)).forEach(inH2::add);
        violations += violations(inPg, inMaria, inH2);
        inDoubt += after.h2InDoubt() + pgInDoubt(pg.url(), pg.user(), pg.password())
            + mariaInDoubt(maria.url(), maria.user(), maria.password());
      }
    }
    System.out.printf("crash points: %d, transactions: %d, atomicity violations: %d, in doubt: %d%n",
        kills, transactions, violations, inDoubt);
    assertThat(violations).isZero();
    assertThat(inDoubt).isZero();
    assertThat(transactions).isGreaterThan(kills);
  }

  private static int violations(Set<String> a, Set<String> b, Set<String> c) {
    Set<String> all = new HashSet<>(a);
    all.addAll(b);
    all.addAll(c);
    int bad = 0;
    for (String id : all) {
      int present = (a.contains(id) ? 1 : 0) + (b.contains(id) ? 1 : 0) + (c.contains(id) ? 1 : 0);
      if (present != 3) {
        System.out.printf("atomicity violation: %s in pg=%s maria=%s h2=%s%n", id, a.contains(id),
            b.contains(id), c.contains(id));
        bad++;
      }
    }
    return bad;
  }

  private int runUntilKilled(Map<String, String> args) throws Exception {
    Process child = spawn(args, "run-" + args.get("prefix"));
    int submitted = 0;
    try (BufferedReader out = reader(child)) {
      for (String line; (line = out.readLine()) != null; ) {
        if (line.startsWith("S ")) {
          submitted++;
        } else if (line.startsWith("CRASH-POINT")) {
          child.destroyForcibly(); // SIGKILL on Linux
          child.waitFor(30, TimeUnit.SECONDS);
          return submitted;
        }
      }
    }
    child.waitFor(30, TimeUnit.SECONDS);
    throw new AssertionError("coordinator exited (" + child.exitValue() + ") before reaching "
        + args.get("point") + "; see " + logOf("run-" + args.get("prefix")));
  }

  private record ChildOutcome(int h2InDoubt, List<String> h2Ids) {}

  private ChildOutcome recoverAndListH2(Map<String, String> args, String name) throws Exception {
    Process child = spawn(args, name);
    int h2InDoubt = -1;
    List<String> ids = new ArrayList<>();
    boolean done = false;
    try (BufferedReader out = reader(child)) {
      for (String line; (line = out.readLine()) != null; ) {
        if (line.startsWith("H2-IN-DOUBT ")) {
          h2InDoubt = Integer.parseInt(line.substring(12).trim());
        } else if (line.startsWith("H2 ")) {
          ids.add(line.substring(3));
        } else if (line.equals("DONE")) {
          done = true;
        }
      }
    }
    assertThat(child.waitFor(120, TimeUnit.SECONDS)).isTrue();
    assertThat(done).as("recovery process finished; see %s", logOf(name)).isTrue();
    return new ChildOutcome(h2InDoubt, ids);
  }

  private Process spawn(Map<String, String> args, String name) throws IOException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx256m");
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(CrashChild.class.getName());
    command.addAll(CrashChild.args(args));
    return new ProcessBuilder(command)
        .redirectError(logOf(name).toFile())
        .start();
  }

  private Path logOf(String name) {
    return dir.resolve(name + ".log");
  }

  private static BufferedReader reader(Process p) {
    return new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
  }

  private static void createLedger(String url, String user, String password) throws SQLException {
    try (Connection c = DriverManager.getConnection(url, user, password);
        Statement s = c.createStatement()) {
      s.execute("CREATE TABLE ledger (txn_id VARCHAR(64) PRIMARY KEY, amount BIGINT)");
    }
  }

  private static Set<String> ledger(String url, String user, String password, String prefix)
      throws SQLException {
    Set<String> ids = new HashSet<>();
    try (Connection c = DriverManager.getConnection(url, user, password);
        var s = c.prepareStatement("SELECT txn_id FROM ledger WHERE txn_id LIKE ?")) {
      s.setString(1, prefix + "%");
      try (ResultSet rs = s.executeQuery()) {
        while (rs.next()) {
          ids.add(rs.getString(1));
        }
      }
    }
    return ids;
  }

  private static int pgInDoubt(String url, String user, String password) throws SQLException {
    try (Connection c = DriverManager.getConnection(url, user, password);
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM pg_prepared_xacts"
            + " WHERE database = current_database()")) {
      rs.next();
      return rs.getInt(1);
    }
  }

  private static int mariaInDoubt(String url, String user, String password) throws SQLException {
    int count = 0;
    try (Connection c = DriverManager.getConnection(url, user, password);
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("XA RECOVER")) {
      while (rs.next()) {
        if (rs.getString("data").startsWith("synod_crash_")) {
          count++;
        }
      }
    }
    return count;
  }

}
