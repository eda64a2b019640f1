package io.synod.cli;

import io.synod.api.CoordinationRequest;
import io.synod.api.CoordinationResult;
import io.synod.api.CoordinationService;
import io.synod.api.spi.Participant;
import io.synod.engine.CoordinatorConfig;
import io.synod.engine.SynodNode;
import io.synod.engine.log.LogConfig;
import io.synod.engine.participant.H2Participant;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The README's main job: money moves between two banks kept in two separate databases, each
 * transfer one atomic commit across both. Some transfers are made to overdraw, so the debiting
 * bank's CHECK constraint votes abort. At the end the total across both banks must be what it
 * was, and each bank's balance must differ by exactly the committed transfers.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Run cross-store transfers between two H2 databases under an embedded coordinator.")
final class DemoCommand implements Callable<Integer> {
  private static final int ACCOUNTS = 100;
  private static final long OPENING_BALANCE = 1_000;

  @Option(names = "--transfers", defaultValue = "2000", description = "How many transfers (default ${DEFAULT-VALUE}).")
  int transfers;

  @Option(names = "--concurrency", defaultValue = "8", description = "Transfers in flight at once (default ${DEFAULT-VALUE}).")
  int concurrency;

  @Option(names = "--overdraw-every", defaultValue = "10", description = "Every Nth transfer overdraws and must abort (default ${DEFAULT-VALUE}).")
  int overdrawEvery;

  @Option(names = "--data-dir", defaultValue = "data/demo", description = "Where the stores and the coordinator log live; wiped at start (default ${DEFAULT-VALUE}).")
  Path dataDir;

  @Option(names = "--seed", defaultValue = "42", description = "Seed for the transfer stream (default ${DEFAULT-VALUE}).")
  long seed;

  private final PrintStream out = System.out;
  private final AtomicLong committed = new AtomicLong();
  private final AtomicLong aborted = new AtomicLong();
  private final Map<String, AtomicLong> abortReasons = new ConcurrentHashMap<>();
  /** Net amount moved from bank_a to bank_b by committed transfers. */
  private final AtomicLong movedAtoB = new AtomicLong();

  @Override
  public Integer call() throws Exception {
    validate();
    wipe(dataDir);
    Files.createDirectories(dataDir);
    String urlA = h2Url("bank_a");
    String urlB = h2Url("bank_b");
    long[] before = {setUpBank(urlA), setUpBank(urlB)};
    out.printf("synod demo: %d transfers between bank_a and bank_b (H2 files under %s), %d at a time%n",
        transfers, dataDir, concurrency);
    out.printf("  opening balances: bank_a %,d  bank_b %,d  total %,d%n", before[0], before[1], before[0] + before[1]);

    List<Participant> stores = List.of(
        H2Participant.create("bank_a", urlA, "sa", "", concurrency + 2),
        H2Participant.create("bank_b", urlB, "sa", "", concurrency + 2));
    LogConfig log = LogConfig.singleNode("demo", dataDir.resolve("coordinator"), LogConfig.freeLoopbackPort());
    long startNanos = System.nanoTime();
    boolean recoveryQuiet;
    try (SynodNode node = SynodNode.start(log, CoordinatorConfig.DEFAULTS, stores)) {
      node.awaitLeadership(30, TimeUnit.SECONDS);
      runTransfers(node.coordination(), startNanos);
      recoveryQuiet = node.recoverNow();
    }
    double seconds = (System.nanoTime() - startNanos) / 1e9;
    return summarize(urlA, urlB, before, seconds, recoveryQuiet);
  }

