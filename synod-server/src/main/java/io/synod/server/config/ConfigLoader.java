package io.synod.server.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.synod.api.SynodException;
import io.synod.api.kv.KvService;
import io.synod.core.lock.LockTable;
import io.synod.engine.CoordinatorConfig;
import io.synod.engine.lock.LockConfig;
import io.synod.kv.coordinator.KvConfig;
import io.synod.kv.tenant.TenantCache;
import io.synod.server.config.ConfigSchema.Key;
import io.synod.server.config.ConfigTree.Element;
import io.synod.server.config.ServerConfig.ApiLimits;
import io.synod.server.config.ServerConfig.Kv;
import io.synod.server.config.ServerConfig.KvMetadata;
import io.synod.server.config.ServerConfig.Listen;
import io.synod.server.config.ServerConfig.Monitoring;
import io.synod.server.config.ServerConfig.Peer;
import io.synod.server.config.ServerConfig.Store;
import io.synod.server.config.ServerConfig.StoreType;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;

/**
 * Builds the {@link ServerConfig} of {@code synod serve} from, in order of precedence, the
 * {@code SYNOD_} environment variables, an optional YAML file whose top level is
 * {@code coordination_service:}, and defaults. docs/configuration.md describes every key.
 *
 * <p>Every error is a {@link SynodException} with {@link io.synod.api.ErrorCode#INVALID_ARGUMENT}
 * whose field is the full key ({@code coordination_service.stores[1].jdbc_url}, lists counted from
 * 0), the file, or the variable at fault, and whose message says the rule and the value got,
 * and the variable a value came from. Unknown keys and unknown {@code SYNOD_} variables are
 * errors too, so that a typo is never silently ignored.
 */
public final class ConfigLoader {
  private static final YAMLMapper YAML = YAMLMapper.builder()
      .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
      .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
      .build();

  private static final Map<StoreType, List<String>> URL_PREFIXES = Map.of(
      StoreType.POSTGRESQL, List.of("jdbc:postgresql:"),
      StoreType.MARIADB, List.of("jdbc:mariadb:", "jdbc:mysql:"),
      StoreType.H2, List.of("jdbc:h2:"));

  /** The demo's stores, used when the configuration lists none. */
  private static final List<String> DEFAULT_STORES = List.of("bank_a", "bank_b");

  private static final Pattern ISO_DURATION = Pattern.compile("PT[0-9.HMS]+");

  private ConfigLoader() {}

  /**
   * Reads, overrides, defaults and validates the configuration.
   *
   * @param file the YAML file, if any
   * @param env the environment ({@code System.getenv()} in production)
   * @throws SynodException INVALID_ARGUMENT naming the key, file or variable at fault
   */
  public static ServerConfig load(Optional<Path> file, Map<String, String> env) {
    ObjectNode settings = file.map(ConfigLoader::read)
        .orElseGet(JsonNodeFactory.instance::objectNode);
    ConfigSchema.checkShape(settings);
    Map<String, String> variablesByKey = EnvOverrides.apply(settings, env);
    return build(new ConfigTree(settings, variablesByKey));
  }

  /**
   * Every key as a Markdown table: full key, default, rule and environment variable, in the
   * file's order. docs/configuration.md holds this table.
   */
  public static String describeKeys() {
    StringBuilder table = new StringBuilder(
        "| Key | Default | Rule | Environment variable |\n|---|---|---|---|\n");
    for (Key key : ConfigSchema.KEYS) {
      table.append("| `").append(ConfigTree.display(key.path())).append("` | ")
          .append(describeDefault(key)).append(" | ").append(key.rule()).append(" | ")
          .append(describeVariable(key)).append(" |\n");
    }
    return table.toString();
  }

  private static String describeDefault(Key key) {
    if (key.describedDefault() != null) {
      return key.describedDefault();
    }
    return switch (key.defaultValue()) {
      case null -> "required";
      case String text when text.isEmpty() -> "empty";
      case Duration duration -> "`" + inSeconds(duration) + "`";
      case BigDecimal number -> "`" + number.toPlainString() + "`";
      case Object value -> "`" + value + "`";
    };
  }

