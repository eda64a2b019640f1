package io.synod.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.synod.api.SynodException;
import io.synod.api.saga.RetryPolicy;
import io.synod.api.saga.SagaDefinition;
import io.synod.api.saga.SagaStatus;
import io.synod.api.saga.SagaStep;
import io.synod.api.saga.StepOperation;
import io.synod.api.saga.StepStatus;
import io.synod.client.SagaProtoMapping;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Saga definitions in JSON (or YAML read into the same tree), in the shape of spec 000's {@code
 * saga_step_definition}:
 *
 * <pre>{@code
 * {"name": "order",
 *  "steps": [
 *    {"name": "reserve", "depends_on": [],
 *     "forward_operation": {"store": "stock", "redis": ["DECRBY", "stock:{{saga.item}}", "1"], "timeout": "5s"},
 *     "compensation_operation": {"store": "stock", "redis": ["INCRBY", "stock:{{saga.item}}", "1"]},
 *     "retry_policy": {"max_attempts": 3, "backoff_strategy": "exponential", "base_delay": "1s", "max_delay": "30s"}},
 *    {"name": "charge",
 *     "forward_operation": {"store": "payments", "sql": "INSERT INTO charges VALUES (?, ?)",
 *                           "params": ["{{saga.saga_id}}", "{{saga.amount}}"]}},
 *    {"name": "mark",
 *     "forward_operation": {"store": "kv", "tenant_id": "shop", "key": "order:{{saga.saga_id}}",
 *                           "value": "paid"},
 *     "compensation_operation": {"store": "kv", "tenant_id": "shop",
 *                                "key": "order:{{saga.saga_id}}", "delete": true}}]}
 * }</pre>
 *
 * <p>An operation is SQL ({@code sql} and {@code params}), a Redis command ({@code redis}), or
 * a write of one key of the server's key-value store ({@code tenant_id}, {@code key}, and
 * {@code value} or {@code "delete": true}; the store is {@code kv}).
 * Steps without {@code depends_on} run after the step before them (the spec's sequence); {@code
 * "depends_on": []} starts a step at once, in parallel with the others. Every error names the
 * field as the JSON has it, e.g. {@code definition.steps[1].retry_policy.max_attempts}, including
 * the errors of the Java API's records, which name fields in their own terms (see {@link
 * SagaProtoMapping#wireField}).
 *
 * <p>Public so that the CLI reads start files ({@link #request}) and prints statuses ({@link
 * #status}) in exactly the HTTP API's shapes.
 */
public final class SagaJson {
  private static final Set<String> DEFINITION_FIELDS = Set.of("name", "steps");
  private static final Set<String> STEP_FIELDS = Set.of("name", "depends_on", "forward_operation",
      "compensation_operation", "retry_policy");
  private static final Set<String> OPERATION_FIELDS = Set.of("store", "sql", "params", "redis",
      "tenant_id", "key", "value", "delete", "timeout", "idempotency_key");
  /** The fields of a key-value operation, in the order a message names the first one found. */
  private static final List<String> KV_FIELDS = List.of("tenant_id", "key", "value", "delete");
  private static final String KINDS = "must have exactly one of sql (with params), redis, or a"
      + " kv write (tenant_id and key, with value or \"delete\": true)";
  private static final Set<String> RETRY_FIELDS =
      Set.of("max_attempts", "backoff_strategy", "base_delay", "max_delay");
  private static final Set<String> REQUEST_FIELDS =
      Set.of("saga_id", "definition", "input", "wait", "wait_seconds");
  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;
  private static final Pattern DURATION = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(ms|s|m|h)");

  private SagaJson() {}

  /**
   * A start request: {@code POST /v1/sagas}'s body, and the file of {@code synod saga start}.
   *
   * @param waits the body's {@code wait}; null when absent (the HTTP API then answers at once)
   * @param waitFor the bound of a wait ({@code wait_seconds}; 60 s when absent)
   */
  public record StartRequest(String sagaId, SagaDefinition definition, Map<String, Object> input,
      Boolean waits, Duration waitFor) {}

  /**
   * The request in {@code body}: {@code {saga_id, definition, input, wait, wait_seconds}}.
   * {@code idempotencyKey} (the Idempotency-Key header) stands in for a missing saga_id; if both
   * are given they must agree.
   */
  public static StartRequest request(JsonNode body, String idempotencyKey) {
    JsonFields fields = JsonFields.object(body, "", REQUEST_FIELDS);
    String id = fields.string("saga_id");
    if (id != null && idempotencyKey != null && !id.equals(idempotencyKey)) {
      throw SynodException.invalid("saga_id", "differs from the Idempotency-Key header ('"
          + idempotencyKey + "'); send one of them, or the same value in both");
    }
    if (id == null) {
      id = idempotencyKey;
    }
    if (id == null) {
      throw SynodException.invalid("saga_id", "is required (or an Idempotency-Key header): a"
          + " repeated id starts nothing again");
    }
    JsonNode definition = fields.raw("definition");
    if (definition == null) {
      throw SynodException.invalid("definition", "is required: the saga's name and steps");
    }
    SagaDefinition parsed = definition(definition, "definition");
    Map<String, Object> input = input(fields.raw("input"), "input");
    JsonNode wait = fields.raw("wait");
    if (wait != null && !wait.isBoolean()) {
      throw SynodException.invalid("wait", "must be true or false; got "
          + JsonFields.describe(wait));
    }
    Double waitSeconds = fields.number("wait_seconds");
    Duration waitFor = SagaProtoMapping.waitFor(waitSeconds == null ? 0 : waitSeconds);
    return new StartRequest(id, parsed, input, wait == null ? null : wait.booleanValue(),
        waitFor);
  }

  /** A saga's status as the HTTP API answers it: snake_case, states in lower case. */
  public static ObjectNode status(SagaStatus status) {
    ObjectNode node = JSON.objectNode()
        .put("saga_id", status.sagaId())
        .put("definition", status.definition())
        .put("state", status.state().wireName());
    if (status.error() == null) {
      node.putNull("error");
    } else {
      node.put("error", status.error());
    }
    node.put("created_at_ms", status.createdAtMs()).put("updated_at_ms", status.updatedAtMs());
    ArrayNode steps = node.putArray("steps");
    for (StepStatus step : status.steps()) {
      ObjectNode s = steps.addObject()
          .put("name", step.name())
          .put("state", step.state().wireName())
          .put("attempts", step.attempts())
          .put("compensation_attempts", step.compensationAttempts());
      if (step.lastError() == null) {
        s.putNull("last_error");
      } else {
        s.put("last_error", step.lastError());
      }
      s.put("updated_at_ms", step.updatedAtMs());
    }
    return node;
  }

  /** {@code {"saga_ids": [...]}}. */
  public static ObjectNode ids(List<String> ids) {
    ObjectNode node = JSON.objectNode();
    ArrayNode array = node.putArray("saga_ids");
    ids.forEach(array::add);
    return node;
  }

  /** The definition in {@code node}; {@link SynodException} INVALID_ARGUMENT naming the field. */
  public static SagaDefinition definition(JsonNode node, String path) {
    JsonFields fields = JsonFields.object(node, path, DEFINITION_FIELDS);
    JsonNode steps = fields.array("steps");
    if (steps == null) {
      throw SynodException.invalid(fields.path("steps"), "is required: at least one step");
    }
    List<SagaStep> parsed = new ArrayList<>();
    for (int i = 0; i < steps.size(); i++) {
      String stepPath = fields.path("steps") + "[" + i + "]";
      parsed.add(step(steps.get(i), stepPath, parsed.isEmpty() ? null : parsed.getLast()));
    }
    try {
      return new SagaDefinition(fields.string("name"), parsed);
    } catch (SynodException e) {
      throw relocate(e, path);
    }
  }

  /**
   * An error of the Java API's records, which name fields in their own terms ({@code
   * steps[1].timeout}), named as in the JSON under {@code path} ({@code
   * definition.steps[1].forward_operation.timeout}).
   */
  private static SynodException relocate(SynodException e, String path) {
    SynodException wire = SagaProtoMapping.onWire(e);
    String field = wire.field().orElse(null);
    String prefix = "definition.";
    if (field == null || field.equals(e.field().orElse(null)) || !field.startsWith(prefix)
        || path.equals("definition")) {
      return wire;
    }
    String relative = field.substring(prefix.length());
    return SynodException.invalid(path.isEmpty() ? relative : path + "." + relative,
        wire.getMessage().substring(field.length() + 2));
  }

  /** The saga's input: string, number, boolean or null values. */
  public static Map<String, Object> input(JsonNode node, String path) {
    Map<String, Object> input = new LinkedHashMap<>();
    if (node == null || node.isNull()) {
      return input;
    }
    if (!node.isObject()) {
      throw SynodException.invalid(path, "must be an object; got " + JsonFields.describe(node));
    }
    node.properties().forEach(e -> input.put(e.getKey(),
        value(e.getValue(), path + "." + e.getKey())));
    return input;
  }

  private static SagaStep step(JsonNode node, String path, SagaStep previous) {
    JsonFields fields = JsonFields.object(node, path, STEP_FIELDS);
    String name = fields.string("name");
    if (name == null) {
      throw SynodException.invalid(fields.path("name"), "is required: unique within the saga");
    }
    JsonNode forward = fields.raw("forward_operation");
    if (forward == null) {
      throw SynodException.invalid(fields.path("forward_operation"), "is required");
    }
    List<String> dependsOn = fields.raw("depends_on") != null ? fields.strings("depends_on")
        : previous == null ? List.of() : List.of(previous.name());
    Operation action = operation(forward, fields.path("forward_operation"), name, "step");
    JsonNode compensationNode = fields.raw("compensation_operation");
    Operation compensation = compensationNode == null ? null
        : operation(compensationNode, fields.path("compensation_operation"), name, "comp");
    Duration timeout = action.timeout();
    if (compensation != null && compensationNode.has("timeout")
        && !compensation.timeout().equals(timeout)) {
      throw SynodException.invalid(fields.path("compensation_operation") + ".timeout",
          "must equal forward_operation.timeout (" + timeout.toMillis() + " ms): a step has one"
              + " timeout for both; got " + compensation.timeout().toMillis() + " ms");
    }
    return new SagaStep(name, action.operation(), compensation == null ? null
        : compensation.operation(), dependsOn, timeout,
        retry(fields.raw("retry_policy"), fields.path("retry_policy")));
  }

  private record Operation(StepOperation operation, Duration timeout) {}

  private static Operation operation(JsonNode node, String path, String step, String keyKind) {
    JsonFields fields = JsonFields.object(node, path, OPERATION_FIELDS);
    String store = fields.string("store");
    if (store == null) {
      throw SynodException.invalid(fields.path("store"), "is required: the store that runs it");
    }
    idempotencyKey(fields, keyKind);
    String sql = fields.string("sql");
    JsonNode redis = fields.array("redis");
    String kvField = KV_FIELDS.stream().filter(f -> fields.raw(f) != null).findFirst()
        .orElse(null);
    if (kvField != null && (sql != null || redis != null)) {
      throw SynodException.invalid(fields.path(kvField), "belongs to a kv operation; an"
          + " operation with " + (sql != null ? "sql" : "redis") + " has none");
    }
    if ((sql == null) == (redis == null) && kvField == null) {
      throw SynodException.invalid(path, KINDS);
    }
    Duration timeout = duration(fields.raw("timeout"), fields.path("timeout"),
        SagaStep.DEFAULT_TIMEOUT);
    if (kvField != null) {
      return new Operation(kv(fields, path, store), timeout);
    }
    if (sql != null) {
      return new Operation(new StepOperation.Sql(store, sql,
          params(fields.array("params"), fields.path("params"))), timeout);
    }
    if (fields.raw("params") != null) {
      throw SynodException.invalid(fields.path("params"), "belongs to sql; a redis command"
          + " carries its arguments in the array");
    }
    return new Operation(new StepOperation.Redis(store, fields.strings("redis")), timeout);
  }

  /** A key-value operation: tenant_id, key, and value or "delete": true. */
  private static StepOperation.Kv kv(JsonFields fields, String path, String store) {
    if (fields.raw("params") != null) {
      throw SynodException.invalid(fields.path("params"), "belongs to sql; a kv operation"
          + " writes value");
    }
    JsonNode delete = fields.raw("delete");
    if (delete != null && !delete.isBoolean()) {
      throw SynodException.invalid(fields.path("delete"), "must be true or false; got "
          + JsonFields.describe(delete));
    }
    return SagaProtoMapping.kv(path, store, fields.string("tenant_id"), fields.string("key"),
        fields.string("value"), delete != null && delete.booleanValue());
  }

  /**
   * The keys are the spec's, {@code {{saga.saga_id}}_step_{{step.step_id}}} and {@code
   * ..._comp_...}; a definition may spell them out, but not choose others.
   */
  private static void idempotencyKey(JsonFields fields, String keyKind) {
    String key = fields.string("idempotency_key");
    String expected = "{{saga.saga_id}}_" + keyKind + "_{{step.step_id}}";
    if (key != null && !key.equals(expected)) {
      throw SynodException.invalid(fields.path("idempotency_key"), "must be '" + expected
          + "' (the store records this key with the effect); got '" + key + "'");
    }
  }

  private static List<Object> params(JsonNode array, String path) {
    List<Object> params = new ArrayList<>();
    if (array != null) {
      for (int i = 0; i < array.size(); i++) {
        params.add(value(array.get(i), path + "[" + i + "]"));
      }
    }
    return params;
  }

  private static Object value(JsonNode value, String path) {
    return switch (value.getNodeType()) {
      case NULL -> null;
      case BOOLEAN -> value.booleanValue();
      case STRING -> value.textValue();
      case NUMBER -> value.canConvertToLong() && value.isIntegralNumber() ? value.longValue()
          : new BigDecimal(value.asText());
      default -> throw SynodException.invalid(path,
          "must be a string, number, boolean or null; got " + JsonFields.describe(value));
    };
  }

  private static RetryPolicy retry(JsonNode node, String path) {
    if (node == null) {
      return RetryPolicy.DEFAULT;
    }
    JsonFields fields = JsonFields.object(node, path, RETRY_FIELDS);
    Double attempts = fields.number("max_attempts");
    if (attempts != null && attempts != Math.rint(attempts)) {
      throw SynodException.invalid(fields.path("max_attempts"), "must be a whole number; got "
          + attempts);
    }
    String strategy = fields.string("backoff_strategy");
    RetryPolicy.Backoff backoff = RetryPolicy.DEFAULT.backoff();
    if (strategy != null) {
      try {
        backoff = RetryPolicy.Backoff.valueOf(strategy.toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw SynodException.invalid(fields.path("backoff_strategy"),
            "must be exponential or fixed; got '" + strategy + "'");
      }
    }
    try {
      return new RetryPolicy(
          attempts == null ? RetryPolicy.DEFAULT.maxAttempts() : attempts.intValue(), backoff,
          duration(fields.raw("base_delay"), fields.path("base_delay"),
              RetryPolicy.DEFAULT.baseDelay()),
          duration(fields.raw("max_delay"), fields.path("max_delay"),
              RetryPolicy.DEFAULT.maxDelay()));
    } catch (SynodException e) {
      // RetryPolicy names its own fields; put them under this step's path.
      throw SynodException.invalid(path + "." + e.field().orElse("retry_policy")
          .replace("retry_policy.", ""), e.getMessage().substring(e.getMessage().indexOf(": ") + 2));
    }
  }

  /** "30s", "500ms", "1.5m", "1h", or a number of seconds. */
  static Duration duration(JsonNode node, String path, Duration fallback) {
    if (node == null) {
      return fallback;
    }
    if (node.isNumber() && node.doubleValue() >= 0) {
      return Duration.ofMillis(Math.round(node.doubleValue() * 1000));
    }
    Matcher m = node.isTextual() ? DURATION.matcher(node.textValue().strip()) : null;
    if (m == null || !m.matches()) {
      throw SynodException.invalid(path, "must be a duration like \"30s\", \"500ms\" or \"1m\","
          + " or a number of seconds; got " + (node.isTextual() ? "'" + node.textValue() + "'"
          : JsonFields.describe(node)));
    }
    double amount = Double.parseDouble(m.group(1));
    long unitMs = switch (m.group(2)) {
      case "ms" -> 1;
      case "s" -> 1_000;
      case "m" -> 60_000;
      default -> 3_600_000;
    };
    return Duration.ofMillis(Math.round(amount * unitMs));
  }
}
