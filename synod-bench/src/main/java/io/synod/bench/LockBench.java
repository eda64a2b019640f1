package io.synod.bench;

import io.synod.api.lock.Lock;
import io.synod.api.lock.LockMode;
import io.synod.api.lock.LockService;
import io.synod.api.lock.LockSession;
import io.synod.engine.CoordinatorConfig;
import io.synod.engine.SynodNode;
import io.synod.engine.lock.LockConfig;
import io.synod.engine.lock.LockDriver;
import io.synod.engine.lock.NativeLockService;
import io.synod.engine.log.LogConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.curator.test.InstanceSpec;
import org.apache.curator.test.TestingCluster;
import org.apache.curator.test.TestingServer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code synod bench lock}: acquire-and-release cycles of an exclusive lock, per second, with p50
 * and p99 latency of a cycle, for three loads: one client on one lock, eight clients contending on
 * one lock, eight clients over 1,000 locks. synod runs on a single-node and on a three-node group
 * (in this process, on loopback); the baselines are ZooKeeper (Curator's InterProcessMutex) on a
 * standalone server and on a three-server ensemble, transaction logs synced to disk, in this
 * process too, in the same run, round after round, so the ratio compares like with like.
 */
@Command(name = "lock", mixinStandardHelpOptions = true,
    description = "Lock acquire+release cycles: synod (1 and 3 nodes) vs. ZooKeeper/Curator.")
final class LockBench implements Callable<Integer> {
  private static final int CLIENTS = 8;
  private static final int LOCKS = 1000;
  private static final Duration WAIT = Duration.ofSeconds(30);

  @Mixin RunOptions run;

  @Option(names = "--jit-warmup-seconds", defaultValue = "90",
      description = "At most this many unmeasured seconds of every system under every load before"
          + " the first round, until the JIT is quiet (default ${DEFAULT-VALUE}).")
  double jitWarmupSeconds;

  private static final double WARMUP_PASS_SECONDS = 1.5;

  @Option(names = "--no-cluster", description = "Skip the three-node group.")
  boolean noCluster;

  /** One kind of client: takes and releases the exclusive lock named {@code resource}. */
  interface Client extends AutoCloseable {
    void cycle(String resource) throws Exception;
  }

  record Load(String name, int clients, int locks) {}

  private static final List<Load> LOADS = List.of(
      new Load("1 client, 1 lock", 1, 1),
      new Load("8 clients, 1 lock", CLIENTS, 1),
      new Load("8 clients, 1000 locks", CLIENTS, LOCKS));

  @Override
  public Integer call() throws Exception {
    run.validate(jitWarmupSeconds);
    Path work = Files.createTempDirectory("synod-bench-lock");
    System.out.printf("synod bench lock: %d round(s) of %.0f s per cell after %.0f s warm-up; work dir %s%n",
        run.rounds, run.seconds, run.warmupSeconds, work);
    Map<String, Systems> systems = new LinkedHashMap<>();
    try (TestingServer zk = new TestingServer(new InstanceSpec(work.resolve("zk").toFile(), -1, -1,
            -1, true, -1, -1, -1, Map.of("clientPortAddress", "127.0.0.1"), "127.0.0.1"), true);
        SynodNode single = SynodNode.start(
            LogConfig.singleNode("benchlock", work.resolve("single"), LogConfig.freeLoopbackPort()),
            CoordinatorConfig.DEFAULTS, List.of());
        Cluster cluster = noCluster ? null : Cluster.start(work.resolve("cluster"));
        TestingCluster zk3 = noCluster ? null : zkEnsemble(work.resolve("zk3"))) {
      single.awaitLeadership(30, TimeUnit.SECONDS);
      systems.put("zookeeper", new Systems(() -> zkClient(zk.getConnectString())));
      systems.put("synod 1 node", new Systems(() -> nativeClient(single.locks())));
      if (cluster != null) {
        systems.put("zookeeper 3 nodes", new Systems(() -> zkClient(zk3.getConnectString())));
        systems.put("synod 3 nodes", new Systems(() -> nativeClient(cluster.service)));
      }
      report(measure(systems));
    }
    return 0;
  }

  /** Makes a client of one system. */
  @FunctionalInterface
  interface ClientFactory {
    Client open() throws Exception;
  }

  record Systems(ClientFactory factory) {}

  private Map<String, double[][][]> measure(Map<String, Systems> systems) throws Exception {
    Map<String, double[][][]> cells = new LinkedHashMap<>(); // system -> load -> round -> metrics
    systems.keySet().forEach(name -> cells.put(name, new double[LOADS.size()][run.rounds][]));
    JitWarmup.untilQuiet(jitWarmupSeconds, () -> {
      for (Load load : LOADS) {
        for (Systems system : systems.values()) {
          runFor(system.factory(), load, 0, WARMUP_PASS_SECONDS);
        }
      }
    });
    for (int round = 0; round < run.rounds; round++) {
      for (int l = 0; l < LOADS.size(); l++) {
        Load load = LOADS.get(l);
        for (var system : systems.entrySet()) {
          LoadRun.Result r = run(system.getValue().factory(), load);
          cells.get(system.getKey())[l][round] = Report.cell(r);
          System.out.printf("  round %d  %-22s %-18s %9.0f cycles/s %5.0f us cpu %5.0f us machine"
              + " %4d ms jit%n", round + 1, load.name(), system.getKey(), r.perSecond(),
              r.cpuMicrosPerOp(), r.machineCpuMicrosPerOp(), r.jitMillis());
        }
      }
    }
    return cells;
  }

  private LoadRun.Result run(ClientFactory factory, Load load) throws Exception {
    return runFor(factory, load, run.warmupSeconds, run.seconds);
  }

  private LoadRun.Result runFor(ClientFactory factory, Load load, double warmup, double measured)
      throws Exception {
    List<Client> clients = new ArrayList<>();
    try {
      for (int i = 0; i < load.clients(); i++) {
        clients.add(factory.open());
      }
      return LoadRun.run(load.clients(), warmup, measured, (worker, seq) -> {
        int lock = load.locks() == 1 ? 0 : ThreadLocalRandom.current().nextInt(load.locks());
        clients.get(worker).cycle("bench/locks/l" + lock);
      });
    } finally {
      for (Client client : clients) {
        client.close();
      }
    }
  }

  /** A three-server ZooKeeper ensemble on loopback, as the baseline of the three-node lines. */
  private static TestingCluster zkEnsemble(Path dir) throws Exception {
    List<InstanceSpec> specs = new ArrayList<>();
    for (int i = 1; i <= 3; i++) {
      java.nio.file.Files.createDirectories(dir.resolve("zk" + i));
      specs.add(new InstanceSpec(dir.resolve("zk" + i).toFile(), -1, -1, -1, true, i, -1, -1,
          Map.of("clientPortAddress", "127.0.0.1"), "127.0.0.1"));
    }
    TestingCluster ensemble = new TestingCluster(specs);
    ensemble.start();
    return ensemble;
  }

  private void report(Map<String, double[][][]> cells) {
    System.out.printf("%n%-22s %-18s %11s %9s %9s %10s %12s %12s%n", "load", "system", "cycles/s",
        "p50 ms", "p99 ms", "cpu us/op", "machine us", "x zookeeper");
    double uncontended = Double.NaN;
    for (int l = 0; l < LOADS.size(); l++) {
      for (var entry : cells.entrySet()) {
        double[][] rounds = entry.getValue()[l];
        double perSecond = median(rounds, 0);
        // Each synod line against ZooKeeper of the same size: standalone, or a three-server ensemble.
        String ratio = "";
        if (entry.getKey().startsWith("synod")) {
          String base = entry.getKey().endsWith("3 nodes") ? "zookeeper 3 nodes" : "zookeeper";
          ratio = String.format("%.2f", perSecond / median(cells.get(base)[l], 0));
        }
        System.out.printf("%-22s %-18s %11.0f %9.2f %9.2f %10.0f %12.0f %12s%n",
            LOADS.get(l).name(), entry.getKey(), perSecond, median(rounds, 1), median(rounds, 2),
            median(rounds, 3), median(rounds, 4), ratio);
        if (l == 2 && entry.getKey().equals("synod 1 node")) {
          uncontended = perSecond;
        }
      }
    }
    System.out.printf("(medians of %d rounds; a cycle = acquire X + release; 8x1000 = 8 clients over"
        + " 1000 locks; x zookeeper = against ZooKeeper with as many servers; cpu = this JVM's CPU"
        + " per cycle, which holds every system's servers and clients; machine = every process's)%n",
        run.rounds);
    System.out.printf("uncontended 8x1000 cycles/s: %.0f%n", uncontended);
  }

  private double median(double[][] rounds, int metric) {
    double[] values = new double[rounds.length];
    for (int i = 0; i < rounds.length; i++) {
      values[i] = rounds[i][metric];
    }
    return LoadRun.median(values);
  }

  // ---- clients --------------------------------------------------------------------------------

  private static Client nativeClient(LockService service) {
    LockSession session = service.openSession("bench", Duration.ofSeconds(30));
    return new Client() {
      @Override
      public void cycle(String resource) {
        try (Lock lock = session.acquire(resource, LockMode.X, WAIT)) {
          if (lock.fencingToken() <= 0) {
            throw new IllegalStateException("grant without a fencing token: " + lock);
          }
        }
      }

      @Override
      public void close() {
        session.close();
      }
    };
  }

  private static Client zkClient(String connectString) {
    CuratorFramework curator = CuratorFrameworkFactory.newClient(
        connectString, 30_000, 15_000, new ExponentialBackoffRetry(100, 3));
    curator.start();
    Map<String, InterProcessMutex> mutexes = new java.util.HashMap<>();
    return new Client() {
      @Override
      public void cycle(String resource) throws Exception {
        InterProcessMutex mutex = mutexes.computeIfAbsent(resource,
            r -> new InterProcessMutex(curator, "/bench/" + r.replace('/', '_')));
        if (!mutex.acquire(WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
          throw new IllegalStateException("ZooKeeper lock not granted within " + WAIT);
        }
        mutex.release();
      }

      @Override
      public void close() {
        curator.close();
      }
    };
  }

  /** Three synod nodes in this process, on loopback ports, and a lock service that follows the leader. */
  static final class Cluster implements AutoCloseable {
    final List<SynodNode> nodes = new ArrayList<>();
    final NativeLockService service;

    private Cluster(List<SynodNode> nodes) {
      this.nodes.addAll(nodes);
      List<LockDriver> drivers = new ArrayList<>();
      nodes.forEach(n -> drivers.add(n.lockDriver()));
      this.service = new NativeLockService(drivers);
    }

    static Cluster start(Path dir) throws Exception {
      Map<String, String> peers = new LinkedHashMap<>();
      for (int i = 1; i <= 3; i++) {
        peers.put("n" + i, "127.0.0.1:" + LogConfig.freeLoopbackPort());
      }
      List<SynodNode> nodes = new ArrayList<>();
      for (String id : peers.keySet()) {
        nodes.add(SynodNode.start(LogConfig.cluster("benchlock3", id, peers, dir.resolve(id)),
            CoordinatorConfig.DEFAULTS, LockConfig.DEFAULTS, List.of()));
      }
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (nodes.stream().noneMatch(SynodNode::isLeader)) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("the three-node group elected no leader in 30 s");
        }
        Thread.sleep(20);
      }
      return new Cluster(nodes);
    }

    @Override
    public void close() {
      service.close();
      nodes.forEach(SynodNode::close);
    }
  }
}