  private static String describeVariable(Key key) {
    return switch (key.list().orElse("")) {
      case "" -> "`" + EnvOverrides.PREFIX + key.envSuffix() + "`";
      case "stores" -> key.relativePath().equals("name") ? "none: it is the `<NAME>` below"
          : "`" + EnvOverrides.STORES + "<NAME>_" + key.envSuffix() + "`";
      case "kv.storage_nodes" -> "`" + EnvOverrides.KV_STORAGE_NODES + "` (the whole list)";
      default -> "`" + EnvOverrides.CLUSTER_NODES + "` (the whole list)";
    };
  }

  // ---- reading the file ----

  /** The mapping below {@code coordination_service} in {@code file}. */
  private static ObjectNode read(Path file) {
    JsonNode document = parse(file);
    if (!(document instanceof ObjectNode top) || top.size() != 1 || !top.has(ConfigSchema.ROOT)) {
      throw SynodException.invalid(file.toString(), "not a synod configuration: the top level "
          + "must be the single key " + ConfigSchema.ROOT + ":; got " + describeTop(document));
    }
    JsonNode settings = top.get(ConfigSchema.ROOT);
    if (settings.isNull()) {
      return JsonNodeFactory.instance.objectNode();
    }
    if (!(settings instanceof ObjectNode mapping)) {
      throw SynodException.invalid(ConfigSchema.ROOT, "must be a mapping; got " + settings);
    }
    return mapping;
  }

  private static JsonNode parse(Path file) {
    String text;
    try {
      text = Files.readString(file);
    } catch (NoSuchFileException e) {
      throw SynodException.invalid(file.toString(), "configuration file not found");
    } catch (IOException e) {
      throw SynodException.invalid(file.toString(), "cannot read the configuration file: " + e);
    }
    try {
      return YAML.readTree(text);
    } catch (JsonProcessingException e) {
      throw SynodException.invalid(file.toString(), "malformed YAML" + yamlProblem(e));
    }
  }

  /** Where the YAML went wrong and why: SnakeYAML's own marks are the most precise. */
  private static String yamlProblem(JsonProcessingException e) {
    if (e.getCause() instanceof MarkedYAMLException yaml && yaml.getProblemMark() != null) {
      Mark mark = yaml.getProblemMark();
      String context = yaml.getContext() == null ? "" : " (" + yaml.getContext() + ")";
      return lineAndColumn(mark.getLine() + 1, mark.getColumn() + 1) + ": " + yaml.getProblem()
          + context;
    }
    JsonLocation where = e.getLocation();
    return (where == null ? "" : lineAndColumn(where.getLineNr(), where.getColumnNr())) + ": "
        + e.getOriginalMessage();
  }

  private static String lineAndColumn(int line, int column) {
    return " at line " + line + ", column " + column;
  }

  private static String describeTop(JsonNode document) {
    if (document instanceof ObjectNode top) {
      List<String> names = new ArrayList<>();
      top.fieldNames().forEachRemaining(names::add);
      return "the keys " + names;
    }
    return document == null || document.isMissingNode() ? "an empty file" : "" + document;
  }

  // ---- building the configuration ----

  private static ServerConfig build(ConfigTree tree) {
    String nodeId = tree.string("node_id");
    List<Peer> peers = peers(tree, nodeId);
    Path dataDir = dataDir(tree);
    checkSingleChoices(tree);
    ServerConfig config = new ServerConfig(tree.string("cluster_id"), nodeId, dataDir,
        listen(tree, peers, nodeId), stores(tree, dataDir), peers, coordinator(tree),
        locks(tree), lockLimits(tree), tree.integer("consensus.log_compaction_threshold"),
        apiLimits(tree), monitoring(tree), kv(tree, nodeId, dataDir));
    config.logConfig(); // LogConfig's own rules, checked now rather than when the server starts
    return config;
  }

