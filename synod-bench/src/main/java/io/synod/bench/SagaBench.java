package io.synod.bench;

import io.synod.api.saga.RetryPolicy;
import io.synod.api.saga.SagaDefinition;
import io.synod.api.saga.SagaState;
import io.synod.api.saga.SagaStatus;
import io.synod.api.saga.StepOperation;
import io.synod.engine.SynodNode;
import io.synod.engine.log.LogConfig;
import io.synod.engine.saga.store.SqlSagaStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * A three-step saga over two PostgreSQL databases — record the order (orders), take the stock
 * (stock), write the audit line (orders) — against the same three statements run as plain local
 * transactions by the client, one after another, with no saga log: in the same process, against
 * the same server, in alternating rounds.
 *
 * <p>The saga logs each step's start and outcome and records each step's idempotency key with
 * its effect (the barrier table), which is what a saga costs over the plain path.
 */
@Command(name = "saga", mixinStandardHelpOptions = true,
    description = "Three-step sagas over two embedded PostgreSQL databases vs. the same steps as"
        + " plain local transactions.")
final class SagaBench implements Callable<Integer> {
  private static final int ITEMS = 1_000;

  @Option(names = "--concurrency", split = ",", defaultValue = "1,8,32",
      description = "Concurrency levels (default ${DEFAULT-VALUE}).")
  int[] concurrency;

  @Mixin RunOptions run;

  @Option(names = "--jit-warmup-seconds", defaultValue = "60",
      description = "At most this many unmeasured seconds of every mode at every concurrency"
          + " before the first round, until the JIT is quiet (default ${DEFAULT-VALUE}).")
  double jitWarmupSeconds;

  @Override
  public Integer call() throws Exception {
    run.validate(jitWarmupSeconds);
    if (concurrency.length == 0) {
      throw new IllegalArgumentException("--concurrency must name at least one level");
    }
    int maxConcurrency = Arrays.stream(concurrency).max().orElse(1);
    Path work = Files.createTempDirectory("synod-bench-saga");
    System.out.printf("synod bench saga: %d round(s) of %.0f s per cell after %.0f s warm-up;"
        + " work dir %s%n", run.rounds, run.seconds, run.warmupSeconds, work);
    try (EmbeddedPostgres pg = EmbeddedPostgres.start(work.resolve("pg"), 4 * maxConcurrency + 20)) {
      String ordersUrl = pg.createDatabase("orders");
      String stockUrl = pg.createDatabase("stock");
      createTables(ordersUrl, stockUrl, pg.user());
      LogConfig log = LogConfig.singleNode("bench", work.resolve("log"),
          LogConfig.freeLoopbackPort());
      try (SynodNode node = SynodNode.builder(log)
              .sagaStores(List.of(
                  SqlSagaStore.postgres("orders", ordersUrl, pg.user(), "", maxConcurrency * 2 + 2),
                  SqlSagaStore.postgres("stock", stockUrl, pg.user(), "", maxConcurrency * 2 + 2)))
              .start();
          Plain plain = new Plain(ordersUrl, stockUrl, pg.user(), maxConcurrency)) {
        node.awaitLeadership(30, TimeUnit.SECONDS);
        Map<String, LoadRun.Operation> modes = new java.util.LinkedHashMap<>();
        modes.put("plain", plain::run);
        modes.put("saga", (worker, seq) -> saga(node, worker, seq));
        Report.print(measure(modes), concurrency, run.rounds, "plain", "saga",
            "(medians of " + run.rounds + " rounds; ratio = saga sagas/s ÷ plain sagas/s;"
                + " cpu = this JVM's CPU per saga: client and embedded engine, not PostgreSQL's;"
                + " machine = all processes' busy CPU per saga)");
      }
    }
    return 0;
  }

  private static final SagaDefinition ORDER = SagaDefinition.sequential("order")
      .step("record", new StepOperation.Sql("orders",
              "INSERT INTO orders (id, item) VALUES (?, ?)", List.of("{{saga.saga_id}}",
              "{{saga.item}}")),
          new StepOperation.Sql("orders", "DELETE FROM orders WHERE id = ?",
              List.of("{{saga.saga_id}}")), RetryPolicy.DEFAULT)
      .step("reserve", new StepOperation.Sql("stock",
              "UPDATE stock SET quantity = quantity - 1 WHERE item = ?", List.of("{{saga.item}}")),
          new StepOperation.Sql("stock",
              "UPDATE stock SET quantity = quantity + 1 WHERE item = ?", List.of("{{saga.item}}")),
          RetryPolicy.DEFAULT)
      .step("audit", new StepOperation.Sql("orders",
              "INSERT INTO audit (order_id, line) VALUES (?, 'reserved')",
              List.of("{{saga.saga_id}}")), null, RetryPolicy.DEFAULT)
      .build();

