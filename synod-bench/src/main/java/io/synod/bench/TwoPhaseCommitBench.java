package io.synod.bench;

import io.synod.api.CoordinationRequest;
import io.synod.api.CoordinationResult;
import io.synod.api.CoordinationService;
import io.synod.api.spi.Participant;
import io.synod.client.SynodClient;
import io.synod.engine.SynodNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code synod bench 2pc}: one transaction is one insert in each of two PostgreSQL databases.
 * The baseline does the same with no coordinator — BEGIN; INSERT; PREPARE TRANSACTION on both
 * databases, then COMMIT PREPARED on both — in the same process, against the same server, in
 * alternating rounds, so that the ratio compares like with like.
 */
@Command(name = "2pc", mixinStandardHelpOptions = true,
    description = "Atomic commit over two embedded PostgreSQL databases vs. raw prepared transactions.")
final class TwoPhaseCommitBench implements Callable<Integer> {
  private static final String INSERT = "INSERT INTO bench (worker, seq, payload) VALUES (?, ?, ?)";

  @Option(names = "--concurrency", split = ",", defaultValue = "1,8,32",
      description = "Concurrency levels (default ${DEFAULT-VALUE}).")
  int[] concurrency;

  @Mixin RunOptions run;

  @Option(names = "--jit-warmup-seconds", defaultValue = "90",
      description = "At most this many unmeasured seconds of every mode at every concurrency"
          + " before the first round, until the JIT is quiet (default ${DEFAULT-VALUE}).")
  double jitWarmupSeconds;

  @Option(names = "--remote",
      description = "Also run the coordinations through the gRPC API of a server in this process"
          + " (synod-client to 127.0.0.1), next to the same server's coordinator called in-process;"
          + " last line then gives the API's overhead.")
  boolean remote;

  @Override
  public Integer call() throws Exception {
    run.validate(jitWarmupSeconds);
    if (concurrency.length == 0) {
      throw new IllegalArgumentException("--concurrency must name at least one level");
    }
    int maxConcurrency = java.util.Arrays.stream(concurrency).max().orElse(1);
    Path work = Files.createTempDirectory("synod-bench-2pc");
    System.out.printf("synod bench 2pc%s: %d round(s) of %.0f s per cell after %.0f s warm-up;"
        + " work dir %s%n", remote ? " --remote" : "", run.rounds, run.seconds, run.warmupSeconds,
        work);
    try (EmbeddedPostgres pg = EmbeddedPostgres.start(work.resolve("pg"), 4 * maxConcurrency + 20)) {
      String urlA = pg.createDatabase("bench_a");
      String urlB = pg.createDatabase("bench_b");
      createTable(urlA, pg.user());
      createTable(urlB, pg.user());
      try (BenchServer server = BenchServer.start(work, pg.user(), urlA, urlB, maxConcurrency);
          RawTwoPhaseCommit raw = new RawTwoPhaseCommit(urlA, urlB, pg.user(), maxConcurrency);
          SynodClient client = remote ? SynodClient.connect(List.of(server.grpcAddress())) : null) {
        this.node = server.node();
        Map<String, LoadRun.Operation> modes = new LinkedHashMap<>();
        modes.put("raw", raw::run);
        modes.put("synod", synodTask(node.coordination(), "s"));
        if (remote) {
          modes.put("grpc", synodTask(client, "g"));
        }
        report(measure(modes));
      }
    }
    return 0;
  }

  private SynodNode node;

  /** Coordinations with ids unique to the mode, the round and the client. */
  private static LoadRun.Operation synodTask(CoordinationService synod, String mode) {
    return (worker, seq) -> coordinate(synod, mode + "-" + worker + "-" + seq + "-"
        + System.nanoTime(), worker, seq);
  }

  /** Every mode at every concurrency, in alternating order within each round. */
  private Map<String, double[][]> measure(Map<String, LoadRun.Operation> modes)
      throws Exception {
    // cells[mode][c * rounds + round]: see Report.cell
    Map<String, double[][]> cells = new LinkedHashMap<>();
    modes.keySet().forEach(m -> cells.put(m, new double[concurrency.length * run.rounds][]));
    JitWarmup.untilQuiet(jitWarmupSeconds, concurrency, modes.values());
    for (int round = 0; round < run.rounds; round++) {
      for (int i = 0; i < concurrency.length; i++) {
        int c = concurrency[i];
        StringBuilder line = new StringBuilder(String.format("  round %d  c=%-3d", round + 1, c));
        for (var mode : modes.entrySet()) {
          var before = node.logStats();
          LoadRun.Result r = LoadRun.run(c, run.warmupSeconds, run.seconds, mode.getValue());
          var after = node.logStats();
          cells.get(mode.getKey())[i * run.rounds + round] =
              Report.cell(r);
          line.append(String.format(" %s %6.0f txn/s %4.0f us cpu %5.0f us machine %3d ms jit",
              mode.getKey(), r.perSecond(), r.cpuMicrosPerOp(), r.machineCpuMicrosPerOp(),
              r.jitMillis()));
          if (!mode.getKey().equals("raw")) {
            line.append(String.format(" (%.1f cmds/entry)", (double) (after.commands()
                - before.commands()) / Math.max(1, after.entries() - before.entries())));
          }
        }
        System.out.println(line);
      }
    }
    return cells;
  }