  /** Keys with one accepted value today: their rules say why. */
  private static void checkSingleChoices(ConfigTree tree) {
    tree.string("consensus.algorithm");
    tree.string("lock_manager.backend");
    tree.flag("lock_manager.deadlock_detection.enabled");
  }

  private static Path dataDir(ConfigTree tree) {
    String dir = tree.string("data_dir");
    try {
      return Path.of(dir).toAbsolutePath().normalize();
    } catch (InvalidPathException e) {
      throw tree.fail(ConfigTree.display("data_dir"),
          "must be a directory path (" + e.getReason() + "); got \"" + dir + "\"");
    }
  }

  /** This node's host and ports; with peers, the Raft port is the one of its raft_address. */
  private static Listen listen(ConfigTree tree, List<Peer> peers, String nodeId) {
    int raftPort = (int) tree.integer("listen.raft_port");
    if (!peers.isEmpty()) {
      raftPort = ownRaftPort(tree, peers, nodeId, raftPort);
    }
    return new Listen(tree.string("listen.host"), (int) tree.integer("listen.http_port"),
        (int) tree.integer("listen.grpc_port"), raftPort);
  }

  private static int ownRaftPort(ConfigTree tree, List<Peer> peers, String nodeId,
      int configured) {
    Peer self = peers.stream().filter(peer -> peer.id().equals(nodeId)).findFirst().orElseThrow();
    int port = ConfigSchema.portOf(self.raftAddress());
    if (tree.isSet("listen.raft_port") && configured != port) {
      throw tree.fail(ConfigTree.display("listen.raft_port"), "must be left out or equal the port "
          + "of this node's raft_address in consensus.cluster_nodes (" + self.raftAddress()
          + "); got " + configured);
    }
    return port;
  }

  // ---- peers ----

  private static List<Peer> peers(ConfigTree tree, String nodeId) {
    List<Element> nodes = tree.list("consensus.cluster_nodes").orElse(List.of());
    if (nodes.isEmpty()) {
      return List.of();
    }
    checkGroupSize(tree, nodes.size());
    Map<String, Peer> byId = new LinkedHashMap<>();
    for (Element node : nodes) {
      Peer peer = new Peer(tree.string(node, "consensus.cluster_nodes[].id"),
          tree.string(node, "consensus.cluster_nodes[].raft_address"),
          tree.string(node, "consensus.cluster_nodes[].api_address"));
      if (byId.putIfAbsent(peer.id(), peer) != null) {
        throw tree.fail(node.display() + ".id", "must be unique among cluster_nodes; got \""
            + peer.id() + "\" again");
      }
    }
    if (!byId.containsKey(nodeId)) {
      throw tree.fail(ConfigTree.display("node_id"), "must be one of the ids of "
          + "consensus.cluster_nodes " + byId.keySet() + "; got \"" + nodeId + "\"");
    }
    return List.copyOf(byId.values());
  }

  private static void checkGroupSize(ConfigTree tree, int size) {
    if (size == 2 || size == 4) {
      throw tree.fail(ConfigTree.display("consensus.cluster_nodes"), "must have 1, 3 or 5 nodes: "
          + "a group of 2 or 4 tolerates no more failures than one of 1 or 3; got " + size);
    }
    if (size > 5) {
      throw tree.fail(ConfigTree.display("consensus.cluster_nodes"),
          "must have 1, 3 or 5 nodes; got " + size);
    }
  }

  // ---- stores ----

