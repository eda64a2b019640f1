package io.synod.server.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.synod.api.SynodException;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * The keys of the configuration file below {@code coordination_service}: each scalar key with its
 * type, default, rule and environment variable. Mappings and lists are implied by the keys' paths
 * ({@code listen.http_port} lies in the mapping {@code listen}; {@code stores[].name} in each
 * element of the list {@code stores}). Rules that involve several keys live in
 * {@link ConfigLoader}.
 */
final class ConfigSchema {
  /** The one key at the top of a configuration file. */
  static final String ROOT = "coordination_service";

  /** The longest duration any {@code _seconds} key takes: a year. */
  static final BigDecimal SECONDS_MAX = BigDecimal.valueOf(365L * 24 * 3600);

  private static final String HOST_PORT = "[^\\s:/]+:\\d{1,5}";
  private static final String REDIS_URL =
      "rediss?://([^\\s@/]+@)?[^\\s:/@]+:\\d{1,5}(/\\d{1,2})?/?";
  private static final String ID = "[a-z0-9-]{1,32}";
  private static final String ID_RULE = "must be 1 to 32 lower-case letters, digits or '-'";
  /** A tenant, storage node or KV coordinator id, as {@code io.synod.api.kv.Tenant} checks it. */
  private static final String KV_ID = "[A-Za-z0-9][A-Za-z0-9._-]{0,63}";
  private static final String KV_ID_RULE = "1 to 64 letters, digits, '.', '_' or '-', starting "
      + "with a letter or digit";

  /** The type of a scalar key, and how a value of the wrong type is reported. */
  enum Type {
    STRING("a string"),
    INTEGER("an integer"),
    SECONDS("a number of seconds"),
    DECIMAL("a number"),
    BOOLEAN("true or false");

    final String noun;

    Type(String noun) {
      this.noun = noun;
    }
  }

  /** What a name in a mapping holds. */
  enum Shape { SCALAR, MAPPING, LIST }

  /**
   * A scalar key.
   *
   * @param path dotted path below {@code coordination_service}; {@code []} marks a list element
   * @param type how the value is read: String, Long, Duration, BigDecimal or Boolean
   * @param defaultValue the value when the key is absent, of {@code type}'s class; null if required
   * @param rule what a value must satisfy, as error messages and the docs say it
   * @param valid the rule, applied to a value of the right type
   * @param describedDefault what the docs say in place of the default, for a key whose presence
   *     depends on another key (ConfigLoader checks it); null to show the default
   */
  record Key(String path, Type type, Object defaultValue, String rule, Predicate<Object> valid,
      String describedDefault) {
    Key(String path, Type type, Object defaultValue, String rule, Predicate<Object> valid) {
      this(path, type, defaultValue, rule, valid, null);
    }

    boolean required() {
      return defaultValue == null;
    }

    /** The list whose elements hold this key ({@code stores}), or empty. */
    Optional<String> list() {
      int mark = path.indexOf("[].");
      return mark < 0 ? Optional.empty() : Optional.of(path.substring(0, mark));
    }

    /** The path inside a list element, or the whole path for a key outside lists. */
    String relativePath() {
      int mark = path.indexOf("[].");
      return mark < 0 ? path : path.substring(mark + 3);
    }

    /** {@link #relativePath} in upper case with {@code _} between parts: the variable's tail. */
    String envSuffix() {
      return relativePath().replace('.', '_').toUpperCase(Locale.ROOT);
    }
  }

