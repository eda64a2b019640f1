package io.synod.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.kv.Consistency;
import io.synod.api.kv.KvDelete;
import io.synod.api.kv.KvRead;
import io.synod.api.kv.KvReadResult;
import io.synod.api.kv.KvService;
import io.synod.api.kv.KvWrite;
import io.synod.api.kv.Tenant;
import java.io.IOException;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The key-value routes of the HTTP API, the same calls as the KeyValue gRPC service with the
 * same field names ({@link KvJson} has the shapes):
 *
 * <pre>
 * PUT    /v1/kv/{tenant}/{key}  {value | value_base64, consistency, idempotency_key} → write
 * GET    /v1/kv/{tenant}/{key}?consistency=one&amp;siblings=true                     → read
 * DELETE /v1/kv/{tenant}/{key}?consistency=all&amp;idempotency_key=k                  → write
 * POST   /v1/tenants            {tenant_id, replication_factor, ...}                 → tenant
 * GET    /v1/tenants                                                                → {tenants}
 * GET    /v1/tenants/{id}                                                           → tenant
 * PUT    /v1/tenants/{id}       {replication_factor, ...}: fields left out unchanged → tenant
 * DELETE /v1/tenants/{id}                                                → {tenant_id, deleted}
 * GET    /v1/kv-nodes                                                               → {nodes}
 * POST   /v1/kv-nodes           {node_id, address}                                  → report
 * DELETE /v1/kv-nodes/{id}                                                          → report
 * </pre>
 *
 * <p>The key is everything after the tenant's segment, percent-decoded, so it may contain
 * {@code /} (as is or as {@code %2F}); '+' stays a plus. A read of a key never written or
 * deleted answers 404 with the usual error body (field {@code key}), as HTTP clients expect; the
 * gRPC read answers found=false instead. An unknown tenant is 404 too, with field {@code
 * tenant_id}. Writes take the {@code Idempotency-Key} header (or the field, or for a delete the
 * query parameter): a retry with the same key returns the first response with {@code
 * is_duplicate} true and writes nothing.
 */
public final class KvHttp {
  static final String KV = "/v1/kv";
  static final String TENANTS = "/v1/tenants";
  static final String NODES = "/v1/kv-nodes";
  private static final Set<String> READ_PARAMS = Set.of("consistency", "siblings");
  private static final Set<String> DELETE_PARAMS = Set.of("consistency", "idempotency_key");

  private final KvService kv;

  public KvHttp(KvService kv) {
    this.kv = kv;
  }

  /** Reads the query parameters, refusing any not in the set given (INVALID_ARGUMENT). */
  @FunctionalInterface
  public interface Params {
    Map<String, String> read(Set<String> known);
  }

  /** True for the paths this class serves. */
  public static boolean handles(String path) {
    return under(path, KV) || under(path, TENANTS) || under(path, NODES);
  }

  /** The route's template, for metrics: tenants, keys and node ids are not labels. */
  public static String route(String path) {
    if (path.equals(KV) || path.equals(TENANTS) || path.equals(NODES)) {
      return path;
    }
    if (path.startsWith(KV + "/")) {
      return KV + "/{tenant}/{key}";
    }
    return path.startsWith(TENANTS + "/") ? TENANTS + "/{id}" : NODES + "/{id}";
  }

  /**
   * Serves one request under {@link #KV}, {@link #TENANTS} or {@link #NODES}: the 200 answer's
   * body, or a {@link SynodException} the caller turns into the error answer. {@code allow}
   * refuses a method the path does not take.
   */
  public JsonNode answer(String method, String path, Consumer<String> allow, LockHttp.Body body,
      String idempotencyKey, Params params) throws IOException {
    if (under(path, KV)) {
      return key(method, path, allow, body, idempotencyKey, params);
    }
    if (under(path, TENANTS)) {
      return tenants(method, path, allow, body);
    }
    return nodes(method, path, allow, body);
  }

  // ---- keys -----------------------------------------------------------------------------------