  private static List<Store> stores(ConfigTree tree, Path dataDir) {
    Optional<List<Element>> listed = tree.list("stores");
    if (listed.isEmpty()) {
      return DEFAULT_STORES.stream().map(name -> defaultStore(name, dataDir)).toList();
    }
    if (listed.get().isEmpty()) {
      throw tree.fail(ConfigTree.display("stores"), "must list at least one store (leave stores "
          + "out for the demo's two H2 stores); got []");
    }
    Map<String, Store> byName = new LinkedHashMap<>();
    for (Element element : listed.get()) {
      Store store = store(tree, element);
      if (byName.putIfAbsent(store.name(), store) != null) {
        throw tree.fail(element.display() + ".name", "must be unique among stores; got \""
            + store.name() + "\" again");
      }
      if (store.name().equals(Kv.SAGA_STORE_NAME) && tree.flag("kv.enabled")) {
        throw tree.fail(element.display() + ".name", Kv.SAGA_STORE_NAME_TAKEN);
      }
    }
    return List.copyOf(byName.values());
  }

  private static Store store(ConfigTree tree, Element element) {
    String name = tree.string(element, "stores[].name");
    StoreType type =
        StoreType.valueOf(tree.string(element, "stores[].type").toUpperCase(Locale.ROOT));
    String typeName = type.name().toLowerCase(Locale.ROOT);
    String url = tree.string(element, "stores[].jdbc_url");
    String redisUrl = tree.string(element, "stores[].url");
    if (type == StoreType.REDIS) {
      if (!url.isEmpty()) {
        throw tree.fail(element.display() + ".jdbc_url", "must be left out for type redis, "
            + "whose address is url (redis://host:port[/db])");
      }
      if (redisUrl.isEmpty()) {
        throw tree.fail(element.display() + ".url", "is required for type redis: "
            + "redis://host:port or redis://host:port/db");
      }
      return new Store(name, type, redisUrl, tree.string(element, "stores[].username"),
          tree.string(element, "stores[].password"),
          (int) tree.integer(element, "stores[].connection_pool.max_connections"));
    }
    if (!redisUrl.isEmpty()) {
      throw tree.fail(element.display() + ".url", "must be left out for type " + typeName
          + ", whose address is jdbc_url (url is for redis stores)");
    }
    if (url.isEmpty()) {
      throw tree.fail(element.display() + ".jdbc_url", "is required for type " + typeName
          + ": a JDBC URL (" + String.join(" or ", URL_PREFIXES.get(type)) + "...)");
    }
    if (URL_PREFIXES.get(type).stream().noneMatch(url::startsWith)) {
      throw tree.fail(element.display() + ".jdbc_url", "must start with "
          + String.join(" or ", URL_PREFIXES.get(type)) + " for type " + typeName + "; got \""
          + url + "\"");
    }
    return new Store(name, type, url, tree.string(element, "stores[].username"),
        tree.string(element, "stores[].password"),
        (int) tree.integer(element, "stores[].connection_pool.max_connections"));
  }

  /** One of the demo's embedded H2 stores, under data_dir/stores, with the demo's lock timeout. */
  private static Store defaultStore(String name, Path dataDir) {
    String url = "jdbc:h2:file:" + dataDir.resolve("stores").resolve(name) + ";LOCK_TIMEOUT=2000";
    long maxConnections = (Long) ConfigSchema.key("stores[].connection_pool.max_connections")
        .defaultValue();
    return new Store(name, StoreType.H2, url, "sa", "", (int) maxConnections);
  }

  // ---- the engine's records ----

  private static CoordinatorConfig coordinator(ConfigTree tree) {
    CoordinatorConfig defaults = CoordinatorConfig.DEFAULTS;
    return engineRecord(tree, Map.of(
            "prepare_phase_timeout", "timeouts.prepare_phase_timeout_seconds",
            "commit_phase_timeout", "timeouts.commit_phase_timeout_seconds",
            "participant_response_timeout", "timeouts.participant_response_timeout_seconds",
            "recovery_interval", "timeouts.recovery_interval_seconds",
            "active_transactions_max", "performance.max_concurrent_coordinations",
            "operations_per_request_max", "performance.max_operations_per_request"),
        () -> new CoordinatorConfig(
            tree.seconds("timeouts.prepare_phase_timeout_seconds"),
            tree.seconds("timeouts.commit_phase_timeout_seconds"),
            tree.seconds("timeouts.participant_response_timeout_seconds"),
            tree.seconds("timeouts.recovery_interval_seconds"),
            defaults.retryBackoffMin(), defaults.retryBackoffMax(),
            (int) tree.integer("performance.max_concurrent_coordinations"),
            (int) tree.integer("performance.max_operations_per_request")));
  }