  static final List<Key> KEYS = List.of(
      text("cluster_id", "synod", "[a-z0-9]{1,16}",
          "must be 1 to 16 lower-case letters or digits"),
      text("node_id", "n1", ID, ID_RULE),
      text("data_dir", "./data", "(?s).*\\S.*", "must be a directory path, not blank"),
      text("listen.host", "127.0.0.1", "[^\\s:]+",
          "must be a host name or IPv4 address (no spaces or ':')"),
      integer("listen.http_port", 7780, 0, 65535),
      integer("listen.grpc_port", 7790, 0, 65535),
      integer("listen.raft_port", 7770, 0, 65535),
      text("stores[].name", null, "[a-z][a-z0-9_]{0,62}",
          "must be a lower-case letter then up to 62 lower-case letters, digits or '_'"),
      text("stores[].type", null, "postgresql|mariadb|h2|redis",
          "must be postgresql, mariadb, h2 or redis"),
      new Key("stores[].jdbc_url", Type.STRING, "", "must be a JDBC URL (jdbc:...); only for "
          + "postgresql, mariadb and h2", value -> Pattern.matches("|jdbc:\\S+", (String) value),
          "required for postgresql, mariadb, h2"),
      new Key("stores[].url", Type.STRING, "", "must be redis://host:port or "
          + "redis://host:port/db (rediss:// for TLS); only for redis",
          value -> Pattern.matches("|" + REDIS_URL, (String) value), "required for redis"),
      text("stores[].username", "", null, "any string"),
      text("stores[].password", "", null, "any string; never printed"),
      integer("stores[].connection_pool.max_connections", 20, 1, 1000),
      text("consensus.algorithm", "raft", "raft", "must be raft (the only algorithm)"),
      text("consensus.cluster_nodes[].id", null, ID, ID_RULE),
      address("consensus.cluster_nodes[].raft_address"),
      address("consensus.cluster_nodes[].api_address"),
      integer("consensus.log_compaction_threshold", 10_000, 100, Long.MAX_VALUE,
          "must be at least 100"),
      text("lock_manager.backend", "native", "native", "must be native (zookeeper is not "
          + "supported by the server yet; use the Java API's ZkLockService)"),
      seconds("lock_manager.default_lease_seconds", 30, "must be 0.3 to 3600 seconds"),
      new Key("lock_manager.deadlock_detection.enabled", Type.BOOLEAN, true,
          "cannot be disabled: deadlock detection runs on every enqueue", Boolean.TRUE::equals),
      seconds("lock_manager.deadlock_detection.detection_interval_seconds", 10,
          "must be 0.1 to 3600 seconds"),
      integer("lock_manager.escalation_threshold", 1_000, 1, Integer.MAX_VALUE),
      seconds("timeouts.prepare_phase_timeout_seconds", 30, null),
      seconds("timeouts.commit_phase_timeout_seconds", 60, null),
      seconds("timeouts.participant_response_timeout_seconds", 10, null),
      seconds("timeouts.recovery_interval_seconds", 5, null),
      integer("performance.max_concurrent_coordinations", 10_000, 1, Integer.MAX_VALUE),
      integer("performance.max_operations_per_request", 1_000, 1, Integer.MAX_VALUE),
      integer("performance.max_request_bytes", 1 << 20, 1 << 10, 1 << 26,
          "must be 1024 (1 KiB) to 67108864 (64 MiB)"),
      seconds("performance.idempotency_key_retention_seconds", 3600, null),
      flag("monitoring.metrics_enabled"),
      flag("monitoring.distributed_tracing_enabled"),
      new Key("monitoring.trace_sampling_rate", Type.DECIMAL, new BigDecimal("0.1"),
          "must be 0.0 to 1.0", v -> ((BigDecimal) v).signum() >= 0
              && ((BigDecimal) v).compareTo(BigDecimal.ONE) <= 0),
      text("monitoring.otlp_endpoint", "", "|https?://[^\\s/:]+:\\d{1,5}/?",
          "must be empty (no export) or http(s)://host:port"),
      text("monitoring.log_format", "json", "json|text", "must be json or text"),
      flag("kv.enabled"),
      new Key("kv.coordinator_id", Type.STRING, "", "must be empty (the node_id) or "
          + KV_ID_RULE, value -> Pattern.matches("|" + KV_ID, (String) value), "the `node_id`"),
      integer("kv.virtual_nodes", 150, 1, 10_000),
      seconds("kv.write_timeout_seconds", 5, null),
      seconds("kv.read_timeout_seconds", 3, null),
      flag("kv.repair_async"),
      seconds("kv.ring_refresh_seconds", 30, null),
      seconds("kv.tenant_cache_ttl_seconds", 300, "must be more than 0 and at most 3600 seconds"),
      integer("kv.tenant_cache_size", 10_000, 1, 10_000_000),
      seconds("kv.idempotency_retention_seconds", 86_400,
          "must be more than 0 and at most 2592000 seconds (30 days)"),
      new Key("kv.metadata.url", Type.STRING, "", "must be empty (the default H2 database) or a "
          + "JDBC URL of PostgreSQL (jdbc:postgresql:...) or H2 (jdbc:h2:...)",
          value -> Pattern.matches("|jdbc:(postgresql|h2):\\S+", (String) value),
          "an H2 database at `<data_dir>/kv/metadata`"),
      text("kv.metadata.user", "", null, "any string; only with url"),
      text("kv.metadata.password", "", null, "any string; only with url; never printed"),
      integer("kv.metadata.pool_size", 10, 1, 1000),
      text("kv.idempotency_redis_url", "", "|" + REDIS_URL, "must be empty (idempotency keys in "
          + "the metadata database) or redis://host:port or redis://host:port/db (rediss:// for "
          + "TLS)"),
      new Key("kv.embedded_nodes", Type.INTEGER, 3L, "must be 0 to 16",
          value -> (Long) value >= 0 && (Long) value <= 16,
          "`3`, or `0` when `storage_nodes` are given"),
      text("kv.storage_nodes[].id", null, KV_ID, "must be " + KV_ID_RULE),
      address("kv.storage_nodes[].address"),
      text("kv.default_tenant", "default", "|" + KV_ID, "must be empty (none) or a tenant id: "
          + KV_ID_RULE));

  private static final Map<String, Key> BY_PATH = new LinkedHashMap<>();