  private static void coordinate(CoordinationService synod, String id, int worker, long seq) {
    // A thread per client, as in the baseline: the blocking call drives it on this thread.
    CoordinationResult result = synod.coordinateAndWait(CoordinationRequest.twoPhaseCommit(id)
        .sql("pg_a", INSERT, worker, seq, "synod")
        .sql("pg_b", INSERT, worker, seq, "synod")
        .build());
    if (!result.success()) {
      throw new IllegalStateException("benchmark transaction aborted: " + result.errorMessage());
    }
  }

  private void report(Map<String, double[][]> cells) {
    Report.table(cells, concurrency, run.rounds, "raw");
    System.out.printf("(medians of %d rounds; ratio = mode txn/s / raw txn/s; cpu = this JVM's CPU"
        + " per transaction: client, server and coordinator, not PostgreSQL's; machine = every"
        + " process's busy CPU per transaction, PostgreSQL's included)%n", run.rounds);
    int last = Report.lastIndex(concurrency);
    double raw = Report.median(cells.get("raw"), last, run.rounds)[0];
    double synod = Report.median(cells.get("synod"), last, run.rounds)[0];
    if (cells.containsKey("grpc")) {
      double grpc = Report.median(cells.get("grpc"), last, run.rounds)[0];
      System.out.printf("ratio at %d: %.2f (embedded), %.2f (grpc)%n", concurrency[last],
          synod / raw, grpc / raw);
      System.out.printf("api overhead at %d: grpc/embedded %.2f%n", concurrency[last],
          grpc / synod);
    } else {
      System.out.printf("ratio at %d: %.2f%n", concurrency[last], synod / raw);
    }
  }

  private static void createTable(String url, String user) throws SQLException {
    try (Connection c = DriverManager.getConnection(url, user, ""); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE bench (id BIGSERIAL PRIMARY KEY, worker INT NOT NULL, seq BIGINT NOT NULL,"
          + " payload TEXT NOT NULL)");
    }
  }


  /** The baseline: the same two prepared transactions, driven directly, one connection pair per worker. */
  static final class RawTwoPhaseCommit implements AutoCloseable {
    private final List<Connection[]> connections = new ArrayList<>();
    private final List<PreparedStatement[]> inserts = new ArrayList<>();

    RawTwoPhaseCommit(String urlA, String urlB, String user, int workers) throws SQLException {
      for (int w = 0; w < workers; w++) {
        Connection a = DriverManager.getConnection(urlA, user, "");
        Connection b = DriverManager.getConnection(urlB, user, "");
        connections.add(new Connection[] {a, b});
        inserts.add(new PreparedStatement[] {a.prepareStatement(INSERT), b.prepareStatement(INSERT)});
      }
    }

    void run(int worker, long seq) throws SQLException {
      Connection[] pair = connections.get(worker);
      PreparedStatement[] insert = inserts.get(worker);
      String gid = "raw_" + worker + "_" + seq + "_" + System.nanoTime();
      for (int i = 0; i < 2; i++) {
        try (Statement s = pair[i].createStatement()) {
          s.execute("BEGIN");
          insert[i].setInt(1, worker);
          insert[i].setLong(2, seq);
          insert[i].setString(3, "raw");
          insert[i].executeUpdate();
          // gids are unique per server, not per database: one name per branch
          s.execute("PREPARE TRANSACTION '" + gid + "_" + i + "'");
        }
      }
      for (int i = 0; i < 2; i++) {
        try (Statement s = pair[i].createStatement()) {
          s.execute("COMMIT PREPARED '" + gid + "_" + i + "'");
        }
      }
    }

    @Override
    public void close() throws SQLException {
      for (Connection[] pair : connections) {
        pair[0].close();
        pair[1].close();
      }
    }
  }
}
