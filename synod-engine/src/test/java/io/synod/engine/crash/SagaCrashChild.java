package io.synod.engine.crash;

import io.synod.api.saga.RetryPolicy;
import io.synod.api.saga.SagaDefinition;
import io.synod.api.saga.SagaService;
import io.synod.api.saga.SagaStatus;
import io.synod.api.saga.SagaStep;
import io.synod.api.saga.StepOperation;
import io.synod.api.saga.StepStatus;
import io.synod.core.saga.SagaStateMachine;
import io.synod.engine.SynodNode;
import io.synod.engine.log.LogConfig;
import io.synod.engine.saga.SagaConfig;
import io.synod.engine.saga.store.RedisSagaStore;
import io.synod.engine.saga.store.SqlSagaStore;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import redis.clients.jedis.Jedis;

/**
 * The coordinator process of {@link SagaCrashIT}, one JVM per run.
 *
 * <ul>
 *   <li>{@code mode=run}: streams sagas {@code PREFIX0, PREFIX1, ...}, {@code parallel} at a time,
 *       each printed as {@code S <id>} before anything of it is written anywhere. A saga records an
 *       order in PostgreSQL, takes one from its own Redis counter {@code stock:<id>} (set to 10
 *       just before it starts) and inserts a payment in MariaDB. Every third saga has amount 0,
 *       which MariaDB's CHECK refuses (a constraint violation: not retryable), so it compensates.
 *       Every fourth of the others (while fewer than {@link #HINDERED_PARALLEL} such are in
 *       flight) pays through a gate row that this process holds locked for {@link #GATE_HOLD_MS},
 *       longer than the pay step's timeout: the pay step fails retryably (lock wait) a couple of
 *       times before it goes through. Each saga that ends is printed as {@code D <id> <STATE>
 *       <steps>} (as in recover). Once ready ({@code READY}: at once, or with {@code
 *       ready=after-hindered} once the first hindered saga has ended, so that at least one
 *       retried store failure is seen), the parent SIGKILLs it at a random moment.
 *   <li>{@code mode=recover}: starts the coordinator on the same log and starts nothing; waits
 *       (at most {@code bound.ms}) until no saga is active, then prints {@code ST <id> <STATE>
 *       <step>:<STATE>:<attempts>:<L|->,...} (see {@link #describe}; {@code ST <id> NONE -} for a
 *       saga the log does not know) for each id of the file {@code ids}, {@code ACTIVE <id> ...}
 *       for any active saga not in it, and {@code DONE}.
 * </ul>
 *
 * Lines on stdout are the protocol with the parent; logs go to stderr.
 */
public final class SagaCrashChild {
  /** The initial value of each saga's Redis stock counter. */
  static final long STOCK = 10;
  /** The gate row every unhindered payment references. */
  static final String OPEN_GATE = "open";
  /** One try of any step: a statement (and a lock wait) longer than this fails, retryably. */
  static final Duration STEP_TIMEOUT = Duration.ofSeconds(1);
  /** How long a hindered payment's gate stays locked: two or three pay tries wait in vain. */
  static final long GATE_HOLD_MS = 2_500;
  /** Hindered sagas in flight at most, besides the {@code parallel} others. */
  static final int HINDERED_PARALLEL = 3;
  static final RetryPolicy RETRY = new RetryPolicy(6, RetryPolicy.Backoff.EXPONENTIAL,
      Duration.ofMillis(100), Duration.ofSeconds(1));

  private static PrintStream out;

  public static void main(String[] args) throws Exception {
    out = System.out;
    System.setOut(System.err); // the log (logback writes to System.out) goes to stderr
    Map<String, String> a = parse(args);
    try {
      switch (a.get("mode")) {
        case "run" -> run(a);
        case "recover" -> recover(a);
        default -> throw new IllegalArgumentException("mode must be run or recover");
      }
    } catch (Throwable e) {
      e.printStackTrace(); // to the log; the log's own threads must not keep the JVM up
      System.exit(2);
    }
  }

