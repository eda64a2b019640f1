package io.synod.bench;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.synod.api.kv.Consistency;
import io.synod.api.kv.KvRead;
import io.synod.api.kv.KvService;
import io.synod.api.kv.KvWrite;
import io.synod.api.kv.Tenant;
import io.synod.api.kv.VectorClock;
import io.synod.api.kv.Versioned;
import io.synod.kv.coordinator.KvConfig;
import io.synod.kv.coordinator.KvCoordinator;
import io.synod.kv.coordinator.TenantStoreRing;
import io.synod.kv.idempotency.JdbcIdempotencyStore;
import io.synod.kv.node.LocalNodes;
import io.synod.kv.node.StorageNode;
import io.synod.kv.node.StorageNodeClient;
import io.synod.kv.node.StorageNodeConfig;
import io.synod.kv.tenant.JdbcTenantStore;
import io.synod.kv.tenant.TenantCache;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.h2.jdbcx.JdbcDataSource;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code synod bench kv}: YCSB's core workloads A (50 % reads, 50 % updates) and B (95 % reads,
 * 5 % updates) with zipfian key popularity, through the KV coordinator to three storage nodes with
 * N=3 at quorum, all in this process. The coordinator runs twice: calling the nodes through gRPC
 * on loopback (as it calls nodes of other processes), and calling them directly (as a server calls
 * its own embedded nodes). The baseline runs the same operation mix over gRPC straight against one
 * storage node (a get, or a put of a new version; no ring, no replicas, no clocks to merge), in
 * the same run, round after round: the ratio is what coordination costs.
 */
@Command(name = "kv", mixinStandardHelpOptions = true,
    description = "YCSB workloads A and B on the KV store (3 nodes, N=3, quorum; in process and"
        + " over gRPC) vs. one node called directly.")
final class KvBench implements Callable<Integer> {
  private static final String TENANT = "ycsb";

  @Mixin RunOptions run;

  @Option(names = "--records", defaultValue = "10000",
      description = "Keys loaded before the runs (default ${DEFAULT-VALUE}).")
  int records;

  @Option(names = "--value-bytes", defaultValue = "1000",
      description = "Bytes per value, YCSB's 10 fields of 100 (default ${DEFAULT-VALUE}).")
  int valueBytes;

  @Option(names = "--concurrency", defaultValue = "32",
      description = "Client threads (default ${DEFAULT-VALUE}).")
  int concurrency;

  /** A workload: the share of reads; the rest are updates. */
  record Workload(String name, double readShare) {}

  // B first, so that the last line printed is workload A's.
  private static final List<Workload> WORKLOADS = List.of(new Workload("B", 0.95),
      new Workload("A", 0.50));

  /** The two operations of a run, as one system does them. */
  interface Target {
    void read(String key) throws Exception;

    void update(String key, byte[] value) throws Exception;
  }

  /** What one run measured: operations a second and latencies (ms) by operation. */
  record Result(double opsPerSecond, double[] readMs, double[] writeMs) {}

  @Override
  public Integer call() throws Exception {
    run.validate(0);
    if (records < 1 || valueBytes < 1 || concurrency < 1) {
      throw new IllegalArgumentException("--records, --value-bytes and --concurrency must be"
          + " positive; got " + records + ", " + valueBytes + ", " + concurrency);
    }
    Path work = Files.createTempDirectory("synod-bench-kv");
    System.out.printf("synod bench kv: %d records of %d bytes, zipfian, concurrency %d; %d"
            + " round(s) of %.0f s after %.0f s warm-up; work dir %s%n", records, valueBytes,
        concurrency, run.rounds, run.seconds, run.warmupSeconds, work);
    List<StorageNode> nodes = new ArrayList<>();
    JdbcDataSource metadata = new JdbcDataSource();
    metadata.setURL("jdbc:h2:" + work.resolve("meta") + ";DB_CLOSE_DELAY=-1");
    try (JdbcTenantStore tenants = new JdbcTenantStore(metadata);
         JdbcIdempotencyStore idempotency = new JdbcIdempotencyStore(metadata,
             Clock.systemUTC())) {
      for (int i = 1; i <= 3; i++) {
        nodes.add(StorageNode.start(StorageNodeConfig.of("n" + i, work.resolve("n" + i))));
      }
      LocalNodes local = LocalNodes.create();
      nodes.forEach(local::register);
      KvCoordinator kv = new KvCoordinator(KvConfig.defaults("grpc"),
          new TenantStoreRing(tenants), new TenantCache(tenants, new SimpleMeterRegistry()),
          idempotency, new SimpleMeterRegistry(), System::currentTimeMillis);
      KvCoordinator embedded = new KvCoordinator(KvConfig.defaults("direct"),
          new TenantStoreRing(tenants), new TenantCache(tenants, new SimpleMeterRegistry()),
          idempotency, new SimpleMeterRegistry(), System::currentTimeMillis, local);
      StorageNodeClient direct = new StorageNodeClient("n1", nodes.get(0).address());
      try {
        nodes.forEach(n -> kv.membership().add(new KvService.StorageNodeInfo(n.id(),
            n.address())));
        kv.tenants().create(new Tenant(TENANT, 3, Consistency.QUORUM, 1 << 20, 0));
        Target synod = through(kv);
        Target inProcess = through(embedded);
        Target raw = rawTarget(direct);
        load(synod, raw);
        System.out.println();
        for (Workload workload : WORKLOADS) {
          report(workload, measure(workload, synod, inProcess, raw));
        }
      } finally {
        direct.close();
        kv.close();
        embedded.close();
        nodes.forEach(StorageNode::close);
      }
    }
    return 0;
  }