  private static void saga(SynodNode node, int worker, long seq) throws Exception {
    String id = "b-" + worker + "-" + seq + "-" + System.nanoTime();
    SagaStatus done = node.sagas().start(id, ORDER, Map.of("item", item(worker, seq)))
        .get(60, TimeUnit.SECONDS);
    if (done.state() != SagaState.COMPLETED) {
      throw new IllegalStateException("benchmark saga " + id + " ended " + done.state() + ": "
          + done.error());
    }
  }

  /** Clients spread over the items, so that they rarely wait on each other's row lock. */
  private static long item(int worker, long seq) {
    return (worker * 7919L + seq) % ITEMS;
  }

  private java.util.Map<String, double[][]> measure(Map<String, LoadRun.Operation> modes)
      throws Exception {
    java.util.Map<String, double[][]> cells = new java.util.LinkedHashMap<>();
    modes.keySet().forEach(m -> cells.put(m, new double[concurrency.length * run.rounds][]));
    JitWarmup.untilQuiet(jitWarmupSeconds, concurrency, modes.values());
    for (int round = 0; round < run.rounds; round++) {
      for (int i = 0; i < concurrency.length; i++) {
        StringBuilder line = new StringBuilder(String.format("  round %d  c=%-3d", round + 1,
            concurrency[i]));
        for (var mode : modes.entrySet()) {
          LoadRun.Result r = LoadRun.run(concurrency[i], run.warmupSeconds, run.seconds,
              mode.getValue());
          cells.get(mode.getKey())[i * run.rounds + round] =
              Report.cell(r);
          line.append(String.format("  %s %6.0f/s p50 %6.2f ms %5.0f us cpu", mode.getKey(),
              r.perSecond(), r.p50Ms(), r.cpuMicrosPerOp()));
        }
        System.out.println(line);
      }
    }
    return cells;
  }

  private static void createTables(String ordersUrl, String stockUrl, String user)
      throws SQLException {
    try (Connection c = DriverManager.getConnection(ordersUrl, user, "");
        Statement s = c.createStatement()) {
      s.execute("CREATE TABLE orders (id TEXT PRIMARY KEY, item BIGINT NOT NULL)");
      s.execute("CREATE TABLE audit (order_id TEXT NOT NULL, line TEXT NOT NULL)");
    }
    try (Connection c = DriverManager.getConnection(stockUrl, user, "");
        Statement s = c.createStatement()) {
      s.execute("CREATE TABLE stock (item BIGINT PRIMARY KEY, quantity BIGINT NOT NULL)");
      s.execute("INSERT INTO stock SELECT i, 1000000000 FROM generate_series(0, " + (ITEMS - 1)
          + ") AS i");
    }
  }

  /** The same three statements as three autocommit transactions, one connection per client. */
  static final class Plain implements AutoCloseable {
    private final List<PreparedStatement[]> statements = new ArrayList<>();
    private final List<Connection> connections = new ArrayList<>();

    Plain(String ordersUrl, String stockUrl, String user, int clients) throws SQLException {
      for (int i = 0; i < clients; i++) {
        Connection orders = DriverManager.getConnection(ordersUrl, user, "");
        Connection stock = DriverManager.getConnection(stockUrl, user, "");
        connections.add(orders);
        connections.add(stock);
        statements.add(new PreparedStatement[] {
            orders.prepareStatement("INSERT INTO orders (id, item) VALUES (?, ?)"),
            stock.prepareStatement("UPDATE stock SET quantity = quantity - 1 WHERE item = ?"),
            orders.prepareStatement("INSERT INTO audit (order_id, line) VALUES (?, 'reserved')")});
      }
    }

    void run(int worker, long seq) throws SQLException {
      PreparedStatement[] s = statements.get(worker);
      String id = "p-" + worker + "-" + seq + "-" + System.nanoTime();
      long item = item(worker, seq);
      s[0].setString(1, id);
      s[0].setLong(2, item);
      s[0].executeUpdate();
      s[1].setLong(1, item);
      s[1].executeUpdate();
      s[2].setString(1, id);
      s[2].executeUpdate();
    }

    @Override
    public void close() throws SQLException {
      for (Connection c : connections) {
        c.close();
      }
    }
  }
}