  /**
   * The saga. Order (PostgreSQL): insert a row; undone by deleting it and journaling how many rows
   * the undo deleted. Reserve (Redis): DECRBY the saga's own counter; undone by INCRBY. Pay
   * (MariaDB): insert a payment (a trigger journals every insert); undone by inserting a refund
   * (a trigger deletes the payment). So every application of an action or a compensation leaves a
   * row to count, and a double application shows.
   */
  static SagaDefinition purchase() {
    return SagaDefinition.sequential("purchase")
        .add(new SagaStep("order",
            new StepOperation.Sql("orders", "INSERT INTO orders (saga_id, item) VALUES (?, ?)",
                List.of("{{saga.saga_id}}", "{{saga.item}}")),
            new StepOperation.Sql("orders", "WITH gone AS (DELETE FROM orders WHERE saga_id = ?"
                + " RETURNING 1) INSERT INTO order_undo (saga_id, deleted)"
                + " SELECT ?, count(*) FROM gone",
                List.of("{{saga.saga_id}}", "{{saga.saga_id}}")),
            List.of(), STEP_TIMEOUT, RETRY))
        .add(new SagaStep("reserve",
            new StepOperation.Redis("stock", List.of("DECRBY", "stock:{{saga.saga_id}}", "1")),
            new StepOperation.Redis("stock", List.of("INCRBY", "stock:{{saga.saga_id}}", "1")),
            List.of("order"), STEP_TIMEOUT, RETRY))
        .add(new SagaStep("pay",
            new StepOperation.Sql("payments",
                "INSERT INTO payments (saga_id, amount, gate) VALUES (?, ?, ?)",
                List.of("{{saga.saga_id}}", "{{saga.amount}}", "{{saga.gate}}")),
            new StepOperation.Sql("payments", "INSERT INTO refunds (saga_id) VALUES (?)",
                List.of("{{saga.saga_id}}")),
            List.of("reserve"), STEP_TIMEOUT, RETRY))
        .build();
  }

  private static SynodNode start(Map<String, String> a) throws Exception {
    // Finished sagas stay known for the whole test, however many there are: the parent asks
    // for the outcome of each.
    LogConfig log = LogConfig.singleNode("sagacrash", Path.of(a.get("log.dir")),
            Integer.parseInt(a.get("log.port")))
        .withSagaLimits(new SagaStateMachine.Limits(10_000, 1_000_000,
            Duration.ofDays(1).toMillis()));
    SynodNode node = SynodNode.builder(log)
        .sagaStores(List.of(
            SqlSagaStore.postgres("orders", a.get("pg.url"), a.get("pg.user"),
                a.get("pg.password"), 8),
            RedisSagaStore.create("stock", URI.create(a.get("redis.uri")), 8),
            SqlSagaStore.mariaDb("payments", a.get("maria.url"), a.get("maria.user"),
                a.get("maria.password"), 8)))
        .sagas(SagaConfig.DEFAULTS.withCompensationRetryEvery(Duration.ofMillis(500)))
        .start();
    return node.awaitLeadership(60, TimeUnit.SECONDS);
  }

  private static void run(Map<String, String> a) throws Exception {
    String prefix = a.get("prefix");
    int parallel = Integer.parseInt(a.get("parallel"));
    SynodNode node = start(a);
    SagaService sagas = node.sagas();
    SagaDefinition purchase = purchase();
    ScheduledExecutorService unlocker = Executors.newSingleThreadScheduledExecutor();
    Semaphore inFlight = new Semaphore(parallel);
    // A hindered saga takes seconds; were it to hold one of the parallel slots, soon all of them
    // would wait on gates. It has slots of its own (when none is free, the saga goes unhindered).
    Semaphore hinderedInFlight = new Semaphore(HINDERED_PARALLEL);
    try (Jedis redis = new Jedis(URI.create(a.get("redis.uri")));
        Connection maria = DriverManager.getConnection(a.get("maria.url"), a.get("maria.user"),
            a.get("maria.password"))) {
      boolean readyAfterHindered = "after-hindered".equals(a.get("ready"));
      if (!readyAfterHindered) {
        say("READY");
      }
      for (int i = 0; ; i++) {
        String id = prefix + i;
        boolean fails = i % 3 == 2;
        boolean hindered = !fails && i % 4 == 1 && hinderedInFlight.tryAcquire();
        Semaphore slots = hindered ? hinderedInFlight : inFlight;
        if (!hindered) {
          inFlight.acquire();
        }
        say("S " + id); // before any of its effects can exist
        redis.set("stock:" + id, String.valueOf(STOCK));
        String gate = OPEN_GATE;
        if (hindered) {
          gate = "g-" + id;
          lockGate(a, maria, gate, unlocker);
        }
        Map<String, Object> input = Map.of("item", "book", "amount", fails ? 0L : 30L,
            "gate", gate);
        boolean firstHindered = hindered && i == 1;
        sagas.start(id, purchase, input).whenComplete((status, e) -> {
          slots.release();
          say(e == null ? "D " + id + " " + describe(status) : "E " + id + " " + e);
          if (readyAfterHindered && firstHindered) {
            say("READY");
          }
        });
      }
    }
  }

