package io.synod.server.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.synod.api.SynodException;
import io.synod.server.config.ConfigSchema.Key;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Writes the {@code SYNOD_} environment variables over the settings read from the file. Variables
 * are matched against the schema's keys, never split at {@code _} (key names contain it):
 *
 * <ul>
 *   <li>a key outside lists: {@code SYNOD_} and its path in upper case with {@code _} between
 *       parts ({@code SYNOD_LISTEN_HTTP_PORT});
 *   <li>a key of a store defined in the file: {@code SYNOD_STORES_<NAME>_<KEY>}
 *       ({@code SYNOD_STORES_ORDERS_PASSWORD});
 *   <li>the whole of {@code consensus.cluster_nodes}: {@code SYNOD_CONSENSUS_CLUSTER_NODES} as
 *       {@code id=raft_host:port/api_host:port} entries separated by commas;
 *   <li>the whole of {@code kv.storage_nodes}: {@code SYNOD_KV_STORAGE_NODES} as {@code
 *       id=host:port} entries separated by commas.
 * </ul>
 *
 * <p>Any other {@code SYNOD_} variable is an error, so that a typo is not ignored, except the
 * launcher's own ({@link #LAUNCHER_VARIABLES}).
 */
final class EnvOverrides {
  /** Variables of the {@code synod} launcher, which are not configuration keys. */
  static final Set<String> LAUNCHER_VARIABLES = Set.of("SYNOD_CONFIG", "SYNOD_JAVA_OPTS");

  static final String PREFIX = "SYNOD_";
  static final String CLUSTER_NODES = "SYNOD_CONSENSUS_CLUSTER_NODES";
  static final String STORES = "SYNOD_STORES_";
  static final String KV_STORAGE_NODES = "SYNOD_KV_STORAGE_NODES";

  private static final Pattern NODE = Pattern.compile("([^=]+)=([^/]+)/(.+)");
  private static final Pattern STORAGE_NODE = Pattern.compile("([^=]+)=(.+)");

  private final ObjectNode settings;
  private final Map<String, String> variablesByKey = new HashMap<>();

  private EnvOverrides(ObjectNode settings) {
    this.settings = settings;
  }

  /**
   * Applies every {@code SYNOD_} variable of {@code env} to {@code settings} (the mapping below
   * {@code coordination_service}, already checked against the schema's shape).
   *
   * @return for each full key set, the variable that set it
   */
  static Map<String, String> apply(ObjectNode settings, Map<String, String> env) {
    EnvOverrides overrides = new EnvOverrides(settings);
    new TreeMap<>(env).forEach((variable, value) -> {
      if (variable.startsWith(PREFIX) && !LAUNCHER_VARIABLES.contains(variable)) {
        overrides.apply(variable, value);
      }
    });
    return overrides.variablesByKey;
  }

  private void apply(String variable, String value) {
    Optional<Key> key = ConfigSchema.byEnvVariable(variable);
    if (key.isPresent()) {
      set(settings, key.get().path(), TextNode.valueOf(value));
      variablesByKey.put(ConfigTree.display(key.get().path()), variable);
    } else if (variable.equals(CLUSTER_NODES)) {
      set(settings, "consensus.cluster_nodes", clusterNodes(variable, value));
      variablesByKey.put(ConfigTree.display("consensus.cluster_nodes"), variable);
    } else if (variable.equals(KV_STORAGE_NODES)) {
      set(settings, "kv.storage_nodes", storageNodes(variable, value));
      variablesByKey.put(ConfigTree.display("kv.storage_nodes"), variable);
    } else if (variable.startsWith(STORES)) {
      applyToStore(variable, value);
    } else {
      throw SynodException.invalid(variable, "matches no configuration key; docs/configuration.md "
          + "lists the variables (" + String.join(" and ", LAUNCHER_VARIABLES.stream().sorted()
          .toList()) + " are the launcher's)");
    }
  }

  private static ArrayNode clusterNodes(String variable, String value) {
    ArrayNode nodes = JsonNodeFactory.instance.arrayNode();
    for (String entry : value.split(",")) {
      if (entry.isBlank()) {
        continue;
      }
      Matcher matcher = NODE.matcher(entry.trim());
      if (!matcher.matches()) {
        throw SynodException.invalid(variable, "each entry must be "
            + "id=raft_host:port/api_host:port, entries separated by ','; got \"" + entry.trim()
            + "\"");
      }
      nodes.addObject()
          .put("id", matcher.group(1))
          .put("raft_address", matcher.group(2))
          .put("api_address", matcher.group(3));
    }
    return nodes;
  }

  private static ArrayNode storageNodes(String variable, String value) {
    ArrayNode nodes = JsonNodeFactory.instance.arrayNode();
    for (String entry : value.split(",")) {
      if (entry.isBlank()) {
        continue;
      }
      Matcher matcher = STORAGE_NODE.matcher(entry.trim());
      if (!matcher.matches()) {
        throw SynodException.invalid(variable, "each entry must be id=host:port, entries "
            + "separated by ','; got \"" + entry.trim() + "\"");
      }
      nodes.addObject().put("id", matcher.group(1)).put("address", matcher.group(2));
    }
    return nodes;
  }

  /** Sets the key the variable names in the store it names; an error when there is none. */
  private void applyToStore(String variable, String value) {
    JsonNode stores = settings.path("stores");
    List<String> names = new ArrayList<>();
    for (int i = 0; i < stores.size(); i++) {
      ObjectNode store = (ObjectNode) stores.get(i);
      String name = store.path("name").asText();
      names.add(name);
      for (Key key : ConfigSchema.elementKeys("stores")) {
        String own = STORES + name.toUpperCase(Locale.ROOT) + "_" + key.envSuffix();
        if (!key.relativePath().equals("name") && variable.equals(own)) {
          set(store, key.relativePath(), TextNode.valueOf(value));
          variablesByKey.put(ConfigTree.display("stores") + "[" + i + "]." + key.relativePath(),
              variable);
          return;
        }
      }
    }
    throw SynodException.invalid(variable, "matches no key of a store in the configuration file "
        + "(stores there: " + (names.isEmpty() ? "none" : String.join(", ", names))
        + "); store variables are SYNOD_STORES_<NAME>_<KEY>, e.g. SYNOD_STORES_ORDERS_PASSWORD");
  }

  /** Puts {@code value} at the dotted {@code path} below {@code base}, adding mappings. */
  private static void set(ObjectNode base, String path, JsonNode value) {
    String[] names = path.split("\\.");
    ObjectNode parent = base;
    for (int i = 0; i < names.length - 1; i++) {
      JsonNode child = parent.get(names[i]);
      parent = child instanceof ObjectNode mapping ? mapping : parent.putObject(names[i]);
    }
    parent.set(names[names.length - 1], value);
  }
}
