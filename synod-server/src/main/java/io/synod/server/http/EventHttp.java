package io.synod.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.event.ChoreographyDefinition;
import io.synod.api.event.ChoreographyStep;
import io.synod.api.event.Event;
import io.synod.api.saga.SagaStatus;
import io.synod.client.EventProtoMapping;
import io.synod.client.SagaProtoMapping;
import io.synod.server.EventRouter;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The event bus and choreography routes of the HTTP API, the same calls as the Events gRPC
 * service:
 *
 * <pre>
 * POST /v1/events {type, correlation_id, payload}                     → {offset}
 * POST /v1/choreographies {correlation_id, definition, payload,
 *                          wait, wait_seconds}                        → status
 * GET  /v1/choreographies/{id}                                        → status
 * GET  /v1/choreographies?state=active                                → {correlation_ids}
 * POST /v1/choreographies/{id}/abort {reason}           → {correlation_id, aborted}
 * </pre>
 *
 * A definition is {@code {name, steps: [{name, on, done, failed, compensate, timeout_seconds}]}}.
 * A status is a saga's ({@link SagaJson#status}) plus {@code correlation_id}. There is no HTTP
 * subscribe: receiving events needs the Events gRPC service's Subscribe stream, whose events are
 * acknowledged one by one.
 */
public final class EventHttp {
  static final String EVENTS = "/v1/events";
  static final String CHOREOGRAPHIES = "/v1/choreographies";
  private static final Set<String> EVENT_FIELDS = Set.of("type", "correlation_id", "payload");
  private static final Set<String> START_FIELDS =
      Set.of("correlation_id", "definition", "payload", "wait", "wait_seconds");
  private static final Set<String> DEFINITION_FIELDS = Set.of("name", "steps");
  private static final Set<String> STEP_FIELDS =
      Set.of("name", "on", "done", "failed", "compensate", "timeout_seconds");
  private static final Set<String> ABORT_FIELDS = Set.of("reason");
  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

  private final EventRouter router;

  public EventHttp(EventRouter router) {
    this.router = router;
  }

  /** True for the paths this class serves. */
  public static boolean handles(String path) {
    return path.equals(EVENTS) || path.equals(CHOREOGRAPHIES)
        || path.startsWith(CHOREOGRAPHIES + "/");
  }

  /** The route's template, for metrics: ids are not labels. */
  public static String route(String path) {
    if (path.equals(EVENTS) || path.equals(CHOREOGRAPHIES)) {
      return path;
    }
    return path.endsWith("/abort") ? CHOREOGRAPHIES + "/{id}/abort" : CHOREOGRAPHIES + "/{id}";
  }

  /**
   * Serves one request under {@link #EVENTS} or {@link #CHOREOGRAPHIES}: the 200 answer's body,
   * or a {@link SynodException} the caller turns into the error answer.
   */
  public JsonNode answer(String method, String path, Consumer<String> allow, LockHttp.Body body,
      Function<String, String> query) throws IOException {
    if (path.equals(EVENTS)) {
      allow.accept("POST"); // subscribing needs the gRPC stream
      Event event = event(body.read());
      return JSON.objectNode().put("offset", router.publish(event, false));
    }
    if (path.equals(CHOREOGRAPHIES)) {
      if (method.equals("POST")) {
        return start(body.read());
      }
      if (!method.equals("GET") && !method.equals("HEAD")) {
        allow.accept("GET, POST");
      }
      String state = query.apply("state");
      if (state != null && !state.equals("active")) {
        throw SynodException.invalid("state", "must be 'active' (the only listing kept); got '"
            + state + "'");
      }
      ObjectNode ids = JSON.objectNode();
      var array = ids.putArray("correlation_ids");
      router.listActive(false).forEach(array::add);
      return ids;
    }
    String rest = path.substring(CHOREOGRAPHIES.length() + 1);
    if (rest.endsWith("/abort")) {
      allow.accept("POST");
      String id = correlationId(rest.substring(0, rest.length() - "/abort".length()), path);
      JsonNode reasonBody = body.read();
      String reason = reasonBody == null || reasonBody.isMissingNode() ? null
          : JsonFields.object(reasonBody, "", ABORT_FIELDS).string("reason");
      return JSON.objectNode().put("correlation_id", id)
          .put("aborted", router.abort(id, reason, false));
    }
    allow.accept("GET");
    String id = correlationId(rest, path);
    return status(router.status(id, false).orElseThrow(() -> new SynodException(
        ErrorCode.NOT_FOUND, "correlation_id", "no choreography '" + id + "' is known")));
  }

