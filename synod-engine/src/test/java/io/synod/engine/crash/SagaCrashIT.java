package io.synod.engine.crash;

import static org.assertj.core.api.Assertions.assertThat;

import io.synod.engine.log.LogConfig;
import io.synod.engine.testing.TestDatabase;
import io.synod.engine.testing.TestMariaDb;
import io.synod.engine.testing.TestPostgres;
import io.synod.engine.testing.TestRedis;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;

/**
 * Kills the saga coordinator with SIGKILL at random moments while it drives many sagas over real
 * PostgreSQL, Redis and MariaDB, restarts it on the same log each time, and checks that every saga
 * ends completed or fully compensated, with no step and no compensation applied twice.
 *
 * <p>Each round: a child JVM ({@link SagaCrashChild} {@code run}) streams sagas, several at a
 * time, and is killed after a delay drawn uniformly from {@code [0, window)} once it is ready, so
 * that kills land anywhere: between two log entries, between a store's commit and the outcome
 * entry, during a lock wait or a compensation. Then a fresh child ({@code recover}) on the same
 * log starts nothing and waits, bounded, until the log knows no active saga; one still active then
 * is stuck.
 *
 * <p>At the end, for every saga a child announced (it prints the id before writing anything of
 * it), the stores are read: each application of an action or a compensation leaves a row (or, in
 * Redis, a unit of its own counter), so a double application is counted, not just noticed.
 * COMPLETED must show each step's effect exactly once and no compensation; ABORTED must show no
 * net effect; a saga whose Start never reached the log must have left nothing at all, barriers
 * included. The barrier rows and keys must agree with the effects.
 *
 * <p>{@code -Dsynod.sagacrash.kills} (default 8), {@code -Dsynod.sagacrash.seed}, {@code
 * -Dsynod.sagacrash.windowMs} (default 3000), {@code -Dsynod.sagacrash.parallel} (default 6),
 * {@code -Dsynod.sagacrash.recoverSeconds} (default 60).
 */
class SagaCrashIT {
  private static final List<String> STEPS = List.of("order", "reserve", "pay");

  /** A saga as the recovering coordinator's log had it: state, and each step's state and tries. */
  record SagaView(String state, Map<String, String> stepStates, Map<String, Integer> attempts,
      Set<String> lostTries) {
    static final SagaView NONE = new SagaView("NONE", Map.of(), Map.of(), Set.of());

    /**
     * From {@code STATE order:SUCCEEDED:1:-,reserve:...} ({@code NONE -} for an unknown saga);
     * see {@link SagaCrashChild}.
     */
    static SagaView parse(String state, String steps) {
      Map<String, String> states = new HashMap<>();
      Map<String, Integer> attempts = new HashMap<>();
      Set<String> lost = new HashSet<>();
      if (!steps.equals("-")) {
        for (String step : steps.split(",")) {
          String[] parts = step.split(":");
          states.put(parts[0], parts[1]);
          attempts.put(parts[0], Integer.parseInt(parts[2]));
          if (parts[3].equals("L")) {
            lost.add(parts[0]);
          }
        }
      }
      return new SagaView(state, states, attempts, lost);
    }

    boolean terminalOrUnknown() {
      return state.equals("NONE") || state.equals("COMPLETED") || state.equals("ABORTED");
    }
  }

  @TempDir(cleanup = CleanupMode.ON_SUCCESS) Path dir;

