package io.synod.server.config;

import com.fasterxml.jackson.databind.JsonNode;
import io.synod.api.SynodException;
import io.synod.server.config.ConfigSchema.Key;
import io.synod.server.config.ConfigSchema.Type;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Typed, validated reads from the settings below {@code coordination_service}, after the
 * environment's overrides. A failure names the full YAML key, the value and the rule, and the
 * variable when the value came from the environment.
 */
final class ConfigTree {
  /** A mapping of the tree: {@code coordination_service} itself or an element of a list. */
  record Element(JsonNode node, String display) {}

  private final Element root;
  private final Map<String, String> variablesByKey;

  /**
   * @param settings the mapping below {@code coordination_service}
   * @param variablesByKey for each full key set from the environment, the variable
   */
  ConfigTree(JsonNode settings, Map<String, String> variablesByKey) {
    this.root = new Element(settings, ConfigSchema.ROOT);
    this.variablesByKey = Map.copyOf(variablesByKey);
  }

  /** The full key of {@code path}, e.g. {@code coordination_service.listen.http_port}. */
  static String display(String path) {
    return ConfigSchema.ROOT + "." + path;
  }

  /** The elements of the list at {@code path}; empty when the list is absent or null. */
  Optional<List<Element>> list(String path) {
    JsonNode node = at(root.node(), path);
    if (node == null) {
      return Optional.empty();
    }
    List<Element> elements = new ArrayList<>();
    for (int i = 0; i < node.size(); i++) {
      elements.add(new Element(node.get(i), display(path) + "[" + i + "]"));
    }
    return Optional.of(elements);
  }

  /** Whether the key at {@code path} was given, in the file or the environment. */
  boolean isSet(String path) {
    return at(root.node(), path) != null;
  }

  String string(String path) {
    return string(root, path);
  }

  String string(Element element, String path) {
    return (String) value(element, path);
  }

  long integer(String path) {
    return integer(root, path);
  }

  long integer(Element element, String path) {
    return (Long) value(element, path);
  }

  Duration seconds(String path) {
    return (Duration) value(root, path);
  }

  double decimal(String path) {
    return ((BigDecimal) value(root, path)).doubleValue();
  }

  boolean flag(String path) {
    return (Boolean) value(root, path);
  }

  /**
   * A failure of the value at the full key {@code display}: {@code rule} should end with what
   * was got; the variable it came from is appended.
   */
  SynodException fail(String display, String rule) {
    return SynodException.invalid(display, rule + source(display));
  }

  private Object value(Element element, String path) {
    Key key = ConfigSchema.key(path);
    String display = element.display() + "." + key.relativePath();
    JsonNode node = at(element.node(), key.relativePath());
    if (node == null) {
      if (key.required()) {
        throw fail(display, "is required");
      }
      return key.defaultValue();
    }
    Object value = convert(node, key, display);
    if (!key.valid().test(value)) {
      throw fail(display, key.rule() + "; got " + render(value));
    }
    return value;
  }

  private Object convert(JsonNode node, Key key, String display) {
    if (key.type() != Type.STRING && node.isContainerNode()) {
      throw wrongType(node, key, display);
    }
    return switch (key.type()) {
      case STRING -> text(node, display);
      case INTEGER -> integer(node, key, display);
      case SECONDS -> seconds(node, key, display);
      case DECIMAL -> number(node, key, display);
      case BOOLEAN -> bool(node, key, display);
    };
  }

  /**
   * Only a YAML string: a number or boolean would already have been changed by YAML ({@code
   * 0123} is read as 83, {@code 1e5} as 100000), and printing it could show a password.
   */
  private String text(JsonNode node, String display) {
    if (node.isTextual()) {
      return node.asText();
    }
    String got = switch (node.getNodeType()) {
      case NUMBER -> "a number (put it in quotes)";
      case BOOLEAN -> "a boolean (put it in quotes)";
      case OBJECT -> "a mapping";
      case ARRAY -> "a list";
      default -> node.getNodeType().name().toLowerCase(Locale.ROOT);
    };
    throw fail(display, "must be a string; got " + got);
  }

  private Long integer(JsonNode node, Key key, String display) {
    BigInteger value;
    if (node.isIntegralNumber()) {
      value = node.bigIntegerValue();
    } else if (node.isTextual() && node.asText().trim().matches("[-+]?\\d+")) {
      value = new BigInteger(node.asText().trim());
    } else {
      throw wrongType(node, key, display);
    }
    if (value.bitLength() > 63) {
      throw fail(display, key.rule() + "; got " + value);
    }
    return value.longValue();
  }

  private Duration seconds(JsonNode node, Key key, String display) {
    BigDecimal value = number(node, key, display);
    if (value.signum() <= 0 || value.compareTo(ConfigSchema.SECONDS_MAX) > 0) {
      throw fail(display, key.rule() + "; got " + value.toPlainString());
    }
    BigDecimal nanos = value.movePointRight(9).setScale(0, RoundingMode.HALF_UP);
    return Duration.ofNanos(nanos.longValueExact());
  }

  private BigDecimal number(JsonNode node, Key key, String display) {
    if (node.isNumber()) {
      return node.decimalValue();
    }
    try {
      return new BigDecimal(node.isTextual() ? node.asText().trim() : node.toString());
    } catch (NumberFormatException e) {
      throw wrongType(node, key, display);
    }
  }

  private Boolean bool(JsonNode node, Key key, String display) {
    if (node.isBoolean()) {
      return node.booleanValue();
    }
    return switch (node.asText().trim().toLowerCase(Locale.ROOT)) {
      case "true" -> true;
      case "false" -> false;
      default -> throw wrongType(node, key, display);
    };
  }

  private SynodException wrongType(JsonNode node, Key key, String display) {
    return fail(display, "must be " + key.type().noun + "; got " + node);
  }

  private static String render(Object value) {
    return switch (value) {
      case String text -> '"' + text + '"';
      case BigDecimal number -> number.toPlainString();
      default -> String.valueOf(value);
    };
  }

  /** " (from VARIABLE)" when the key or a list or mapping holding it came from one. */
  private String source(String display) {
    for (String key = display; !key.isEmpty(); key = parent(key)) {
      String variable = variablesByKey.get(key);
      if (variable != null) {
        return " (from " + variable + ")";
      }
    }
    return "";
  }

  private static String parent(String key) {
    int cut = Math.max(key.lastIndexOf('.'), key.lastIndexOf('['));
    return cut < 0 ? "" : key.substring(0, cut);
  }

  /** The node at the dotted {@code path} below {@code node}; null when absent or null. */
  private static JsonNode at(JsonNode node, String path) {
    JsonNode current = node;
    for (String name : path.split("\\.")) {
      current = current == null ? null : current.get(name);
    }
    return current == null || current.isNull() ? null : current;
  }
}
