package io.synod.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.synod.api.SynodException;
import io.synod.api.kv.Consistency;
import io.synod.api.kv.KvReadResult;
import io.synod.api.kv.KvService;
import io.synod.api.kv.KvWriteResult;
import io.synod.api.kv.Tenant;
import io.synod.api.kv.VectorClock;
import io.synod.api.kv.Versioned;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Set;

/**
 * The key-value store's JSON shapes, the fields of {@code synod/v1/kv.proto} in snake_case:
 *
 * <pre>{@code
 * write   {"tenant_id", "key", "success", "idempotency_key", "vector_clock": {"n1": 2},
 *          "replica_count", "consistency", "is_duplicate"}
 * read    {"tenant_id", "key", "success", "found", "value", "value_base64", "vector_clock",
 *          "consistency", "siblings": [{"value", "value_base64", "vector_clock",
 *          "timestamp_millis", "writer", "tombstone"}]}
 * tenant  {"tenant_id", "replication_factor", "default_consistency", "max_value_bytes",
 *          "max_requests_per_second"}
 * node    {"node_id", "address"}
 * report  {"node_id", "keys_scanned", "versions_copied", "keys_dropped", "duration_millis"}
 * }</pre>
 *
 * <p>Values are bytes. {@code value_base64} always carries them; {@code value} carries them as
 * text when they are valid UTF-8, and is null otherwise. A put sends one of the two. A tombstone
 * (a delete) has an empty value.
 *
 * <p>Public so that the CLI prints exactly the HTTP API's shapes.
 */
public final class KvJson {
  static final Set<String> PUT_FIELDS = Set.of("value", "value_base64", "consistency",
      "idempotency_key");
  static final Set<String> TENANT_FIELDS = Set.of("tenant_id", "replication_factor",
      "default_consistency", "max_value_bytes", "max_requests_per_second");
  static final Set<String> NODE_FIELDS = Set.of("node_id", "address");
  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

  private KvJson() {}

  // ---- answers

  public static ObjectNode write(String tenantId, KvWriteResult result) {
    ObjectNode node = JSON.objectNode()
        .put("tenant_id", tenantId)
        .put("key", result.key())
        .put("success", result.success())
        .put("idempotency_key", result.idempotencyKey());
    node.set("vector_clock", clock(result.clock()));
    return node.put("replica_count", result.replicaCount())
        .put("consistency", wire(result.consistency()))
        .put("is_duplicate", result.duplicate());
  }

  public static ObjectNode read(String tenantId, KvReadResult result) {
    ObjectNode node = JSON.objectNode()
        .put("tenant_id", tenantId)
        .put("key", result.key())
        .put("success", result.success())
        .put("found", result.found());
    value(node, result.value());
    node.set("vector_clock", clock(result.clock()));
    node.put("consistency", wire(result.consistency()));
    ArrayNode siblings = node.putArray("siblings");
    for (Versioned sibling : result.siblings()) {
      ObjectNode s = siblings.addObject();
      value(s, sibling.value());
      s.set("vector_clock", clock(sibling.clock()));
      s.put("timestamp_millis", sibling.timestampMillis())
          .put("writer", sibling.writer())
          .put("tombstone", sibling.tombstone());
    }
    return node;
  }

  /** {@code {"n1": 2, "n2": 1}}: the writers' counters, in writer order. */
  public static ObjectNode clock(VectorClock clock) {
    ObjectNode node = JSON.objectNode();
    if (clock != null) {
      clock.entries().forEach(node::put);
    }
    return node;
  }

  public static ObjectNode tenant(Tenant tenant) {
    return JSON.objectNode()
        .put("tenant_id", tenant.id())
        .put("replication_factor", tenant.replicationFactor())
        .put("default_consistency", tenant.defaultConsistency().wireName())
        .put("max_value_bytes", tenant.maxValueBytes())
        .put("max_requests_per_second", tenant.maxRequestsPerSecond());
  }

  public static ObjectNode tenants(List<Tenant> tenants) {
    ObjectNode node = JSON.objectNode();
    ArrayNode list = node.putArray("tenants");
    tenants.forEach(t -> list.add(tenant(t)));
    return node;
  }

  public static ObjectNode node(KvService.StorageNodeInfo node) {
    return JSON.objectNode().put("node_id", node.id()).put("address", node.address());
  }

  public static ObjectNode nodes(List<KvService.StorageNodeInfo> nodes) {
    ObjectNode node = JSON.objectNode();
    ArrayNode list = node.putArray("nodes");
    nodes.forEach(n -> list.add(node(n)));
    return node;
  }

  public static ObjectNode report(KvService.MigrationReport report) {
    return JSON.objectNode()
        .put("node_id", report.nodeId())
        .put("keys_scanned", report.keysScanned())
        .put("versions_copied", report.versionsCopied())
        .put("keys_dropped", report.keysDropped())
        .put("duration_millis", report.durationMillis());
  }