  private static LockConfig locks(ConfigTree tree) {
    LockConfig defaults = LockConfig.DEFAULTS;
    return engineRecord(tree, Map.of(
            "locks.default_lease", "lock_manager.default_lease_seconds",
            "locks.deadlock_sweep_every",
            "lock_manager.deadlock_detection.detection_interval_seconds"),
        () -> new LockConfig(tree.seconds("lock_manager.default_lease_seconds"), defaults.tick(),
            defaults.checkpointEvery(),
            tree.seconds("lock_manager.deadlock_detection.detection_interval_seconds")));
  }

  private static LockTable.Limits lockLimits(ConfigTree tree) {
    return LockTable.Limits.DEFAULTS.withEscalationThreshold(
        (int) tree.integer("lock_manager.escalation_threshold"));
  }

  private static ApiLimits apiLimits(ConfigTree tree) {
    return new ApiLimits((int) tree.integer("performance.max_request_bytes"),
        tree.seconds("performance.idempotency_key_retention_seconds"));
  }

  private static Monitoring monitoring(ConfigTree tree) {
    return new Monitoring(tree.flag("monitoring.metrics_enabled"),
        tree.flag("monitoring.distributed_tracing_enabled"),
        tree.decimal("monitoring.trace_sampling_rate"), tree.string("monitoring.otlp_endpoint"),
        tree.string("monitoring.log_format"));
  }

  // ---- the key-value store ----

  /**
   * The {@code kv} block, checked whole even when the store is disabled: a mistake is reported
   * now, not on the day someone enables it.
   */
  private static Kv kv(ConfigTree tree, String nodeId, Path dataDir) {
    String coordinatorId = tree.string("kv.coordinator_id");
    KvConfig coordinator = engineRecord(tree, Map.of(
            "kv.coordinator_id", "kv.coordinator_id",
            "kv.virtual_nodes", "kv.virtual_nodes",
            "kv.write_timeout", "kv.write_timeout_seconds",
            "kv.read_timeout", "kv.read_timeout_seconds",
            "kv.tenant_cache_ttl", "kv.tenant_cache_ttl_seconds",
            "kv.tenant_cache_size", "kv.tenant_cache_size",
            "kv.idempotency_retention", "kv.idempotency_retention_seconds",
            "kv.ring_refresh", "kv.ring_refresh_seconds"),
        () -> new KvConfig(coordinatorId.isEmpty() ? nodeId : coordinatorId,
            (int) tree.integer("kv.virtual_nodes"), tree.seconds("kv.write_timeout_seconds"),
            tree.seconds("kv.read_timeout_seconds"), tree.flag("kv.repair_async"),
            tree.seconds("kv.tenant_cache_ttl_seconds"), (int) tree.integer("kv.tenant_cache_size"),
            tree.seconds("kv.idempotency_retention_seconds"),
            tree.seconds("kv.ring_refresh_seconds")));
    // The tenant cache's own bounds, checked now rather than when the server starts.
    engineRecord(tree, Map.of(
            "cache.tenant_config_ttl", "kv.tenant_cache_ttl_seconds",
            "cache.max_size", "kv.tenant_cache_size"),
        () -> new TenantCache.Config(coordinator.tenantCacheTtl(),
            coordinator.tenantCacheSize(), TenantCache.Config.MISSING_TTL_DEFAULT));
    List<KvService.StorageNodeInfo> external = kvStorageNodes(tree);
    int embedded = (int) tree.integer("kv.embedded_nodes");
    if (!tree.isSet("kv.embedded_nodes") && !external.isEmpty()) {
      embedded = 0;
    }
    checkEmbeddedIdsFree(tree, nodeId, embedded, external);
    return new Kv(tree.flag("kv.enabled"), coordinator, kvMetadata(tree, dataDir),
        tree.string("kv.idempotency_redis_url"), embedded, external,
        tree.string("kv.default_tenant"));
  }

