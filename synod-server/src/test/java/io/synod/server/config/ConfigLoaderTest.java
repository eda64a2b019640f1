package io.synod.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.kv.KvService.StorageNodeInfo;
import io.synod.core.lock.LockTable;
import io.synod.engine.CoordinatorConfig;
import io.synod.engine.lock.LockConfig;
import io.synod.kv.coordinator.KvConfig;
import io.synod.server.config.ServerConfig.ApiLimits;
import io.synod.server.config.ServerConfig.Kv;
import io.synod.server.config.ServerConfig.KvMetadata;
import io.synod.server.config.ServerConfig.Listen;
import io.synod.server.config.ServerConfig.Monitoring;
import io.synod.server.config.ServerConfig.Peer;
import io.synod.server.config.ServerConfig.Store;
import io.synod.server.config.ServerConfig.StoreType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ConfigLoaderTest {
  @TempDir Path dir;

  private static final String THREE_NODES = """
      coordination_service:
        node_id: n2
        consensus:
          cluster_nodes:
            - id: n1
              raft_address: 10.0.0.1:7770
              api_address: 10.0.0.1:7790
            - id: n2
              raft_address: 10.0.0.2:7771
              api_address: 10.0.0.2:7791
            - id: n3
              raft_address: 10.0.0.3:7772
              api_address: 10.0.0.3:7792
      """;

  @Test
  void withoutFileOrVariablesEverythingIsDefault() {
    ServerConfig config = ConfigLoader.load(Optional.empty(), Map.of("PATH", "/bin"));

    Path dataDir = Path.of("data").toAbsolutePath().normalize();
    assertThat(config.clusterId()).isEqualTo("synod");
    assertThat(config.nodeId()).isEqualTo("n1");
    assertThat(config.dataDir()).isEqualTo(dataDir);
    assertThat(config.listen()).isEqualTo(new Listen("127.0.0.1", 7780, 7790, 7770));
    assertThat(config.stores()).containsExactly(
        new Store("bank_a", StoreType.H2, "jdbc:h2:file:" + dataDir.resolve("stores/bank_a")
            + ";LOCK_TIMEOUT=2000", "sa", "", 20),
        new Store("bank_b", StoreType.H2, "jdbc:h2:file:" + dataDir.resolve("stores/bank_b")
            + ";LOCK_TIMEOUT=2000", "sa", "", 20));
    assertThat(config.peers()).isEmpty();
    assertThat(config.coordinator()).isEqualTo(CoordinatorConfig.DEFAULTS);
    assertThat(config.locks()).isEqualTo(LockConfig.DEFAULTS);
    assertThat(config.lockLimits()).isEqualTo(LockTable.Limits.DEFAULTS);
    assertThat(config.snapshotEveryEntries()).isEqualTo(10_000);
    assertThat(config.limits()).isEqualTo(new ApiLimits(1 << 20, Duration.ofHours(1)));
    assertThat(config.monitoring()).isEqualTo(new Monitoring(true, true, 0.1, "", "json"));
    assertThat(config.logConfig().peers()).isEqualTo(Map.of("n1", "127.0.0.1:7770"));
    assertThat(config.kv()).isEqualTo(new Kv(true, KvConfig.defaults("n1"),
        new KvMetadata("jdbc:h2:file:" + dataDir.resolve("kv/metadata"), "sa", "", 10), "", 3,
        List.of(), "default"));
    assertThat(config.kv()).isEqualTo(Kv.defaults("n1", dataDir));
  }

  @Test
  void aFullFileSetsEveryComponent() throws IOException {
    ServerConfig config = load("""
        coordination_service:
          cluster_id: prod1
          node_id: n2
          data_dir: %s
          listen:
            host: 0.0.0.0
            http_port: 8080
            grpc_port: 9090
            raft_port: 7771
          stores:
            - name: orders
              type: postgresql
              jdbc_url: jdbc:postgresql://db1:5432/orders
              username: synod
              password: secret
              connection_pool:
                max_connections: 50
            - name: ledger
              type: mariadb
              jdbc_url: jdbc:mysql://db2:3306/ledger
              username: synod
              password: "0123"
            - name: cache
              type: h2
              jdbc_url: jdbc:h2:mem:cache
          consensus:
            algorithm: raft
            cluster_nodes:
              - id: n1
                raft_address: 10.0.0.1:7770
                api_address: 10.0.0.1:7790
              - id: n2
                raft_address: 10.0.0.2:7771
                api_address: 10.0.0.2:7791
              - id: n3
                raft_address: 10.0.0.3:7772
                api_address: 10.0.0.3:7792
            log_compaction_threshold: 5000
          lock_manager:
            backend: native
            default_lease_seconds: 12.5
            deadlock_detection:
              enabled: true
              detection_interval_seconds: 2
            escalation_threshold: 500
          timeouts:
            prepare_phase_timeout_seconds: 20
            commit_phase_timeout_seconds: 40
            participant_response_timeout_seconds: 5
            recovery_interval_seconds: 0.5
          performance:
            max_concurrent_coordinations: 2000
            max_operations_per_request: 100
            max_request_bytes: 2097152
            idempotency_key_retention_seconds: 7200
          monitoring:
            metrics_enabled: false
            distributed_tracing_enabled: false
            trace_sampling_rate: 0.25
            otlp_endpoint: http://otel:4317
            log_format: text
          kv:
            enabled: false
            coordinator_id: coord-2
            virtual_nodes: 64
            write_timeout_seconds: 2
            read_timeout_seconds: 1.5
            repair_async: false
            ring_refresh_seconds: 10
            tenant_cache_ttl_seconds: 60
            tenant_cache_size: 500
            idempotency_retention_seconds: 3600
            metadata:
              url: jdbc:postgresql://meta:5432/kv
              user: kv
              password: meta-secret
              pool_size: 20
            idempotency_redis_url: redis://cache:6379/1
            embedded_nodes: 1
            storage_nodes:
              - {id: s1, address: "10.0.1.1:7800"}
              - {id: s2, address: "10.0.1.2:7800"}
            default_tenant: ""
        """.formatted(dir.resolve("node2/../n2")), Map.of());

    CoordinatorConfig defaults = CoordinatorConfig.DEFAULTS;
    assertThat(config).isEqualTo(new ServerConfig("prod1", "n2", dir.resolve("n2"),
        new Listen("0.0.0.0", 8080, 9090, 7771),
        List.of(
            new Store("orders", StoreType.POSTGRESQL, "jdbc:postgresql://db1:5432/orders",
                "synod", "secret", 50),
            new Store("ledger", StoreType.MARIADB, "jdbc:mysql://db2:3306/ledger", "synod",
                "0123", 20),
            new Store("cache", StoreType.H2, "jdbc:h2:mem:cache", "", "", 20)),
        List.of(new Peer("n1", "10.0.0.1:7770", "10.0.0.1:7790"),
            new Peer("n2", "10.0.0.2:7771", "10.0.0.2:7791"),
            new Peer("n3", "10.0.0.3:7772", "10.0.0.3:7792")),
        new CoordinatorConfig(Duration.ofSeconds(20), Duration.ofSeconds(40),
            Duration.ofSeconds(5), Duration.ofMillis(500), defaults.retryBackoffMin(),
            defaults.retryBackoffMax(), 2000, 100),
        new LockConfig(Duration.ofMillis(12_500), LockConfig.DEFAULTS.tick(),
            LockConfig.DEFAULTS.checkpointEvery(), Duration.ofSeconds(2)),
        LockTable.Limits.DEFAULTS.withEscalationThreshold(500),
        5000,
        new ApiLimits(2 << 20, Duration.ofHours(2)),
        new Monitoring(false, false, 0.25, "http://otel:4317", "text"),
        new Kv(false, new KvConfig("coord-2", 64, Duration.ofSeconds(2), Duration.ofMillis(1500),
            false, Duration.ofMinutes(1), 500, Duration.ofHours(1), Duration.ofSeconds(10)),
            new KvMetadata("jdbc:postgresql://meta:5432/kv", "kv", "meta-secret", 20),
            "redis://cache:6379/1", 1, List.of(new StorageNodeInfo("s1", "10.0.1.1:7800"),
                new StorageNodeInfo("s2", "10.0.1.2:7800")), "")));
  }

  @Test
  void variablesOverrideTheFile() throws IOException {
    ServerConfig config = load("""
        coordination_service:
          listen:
            http_port: 8000
          stores:
            - name: orders
              type: postgresql
              jdbc_url: jdbc:postgresql://db/orders
              password: from-file
          timeouts:
            prepare_phase_timeout_seconds: 20
        """, Map.ofEntries(
            Map.entry("SYNOD_LISTEN_HTTP_PORT", "9000"),
            Map.entry("SYNOD_NODE_ID", "node-7"),
            Map.entry("SYNOD_TIMEOUTS_PREPARE_PHASE_TIMEOUT_SECONDS", "2.5"),
            Map.entry("SYNOD_LOCK_MANAGER_DEADLOCK_DETECTION_DETECTION_INTERVAL_SECONDS", "3"),
            Map.entry("SYNOD_MONITORING_TRACE_SAMPLING_RATE", "1"),
            Map.entry("SYNOD_MONITORING_METRICS_ENABLED", "false"),
            Map.entry("SYNOD_STORES_ORDERS_PASSWORD", "from-env"),
            Map.entry("SYNOD_STORES_ORDERS_CONNECTION_POOL_MAX_CONNECTIONS", "7"),
            Map.entry("SYNOD_CONFIG", "/etc/synod.yaml"),
            Map.entry("SYNOD_JAVA_OPTS", "-Xmx1g"),
            Map.entry("HOME", "/root")));

    assertThat(config.listen().httpPort()).isEqualTo(9000);
    assertThat(config.nodeId()).isEqualTo("node-7");
    assertThat(config.coordinator().prepareTimeout()).isEqualTo(Duration.ofMillis(2500));
    assertThat(config.locks().deadlockSweepEvery()).isEqualTo(Duration.ofSeconds(3));
    assertThat(config.monitoring().traceSamplingRate()).isEqualTo(1.0);
    assertThat(config.monitoring().metricsEnabled()).isFalse();
    assertThat(config.stores()).containsExactly(new Store("orders", StoreType.POSTGRESQL,
        "jdbc:postgresql://db/orders", "", "from-env", 7));
  }

  @Test
  void kvVariablesOverrideTheFile() throws IOException {
    ServerConfig config = load("""
        coordination_service:
          kv:
            write_timeout_seconds: 9
            metadata:
              url: jdbc:postgresql://meta/kv
              user: kv
        """, Map.of(
            "SYNOD_KV_WRITE_TIMEOUT_SECONDS", "4",
            "SYNOD_KV_COORDINATOR_ID", "c7",
            "SYNOD_KV_REPAIR_ASYNC", "false",
            "SYNOD_KV_METADATA_PASSWORD", "from-env",
            "SYNOD_KV_IDEMPOTENCY_REDIS_URL", "redis://:pw@cache:6379",
            "SYNOD_KV_STORAGE_NODES", "s1=10.0.0.1:7800, s2=10.0.0.2:7800",
            "SYNOD_KV_DEFAULT_TENANT", ""));

    Kv kv = config.kv();
    assertThat(kv.coordinator().writeTimeout()).isEqualTo(Duration.ofSeconds(4));
    assertThat(kv.coordinator().coordinatorId()).isEqualTo("c7");
    assertThat(kv.coordinator().repairAsync()).isFalse();
    assertThat(kv.metadata()).isEqualTo(new KvMetadata("jdbc:postgresql://meta/kv", "kv",
        "from-env", 10));
    assertThat(kv.idempotencyRedisUri().getUserInfo()).isEqualTo(":pw");
    assertThat(kv.storageNodes()).containsExactly(new StorageNodeInfo("s1", "10.0.0.1:7800"),
        new StorageNodeInfo("s2", "10.0.0.2:7800"));
    assertThat(kv.embeddedNodes()).as("storage nodes given: none embedded").isZero();
    assertThat(kv.defaultTenant()).isEmpty();
    assertThat(config.toString()).doesNotContain("from-env").doesNotContain(":pw@");
  }

  @Test
  void embeddedNodesSetBesideStorageNodesAreKept() throws IOException {
    ServerConfig config = load("""
        coordination_service:
          node_id: a
          kv:
            embedded_nodes: 2
            storage_nodes: [{id: a-kv3, address: "h:1"}]
        """, Map.of());

    assertThat(config.kv().embeddedNodes()).isEqualTo(2);
    assertThat(config.kv().coordinator().coordinatorId()).isEqualTo("a");
    assertThat(error("""
        coordination_service:
          node_id: a
          kv:
            embedded_nodes: 2
            storage_nodes: [{id: x, address: "h:1"}, {id: a-kv2, address: "h:2"}]
        """, Map.of())).isEqualTo("coordination_service.kv.storage_nodes[1].id: must differ "
        + "from the ids of this server's embedded nodes (a-kv1 to a-kv2); got \"a-kv2\"");
  }

  @Test
  void clusterNodesComeFromOneVariable() {
    ServerConfig config = ConfigLoader.load(Optional.empty(), Map.of(
        "SYNOD_NODE_ID", "n3",
        "SYNOD_CONSENSUS_CLUSTER_NODES",
        "n1=h1:7770/h1:7790, n2=h2:7770/h2:7790,n3=h3:7773/h3:7790"));

    assertThat(config.peers()).containsExactly(new Peer("n1", "h1:7770", "h1:7790"),
        new Peer("n2", "h2:7770", "h2:7790"), new Peer("n3", "h3:7773", "h3:7790"));
    assertThat(config.listen().raftPort()).isEqualTo(7773);
  }

  @Test
  void threeClusterNodesMakeAGroupListeningOnItsOwnRaftAddress() throws IOException {
    ServerConfig config = load(THREE_NODES, Map.of());

    assertThat(config.clustered()).isTrue();
    assertThat(config.peers()).extracting(Peer::id).containsExactly("n1", "n2", "n3");
    assertThat(config.listen().raftPort()).isEqualTo(7771);
    assertThat(config.logConfig().selfId()).isEqualTo("n2");
    assertThat(config.logConfig().peers()).containsExactly(Map.entry("n1", "10.0.0.1:7770"),
        Map.entry("n2", "10.0.0.2:7771"), Map.entry("n3", "10.0.0.3:7772"));
  }

  @Test
  void aStorePasswordIsNeverPrinted() throws IOException {
    ServerConfig config = load("""
        coordination_service:
          stores:
            - name: orders
              type: postgresql
              jdbc_url: jdbc:postgresql://db/orders
              username: synod
              password: hunter2
        """, Map.of());

    assertThat(config.stores().getFirst().password()).isEqualTo("hunter2");
    assertThat(config.toString()).doesNotContain("hunter2").contains("password=***");
  }

  @Test
  void twoClusterNodesAreRefused() throws IOException {
    assertThat(error("""
        coordination_service:
          consensus:
            cluster_nodes:
              - {id: n1, raft_address: "h1:7770", api_address: "h1:7790"}
              - {id: n2, raft_address: "h2:7770", api_address: "h2:7790"}
        """, Map.of())).isEqualTo("coordination_service.consensus.cluster_nodes: must have 1, 3 "
        + "or 5 nodes: a group of 2 or 4 tolerates no more failures than one of 1 or 3; got 2");
  }

  @Test
  void anUnknownKeyIsRefused() throws IOException {
    assertThat(error("""
        coordination_service:
          timeouts:
            prepare_timeout: 10
        """, Map.of())).isEqualTo("coordination_service.timeouts.prepare_timeout: unknown key; "
        + "known keys here: prepare_phase_timeout_seconds, commit_phase_timeout_seconds, "
        + "participant_response_timeout_seconds, recovery_interval_seconds");
  }

  @Test
  void anUnknownVariableIsRefused() {
    SynodException e = failure(() -> ConfigLoader.load(Optional.empty(),
        Map.of("SYNOD_LISTEN_HTTP_PROT", "1")));

    assertThat(e.field()).contains("SYNOD_LISTEN_HTTP_PROT");
    assertThat(e.getMessage()).isEqualTo("SYNOD_LISTEN_HTTP_PROT: matches no configuration key; "
        + "docs/configuration.md lists the variables (SYNOD_CONFIG and SYNOD_JAVA_OPTS are the "
        + "launcher's)");
  }

  @Test
  void aVariableForAStoreNotInTheFileIsRefused() {
    assertThat(failure(() -> ConfigLoader.load(Optional.empty(),
        Map.of("SYNOD_STORES_BANK_A_PASSWORD", "x"))).getMessage())
        .isEqualTo("SYNOD_STORES_BANK_A_PASSWORD: matches no key of a store in the configuration "
            + "file (stores there: none); store variables are SYNOD_STORES_<NAME>_<KEY>, e.g. "
            + "SYNOD_STORES_ORDERS_PASSWORD");
  }

  @Test
  void malformedYamlNamesTheFileAndLine() throws IOException {
    Path file = write("""
        coordination_service:
          listen:
            http_port: [1, 2
          node_id: n1
        """);

    assertThat(failure(() -> ConfigLoader.load(Optional.of(file), Map.of())).getMessage())
        .startsWith(file + ": malformed YAML at line 4, column ");
  }

  @Test
  void aRepeatedKeyIsMalformed() throws IOException {
    assertThat(error("""
        coordination_service:
          node_id: n1
          node_id: n2
        """, Map.of())).contains("malformed YAML at line 3").contains("node_id");
  }

  @Test
  void aMissingFileIsNamed() {
    Path file = dir.resolve("nope.yaml");

    assertThat(failure(() -> ConfigLoader.load(Optional.of(file), Map.of())).getMessage())
        .isEqualTo(file + ": configuration file not found");
  }

  @Test
  void aFileWithoutCoordinationServiceIsRefused() throws IOException {
    Path file = write("server:\n  port: 1\n");

    assertThat(failure(() -> ConfigLoader.load(Optional.of(file), Map.of())).getMessage())
        .isEqualTo(file + ": not a synod configuration: the top level must be the single key "
            + "coordination_service:; got the keys [server]");
  }

  @Test
  void anEmptyCoordinationServiceMeansDefaults() throws IOException {
    assertThat(load("coordination_service:\n", Map.of()))
        .isEqualTo(ConfigLoader.load(Optional.empty(), Map.of()));
  }

  @Test
  void aStoreMayBeNamedKvWhileTheKeyValueStoreIsDisabled() throws IOException {
    ServerConfig config = load("""
        coordination_service:
          stores: [{name: kv, type: h2, jdbc_url: "jdbc:h2:mem:kv"}]
          kv: {enabled: false}
        """, Map.of());

    assertThat(config.stores()).extracting(ServerConfig.Store::name).containsExactly("kv");
  }

  static Stream<Arguments> invalidFiles() {
    return Stream.of(
        Arguments.of("listen: {http_port: 70000}",
            "coordination_service.listen.http_port: must be 0 to 65535; got 70000"),
        Arguments.of("listen: {http_port: abc}",
            "coordination_service.listen.http_port: must be an integer; got \"abc\""),
        Arguments.of("listen: {http_port: 80.5}",
            "coordination_service.listen.http_port: must be an integer; got 80.5"),
        Arguments.of("listen: 5",
            "coordination_service.listen: must be a mapping with the keys host, http_port, "
                + "grpc_port, raft_port; got 5"),
        Arguments.of("listen: {host: {a: 1}}",
            "coordination_service.listen.host: must be a string; got a mapping"),
        Arguments.of("stores: [{name: a, type: h2, jdbc_url: \"jdbc:h2:mem:a\", password: 0123}]",
            "coordination_service.stores[0].password: must be a string; got a number (put it in "
                + "quotes)"),
        Arguments.of("cluster_id: Synod",
            "coordination_service.cluster_id: must be 1 to 16 lower-case letters or digits; "
                + "got \"Synod\""),
        Arguments.of("node_id: N_1", "coordination_service.node_id: must be 1 to 32 lower-case "
            + "letters, digits or '-'; got \"N_1\""),
        Arguments.of("stores: {name: a}", "coordination_service.stores: must be a list; got "
            + "{\"name\":\"a\"}"),
        Arguments.of("stores: []", "coordination_service.stores: must list at least one store "
            + "(leave stores out for the demo's two H2 stores); got []"),
        Arguments.of("""
            stores:
              - {name: a, type: h2, jdbc_url: "jdbc:h2:mem:a"}
              - {name: b, type: postgresql, jdbc_url: "jdbc:h2:mem:b"}""",
            "coordination_service.stores[1].jdbc_url: must start with jdbc:postgresql: for type "
                + "postgresql; got \"jdbc:h2:mem:b\""),
        Arguments.of("stores: [{name: a, type: mariadb, jdbc_url: \"jdbc:h2:mem:a\"}]",
            "coordination_service.stores[0].jdbc_url: must start with jdbc:mariadb: or "
                + "jdbc:mysql: for type mariadb; got \"jdbc:h2:mem:a\""),
        Arguments.of("stores: [{name: a, type: h2}]",
            "coordination_service.stores[0].jdbc_url: is required for type h2: a JDBC URL "
                + "(jdbc:h2:...)"),
        Arguments.of("stores: [{name: a, type: oracle, jdbc_url: \"jdbc:oracle:x\"}]",
            "coordination_service.stores[0].type: must be postgresql, mariadb, h2 or redis; "
                + "got \"oracle\""),
        Arguments.of("stores: [{name: a, type: redis}]",
            "coordination_service.stores[0].url: is required for type redis: "
                + "redis://host:port or redis://host:port/db"),
        Arguments.of("stores: [{name: a, type: h2, jdbc_url: \"jdbc:h2:mem:a\", "
                + "url: \"redis://cache:6379\"}]",
            "coordination_service.stores[0].url: must be left out for type h2, whose address is "
                + "jdbc_url (url is for redis stores)"),
        Arguments.of("stores: [{name: a, type: redis, url: \"redis://cache:6379\", "
                + "jdbc_url: \"jdbc:h2:mem:a\"}]",
            "coordination_service.stores[0].jdbc_url: must be left out for type redis, whose "
                + "address is url (redis://host:port[/db])"),
        Arguments.of("stores: [{name: a, type: redis, url: \"http://cache:6379\"}]",
            "coordination_service.stores[0].url: must be redis://host:port or "
                + "redis://host:port/db (rediss:// for TLS); only for redis; "
                + "got \"http://cache:6379\""),
        Arguments.of("""
            stores:
              - {name: a, type: h2, jdbc_url: "jdbc:h2:mem:a"}
              - {name: a, type: h2, jdbc_url: "jdbc:h2:mem:b"}""",
            "coordination_service.stores[1].name: must be unique among stores; got \"a\" again"),
        Arguments.of("stores: [{name: kv, type: h2, jdbc_url: \"jdbc:h2:mem:kv\"}]",
            "coordination_service.stores[0].name: must not be \"kv\" while the key-value store"
                + " is enabled: saga steps name the key-value store so; rename the store, or"
                + " disable the key-value store"),
        Arguments.of("stores: [{name: a, type: h2, jdbc_url: \"jdbc:h2:mem:a\", "
                + "connection_pool: {max_connections: 0}}]",
            "coordination_service.stores[0].connection_pool.max_connections: must be 1 to 1000; "
                + "got 0"),
        Arguments.of("stores: [{name: a, typ: h2}]", "coordination_service.stores[0].typ: "
            + "unknown key; known keys here: name, type, jdbc_url, url, username, password, "
            + "connection_pool"),
        Arguments.of("timeouts: {prepare_phase_timeout_seconds: 0}",
            "coordination_service.timeouts.prepare_phase_timeout_seconds: must be a number of "
                + "seconds greater than 0 and at most 31536000 (a year); got 0"),
        Arguments.of("timeouts: {recovery_interval_seconds: soon}",
            "coordination_service.timeouts.recovery_interval_seconds: must be a number of "
                + "seconds; got \"soon\""),
        Arguments.of("lock_manager: {default_lease_seconds: 0.1}",
            "coordination_service.lock_manager.default_lease_seconds: must be between 0.3 s and "
                + "3600 s; got 0.1 s"),
        Arguments.of("lock_manager: {deadlock_detection: {detection_interval_seconds: 7200}}",
            "coordination_service.lock_manager.deadlock_detection.detection_interval_seconds: "
                + "must be between 0.1 s and 3600 s; got 7200 s"),
        Arguments.of("lock_manager: {backend: zookeeper}",
            "coordination_service.lock_manager.backend: must be native (zookeeper is not "
                + "supported by the server yet; use the Java API's ZkLockService); "
                + "got \"zookeeper\""),
        Arguments.of("lock_manager: {deadlock_detection: {enabled: false}}",
            "coordination_service.lock_manager.deadlock_detection.enabled: cannot be disabled: "
                + "deadlock detection runs on every enqueue; got false"),
        Arguments.of("lock_manager: {escalation_threshold: 0}",
            "coordination_service.lock_manager.escalation_threshold: must be 1 to 2147483647; "
                + "got 0"),
        Arguments.of("consensus: {algorithm: paxos}",
            "coordination_service.consensus.algorithm: must be raft (the only algorithm); "
                + "got \"paxos\""),
        Arguments.of("consensus: {log_compaction_threshold: 99}",
            "coordination_service.consensus.log_compaction_threshold: must be at least 100; "
                + "got 99"),
        Arguments.of("performance: {max_request_bytes: 1000}",
            "coordination_service.performance.max_request_bytes: must be 1024 (1 KiB) to "
                + "67108864 (64 MiB); got 1000"),
        Arguments.of("performance: {max_concurrent_coordinations: 99999999999999999999999}",
            "coordination_service.performance.max_concurrent_coordinations: must be 1 to "
                + "2147483647; got 99999999999999999999999"),
        Arguments.of("monitoring: {trace_sampling_rate: 1.5}",
            "coordination_service.monitoring.trace_sampling_rate: must be 0.0 to 1.0; got 1.5"),
        Arguments.of("monitoring: {metrics_enabled: maybe}",
            "coordination_service.monitoring.metrics_enabled: must be true or false; "
                + "got \"maybe\""),
        Arguments.of("monitoring: {otlp_endpoint: \"otel:4317\"}",
            "coordination_service.monitoring.otlp_endpoint: must be empty (no export) or "
                + "http(s)://host:port; got \"otel:4317\""),
        Arguments.of("monitoring: {log_format: xml}",
            "coordination_service.monitoring.log_format: must be json or text; got \"xml\""),
        Arguments.of("kv: {enabled: sometimes}",
            "coordination_service.kv.enabled: must be true or false; got \"sometimes\""),
        Arguments.of("kv: {coordinator_id: \"c 1\"}",
            "coordination_service.kv.coordinator_id: must be empty (the node_id) or 1 to 64 "
                + "letters, digits, '.', '_' or '-', starting with a letter or digit; got \"c 1\""),
        Arguments.of("kv: {virtual_nodes: 0}",
            "coordination_service.kv.virtual_nodes: must be 1 to 10000; got 0"),
        Arguments.of("kv: {write_timeout_seconds: 0}",
            "coordination_service.kv.write_timeout_seconds: must be a number of seconds greater "
                + "than 0 and at most 31536000 (a year); got 0"),
        Arguments.of("kv: {tenant_cache_ttl_seconds: 7200}",
            "coordination_service.kv.tenant_cache_ttl_seconds: must be more than 0 and at most "
                + "3600 s (was 7200 s)"),
        Arguments.of("kv: {idempotency_retention_seconds: 3000000}",
            "coordination_service.kv.idempotency_retention_seconds: must be at most 30 days "
                + "(was 3000000 s)"),
        Arguments.of("kv: {tenant_cache_size: 0}",
            "coordination_service.kv.tenant_cache_size: must be 1 to 10000000; got 0"),
        Arguments.of("kv: {metadata: {url: \"jdbc:mysql://db/kv\"}}",
            "coordination_service.kv.metadata.url: must be empty (the default H2 database) or a "
                + "JDBC URL of PostgreSQL (jdbc:postgresql:...) or H2 (jdbc:h2:...); "
                + "got \"jdbc:mysql://db/kv\""),
        Arguments.of("kv: {metadata: {password: secret}}",
            "coordination_service.kv.metadata.password: must be left out without "
                + "kv.metadata.url: the default H2 database under data_dir/kv has its own user"),
        Arguments.of("kv: {metadata: {pool_size: 0}}",
            "coordination_service.kv.metadata.pool_size: must be 1 to 1000; got 0"),
        Arguments.of("kv: {idempotency_redis_url: \"cache:6379\"}",
            "coordination_service.kv.idempotency_redis_url: must be empty (idempotency keys in "
                + "the metadata database) or redis://host:port or redis://host:port/db "
                + "(rediss:// for TLS); got \"cache:6379\""),
        Arguments.of("kv: {embedded_nodes: 17}",
            "coordination_service.kv.embedded_nodes: must be 0 to 16; got 17"),
        Arguments.of("kv: {storage_nodes: [{id: s1}]}",
            "coordination_service.kv.storage_nodes[0].address: is required"),
        Arguments.of("kv: {storage_nodes: [{id: s1, address: \"h\"}]}",
            "coordination_service.kv.storage_nodes[0].address: must be host:port with a port of "
                + "1 to 65535; got \"h\""),
        Arguments.of("kv: {storage_nodes: [{id: s1, address: \"h:1\"}, {id: s1, address: "
                + "\"h:2\"}]}",
            "coordination_service.kv.storage_nodes[1].id: must be unique among kv.storage_nodes; "
                + "got \"s1\" again"),
        Arguments.of("kv: {default_tenant: \"my tenant\"}",
            "coordination_service.kv.default_tenant: must be empty (none) or a tenant id: 1 to 64 "
                + "letters, digits, '.', '_' or '-', starting with a letter or digit; "
                + "got \"my tenant\""),
        Arguments.of("kv: {ring: 5}", "coordination_service.kv.ring: unknown key; known keys "
            + "here: enabled, coordinator_id, virtual_nodes, write_timeout_seconds, "
            + "read_timeout_seconds, repair_async, ring_refresh_seconds, tenant_cache_ttl_seconds, "
            + "tenant_cache_size, idempotency_retention_seconds, metadata, idempotency_redis_url, "
            + "embedded_nodes, storage_nodes, default_tenant"));
  }

  @ParameterizedTest
  @MethodSource("invalidFiles")
  void anInvalidValueNamesTheKeyTheValueAndTheRule(String settings, String message)
      throws IOException {
    String yaml = "coordination_service:\n" + settings.indent(2);

    assertThat(error(yaml, Map.of())).isEqualTo(message);
  }

  static Stream<Arguments> invalidVariables() {
    return Stream.of(
        Arguments.of("SYNOD_LISTEN_HTTP_PORT", "70000",
            "coordination_service.listen.http_port: must be 0 to 65535; got 70000 "
                + "(from SYNOD_LISTEN_HTTP_PORT)"),
        Arguments.of("SYNOD_LISTEN_GRPC_PORT", "abc",
            "coordination_service.listen.grpc_port: must be an integer; got \"abc\" "
                + "(from SYNOD_LISTEN_GRPC_PORT)"),
        Arguments.of("SYNOD_MONITORING_DISTRIBUTED_TRACING_ENABLED", "yes",
            "coordination_service.monitoring.distributed_tracing_enabled: must be true or false; "
                + "got \"yes\" (from SYNOD_MONITORING_DISTRIBUTED_TRACING_ENABLED)"),
        Arguments.of("SYNOD_CONSENSUS_CLUSTER_NODES", "n1=h1:7770",
            "SYNOD_CONSENSUS_CLUSTER_NODES: each entry must be id=raft_host:port/api_host:port, "
                + "entries separated by ','; got \"n1=h1:7770\""),
        Arguments.of("SYNOD_CONSENSUS_CLUSTER_NODES", "n1=h1:7770/h1, n2=h2:7770/h2:7790",
            "coordination_service.consensus.cluster_nodes: must have 1, 3 or 5 nodes: a group "
                + "of 2 or 4 tolerates no more failures than one of 1 or 3; got 2 "
                + "(from SYNOD_CONSENSUS_CLUSTER_NODES)"),
        Arguments.of("SYNOD_CONSENSUS_CLUSTER_NODES", "n1=h1:7770/h1",
            "coordination_service.consensus.cluster_nodes[0].api_address: must be host:port "
                + "with a port of 1 to 65535; got \"h1\" (from SYNOD_CONSENSUS_CLUSTER_NODES)"),
        Arguments.of("SYNOD_KV_VIRTUAL_NODES", "many",
            "coordination_service.kv.virtual_nodes: must be an integer; got \"many\" "
                + "(from SYNOD_KV_VIRTUAL_NODES)"),
        Arguments.of("SYNOD_KV_STORAGE_NODES", "s1@h:1",
            "SYNOD_KV_STORAGE_NODES: each entry must be id=host:port, entries separated by ','; "
                + "got \"s1@h:1\""),
        Arguments.of("SYNOD_KV_STORAGE_NODES", "s1=h",
            "coordination_service.kv.storage_nodes[0].address: must be host:port with a port of "
                + "1 to 65535; got \"h\" (from SYNOD_KV_STORAGE_NODES)"),
        Arguments.of("SYNOD_CONSENSUS_CLUSTER_NODES", "n2=h2:7770/h2:7790",
            "coordination_service.node_id: must be one of the ids of consensus.cluster_nodes "
                + "[n2]; got \"n1\""));
  }

  @ParameterizedTest
  @MethodSource("invalidVariables")
  void anInvalidVariableNamesItself(String variable, String value, String message) {
    SynodException e = failure(() -> ConfigLoader.load(Optional.empty(), Map.of(variable, value)));

    assertThat(e.getMessage()).isEqualTo(message);
  }

  @Test
  void aStoreVariableWithABadValueNamesTheStoreKeyAndTheVariable() throws IOException {
    assertThat(error("""
        coordination_service:
          stores:
            - {name: a, type: h2, jdbc_url: "jdbc:h2:mem:a"}
            - {name: orders_eu, type: postgresql, jdbc_url: "jdbc:postgresql://db/o"}
        """, Map.of("SYNOD_STORES_ORDERS_EU_JDBC_URL", "jdbc:mysql://db/o")))
        .isEqualTo("coordination_service.stores[1].jdbc_url: must start with jdbc:postgresql: "
            + "for type postgresql; got \"jdbc:mysql://db/o\" "
            + "(from SYNOD_STORES_ORDERS_EU_JDBC_URL)");
  }

  @Test
  void aRaftPortOtherThanTheNodesOwnIsRefused() throws IOException {
    assertThat(error(THREE_NODES, Map.of("SYNOD_LISTEN_RAFT_PORT", "7770")))
        .isEqualTo("coordination_service.listen.raft_port: must be left out or equal the port of "
            + "this node's raft_address in consensus.cluster_nodes (10.0.0.2:7771); got 7770 "
            + "(from SYNOD_LISTEN_RAFT_PORT)");
  }

  @Test
  void aRepeatedNodeIdIsRefused() throws IOException {
    assertThat(error(THREE_NODES.replace("id: n3", "id: n1"), Map.of()))
        .isEqualTo("coordination_service.consensus.cluster_nodes[2].id: must be unique among "
            + "cluster_nodes; got \"n1\" again");
  }

  @Test
  void aRedisStoreTakesAUrlAndServesSagasOnly() throws IOException {
    ServerConfig config = load("""
        coordination_service:
          stores:
            - {name: orders, type: h2, jdbc_url: "jdbc:h2:mem:orders"}
            - {name: stock, type: redis, url: "redis://cache.internal:6379/2"}
        """, Map.of("SYNOD_STORES_STOCK_PASSWORD", "s3cret"));

    assertThat(config.stores()).containsExactly(
        new Store("orders", StoreType.H2, "jdbc:h2:mem:orders", "", "", 20),
        new Store("stock", StoreType.REDIS, "redis://cache.internal:6379/2", "", "s3cret", 20));
    assertThat(config.sagaOnlyStores()).containsExactly("stock");
    assertThat(config.stores().get(1).redisUri().toString())
        .isEqualTo("redis://:s3cret@cache.internal:6379/2");
    assertThat(config.stores().get(1).toString()).doesNotContain("s3cret");
  }

  @Test
  void theDocsListEveryKey() throws IOException {
    String table = ConfigLoader.describeKeys();

    for (ConfigSchema.Key key : ConfigSchema.KEYS) {
      assertThat(table).contains("`coordination_service." + key.path() + "`");
    }
    assertThat(table).contains("`SYNOD_LISTEN_HTTP_PORT`")
        .contains("`SYNOD_STORES_<NAME>_CONNECTION_POOL_MAX_CONNECTIONS`")
        .contains("`SYNOD_KV_WRITE_TIMEOUT_SECONDS`")
        .contains("`SYNOD_KV_STORAGE_NODES` (the whole list)");
    assertThat(Files.readString(Path.of("../docs/configuration.md"))).contains(table);
  }

  private ServerConfig load(String yaml, Map<String, String> env) throws IOException {
    return ConfigLoader.load(Optional.of(write(yaml)), env);
  }

  /** The message of the error loading {@code yaml} with {@code env}, which must be invalid. */
  private String error(String yaml, Map<String, String> env) throws IOException {
    Path file = write(yaml);
    return failure(() -> ConfigLoader.load(Optional.of(file), env)).getMessage();
  }

  private Path write(String yaml) throws IOException {
    return Files.writeString(dir.resolve("synod.yaml"), yaml);
  }

  private static SynodException failure(Runnable load) {
    SynodException e = catchThrowableOfType(SynodException.class, load::run);
    assertThat(e).as("an invalid configuration is refused").isNotNull();
    assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT);
    return e;
  }
}