  /** The bytes as UTF-8 text, or null when they are not valid UTF-8. */
  public static String text(byte[] value) {
    try {
      return StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(value)).toString();
    } catch (CharacterCodingException e) {
      return null;
    }
  }

  // ---- requests

  /** A put's body: the value's bytes and the rest. */
  record Put(byte[] value, Consistency consistency, String idempotencyKey) {}

  /**
   * Reads a put's body: exactly one of {@code value} (text, written as UTF-8) and {@code
   * value_base64} (any bytes, standard base64), optional {@code consistency} and {@code
   * idempotency_key} (or the header).
   */
  static Put put(JsonNode body, String idempotencyHeader) {
    JsonFields fields = JsonFields.object(body, "", PUT_FIELDS);
    String text = fields.string("value");
    String base64 = fields.string("value_base64");
    if (text != null && base64 != null) {
      throw SynodException.invalid("value_base64", "must be left out when value is given: send"
          + " the value as text (value) or as base64 (value_base64), not both");
    }
    if (text == null && base64 == null) {
      throw SynodException.invalid("value", "is required: the value as text, or value_base64"
          + " for bytes that are not UTF-8 text");
    }
    byte[] value;
    if (text != null) {
      value = text.getBytes(StandardCharsets.UTF_8);
    } else {
      try {
        value = Base64.getDecoder().decode(base64);
      } catch (IllegalArgumentException e) {
        throw SynodException.invalid("value_base64", "must be standard base64 (A-Z, a-z, 0-9, +,"
            + " /, = padding): " + e.getMessage());
      }
    }
    return new Put(value, Consistency.fromWire("consistency", fields.string("consistency")),
        idempotencyKey(fields.string("idempotency_key"), idempotencyHeader));
  }

  /** The idempotency key: the Idempotency-Key header or the field; equal if both. */
  static String idempotencyKey(String field, String header) {
    if (field != null && header != null && !field.equals(header)) {
      throw SynodException.invalid("idempotency_key", "differs from the Idempotency-Key header"
          + " ('" + header + "'); send one of them, or the same value in both");
    }
    return field != null ? field : header;
  }

  /**
   * A tenant from a create or update body: each field given, else {@code base}'s (the defaults
   * for a create, the current settings for an update). {@code tenant_id} in the body, if any,
   * must be {@code tenantId}.
   */
  static Tenant tenant(JsonNode body, String tenantId, Tenant base) {
    JsonFields fields = JsonFields.object(body, "", TENANT_FIELDS);
    String id = fields.string("tenant_id");
    if (id != null && !id.equals(tenantId)) {
      throw SynodException.invalid("tenant_id", "differs from the tenant in the path ('"
          + tenantId + "'); leave it out, or send the same id");
    }
    Integer replicas = integer(fields, "replication_factor");
    Consistency consistency = Consistency.fromWire("default_consistency",
        fields.string("default_consistency"));
    Integer maxValueBytes = integer(fields, "max_value_bytes");
    Integer maxRequests = integer(fields, "max_requests_per_second");
    return new Tenant(tenantId,
        replicas != null ? replicas : base.replicationFactor(),
        consistency != null ? consistency : base.defaultConsistency(),
        maxValueBytes != null ? maxValueBytes : base.maxValueBytes(),
        maxRequests != null ? maxRequests : base.maxRequestsPerSecond());
  }

  /** The tenant id of a create's body: required. */
  static String tenantId(JsonNode body) {
    String id = JsonFields.object(body, "", TENANT_FIELDS).string("tenant_id");
    if (id == null) {
      throw SynodException.invalid("tenant_id", "is required: 1 to 64 letters, digits, '.', '_'"
          + " or '-'");
    }
    Tenant.checkId("tenant_id", id);
    return id;
  }

  static KvService.StorageNodeInfo storageNode(JsonNode body) {
    JsonFields fields = JsonFields.object(body, "", NODE_FIELDS);
    String id = fields.string("node_id");
    String address = fields.string("address");
    if (id == null) {
      throw SynodException.invalid("node_id", "is required: the node's id on the ring");
    }
    if (address == null) {
      throw SynodException.invalid("address", "is required: host:port of the node's storage API");
    }
    return new KvService.StorageNodeInfo(id, address);
  }

  // ---- helpers

  /** Sets {@code value} (the text, or null if not UTF-8) and {@code value_base64}. */
  private static void value(ObjectNode node, byte[] value) {
    node.put("value", text(value));
    node.put("value_base64", Base64.getEncoder().encodeToString(value));
  }

  private static Integer integer(JsonFields fields, String name) {
    JsonNode value = fields.raw(name);
    if (value == null) {
      return null;
    }
    if (!value.isIntegralNumber() || !value.canConvertToInt()) {
      throw SynodException.invalid(name, "must be a whole number; got "
          + JsonFields.describe(value));
    }
    return value.intValue();
  }

  private static String wire(Consistency consistency) {
    return consistency == null ? null : consistency.wireName();
  }
}