  private JsonNode key(String method, String path, Consumer<String> allow, LockHttp.Body body,
      String idempotencyKey, Params params) throws IOException {
    String rest = path.length() > KV.length() ? path.substring(KV.length() + 1) : "";
    if (rest.isEmpty()) {
      throw SynodException.invalid("tenant_id", "is required: " + KV + "/{tenant_id}/{key}");
    }
    int slash = rest.indexOf('/');
    if (slash < 0) {
      throw SynodException.invalid("key", "is required after the tenant: " + KV
          + "/{tenant_id}/{key}");
    }
    String tenantId = decode(rest.substring(0, slash), "tenant_id");
    String key = decode(rest.substring(slash + 1), "key");
    return switch (method) {
      case "GET", "HEAD" -> read(tenantId, key, params.read(READ_PARAMS));
      case "PUT" -> {
        params.read(Set.of());
        KvJson.Put put = KvJson.put(body.read(), idempotencyKey);
        yield KvJson.write(tenantId, kv.write(new KvWrite(tenantId, key, put.value(),
            put.consistency(), put.idempotencyKey())));
      }
      case "DELETE" -> {
        Map<String, String> query = params.read(DELETE_PARAMS);
        requireNoBody(body);
        yield KvJson.write(tenantId, kv.delete(new KvDelete(tenantId, key,
            Consistency.fromWire("consistency", query.get("consistency")),
            KvJson.idempotencyKey(query.get("idempotency_key"), idempotencyKey))));
      }
      default -> {
        allow.accept("GET, PUT, DELETE"); // refuses the method, naming those it takes
        throw new IllegalStateException("allow accepted " + method);
      }
    };
  }

  private JsonNode read(String tenantId, String key, Map<String, String> query) {
    KvReadResult result = kv.read(new KvRead(tenantId, key,
        Consistency.fromWire("consistency", query.get("consistency")),
        bool("siblings", query.get("siblings"))));
    if (!result.found()) {
      throw new SynodException(ErrorCode.NOT_FOUND, "key", "no key '" + key + "' in tenant '"
          + tenantId + "': never written, or deleted");
    }
    return KvJson.read(tenantId, result);
  }

  // ---- tenants --------------------------------------------------------------------------------

  private JsonNode tenants(String method, String path, Consumer<String> allow, LockHttp.Body body)
      throws IOException {
    if (path.equals(TENANTS)) {
      if (method.equals("POST")) {
        JsonNode request = body.read();
        String id = KvJson.tenantId(request);
        return KvJson.tenant(kv.tenants().create(KvJson.tenant(request, id,
            Tenant.withDefaults(id))));
      }
      if (!method.equals("GET") && !method.equals("HEAD")) {
        allow.accept("GET, POST");
      }
      return KvJson.tenants(kv.tenants().list());
    }
    String id = segment(path.substring(TENANTS.length() + 1), path);
    return switch (method) {
      case "GET", "HEAD" -> KvJson.tenant(existing(id));
      case "PUT" -> {
        JsonNode request = body.read();
        Tenant current = existing(id);
        yield KvJson.tenant(kv.tenants().update(KvJson.tenant(request, id, current)));
      }
      case "DELETE" -> JsonNodeFactory.instance.objectNode().put("tenant_id", id)
          .put("deleted", kv.tenants().delete(id));
      default -> {
        allow.accept("GET, PUT, DELETE");
        throw new IllegalStateException("allow accepted " + method);
      }
    };
  }

  private Tenant existing(String tenantId) {
    return kv.tenants().get(tenantId).orElseThrow(() -> new SynodException(ErrorCode.NOT_FOUND,
        "tenant_id", "no tenant '" + tenantId + "'; create it first (POST " + TENANTS + ")"));
  }

  // ---- storage nodes --------------------------------------------------------------------------

  private JsonNode nodes(String method, String path, Consumer<String> allow, LockHttp.Body body)
      throws IOException {
    if (path.equals(NODES)) {
      if (method.equals("POST")) {
        return KvJson.report(kv.membership().add(KvJson.storageNode(body.read())));
      }
      if (!method.equals("GET") && !method.equals("HEAD")) {
        allow.accept("GET, POST");
      }
      return KvJson.nodes(kv.membership().nodes());
    }
    allow.accept("DELETE");
    return KvJson.report(kv.membership().remove(segment(path.substring(NODES.length() + 1),
        path)));
  }

  // ---- helpers --------------------------------------------------------------------------------

  private static boolean under(String path, String root) {
    return path.equals(root) || path.startsWith(root + "/");
  }

  private static void requireNoBody(LockHttp.Body body) throws IOException {
    JsonNode node = body.read();
    if (node != null && !node.isMissingNode()) {
      throw SynodException.invalid("body", "must be empty: a delete takes consistency and"
          + " idempotency_key as query parameters (or the Idempotency-Key header)");
    }
  }

  private static boolean bool(String name, String value) {
    if (value == null || value.equals("false")) {
      return false;
    }
    if (value.equals("true") || value.isEmpty()) {
      return true;
    }
    throw SynodException.invalid(name, "must be true or false; got '" + value + "'");
  }

  private static String segment(String raw, String path) {
    if (raw.isEmpty() || raw.contains("/")) {
      throw new SynodException(ErrorCode.NOT_FOUND, "path", "no resource at " + path
          + "; see /openapi.yaml");
    }
    return decode(raw, "path");
  }

  private static String decode(String raw, String field) {
    return PathCodec.segment(raw, field);
  }
}
