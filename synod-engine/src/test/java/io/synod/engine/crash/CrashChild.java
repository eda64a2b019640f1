package io.synod.engine.crash;

import io.synod.api.CoordinationRequest;
import io.synod.api.CoordinationService;
import io.synod.api.spi.Participant;
import io.synod.engine.CoordinatorConfig;
import io.synod.engine.FaultPoints;
import io.synod.engine.SynodNode;
import io.synod.engine.log.LogConfig;
import io.synod.engine.participant.H2Participant;
import io.synod.engine.participant.MariaDbParticipant;
import io.synod.engine.participant.PostgresParticipant;
import java.io.PrintStream;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The coordinator process of {@link CrashIT}, one JVM per run.
 *
 * <ul>
 *   <li>{@code run POINT NTH PREFIX ...}: streams transactions that insert one ledger row in each
 *       of PostgreSQL, MariaDB and H2 (every 7th one also violates MariaDB's primary key, so it
 *       aborts). On the NTH time the coordinator reaches fault point POINT, it prints {@code
 *       CRASH-POINT} and freezes; the parent kills it with SIGKILL.
 *   <li>{@code recover ...}: starts the coordinator on the same log, lets recovery run until no
 *       store holds an in-doubt transaction, then prints the H2 side of the ledger (the H2 file
 *       belongs to this process) and {@code DONE}.
 * </ul>
 *
 * Lines on stdout are the protocol with the parent; logs go to stderr.
 */
public final class CrashChild {
  private static final PrintStream OUT = System.out;

  public static void main(String[] args) throws Exception {
    Map<String, String> a = parse(args);
    switch (a.get("mode")) {
      case "run" -> run(a);
      case "recover" -> recover(a);
      default -> throw new IllegalArgumentException("mode must be run or recover");
    }
  }

  private static SynodNode start(Map<String, String> a) throws Exception {
    try (Connection c = DriverManager.getConnection(h2Url(a), "sa", "");
        Statement s = c.createStatement()) {
      s.execute("CREATE TABLE IF NOT EXISTS ledger (txn_id VARCHAR(64) PRIMARY KEY, amount BIGINT)");
    }
    List<Participant> stores = List.of(
        PostgresParticipant.create("pg", a.get("pg.url"), a.get("pg.user"), a.get("pg.password"), 8),
        MariaDbParticipant.create("maria", a.get("maria.url"), a.get("maria.user"),
            a.get("maria.password"), 8),
        H2Participant.create("h2", h2Url(a), "sa", "", 8));
    LogConfig log = LogConfig.singleNode("crash", Path.of(a.get("log.dir")),
        Integer.parseInt(a.get("log.port")));
    CoordinatorConfig config = CoordinatorConfig.DEFAULTS
        .withRecoveryInterval(Duration.ofMillis(500));
    return SynodNode.start(log, config, stores).awaitLeadership(60, TimeUnit.SECONDS);
  }

  static String h2Url(Map<String, String> a) {
    return "jdbc:h2:file:" + a.get("h2.path");
  }

  private static void run(Map<String, String> a) throws Exception {
    String point = a.get("point");
    int nth = Integer.parseInt(a.get("nth"));
    String prefix = a.get("prefix");
    AtomicInteger hits = new AtomicInteger();
    FaultPoints.install(name -> {
      if (name.equals(point) && hits.incrementAndGet() == nth) {
        OUT.println("CRASH-POINT " + name);
        OUT.flush();
        freeze();
      }
    });
    SynodNode node = start(a);
    CoordinationService synod = node.coordination();
    Semaphore inFlight = new Semaphore(4);
    for (int i = 0; i < 100_000; i++) {
      String id = prefix + i;
      inFlight.acquire();
      synchronized (OUT) {
        OUT.println("S " + id);
      }
      synod.coordinate(ledgerInsert(id, i % 7 == 6)).whenComplete((r, e) -> inFlight.release());
    }
    OUT.println("NO-CRASH");
  }

  private static CoordinationRequest ledgerInsert(String id, boolean violate) {
    var builder = CoordinationRequest.twoPhaseCommit(id)
        .sql("pg", "INSERT INTO ledger (txn_id, amount) VALUES (?, ?)", id, 10)
        .sql("maria", "INSERT INTO ledger (txn_id, amount) VALUES (?, ?)", id, 10)
        .sql("h2", "INSERT INTO ledger (txn_id, amount) VALUES (?, ?)", id, 10);
    if (violate) {
      builder.sql("maria", "INSERT INTO ledger (txn_id, amount) VALUES (?, ?)", id, 20);
    }
    return builder.build();
  }

  private static void recover(Map<String, String> a) throws Exception {
    try (SynodNode node = start(a)) {
      for (int pass = 0; ; pass++) {
        // A quiet pass (nothing left to finish or resolve) means recovery is done.
        if (quietPass(node)) {
          break;
        }
        if (pass > 200) {
          throw new IllegalStateException("in-doubt transactions remain after 200 recovery passes");
        }
        Thread.sleep(100);
      }
    }
    try (Connection c = DriverManager.getConnection(h2Url(a), "sa", "");
        Statement s = c.createStatement()) {
      try (ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM INFORMATION_SCHEMA.IN_DOUBT")) {
        rs.next();
        OUT.println("H2-IN-DOUBT " + rs.getInt(1));
      }
      try (ResultSet rs = s.executeQuery("SELECT txn_id FROM ledger")) {
        while (rs.next()) {
          OUT.println("H2 " + rs.getString(1));
        }
      }
    }
    OUT.println("DONE");
  }

  /** A pass that failed part-way (a store busy, say) is not quiet; the loop runs another. */
  private static boolean quietPass(SynodNode node) {
    try {
      return node.recoverNow();
    } catch (Exception e) {
      System.err.println("recovery pass failed, retrying: " + e);
      return false;
    }
  }

  private static void freeze() {
    while (true) {
      try {
        Thread.sleep(60_000);
      } catch (InterruptedException e) {
        // frozen until killed
      }
    }
  }

  private static Map<String, String> parse(String[] args) {
    Map<String, String> map = new java.util.HashMap<>();
    for (String arg : args) {
      int eq = arg.indexOf('=');
      map.put(arg.substring(0, eq), arg.substring(eq + 1));
    }
    return map;
  }

  static List<String> args(Map<String, String> map) {
    List<String> list = new ArrayList<>();
    map.forEach((k, v) -> list.add(k + "=" + v));
    return list;
  }
}