  private static Event event(JsonNode body) {
    JsonFields fields = JsonFields.object(body, "", EVENT_FIELDS);
    return Event.of(fields.string("type"), fields.string("correlation_id"),
        payload(fields.raw("payload"), "payload"));
  }

  private JsonNode start(JsonNode body) {
    JsonFields fields = JsonFields.object(body, "", START_FIELDS);
    String id = fields.string("correlation_id");
    if (id == null || id.isEmpty()) {
      throw SynodException.invalid("correlation_id", "is required: a repeated id starts"
          + " nothing again");
    }
    JsonNode definition = fields.raw("definition");
    if (definition == null) {
      throw SynodException.invalid("definition", "is required: the saga's name and steps");
    }
    ChoreographyDefinition parsed = definition(definition);
    Map<String, String> payload = payload(fields.raw("payload"), "payload");
    JsonNode wait = fields.raw("wait");
    if (wait != null && !wait.isBoolean()) {
      throw SynodException.invalid("wait", "must be true or false; got "
          + JsonFields.describe(wait));
    }
    Double waitSeconds = fields.number("wait_seconds");
    Duration waitFor = SagaProtoMapping.waitFor(waitSeconds == null ? 0 : waitSeconds);
    return status(router.start(id, parsed, payload, wait != null && wait.booleanValue(),
        waitFor, false));
  }

  /** The definition; INVALID_ARGUMENT naming the field ({@code definition.steps[0].on}). */
  static ChoreographyDefinition definition(JsonNode node) {
    JsonFields fields = JsonFields.object(node, "definition", DEFINITION_FIELDS);
    JsonNode steps = fields.array("steps");
    if (steps == null) {
      throw SynodException.invalid("definition.steps", "is required: at least one step");
    }
    List<ChoreographyStep> parsed = new ArrayList<>();
    for (int i = 0; i < steps.size(); i++) {
      String path = "definition.steps[" + i + "]";
      JsonFields step = JsonFields.object(steps.get(i), path, STEP_FIELDS);
      Double timeout = step.number("timeout_seconds");
      if (timeout == null) {
        throw SynodException.invalid(path + ".timeout_seconds", "is required: how long synod"
            + " waits for the step's answer");
      }
      parsed.add(new ChoreographyStep(step.string("name"), step.string("on"),
          step.string("done"), step.string("failed"), step.string("compensate"),
          EventProtoMapping.seconds(timeout)));
    }
    try {
      return new ChoreographyDefinition(fields.string("name"), parsed);
    } catch (SynodException e) {
      throw EventProtoMapping.onWire(e);
    }
  }

  private static Map<String, String> payload(JsonNode node, String path) {
    Map<String, String> payload = new LinkedHashMap<>();
    if (node == null) {
      return payload;
    }
    if (!node.isObject()) {
      throw SynodException.invalid(path, "must be an object of strings; got "
          + JsonFields.describe(node));
    }
    node.properties().forEach(e -> {
      if (!e.getValue().isTextual()) {
        throw SynodException.invalid(path + "." + e.getKey(), "must be a string; got "
            + JsonFields.describe(e.getValue()));
      }
      payload.put(e.getKey(), e.getValue().textValue());
    });
    return payload;
  }

  /** A saga's status with {@code correlation_id} (its saga_id). */
  static ObjectNode status(SagaStatus status) {
    ObjectNode node = JSON.objectNode().put("correlation_id", status.sagaId());
    node.setAll(SagaJson.status(status));
    return node;
  }

  private static String correlationId(String segment, String path) {
    if (segment.isEmpty() || segment.contains("/")) {
      throw new SynodException(ErrorCode.NOT_FOUND, "path", "no resource at " + path
          + "; see /openapi.yaml");
    }
    return PathCodec.segment(segment, "path");
  }
}
