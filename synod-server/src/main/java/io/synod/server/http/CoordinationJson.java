package io.synod.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.synod.api.ConsistencyLevel;
import io.synod.api.CoordinationRequest;
import io.synod.api.CoordinationResult;
import io.synod.api.CoordinationType;
import io.synod.api.Operation;
import io.synod.api.SqlOperation;
import io.synod.api.SynodException;
import io.synod.proto.v1.ClusterStatus;
import io.synod.proto.v1.Member;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The JSON shapes of the HTTP API: spec 001's field names in snake_case, the same as the gRPC
 * messages. Parameters of SQL operations are plain JSON values: integers bind as BIGINT-sized
 * integers, other numbers as exact decimals, strings as text, true/false as booleans, null as
 * SQL NULL.
 *
 * <p>Public so that the CLI reads request files and prints answers in exactly these shapes.
 */
public final class CoordinationJson {
  private static final Set<String> REQUEST_FIELDS = Set.of("coordination_id", "coordination_type",
      "participating_stores", "operations", "timeout_seconds", "consistency_level", "metadata");
  private static final Set<String> OPERATION_FIELDS = Set.of("store", "sql", "params");
  private static final Set<String> ABORT_FIELDS = Set.of("reason");
  private static final double TIMEOUT_SECONDS_MAX = 86_400;

  private final ObjectMapper json;

  public CoordinationJson(ObjectMapper json) {
    this.json = json;
  }

  /**
   * The request in {@code body}. {@code idempotencyKey} (the Idempotency-Key header) stands in
   * for a missing coordination_id; the coordinator's log remembers finished ids, so a repeated
   * key returns the first outcome.
   */
  public CoordinationRequest request(JsonNode body, String idempotencyKey) {
    JsonFields fields = JsonFields.object(body, "", REQUEST_FIELDS);
    String id = fields.string("coordination_id");
    if (idempotencyKey != null) {
      if (id == null) {
        id = idempotencyKey;
      } else if (!id.equals(idempotencyKey)) {
        throw SynodException.invalid("coordination_id", "differs from the Idempotency-Key header ('"
            + idempotencyKey + "'); send one of them, or the same value in both");
      }
    }
    String type = fields.string("coordination_type");
    String consistency = fields.string("consistency_level");
    Double timeoutSeconds = fields.number("timeout_seconds");
    List<Operation> operations = operations(fields);
    List<String> stores = fields.strings("participating_stores");
    if (stores.isEmpty()) {
      operations.stream().map(Operation::store).distinct().forEach(stores::add);
    }
    return new CoordinationRequest(
        id,
        type == null ? CoordinationType.TWO_PHASE_COMMIT
            : CoordinationType.fromWire("coordination_type", type),
        stores,
        operations,
        timeout(timeoutSeconds),
        consistency == null ? ConsistencyLevel.STRONG
            : ConsistencyLevel.fromWire("consistency_level", consistency),
        metadata(fields));
  }

  String abortReason(JsonNode body) {
    if (body == null || body.isMissingNode()) {
      return null;
    }
    return JsonFields.object(body, "", ABORT_FIELDS).string("reason");
  }

  private static List<Operation> operations(JsonFields fields) {
    JsonNode array = fields.array("operations");
    List<Operation> operations = new ArrayList<>();
    if (array == null) {
      return operations;
    }
    for (int i = 0; i < array.size(); i++) {
      String path = "operations[" + i + "]";
      JsonFields operation = JsonFields.object(array.get(i), path, OPERATION_FIELDS);
      String store = operation.string("store");
      String sql = operation.string("sql");
      if (store == null) {
        throw SynodException.invalid(path + ".store", "is required: the store that runs it");
      }
      if (sql == null) {
        throw SynodException.invalid(path + ".sql", "is required: the statement to run");
      }
      operations.add(new SqlOperation(store, sql, params(operation.array("params"),
          operation.path("params"))));
    }
    return operations;
  }

  private static List<Object> params(JsonNode array, String path) {
    List<Object> params = new ArrayList<>();
    if (array == null) {
      return params;
    }
    for (int i = 0; i < array.size(); i++) {
      JsonNode value = array.get(i);
      params.add(switch (value.getNodeType()) {
        case NULL -> null;
        case BOOLEAN -> value.booleanValue();
        case STRING -> value.textValue();
        case NUMBER -> value.canConvertToLong() && value.isIntegralNumber() ? value.longValue()
            : new BigDecimal(value.asText());
        default -> throw SynodException.invalid(path + "[" + i + "]",
            "must be a string, number, boolean or null; got " + JsonFields.describe(value));
      });
    }
    return params;
  }

  private static Duration timeout(Double seconds) {
    if (seconds == null) {
      return Duration.ofSeconds(30);
    }
    if (!(seconds > 0) || seconds > TIMEOUT_SECONDS_MAX) {
      throw SynodException.invalid("timeout_seconds", "must be more than 0 and at most "
          + (long) TIMEOUT_SECONDS_MAX + "; got " + seconds);
    }
    return Duration.ofMillis(Math.max(1, Math.round(seconds * 1000)));
  }

  private static Map<String, String> metadata(JsonFields fields) {
    JsonNode node = fields.raw("metadata");
    Map<String, String> metadata = new LinkedHashMap<>();
    if (node == null) {
      return metadata;
    }
    if (!node.isObject()) {
      throw SynodException.invalid("metadata", "must be an object of strings; got "
          + JsonFields.describe(node));
    }
    node.properties().forEach(entry -> {
      if (!entry.getValue().isTextual()) {
        throw SynodException.invalid("metadata." + entry.getKey(), "must be a string; got "
            + JsonFields.describe(entry.getValue()));
      }
      metadata.put(entry.getKey(), entry.getValue().textValue());
    });
    return metadata;
  }

  public ObjectNode result(CoordinationResult result) {
    ObjectNode node = json.createObjectNode()
        .put("coordination_id", result.coordinationId())
        .put("success", result.success())
        .put("final_state", result.finalState().wireName());
    if (result.errorMessage() != null) {
      node.put("error_message", result.errorMessage());
    } else {
      node.putNull("error_message");
    }
    node.put("execution_duration_ms", result.executionDurationMs());
    ArrayNode stores = node.putArray("participating_stores");
    result.participatingStores().forEach(stores::add);
    node.put("operations_completed", result.operationsCompleted());
    node.put("operations_failed", result.operationsFailed());
    return node;
  }

  public ObjectNode ids(List<String> ids) {
    ObjectNode node = json.createObjectNode();
    ArrayNode array = node.putArray("coordination_ids");
    ids.forEach(array::add);
    return node;
  }

  public ObjectNode cluster(ClusterStatus status) {
    ObjectNode node = json.createObjectNode()
        .put("cluster_id", status.getClusterId())
        .put("node_id", status.getNodeId());
    if (status.getLeaderId().isEmpty()) {
      node.putNull("leader_id");
    } else {
      node.put("leader_id", status.getLeaderId());
    }
    node.put("term", status.getTerm())
        .put("commit_index", status.getCommitIndex())
        .put("applied_index", status.getAppliedIndex());
    ArrayNode members = node.putArray("members");
    for (Member member : status.getMembersList()) {
      members.addObject()
          .put("id", member.getId())
          .put("raft_address", member.getRaftAddress())
          .put("api_address", member.getApiAddress())
          .put("leader", member.getLeader());
    }
    return node;
  }
}