  static {
    KEYS.forEach(key -> BY_PATH.put(key.path(), key));
  }

  private ConfigSchema() {}

  /** The key at {@code path} (e.g. {@code listen.http_port}, {@code stores[].name}). */
  static Key key(String path) {
    Key key = BY_PATH.get(path);
    if (key == null) {
      throw new IllegalArgumentException("no configuration key " + path);
    }
    return key;
  }

  /** The keys outside lists whose variable is {@code variable}, if any. */
  static Optional<Key> byEnvVariable(String variable) {
    return KEYS.stream()
        .filter(key -> key.list().isEmpty() && variable.equals("SYNOD_" + key.envSuffix()))
        .findFirst();
  }

  /** The keys of each element of {@code list}. */
  static List<Key> elementKeys(String list) {
    return KEYS.stream().filter(key -> key.list().equals(Optional.of(list))).toList();
  }

  /**
   * The names allowed in the mapping at {@code path} ({@code ""} for {@code coordination_service}
   * itself, {@code stores[]} for a store) and what each holds, in schema order.
   */
  static Map<String, Shape> children(String path) {
    String prefix = path.isEmpty() ? "" : path + ".";
    Map<String, Shape> children = new LinkedHashMap<>();
    for (Key key : KEYS) {
      if (key.path().startsWith(prefix)) {
        String rest = key.path().substring(prefix.length());
        int dot = rest.indexOf('.');
        String name = dot < 0 ? rest : rest.substring(0, dot);
        Shape shape = name.endsWith("[]") ? Shape.LIST : dot < 0 ? Shape.SCALAR : Shape.MAPPING;
        children.putIfAbsent(name.replace("[]", ""), shape);
      }
    }
    return children;
  }

  /**
   * Checks that the tree below {@code coordination_service} has the schema's shape: only known
   * names, mappings and lists where they belong. Scalars' types are checked when they are read.
   */
  static void checkShape(JsonNode settings) {
    checkMapping(settings, "", ROOT);
  }

  private static void checkMapping(JsonNode node, String path, String display) {
    Map<String, Shape> children = children(path);
    if (!(node instanceof ObjectNode mapping)) {
      throw SynodException.invalid(display, "must be a mapping with the keys "
          + String.join(", ", children.keySet()) + "; got " + node);
    }
    for (Map.Entry<String, JsonNode> entry : mapping.properties()) {
      String name = entry.getKey();
      String childPath = path.isEmpty() ? name : path + "." + name;
      String childDisplay = display + "." + name;
      Shape shape = children.get(name);
      if (shape == null) {
        throw SynodException.invalid(childDisplay,
            "unknown key; known keys here: " + String.join(", ", children.keySet()));
      }
      JsonNode child = entry.getValue();
      if (child.isNull()) {
        continue;
      }
      switch (shape) {
        case MAPPING -> checkMapping(child, childPath, childDisplay);
        case LIST -> checkList(child, childPath, childDisplay);
        case SCALAR -> { }
      }
    }
  }

  private static void checkList(JsonNode node, String path, String display) {
    if (!(node instanceof ArrayNode list)) {
      throw SynodException.invalid(display, "must be a list; got " + node);
    }
    for (int i = 0; i < list.size(); i++) {
      checkMapping(list.get(i), path + "[]", display + "[" + i + "]");
    }
  }

  private static Key text(String path, String defaultValue, String regex, String rule) {
    Predicate<Object> valid = regex == null
        ? value -> true
        : value -> Pattern.matches(regex, (String) value);
    return new Key(path, Type.STRING, defaultValue, rule, valid);
  }

  private static Key address(String path) {
    return new Key(path, Type.STRING, null, "must be host:port with a port of 1 to 65535",
        value -> Pattern.matches(HOST_PORT, (String) value) && portOf((String) value) >= 1
            && portOf((String) value) <= 65535);
  }

  /** The port of a {@code host:port} address that matched {@link #HOST_PORT}. */
  static int portOf(String address) {
    return Integer.parseInt(address.substring(address.lastIndexOf(':') + 1));
  }

  private static Key integer(String path, long defaultValue, long min, long max) {
    return integer(path, defaultValue, min, max, "must be " + min + " to " + max);
  }

  private static Key integer(String path, long defaultValue, long min, long max, String rule) {
    return new Key(path, Type.INTEGER, defaultValue, rule,
        value -> (Long) value >= min && (Long) value <= max);
  }

  /** A duration in seconds; {@code rule} says the range its record enforces, if narrower. */
  private static Key seconds(String path, long defaultValue, String rule) {
    String stated = rule != null ? rule
        : "must be a number of seconds greater than 0 and at most " + SECONDS_MAX + " (a year)";
    return new Key(path, Type.SECONDS, Duration.ofSeconds(defaultValue), stated, value -> true);
  }

  private static Key flag(String path) {
    return new Key(path, Type.BOOLEAN, true, "must be true or false", value -> true);
  }
}