  private static Target through(KvCoordinator kv) {
    return new Target() {
      @Override
      public void read(String key) {
        kv.read(KvRead.of(TENANT, key));
      }

      @Override
      public void update(String key, byte[] value) {
        kv.write(KvWrite.of(TENANT, key, value));
      }
    };
  }

  /** One node, called directly: a get, or a put of a version one past the last one it wrote. */
  private static Target rawTarget(StorageNodeClient direct) {
    return new Target() {
      private final java.util.concurrent.atomic.AtomicLong counter =
          new java.util.concurrent.atomic.AtomicLong();

      @Override
      public void read(String key) throws Exception {
        direct.get("raw", key, Duration.ofSeconds(5)).get();
      }

      @Override
      public void update(String key, byte[] value) throws Exception {
        VectorClock clock = VectorClock.of(Map.of("raw", counter.incrementAndGet()));
        direct.put("raw", key, List.of(new Versioned(value, clock, System.currentTimeMillis(),
            "raw", false)), Duration.ofSeconds(5)).get();
      }
    };
  }

  private void load(Target synod, Target raw) throws Exception {
    long start = System.nanoTime();
    byte[] value = value();
    runFor(concurrency, (worker, threads) -> {
      for (int i = worker; i < records; i += threads) {
        synod.update(key(i), value);
        raw.update(key(i), value);
      }
    });
    System.out.printf("loaded %d records into each system in %.1f s%n", records,
        (System.nanoTime() - start) / 1e9);
  }

  /** Rounds of the workload on each system, alternating; medians per system. */
  private Result[] measure(Workload workload, Target... targets) throws Exception {
    List<List<Result>> runs = new ArrayList<>();
    for (Target ignored : targets) {
      runs.add(new ArrayList<>());
    }
    for (int round = 0; round < run.rounds; round++) {
      for (int t = 0; t < targets.length; t++) {
        runs.get(t).add(once(workload, targets[t]));
      }
    }
    return runs.stream().map(this::median).toArray(Result[]::new);
  }

  private Result once(Workload workload, Target target) throws Exception {
    Zipfian zipf = new Zipfian(records);
    byte[] value = value();
    long measureFrom = System.nanoTime() + (long) (run.warmupSeconds * 1e9);
    long end = measureFrom + (long) (run.seconds * 1e9);
    long[][] reads = new long[concurrency][];
    long[][] writes = new long[concurrency][];
    int[] readCount = new int[concurrency];
    int[] writeCount = new int[concurrency];
    runFor(concurrency, (worker, threads) -> {
      long[] r = new long[1 << 14];
      long[] w = new long[1 << 14];
      int nr = 0;
      int nw = 0;
      ThreadLocalRandom random = ThreadLocalRandom.current();
      while (true) {
        long t0 = System.nanoTime();
        if (t0 >= end) {
          break;
        }
        String key = key(zipf.next(random));
        boolean read = random.nextDouble() < workload.readShare();
        if (read) {
          target.read(key);
        } else {
          target.update(key, value);
        }
        long t1 = System.nanoTime();
        if (t0 >= measureFrom && t1 <= end) {
          if (read) {
            if (nr == r.length) {
              r = Arrays.copyOf(r, nr * 2);
            }
            r[nr++] = t1 - t0;
          } else {
            if (nw == w.length) {
              w = Arrays.copyOf(w, nw * 2);
            }
            w[nw++] = t1 - t0;
          }
        }
      }
      reads[worker] = r;
      writes[worker] = w;
      readCount[worker] = nr;
      writeCount[worker] = nw;
    });
    long[] allReads = flatten(reads, readCount);
    long[] allWrites = flatten(writes, writeCount);
    double ops = (allReads.length + allWrites.length) / run.seconds;
    return new Result(ops, percentiles(allReads), percentiles(allWrites));
  }