  @Test
  void everySagaCompletesOrIsFullyCompensatedAfterRandomKills() throws Exception {
    int killsWanted = Integer.getInteger("synod.sagacrash.kills", 8);
    long seed = Long.getLong("synod.sagacrash.seed", 20261201L);
    int windowMs = Integer.getInteger("synod.sagacrash.windowMs", 3000);
    int parallel = Integer.getInteger("synod.sagacrash.parallel", 6);
    long recoverMs = TimeUnit.SECONDS.toMillis(Long.getLong("synod.sagacrash.recoverSeconds", 60));
    Random random = new Random(seed);
    System.out.printf("saga crash test: seed %d, %d kills, children's logs in %s%n", seed,
        killsWanted, dir);

    TestDatabase pg = TestPostgres.get().newDatabase();
    TestDatabase maria = TestMariaDb.get().newDatabase();
    String redisUri = TestRedis.get().uri().toString();
    createPostgresTables(pg);
    createMariaDbTables(maria);

    Map<String, String> common = new LinkedHashMap<>();
    common.put("pg.url", pg.url());
    common.put("pg.user", pg.user());
    common.put("pg.password", pg.password());
    common.put("maria.url", maria.url());
    common.put("maria.user", maria.user());
    common.put("maria.password", maria.password());
    common.put("redis.uri", redisUri);
    common.put("log.dir", dir.resolve("log").toString());
    common.put("log.port", String.valueOf(LogConfig.freeLoopbackPort()));

    String prefix = "sc" + Math.floorMod(seed, 1000) + "r";
    Set<String> announced = new LinkedHashSet<>();
    Set<String> stuck = new TreeSet<>();
    Map<String, SagaView> finalState = new HashMap<>();
    int kills = 0;
    int inFlightAtKills = 0;
    int storeRetries = 0;
    for (int round = 0; round < killsWanted; round++) {
      Map<String, String> run = new LinkedHashMap<>(common);
      run.put("mode", "run");
      run.put("prefix", prefix + round + "-");
      run.put("parallel", String.valueOf(parallel));
      if (round == 0) {
        run.put("ready", "after-hindered");
      }
      long delayMs = (long) (random.nextDouble() * windowMs);
      long roundStart = System.nanoTime();
      RunResult result = runUntilKilled(run, "run-" + round, delayMs);
      long killedAt = System.nanoTime();
      announced.addAll(result.announced());
      storeRetries += result.storeRetries();
      inFlightAtKills += result.announced().size() - result.finished().size();
      kills++;

      Path ids = dir.resolve("ids-" + round + ".txt");
      Files.write(ids, announced);
      Map<String, String> recover = new LinkedHashMap<>(common);
      recover.put("mode", "recover");
      recover.put("ids", ids.toString());
      recover.put("bound.ms", String.valueOf(recoverMs));
      Map<String, SagaView> states = recover(recover, "recover-" + round);
      int r = round;
      states.forEach((id, view) -> {
        if (!view.terminalOrUnknown()) {
          System.out.printf("stuck after round %d: %s %s%n", r, id, view);
          stuck.add(id);
        }
      });
      finalState.putAll(states);
      System.out.printf("round %d: killed %d ms after ready (%d announced, %d in flight); run %d"
          + " ms, recovery %d ms%n", round, delayMs, result.announced().size(),
          result.announced().size() - result.finished().size(),
          (killedAt - roundStart) / 1_000_000, (System.nanoTime() - killedAt) / 1_000_000);
    }

    Effects effects = Effects.read(pg, maria, redisUri, announced, prefix);
    int completed = 0;
    int compensated = 0;
    int sagas = 0;
    int neverStarted = 0;
    int lostTries = 0;
    List<String> problems = new ArrayList<>(effects.unexpected());
    int doubleApplies = 0;
    for (String id : announced) {
      SagaView view = finalState.getOrDefault(id, SagaView.NONE);
      doubleApplies += effects.doubleApplies(id, problems);
      lostTries += view.lostTries().size();
      switch (view.state()) {
        case "NONE" -> {
          neverStarted++;
          effects.checkNothing(id, problems);
        }
        case "COMPLETED" -> {
          sagas++;
          completed++;
          effects.checkCompleted(id, view, problems);
        }
        case "ABORTED" -> {
          sagas++;
          compensated++;
          effects.checkCompensated(id, view, problems);
        }
        default -> sagas++; // stuck: counted above
      }
    }
    for (String id : effects.unannouncedSagas(announced)) {
      problems.add(id + ": barrier rows or effects of a saga no child announced");
    }
    problems.forEach(p -> System.out.println("saga crash problem: " + p));
    System.out.printf("(%d sagas in flight when killed; %d more announced never reached the log;"
        + " %d steps retried after a try lost with a killed coordinator; %d tries failed"
        + " retryably at a store and were retried; %d problems; logs in %s)%n",
        inFlightAtKills, neverStarted, lostTries, storeRetries, problems.size(), dir);
    System.out.printf("sagas: %d, kills: %d, completed: %d, compensated: %d, double applies: %d,"
        + " stuck: %d%n", sagas, kills, completed, compensated, doubleApplies, stuck.size());

    assertThat(doubleApplies).as("double applies; logs in %s", dir).isZero();
    assertThat(stuck).as("sagas still active after %d ms of recovery; logs in %s", recoverMs, dir)
        .isEmpty();
    assertThat(problems).as("sagas whose effects do not match their outcome; logs in %s", dir)
        .isEmpty();
    assertThat(completed + compensated).isEqualTo(sagas);
    assertThat(completed).as("some sagas completed").isPositive();
    assertThat(compensated).as("some sagas were compensated").isPositive();
    assertThat(storeRetries).as("steps that failed retryably (a locked gate), then went through")
        .isPositive();
  }