  private static KvMetadata kvMetadata(ConfigTree tree, Path dataDir) {
    String url = tree.string("kv.metadata.url");
    int poolSize = (int) tree.integer("kv.metadata.pool_size");
    if (!url.isEmpty()) {
      return new KvMetadata(url, tree.string("kv.metadata.user"),
          tree.string("kv.metadata.password"), poolSize);
    }
    for (String path : List.of("kv.metadata.user", "kv.metadata.password")) {
      if (tree.isSet(path)) {
        throw tree.fail(ConfigTree.display(path), "must be left out without kv.metadata.url: the "
            + "default H2 database under data_dir/kv has its own user");
      }
    }
    KvMetadata h2 = KvMetadata.h2(dataDir);
    return new KvMetadata(h2.url(), h2.user(), h2.password(), poolSize);
  }

  private static List<KvService.StorageNodeInfo> kvStorageNodes(ConfigTree tree) {
    Map<String, KvService.StorageNodeInfo> byId = new LinkedHashMap<>();
    for (Element element : tree.list("kv.storage_nodes").orElse(List.of())) {
      KvService.StorageNodeInfo node = new KvService.StorageNodeInfo(
          tree.string(element, "kv.storage_nodes[].id"),
          tree.string(element, "kv.storage_nodes[].address"));
      if (byId.putIfAbsent(node.id(), node) != null) {
        throw tree.fail(element.display() + ".id", "must be unique among kv.storage_nodes; got \""
            + node.id() + "\" again");
      }
    }
    return List.copyOf(byId.values());
  }

  /** An external node must not take the id of one of this server's embedded nodes. */
  private static void checkEmbeddedIdsFree(ConfigTree tree, String nodeId, int embedded,
      List<KvService.StorageNodeInfo> external) {
    for (int i = 0; i < external.size(); i++) {
      String id = external.get(i).id();
      for (int n = 1; n <= embedded; n++) {
        if (id.equals(Kv.embeddedNodeId(nodeId, n))) {
          throw tree.fail(ConfigTree.display("kv.storage_nodes") + "[" + i + "].id",
              "must differ from the ids of this server's embedded nodes ("
              + Kv.embeddedNodeId(nodeId, 1) + " to " + Kv.embeddedNodeId(nodeId, embedded)
              + "); got \"" + id + "\"");
        }
      }
    }
  }

  /**
   * Makes an engine record, whose constructor checks its own rules; a failure is re-thrown under
   * the YAML key of the field ({@code keysByField}: the record's field name to the key's path),
   * with durations in seconds as the file has them.
   */
  private static <T> T engineRecord(ConfigTree tree, Map<String, String> keysByField,
      Supplier<T> make) {
    try {
      return make.get();
    } catch (SynodException e) {
      String field = e.field().orElse("");
      String path = keysByField.get(field);
      if (path == null) {
        throw e;
      }
      String rule = e.getMessage().substring(field.length() + 2);
      throw tree.fail(ConfigTree.display(path), durationsInSeconds(rule));
    }
  }

  /** {@code must be between PT0.3S and PT1H} as {@code must be between 0.3 s and 3600 s}. */
  private static String durationsInSeconds(String text) {
    Matcher matcher = ISO_DURATION.matcher(text);
    return matcher.replaceAll(match -> inSeconds(Duration.parse(match.group())) + " s");
  }

  private static String inSeconds(Duration duration) {
    return BigDecimal.valueOf(duration.toNanos(), 9).stripTrailingZeros().toPlainString();
  }
}