  /** Creates the gate row and holds it locked (FOR UPDATE) for a while on its own connection. */
  private static void lockGate(Map<String, String> a, Connection maria, String gate,
      ScheduledExecutorService unlocker) throws Exception {
    try (PreparedStatement ps = maria.prepareStatement("INSERT INTO gates (id) VALUES (?)")) {
      ps.setString(1, gate);
      ps.executeUpdate();
    }
    Connection holder = DriverManager.getConnection(a.get("maria.url"), a.get("maria.user"),
        a.get("maria.password"));
    holder.setAutoCommit(false);
    try (PreparedStatement ps = holder.prepareStatement(
        "SELECT id FROM gates WHERE id = ? FOR UPDATE")) {
      ps.setString(1, gate);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
      }
    }
    unlocker.schedule(() -> {
      try (holder) {
        holder.rollback();
      } catch (Exception e) {
        System.err.println("releasing gate " + gate + " failed: " + e);
      }
    }, GATE_HOLD_MS, TimeUnit.MILLISECONDS);
  }

  private static void recover(Map<String, String> a) throws Exception {
    List<String> ids = Files.readAllLines(Path.of(a.get("ids")));
    long boundMs = Long.parseLong(a.get("bound.ms"));
    SynodNode node = start(a);
    SagaService sagas = node.sagas();
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(boundMs);
    while (!sagas.listActive().isEmpty() && System.nanoTime() < deadline) {
      Thread.sleep(100);
    }
    Set<String> known = new LinkedHashSet<>(ids);
    for (String id : ids) {
      say("ST " + id + " " + sagas.status(id).map(SagaCrashChild::describe).orElse("NONE -"));
    }
    for (String id : new ArrayList<>(sagas.listActive())) {
      if (!known.contains(id)) {
        say("ACTIVE " + id + " " + sagas.status(id).map(SagaCrashChild::describe).orElse("?"));
      }
    }
    for (String id : sagas.listActive()) {
      System.err.println("still active after " + boundMs + " ms: " + sagas.status(id));
    }
    say("DONE");
    node.close();
    System.exit(0);
  }

  /**
   * {@code STATE step:STATE:attempts:lost,...}, e.g. {@code COMPLETED order:SUCCEEDED:2:L,...};
   * {@code L}: the step's last failure was a try whose outcome never reached the log (lost with a
   * killed coordinator), {@code -} otherwise.
   */
  private static String describe(SagaStatus status) {
    StringBuilder steps = new StringBuilder();
    for (StepStatus step : status.steps()) {
      boolean lost = step.lastError() != null && step.lastError().contains("no outcome within");
      steps.append(steps.isEmpty() ? "" : ",").append(step.name()).append(':')
          .append(step.state()).append(':').append(step.attempts()).append(lost ? ":L" : ":-");
    }
    return status.state() + " " + steps;
  }

  /** A line for the parent, echoed to the log. */
  private static void say(String line) {
    synchronized (out) {
      out.println(line);
      out.flush();
    }
    System.err.println(java.time.LocalTime.now() + " > " + line);
  }

  private static Map<String, String> parse(String[] args) {
    Map<String, String> map = new HashMap<>();
    for (String arg : args) {
      int eq = arg.indexOf('=');
      map.put(arg.substring(0, eq), arg.substring(eq + 1));
    }
    return map;
  }
}