  /**
   * The sagas a streaming child announced, and those it saw end, before it was killed; and the
   * retries of steps of those that completed (all of that child's own doing: store failures).
   */
  private record RunResult(List<String> announced, List<String> finished, int storeRetries) {}

  /** Starts a streaming child and kills it {@code delayMs} after it is ready. */
  private RunResult runUntilKilled(Map<String, String> args, String name, long delayMs)
      throws Exception {
    Process child = spawn(args, name);
    try {
      return streamAndKill(child, name, delayMs);
    } finally {
      child.destroyForcibly(); // if an assertion failed before the kill
    }
  }

  private RunResult streamAndKill(Process child, String name, long delayMs) throws Exception {
    List<String> announced = new ArrayList<>();
    List<String> finished = new ArrayList<>();
    int[] retried = new int[1];
    Object ready = new Object();
    boolean[] isReady = new boolean[1];
    Thread reader = Thread.ofPlatform().daemon().start(() -> {
      try (BufferedReader out = reader(child)) {
        for (String line; (line = out.readLine()) != null; ) {
          if (line.startsWith("S ")) {
            synchronized (announced) {
              announced.add(line.substring(2));
            }
          } else if (line.startsWith("D ")) {
            String[] words = line.split(" ");
            SagaView view = SagaView.parse(words[2], words[3]);
            synchronized (announced) {
              finished.add(words[1]);
              if (view.state().equals("COMPLETED")) {
                view.attempts().values().forEach(n -> retried[0] += n - 1);
              }
            }
          } else if (line.equals("READY")) {
            synchronized (ready) {
              isReady[0] = true;
              ready.notifyAll();
            }
          }
        }
      } catch (IOException e) {
        // the pipe closes with the child
      }
    });
    synchronized (ready) {
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      while (!isReady[0] && child.isAlive() && System.nanoTime() < until) {
        ready.wait(200);
      }
    }
    assertThat(isReady[0]).as("coordinator %s got ready; see %s", name, logOf(name)).isTrue();
    Thread.sleep(delayMs);
    assertThat(child.isAlive()).as("coordinator %s alive until killed; see %s", name, logOf(name))
        .isTrue();
    child.destroyForcibly(); // SIGKILL on Linux
    assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
    reader.join(TimeUnit.SECONDS.toMillis(30)); // drains what the child wrote before it died
    synchronized (announced) {
      return new RunResult(new ArrayList<>(announced), new ArrayList<>(finished), retried[0]);
    }
  }

  /** Runs a recovering child to its end; each announced id's state ({@code NONE}: unknown). */
  private Map<String, SagaView> recover(Map<String, String> args, String name) throws Exception {
    Process child = spawn(args, name);
    try {
      return readOutcomes(child, name);
    } finally {
      child.destroyForcibly(); // if it hangs
    }
  }

  private Map<String, SagaView> readOutcomes(Process child, String name) throws Exception {
    Map<String, SagaView> states = new LinkedHashMap<>();
    boolean done = false;
    try (BufferedReader out = reader(child)) {
      for (String line; (line = out.readLine()) != null; ) {
        String[] words = line.split(" ");
        if (words[0].equals("ST") && words.length == 4) {
          states.put(words[1], SagaView.parse(words[2], words[3]));
        } else if (words[0].equals("ACTIVE")) {
          states.put(words[1], new SagaView("ACTIVE-UNANNOUNCED", Map.of(), Map.of(), Set.of()));
          System.out.println("active saga no child announced: " + line);
        } else if (line.equals("DONE")) {
          done = true;
          break; // what follows is its shutdown
        }
      }
    }
    assertThat(done).as("recovering coordinator %s finished; see %s", name, logOf(name)).isTrue();
    assertThat(child.waitFor(60, TimeUnit.SECONDS)).as("%s exited", name).isTrue();
    return states;
  }

