package io.synod.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.synod.api.CoordinationResult;
import io.synod.proto.v1.ClusterStatus;
import io.synod.server.http.CoordinationJson;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Model.CommandSpec;

/**
 * What a client command prints: answers on standard output, as key/value lines (table) or as
 * the HTTP API's JSON (snake_case, the same field names); errors on standard error as one line
 * {@code synod txn submit: <message>}.
 */
final class Output {
  /** How answers are printed. */
  enum Format { TABLE, JSON }

  static final ObjectMapper JSON = JsonMapper.builder()
      .enable(SerializationFeature.INDENT_OUTPUT)
      .build();

  /** The HTTP API's request and answer shapes, shared with the server. */
  static final CoordinationJson SHAPES = new CoordinationJson(JSON);

  private final CommandSpec command;
  private final Format format;

  Output(CommandSpec command, Format format) {
    this.command = command;
    this.format = format;
  }

  /** Prints {@code node}: as JSON, or its scalar fields as key/value lines and its lists of objects as tables. */
  void print(ObjectNode node) {
    if (format == Format.JSON) {
      out().println(json(node));
    } else {
      table(node);
    }
    out().flush();
  }

  /** Prints one line per value in table format, or {@code node} as JSON. */
  void lines(ObjectNode node, List<String> values) {
    if (format == Format.JSON) {
      print(node);
      return;
    }
    values.forEach(out()::println);
    out().flush();
  }

  /** Prints {@code message} as the command's one error line and returns {@code exitCode}. */
  int fail(int exitCode, String message) {
    PrintWriter err = command.commandLine().getErr();
    err.println(command.qualifiedName() + ": " + oneLine(message));
    err.flush();
    return exitCode;
  }

  // ---- the HTTP API's shapes

  static ObjectNode result(CoordinationResult result) {
    return SHAPES.result(result);
  }

  static ObjectNode ids(List<String> ids) {
    return SHAPES.ids(ids);
  }

  static ObjectNode cluster(ClusterStatus status) {
    return SHAPES.cluster(status);
  }

  // ---- table format

  private void table(ObjectNode node) {
    int width = node.properties().stream().mapToInt(e -> e.getKey().length()).max().orElse(0);
    List<Map.Entry<String, JsonNode>> tables = new ArrayList<>();
    for (Map.Entry<String, JsonNode> field : node.properties()) {
      if (isListOfObjects(field.getValue())) {
        tables.add(field);
      } else {
        out().println(pad(field.getKey(), width) + "  " + cell(field.getValue()));
      }
    }
    boolean printed = tables.size() < node.size();
    for (Map.Entry<String, JsonNode> table : tables) {
      if (printed) { // a blank line between what came before and each table
        out().println();
      }
      rows(table.getValue());
      printed = true;
    }
  }

  /** A list of objects as columns under upper-case headers; true shows as *, false as nothing. */
  private void rows(JsonNode list) {
    List<String> headers = new ArrayList<>();
    list.get(0).fieldNames().forEachRemaining(headers::add);
    List<List<String>> rows = new ArrayList<>();
    rows.add(headers.stream().map(h -> h.toUpperCase(java.util.Locale.ROOT)).toList());
    for (JsonNode item : list) {
      rows.add(headers.stream().map(h -> column(item.get(h))).toList());
    }
    int[] widths = new int[headers.size()];
    for (List<String> row : rows) {
      for (int i = 0; i < widths.length; i++) {
        widths[i] = Math.max(widths[i], row.get(i).length());
      }
    }
    for (List<String> row : rows) {
      StringBuilder line = new StringBuilder();
      for (int i = 0; i < widths.length; i++) {
        line.append(i == widths.length - 1 ? row.get(i) : pad(row.get(i), widths[i]) + "  ");
      }
      out().println(line.toString().stripTrailing());
    }
  }

  private static boolean isListOfObjects(JsonNode value) {
    return value.isArray() && !value.isEmpty() && value.get(0).isObject();
  }

  private static String cell(JsonNode value) {
    if (value == null || value.isNull()) {
      return "-";
    }
    if (value.isObject()) { // a vector clock, say: its compact JSON
      return value.isEmpty() ? "-" : value.toString();
    }
    if (value.isArray()) {
      List<String> items = new ArrayList<>();
      value.forEach(item -> items.add(item.asText()));
      return items.isEmpty() ? "-" : String.join(", ", items);
    }
    return value.asText();
  }

  private static String column(JsonNode value) {
    if (value != null && value.isBoolean()) {
      return value.booleanValue() ? "*" : "";
    }
    if (value != null && value.isObject()) {
      return cell(value);
    }
    return value == null || value.isNull() || value.asText().isEmpty() ? "-" : cell(value);
  }

  private static String pad(String text, int width) {
    return text + " ".repeat(Math.max(0, width - text.length()));
  }

  private static String oneLine(String message) {
    return message == null ? "failed" : message.replaceAll("\\s*\\R\\s*", " ").strip();
  }

  private static String json(JsonNode node) {
    try {
      return JSON.writeValueAsString(node);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("could not print JSON", e);
    }
  }

  private PrintWriter out() {
    return command.commandLine().getOut();
  }
}
