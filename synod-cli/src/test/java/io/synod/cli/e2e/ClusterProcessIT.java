package io.synod.cli.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.synod.api.CoordinationRequest;
import io.synod.api.CoordinationResult;
import io.synod.client.SynodClient;
import io.synod.engine.testing.TestDatabase;
import io.synod.engine.testing.TestPostgres;
import io.synod.proto.v1.ClusterStatus;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three {@code synod serve} processes form one Raft group over one PostgreSQL. A node alone is
 * not ready (no majority, no leader); with a second it is. Clients using synod-client stream
 * transactions at all three; the leader process is killed with SIGKILL mid-stream. The clients
 * carry on through the new leader, and every transaction that was answered committed is in
 * PostgreSQL, with nothing left prepared.
 */
class ClusterProcessIT {
  private static final int CLIENTS = 4;

  @TempDir Path dir;
  private final List<ServerProcess> nodes = new ArrayList<>();

  @AfterEach
  void stopNodes() throws Exception {
    for (ServerProcess node : nodes) {
      node.close();
    }
  }

  @Test
  void clientsKeepWorkingAfterTheLeaderProcessIsKilledAndNoCommitIsLost() throws Exception {
    TestDatabase pg = TestPostgres.get().newDatabase();
    try (Connection c = pg.connect(); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE events (id TEXT PRIMARY KEY, n INT NOT NULL)");
    }
    List<String> ids = List.of("n1", "n2", "n3");
    int[] raft = freePorts(3);
    int[] grpc = freePorts(3);
    StringBuilder peers = new StringBuilder();
    for (int i = 0; i < 3; i++) {
      peers.append("      - {id: ").append(ids.get(i)).append(", raft_address: \"127.0.0.1:")
          .append(raft[i]).append("\", api_address: \"127.0.0.1:").append(grpc[i]).append("\"}\n");
    }
    List<Path> configs = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      Path config = dir.resolve(ids.get(i) + ".yaml");
      Files.writeString(config, """
          coordination_service:
            cluster_id: trio
            node_id: %s
            data_dir: %s
            listen: {http_port: 0, grpc_port: %d}
            stores:
              - {name: events, type: postgresql, jdbc_url: "%s", username: %s, password: "%s"}
            consensus:
              cluster_nodes:
          %s""".formatted(ids.get(i), dir.resolve(ids.get(i)), grpc[i], pg.url(), pg.user(),
          pg.password(), peers));
      configs.add(config);
    }

    ServerProcess first = start(configs.get(0));
    assertThat(first.readyStatus()).as("one node of three has no majority").isEqualTo(503);
    start(configs.get(1));
    start(configs.get(2));
    for (ServerProcess node : nodes) {
      node.awaitReady();
    }

    List<String> endpoints = nodes.stream().map(ServerProcess::grpcAddress).toList();
    Set<String> committed = ConcurrentHashMap.newKeySet();
    Set<String> committedAfterKill = ConcurrentHashMap.newKeySet();
    AtomicBoolean killed = new AtomicBoolean();
    AtomicBoolean stop = new AtomicBoolean();
    AtomicInteger sequence = new AtomicInteger();
    try (SynodClient client = SynodClient.builder(endpoints)
        .retryFor(Duration.ofSeconds(60)).build()) {
      String leaderBefore = client.clusterStatus().getLeaderId();
      ExecutorService pool = Executors.newFixedThreadPool(CLIENTS);
      List<Future<?>> streams = new ArrayList<>();
      for (int c = 0; c < CLIENTS; c++) {
        streams.add(pool.submit(() -> {
          while (!stop.get()) {
            String id = "e-" + sequence.incrementAndGet();
            boolean afterKill = killed.get();
            CoordinationResult result = client.coordinateAndWait(
                CoordinationRequest.twoPhaseCommit(id)
                    .sql("events", "INSERT INTO events (id, n) VALUES (?, ?)", id, 1)
                    .build());
            if (result.success()) {
              committed.add(id);
              if (afterKill) {
                committedAfterKill.add(id);
              }
            }
          }
          return null;
        }));
      }
      awaitCount(committed, 100);
      ServerProcess leader = nodes.get(ids.indexOf(leaderBefore));
      leader.kill();
      killed.set(true);
      awaitCount(committedAfterKill, 100);
      stop.set(true);
      for (Future<?> stream : streams) {
        stream.get(120, TimeUnit.SECONDS);
      }
      pool.shutdown();

      ClusterStatus after = client.clusterStatus();
      System.out.printf("cluster processes: leader %s killed, new leader %s; committed %d,"
              + " after the kill %d%n", leaderBefore, after.getLeaderId(), committed.size(),
          committedAfterKill.size());
      assertThat(after.getLeaderId()).isNotEmpty().isNotEqualTo(leaderBefore);
    }

    Set<String> inStore = new HashSet<>();
    try (Connection c = pg.connect(); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT id FROM events")) {
      while (rs.next()) {
        inStore.add(rs.getString(1));
      }
    }
    assertThat(inStore).containsAll(committed);
    awaitNoPreparedTransactions(pg);
  }

  private ServerProcess start(Path config) throws Exception {
    ServerProcess node = ServerProcess.start(config, Map.of("SYNOD_MONITORING_LOG_FORMAT", "text"));
    nodes.add(node);
    return node.awaitListening();
  }

  private static void awaitCount(Set<String> set, int count) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (set.size() < count) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("only " + set.size() + " of " + count + " commits in 120 s");
      }
      Thread.sleep(20);
    }
  }

  /** The new leader's recovery resolves what the killed one left prepared. */
  private static void awaitNoPreparedTransactions(TestDatabase pg) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      try (Connection c = pg.connect(); Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()")) {
        rs.next();
        if (rs.getInt(1) == 0) {
          return;
        }
        if (System.nanoTime() > deadline) {
          throw new AssertionError(rs.getInt(1) + " transactions still prepared after 60 s");
        }
      }
      Thread.sleep(200);
    }
  }

  private static int[] freePorts(int n) throws Exception {
    int[] ports = new int[n];
    List<ServerSocket> held = new ArrayList<>();
    try {
      for (int i = 0; i < n; i++) {
        ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        held.add(socket);
        ports[i] = socket.getLocalPort();
      }
    } finally {
      for (ServerSocket socket : held) {
        socket.close();
      }
    }
    return ports;
  }
}