  private Process spawn(Map<String, String> args, String name) throws IOException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx256m");
    command.add("-XX:TieredStopAtLevel=1");
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(SagaCrashChild.class.getName());
    args.forEach((k, v) -> command.add(k + "=" + v));
    return new ProcessBuilder(command).redirectError(logOf(name).toFile()).start();
  }

  private Path logOf(String name) {
    return dir.resolve(name + ".log");
  }

  private static BufferedReader reader(Process p) {
    return new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
  }

  private static void createPostgresTables(TestDatabase pg) throws SQLException {
    try (Connection c = pg.connect(); Statement s = c.createStatement()) {
      // No primary key: a second insert by the same saga would show as a second row.
      s.execute("CREATE TABLE orders (saga_id TEXT NOT NULL, item TEXT NOT NULL)");
      s.execute("CREATE INDEX orders_saga ON orders (saga_id)");
      // One row per application of the compensation, with how many orders it deleted.
      s.execute("CREATE TABLE order_undo (saga_id TEXT NOT NULL, deleted INT NOT NULL)");
    }
  }

  private static void createMariaDbTables(TestDatabase maria) throws SQLException {
    try (Connection c = maria.connect(); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE gates (id VARCHAR(64) PRIMARY KEY) ENGINE=InnoDB");
      s.execute("INSERT INTO gates (id) VALUES ('" + SagaCrashChild.OPEN_GATE + "')");
      // The foreign key check waits for a locked gate; the CHECK refuses amount 0.
      s.execute("CREATE TABLE payments (saga_id VARCHAR(64) NOT NULL, amount BIGINT NOT NULL,"
          + " gate VARCHAR(64) NOT NULL, CONSTRAINT positive_amount CHECK (amount > 0),"
          + " KEY payments_saga (saga_id), FOREIGN KEY (gate) REFERENCES gates (id))"
          + " ENGINE=InnoDB");
      s.execute("CREATE TABLE payment_log (saga_id VARCHAR(64) NOT NULL, KEY (saga_id))"
          + " ENGINE=InnoDB");
      s.execute("CREATE TABLE refunds (saga_id VARCHAR(64) NOT NULL, KEY (saga_id))"
          + " ENGINE=InnoDB");
      // Every payment insert is journaled; a refund deletes the saga's payments.
      s.execute("CREATE TRIGGER payments_journal AFTER INSERT ON payments FOR EACH ROW"
          + " INSERT INTO payment_log (saga_id) VALUES (NEW.saga_id)");
      s.execute("CREATE TRIGGER refunds_delete AFTER INSERT ON refunds FOR EACH ROW"
          + " DELETE FROM payments WHERE saga_id = NEW.saga_id");
    }
  }

  /** What the stores hold, per saga id, read once at the end. */
  private record Effects(
      Map<String, Integer> orders,
      Map<String, Integer> orderUndos,
      Map<String, Integer> orderUndoDeleted,
      Map<String, Integer> payments,
      Map<String, Integer> paymentInserts,
      Map<String, Integer> refunds,
      Map<String, String> stock,
      Map<String, String> pgBarrier,
      Map<String, String> mariaBarrier,
      Map<String, String> redisBarrier,
      List<String> unexpected) {

    static Effects read(TestDatabase pg, TestDatabase maria, String redisUri,
        Set<String> announced, String prefix) throws SQLException {
      Map<String, Integer> orderUndoDeleted = new HashMap<>();
      try (Connection c = pg.connect(); Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT saga_id, sum(deleted) FROM order_undo"
              + " GROUP BY saga_id")) {
        while (rs.next()) {
          orderUndoDeleted.put(rs.getString(1), rs.getInt(2));
        }
      }
      Map<String, String> stock = new HashMap<>();
      Map<String, String> redisBarrier = new HashMap<>();
      List<String> unexpected = new ArrayList<>();
      try (Jedis redis = new Jedis(java.net.URI.create(redisUri))) {
        for (String id : announced) {
          String value = redis.get("stock:" + id);
          if (value != null) {
            stock.put(id, value);
          }
        }
        // synod:saga:<saga>:<step>:<op>; the ids hold no ':'
        for (String key : redis.keys("synod:saga:" + prefix + "*")) {
          String[] parts = key.split(":");
          if (parts.length != 5 || !parts[3].equals("reserve")) {
            unexpected.add("unexpected Redis barrier key " + key);
            continue;
          }
          redisBarrier.put(parts[2] + "/reserve/" + parts[4], redis.get(key));
        }
      }
      return new Effects(
          counts(pg, "SELECT saga_id, count(*) FROM orders GROUP BY saga_id"),
          counts(pg, "SELECT saga_id, count(*) FROM order_undo GROUP BY saga_id"),
          orderUndoDeleted,
          counts(maria, "SELECT saga_id, count(*) FROM payments GROUP BY saga_id"),
          counts(maria, "SELECT saga_id, count(*) FROM payment_log GROUP BY saga_id"),
          counts(maria, "SELECT saga_id, count(*) FROM refunds GROUP BY saga_id"),
          stock,
          barrier(pg),
          barrier(maria),
          redisBarrier,
          unexpected);
    }

    private static Map<String, Integer> counts(TestDatabase db, String sql) throws SQLException {
      Map<String, Integer> counts = new HashMap<>();
      try (Connection c = db.connect(); Statement s = c.createStatement();
          ResultSet rs = s.executeQuery(sql)) {
        while (rs.next()) {
          counts.put(rs.getString(1), rs.getInt(2));
        }
      }
      return counts;
    }

    /**
     * {@code saga/step/op} to reason. The table's primary key is (saga_id, step, op), so a
     * second row cannot exist; should one ever show up, it maps to "duplicate".
     */
    private static Map<String, String> barrier(TestDatabase db) throws SQLException {
      Map<String, String> rows = new HashMap<>();
      try (Connection c = db.connect(); Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT saga_id, step, op, reason FROM synod_saga_barrier")) {
        while (rs.next()) {
          String key = rs.getString(1) + "/" + rs.getString(2) + "/" + rs.getString(3);
          if (rows.putIfAbsent(key, rs.getString(4)) != null) {
            rows.put(key, "duplicate");
          }
        }
      } catch (SQLException e) {
        if (!"42P01".equals(e.getSQLState()) && !"42S02".equals(e.getSQLState())) {
          throw e;
        }
        // no such table: no step ever ran in this store
      }
      return rows;
    }

    private static int get(Map<String, Integer> map, String id) {
      return map.getOrDefault(id, 0);
    }

    /** Times the order action took effect: rows still there plus rows its undo deleted. */
    int orderActions(String id) {
      return get(orders, id) + get(orderUndoDeleted, id);
    }

    int orderCompensations(String id) {
      return get(orderUndos, id);
    }

    int payActions(String id) {
      return get(paymentInserts, id);
    }

    int payCompensations(String id) {
      return get(refunds, id);
    }

    /** Reservations net of their undos: 10 minus the counter (0 if it was never set). */
    long reserveNet(String id) {
      String value = stock.get(id);
      return value == null ? 0 : SagaCrashChild.STOCK - Long.parseLong(value);
    }

    /**
     * The (step, action or compensation) pairs of the saga that took effect more than once, each
     * counted once: the order and pay effects are counted row by row; the reservation's net
     * effect must be 0 or 1 (a second DECRBY, or a second INCRBY, leaves it outside).
     */
    int doubleApplies(String id, List<String> problems) {
      int doubles = 0;
      doubles += twice(id, "order action", orderActions(id), problems);
      doubles += twice(id, "order compensation", orderCompensations(id), problems);
      doubles += twice(id, "pay action", payActions(id), problems);
      doubles += twice(id, "pay compensation", payCompensations(id), problems);
      long net = reserveNet(id);
      if (net > 1) {
        problems.add(id + ": reserve applied " + net + " times net (stock " + stock.get(id) + ")");
        doubles++;
      } else if (net < 0) {
        problems.add(id + ": reserve compensated " + -net + " more times than applied (stock "
            + stock.get(id) + ")");
        doubles++;
      }
      for (String step : STEPS) {
        for (String op : List.of("action", "compensation")) {
          if ("duplicate".equals(barrierOf(id, step, op))) {
            problems.add(id + ": two barrier rows for " + step + " " + op);
            doubles++;
          }
        }
      }
      return doubles;
    }

    private static int twice(String id, String what, int times, List<String> problems) {
      if (times > 1) {
        problems.add(id + ": " + what + " applied " + times + " times");
        return 1;
      }
      return 0;
    }

    void checkCompleted(String id, SagaView view, List<String> problems) {
      String s = "COMPLETED";
      expect(id, s, "orders rows", get(orders, id), 1, problems);
      expect(id, s, "order undos", orderCompensations(id), 0, problems);
      expect(id, s, "stock", stock.get(id), String.valueOf(SagaCrashChild.STOCK - 1), problems);
      expect(id, s, "payments rows", get(payments, id), 1, problems);
      expect(id, s, "refunds", payCompensations(id), 0, problems);
      for (String step : STEPS) {
        expect(id, s, step + " state", view.stepStates().get(step), "SUCCEEDED", problems);
        expect(id, s, step + " action barrier", barrierOf(id, step, "action"), "action",
            problems);
        expect(id, s, step + " compensation barrier", barrierOf(id, step, "compensation"), null,
            problems);
      }
    }

    /**
     * No net effect anywhere; each step that ran is COMPENSATED, with its compensation's barrier,
     * and its compensation took effect exactly when its action had (barrier {@code action}), or
     * not at all (barrier {@code blocked}: the action never ran, and now never will). A step the
     * saga never reached is SKIPPED, with neither barrier nor effect.
     */
    void checkCompensated(String id, SagaView view, List<String> problems) {
      String s = "ABORTED";
      expect(id, s, "orders rows", get(orders, id), 0, problems);
      expect(id, s, "stock", stock.get(id), String.valueOf(SagaCrashChild.STOCK), problems);
      expect(id, s, "payments rows", get(payments, id), 0, problems);
      for (String step : STEPS) {
        String state = view.stepStates().get(step);
        String action = barrierOf(id, step, "action");
        String compensation = barrierOf(id, step, "compensation");
        int expected = "action".equals(action) ? 1 : 0;
        if ("SKIPPED".equals(state)) {
          expect(id, s, step + " action barrier (skipped step)", action, null, problems);
          expect(id, s, step + " compensation barrier (skipped step)", compensation, null,
              problems);
        } else {
          expect(id, s, step + " state", state, "COMPENSATED", problems);
          expect(id, s, step + " compensation barrier", compensation, "compensation", problems);
          if (!"action".equals(action) && !"blocked".equals(action)) {
            problems.add(id + " (" + s + "): " + step + " action barrier is " + action
                + ", expected action (ran, then undone) or blocked (never ran)");
          }
        }
        switch (step) {
          case "order" -> {
            expect(id, s, "order actions applied", orderActions(id), expected, problems);
            expect(id, s, "order compensations applied", orderCompensations(id), expected,
                problems);
          }
          case "pay" -> {
            expect(id, s, "pay actions applied", payActions(id), expected, problems);
            expect(id, s, "pay compensations applied", payCompensations(id), expected, problems);
          }
          default -> { } // reserve: its net effect is the stock, checked above
        }
      }
    }

    void checkNothing(String id, List<String> problems) {
      String s = "never started";
      expect(id, s, "order actions applied", orderActions(id), 0, problems);
      expect(id, s, "order undos", orderCompensations(id), 0, problems);
      String value = stock.get(id);
      if (value != null && !value.equals(String.valueOf(SagaCrashChild.STOCK))) {
        problems.add(id + " (" + s + "): stock is " + value);
      }
      expect(id, s, "payment inserts", payActions(id), 0, problems);
      expect(id, s, "refunds", payCompensations(id), 0, problems);
      for (String step : STEPS) {
        for (String op : List.of("action", "compensation")) {
          expect(id, s, step + " " + op + " barrier", barrierOf(id, step, op), null, problems);
        }
      }
    }

    /** The step's barrier in its own store. */
    String barrierOf(String id, String step, String op) {
      String key = id + "/" + step + "/" + op;
      return switch (step) {
        case "order" -> pgBarrier.get(key);
        case "reserve" -> redisBarrier.get(key);
        default -> mariaBarrier.get(key);
      };
    }

    /** Sagas with barriers or effects that no child announced (there must be none). */
    Set<String> unannouncedSagas(Set<String> announced) {
      Set<String> unknown = new TreeSet<>();
      for (Map<String, String> rows : List.of(pgBarrier, mariaBarrier, redisBarrier)) {
        for (String key : rows.keySet()) {
          String id = key.substring(0, key.indexOf('/'));
          if (!announced.contains(id)) {
            unknown.add(id);
          }
        }
      }
      for (Map<String, Integer> rows : List.of(orders, orderUndos, payments, paymentInserts,
          refunds)) {
        rows.keySet().stream().filter(id -> !announced.contains(id)).forEach(unknown::add);
      }
      return unknown;
    }

    private static void expect(String id, String state, String what, Object actual,
        Object expected, List<String> problems) {
      if (!Objects.equals(actual, expected)) {
        problems.add(id + " (" + state + "): " + what + " is " + actual + ", expected "
            + expected);
      }
    }
  }
}