  private void report(Workload workload, Result[] results) {
    Result synod = results[0];
    Result inProcess = results[1];
    Result raw = results[2];
    System.out.printf("workload %s (%.0f %% reads), medians of %d round(s):%n", workload.name(),
        workload.readShare() * 100, run.rounds);
    System.out.println("| system | ops/s | read p50 | read p95 | read p99 | write p50 | write p95"
        + " | write p99 |");
    System.out.println("|---|---|---|---|---|---|---|---|");
    row("synod kv, nodes in process (direct calls)", inProcess);
    row("synod kv, nodes over gRPC", synod);
    row("baseline: one node over gRPC, no coordinator", raw);
    System.out.printf("workload %s in process ops/s: %.0f, write p95 ms: %.2f, read p95 ms: %.2f%n",
        workload.name(), inProcess.opsPerSecond(), inProcess.writeMs()[1], inProcess.readMs()[1]);
    System.out.printf("ratio synod (gRPC)/baseline at concurrency %d: %.2f%n", concurrency,
        synod.opsPerSecond() / raw.opsPerSecond());
    System.out.printf("workload %s ops/s: %.0f, write p95 ms: %.2f, read p95 ms: %.2f%n%n",
        workload.name(), synod.opsPerSecond(), synod.writeMs()[1], synod.readMs()[1]);
  }

  private static void row(String name, Result r) {
    System.out.printf("| %s | %.0f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |%n", name,
        r.opsPerSecond(), r.readMs()[0], r.readMs()[1], r.readMs()[2], r.writeMs()[0],
        r.writeMs()[1], r.writeMs()[2]);
  }

  private Result median(List<Result> runs) {
    double ops = LoadRun.median(runs.stream().mapToDouble(Result::opsPerSecond).toArray());
    double[] read = new double[3];
    double[] write = new double[3];
    for (int q = 0; q < 3; q++) {
      int at = q;
      read[q] = LoadRun.median(runs.stream().mapToDouble(r -> r.readMs()[at]).toArray());
      write[q] = LoadRun.median(runs.stream().mapToDouble(r -> r.writeMs()[at]).toArray());
    }
    return new Result(ops, read, write);
  }

  private byte[] value() {
    byte[] value = new byte[valueBytes];
    ThreadLocalRandom.current().nextBytes(value);
    return value;
  }

  private static String key(long i) {
    return "user" + i;
  }

  private static long[] flatten(long[][] parts, int[] counts) {
    long[] all = new long[Arrays.stream(counts).sum()];
    int at = 0;
    for (int i = 0; i < parts.length; i++) {
      System.arraycopy(parts[i], 0, all, at, counts[i]);
      at += counts[i];
    }
    Arrays.sort(all);
    return all;
  }

  /** p50, p95 and p99 in ms of sorted nanosecond latencies. */
  private static double[] percentiles(long[] sorted) {
    return new double[] {LoadRun.percentileMs(sorted, 0.50), LoadRun.percentileMs(sorted, 0.95),
        LoadRun.percentileMs(sorted, 0.99)};
  }

  interface Work {
    void run(int worker, int threads) throws Exception;
  }

  private static void runFor(int threads, Work work) throws Exception {
    CountDownLatch done = new CountDownLatch(threads);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    for (int w = 0; w < threads; w++) {
      int worker = w;
      Thread.ofPlatform().name("kv-bench-" + w).start(() -> {
        try {
          work.run(worker, threads);
        } catch (Throwable t) {
          failure.compareAndSet(null, t);
        } finally {
          done.countDown();
        }
      });
    }
    if (!done.await(10, TimeUnit.MINUTES)) {
      throw new IllegalStateException("bench threads did not finish in 10 minutes");
    }
    if (failure.get() != null) {
      throw new IllegalStateException("operation failed: " + failure.get(), failure.get());
    }
  }

  /**
   * YCSB's zipfian popularity (constant 0.99, Gray et al.'s method), scrambled so that the hot
   * keys are spread over the ring instead of being the lowest-numbered ones.
   */
  static final class Zipfian {
    private static final double THETA = 0.99;
    private final long items;
    private final double zetan;
    private final double alpha;
    private final double eta;

    Zipfian(long items) {
      this.items = items;
      double zeta2 = zeta(2);
      this.zetan = zeta(items);
      this.alpha = 1.0 / (1.0 - THETA);
      this.eta = (1 - Math.pow(2.0 / items, 1 - THETA)) / (1 - zeta2 / zetan);
    }

    private static double zeta(long n) {
      double sum = 0;
      for (long i = 1; i <= n; i++) {
        sum += 1 / Math.pow(i, THETA);
      }
      return sum;
    }

    long next(ThreadLocalRandom random) {
      double u = random.nextDouble();
      double uz = u * zetan;
      long rank;
      if (uz < 1.0) {
        rank = 0;
      } else if (uz < 1.0 + Math.pow(0.5, THETA)) {
        rank = 1;
      } else {
        rank = (long) (items * Math.pow(eta * u - eta + 1, alpha));
      }
      return Math.floorMod(fnv(Math.min(rank, items - 1)), items);
    }

    private static long fnv(long v) {
      long hash = 0xCBF29CE484222325L;
      for (int i = 0; i < 8; i++) {
        hash ^= (v >>> (i * 8)) & 0xff;
        hash *= 0x100000001B3L;
      }
      return hash;
    }
  }
}
