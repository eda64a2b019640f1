package io.synod.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeType;
import io.synod.api.SynodException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * Reads a JSON object field by field, naming the field in every error: unknown fields, wrong
 * types and missing values are refused with the path of the offending field ({@code
 * operations[1].params[0]}), so a client in any language can see what to fix.
 */
final class JsonFields {
  private final JsonNode node;
  private final String path;

  private JsonFields(JsonNode node, String path) {
    this.node = node;
    this.path = path;
  }

  /** The object at {@code path}; refuses anything else and any field not in {@code known}. */
  static JsonFields object(JsonNode node, String path, Set<String> known) {
    if (node == null || !node.isObject()) {
      throw SynodException.invalid(path.isEmpty() ? "body" : path,
          "must be a JSON object; got " + describe(node));
    }
    for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!known.contains(name)) {
        throw SynodException.invalid(join(path, name),
            "unknown field; known fields here are " + new java.util.TreeSet<>(known));
      }
    }
    return new JsonFields(node, path);
  }

  String path(String field) {
    return join(path, field);
  }

  JsonNode raw(String field) {
    JsonNode value = node.get(field);
    return value == null || value.isNull() ? null : value;
  }

  String string(String field) {
    JsonNode value = raw(field);
    if (value == null) {
      return null;
    }
    if (!value.isTextual()) {
      throw SynodException.invalid(path(field), "must be a string; got " + describe(value));
    }
    return value.textValue();
  }

  Double number(String field) {
    JsonNode value = raw(field);
    if (value == null) {
      return null;
    }
    if (!value.isNumber()) {
      throw SynodException.invalid(path(field), "must be a number; got " + describe(value));
    }
    return value.doubleValue();
  }

  List<String> strings(String field) {
    JsonNode value = raw(field);
    List<String> list = new ArrayList<>();
    if (value == null) {
      return list;
    }
    if (!value.isArray()) {
      throw SynodException.invalid(path(field), "must be an array of strings; got "
          + describe(value));
    }
    for (int i = 0; i < value.size(); i++) {
      JsonNode item = value.get(i);
      if (!item.isTextual()) {
        throw SynodException.invalid(path(field) + "[" + i + "]", "must be a string; got "
            + describe(item));
      }
      list.add(item.textValue());
    }
    return list;
  }

  JsonNode array(String field) {
    JsonNode value = raw(field);
    if (value != null && !value.isArray()) {
      throw SynodException.invalid(path(field), "must be an array; got " + describe(value));
    }
    return value;
  }

  static String describe(JsonNode node) {
    if (node == null || node.getNodeType() == JsonNodeType.MISSING) {
      return "nothing";
    }
    return switch (node.getNodeType()) {
      case NULL -> "null";
      case BOOLEAN -> "a boolean (" + node.asText() + ")";
      case NUMBER -> "a number (" + node.asText() + ")";
      case STRING -> "a string";
      case ARRAY -> "an array";
      case OBJECT -> "an object";
      default -> node.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
    };
  }

  private static String join(String path, String field) {
    return path.isEmpty() ? field : path + "." + field;
  }
}