  private void validate() {
    if (transfers < 1) {
      throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
          "--transfers must be at least 1; got " + transfers);
    }
    if (concurrency < 1 || concurrency > 256) {
      throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
          "--concurrency must be 1 to 256; got " + concurrency);
    }
    if (overdrawEvery < 1) {
      throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
          "--overdraw-every must be at least 1; got " + overdrawEvery);
    }
  }

  private void runTransfers(CoordinationService synod, long startNanos) throws InterruptedException {
    Random random = new Random(seed);
    Semaphore inFlight = new Semaphore(concurrency);
    ExecutorService progress = Executors.newSingleThreadScheduledExecutor();
    ((java.util.concurrent.ScheduledExecutorService) progress).scheduleAtFixedRate(
        () -> printProgress(startNanos, false), 1, 1, TimeUnit.SECONDS);
    try {
      for (int i = 0; i < transfers; i++) {
        boolean aToB = random.nextBoolean();
        int from = random.nextInt(ACCOUNTS);
        int to = random.nextInt(ACCOUNTS);
        long amount = (i + 1) % overdrawEvery == 0 ? OPENING_BALANCE * 50 : 1 + random.nextInt(200);
        inFlight.acquire();
        submit(synod, "transfer-" + i, aToB, from, to, amount).whenComplete((r, e) -> inFlight.release());
      }
      inFlight.acquire(concurrency);
    } finally {
      progress.shutdownNow();
      printProgress(startNanos, true);
    }
  }

  private java.util.concurrent.CompletableFuture<CoordinationResult> submit(CoordinationService synod,
      String id, boolean aToB, int from, int to, long amount) {
    String debit = aToB ? "bank_a" : "bank_b";
    String credit = aToB ? "bank_b" : "bank_a";
    CoordinationRequest request = CoordinationRequest.twoPhaseCommit(id)
        .sql(debit, "UPDATE accounts SET balance = balance - ? WHERE id = ?", amount, from)
        .sql(credit, "UPDATE accounts SET balance = balance + ? WHERE id = ?", amount, to)
        .metadata("kind", "transfer")
        .build();
    return synod.coordinate(request).whenComplete((result, error) -> {
      if (error == null && result.success()) {
        committed.incrementAndGet();
        movedAtoB.addAndGet(aToB ? amount : -amount);
      } else {
        aborted.incrementAndGet();
        String reason = error != null ? error.getClass().getSimpleName() : reasonOf(result.errorMessage());
        abortReasons.computeIfAbsent(reason, r -> new AtomicLong()).incrementAndGet();
      }
    });
  }

  private static String reasonOf(String message) {
    if (message == null) {
      return "unknown";
    }
    int open = message.indexOf('(');
    int close = message.indexOf(')', open + 1);
    return open >= 0 && close > open ? message.substring(open + 1, close) : message;
  }

  private void printProgress(long startNanos, boolean last) {
    long done = committed.get() + aborted.get();
    double seconds = Math.max(1e-3, (System.nanoTime() - startNanos) / 1e9);
    // On a terminal the line redraws in place; in a log it is one line per report.
    boolean terminal = System.console() != null;
    out.printf("%s  transfers %,d/%,d  committed %,d  aborted %,d  %.0f txn/s   %s",
        terminal ? "\r" : "", done, transfers, committed.get(), aborted.get(), done / seconds,
        last || !terminal ? "\n" : "");
    out.flush();
  }

  private int summarize(String urlA, String urlB, long[] before, double seconds, boolean recoveryQuiet)
      throws SQLException {
    long afterA = totalBalance(urlA);
    long afterB = totalBalance(urlB);
    int inDoubt = inDoubt(urlA) + inDoubt(urlB);
    boolean totalKept = afterA + afterB == before[0] + before[1];
    boolean eachMatches = afterA == before[0] - movedAtoB.get() && afterB == before[1] + movedAtoB.get();
    out.printf("summary: %,d transfers in %.1f s: committed %,d, aborted %,d%n",
        transfers, seconds, committed.get(), aborted.get());
    abortReasons.forEach((reason, n) -> out.printf("  aborted because of %s: %,d%n", reason, n.get()));
    out.printf("  closing balances: bank_a %,d  bank_b %,d  total %,d%n", afterA, afterB, afterA + afterB);
    out.printf("  invariant: total unchanged (%,d = %,d): %s%n", before[0] + before[1], afterA + afterB,
        totalKept ? "PASS" : "FAIL");
    out.printf("  invariant: each bank moved by exactly the committed transfers (net %,d a->b): %s%n",
        movedAtoB.get(), eachMatches ? "PASS" : "FAIL");
    out.printf("  in-doubt transactions left in the stores: %d (%s)%n", inDoubt, inDoubt == 0 ? "PASS" : "FAIL");
    out.printf("  final recovery pass: %s%n", recoveryQuiet ? "nothing left to finish" : "finished leftovers");
    return totalKept && eachMatches && inDoubt == 0 ? 0 : 1;
  }

  private String h2Url(String name) {
    return "jdbc:h2:file:" + dataDir.toAbsolutePath().resolve(name) + ";LOCK_TIMEOUT=2000";
  }

  /**
   * Creates the bank's {@code accounts} table (ids 0 to 99, 1,000 each, no overdraft allowed)
   * unless it exists, and returns the bank's total. {@code synod serve} sets up its default stores
   * with it too, so that the README's curl examples have something to move.
   */
  static long setUpBank(String url) throws SQLException {
    try (Connection c = DriverManager.getConnection(url, "sa", ""); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE IF NOT EXISTS accounts (id INT PRIMARY KEY, balance BIGINT NOT NULL,"
          + " CONSTRAINT no_overdraft CHECK (balance >= 0))");
      s.execute("INSERT INTO accounts SELECT x, " + OPENING_BALANCE + " FROM SYSTEM_RANGE(0, "
          + (ACCOUNTS - 1) + ") WHERE NOT EXISTS (SELECT 1 FROM accounts)");
    }
    return totalBalance(url);
  }

  private static long totalBalance(String url) throws SQLException {
    return queryLong(url, "SELECT SUM(balance) FROM accounts");
  }

  private static int inDoubt(String url) throws SQLException {
    return (int) queryLong(url, "SELECT COUNT(*) FROM INFORMATION_SCHEMA.IN_DOUBT");
  }

  private static long queryLong(String url, String sql) throws SQLException {
    try (Connection c = DriverManager.getConnection(url, "sa", "");
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private static void wipe(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

}
