package io.synod.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.lock.LockMode;
import io.synod.client.LockProtoMapping;
import io.synod.proto.v1.AcquireRequest;
import io.synod.proto.v1.AcquireResponse;
import io.synod.proto.v1.CloseSessionRequest;
import io.synod.proto.v1.KeepAliveRequest;
import io.synod.proto.v1.KeepAliveResponse;
import io.synod.proto.v1.LockHolder;
import io.synod.proto.v1.LockStatusRequest;
import io.synod.proto.v1.LockStatusResponse;
import io.synod.proto.v1.LockWaiter;
import io.synod.proto.v1.LostLock;
import io.synod.proto.v1.OpenSessionRequest;
import io.synod.proto.v1.ReleaseRequest;
import io.synod.proto.v1.Session;
import io.synod.server.LockRouter;
import java.io.IOException;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.function.Consumer;

/**
 * The lock routes of the HTTP API, the same calls as the Locks gRPC service with the same field
 * names (durations in seconds rather than milliseconds):
 *
 * <pre>
 * POST   /v1/lock-sessions                {owner, lease_seconds}  → {session_id, lease_seconds}
 * POST   /v1/lock-sessions/{id}/keepalive                         → {session_id, state, lost}
 * DELETE /v1/lock-sessions/{id}                                   → {session_id, closed}
 * POST   /v1/locks       {session_id, resource, mode, timeout_seconds, with_intents, priority,
 *                         try_only}                               → {fencing_token, resource, mode}
 * POST   /v1/locks/release                {session_id, resource}  → {session_id, resource}
 * GET    /v1/locks/{resource path}                                → {resource, holders, waiters}
 * </pre>
 *
 * The mutating POSTs take the {@code Idempotency-Key} header (or a {@code request_id} field) as
 * the request id: a retry with the same key opens no second session and takes no second grant.
 * An HTTP client keeps its session alive itself, with a keepalive every sixth of its lease.
 */
public final class LockHttp {
  static final String SESSIONS = "/v1/lock-sessions";
  static final String LOCKS = "/v1/locks";
  private static final String RELEASE = LOCKS + "/release";
  private static final Set<String> OPEN_FIELDS = Set.of("owner", "lease_seconds", "request_id");
  private static final Set<String> ACQUIRE_FIELDS = Set.of("session_id", "resource", "mode",
      "timeout_seconds", "with_intents", "priority", "try_only", "request_id");
  private static final Set<String> RELEASE_FIELDS = Set.of("session_id", "resource");
  private static final double LEASE_SECONDS_MAX = 3_600;
  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

  private final LockRouter router;

  public LockHttp(LockRouter router) {
    this.router = router;
  }

  /** Reads a request's body: a missing node when it has none. */
  @FunctionalInterface
  public interface Body {
    JsonNode read() throws IOException;
  }

  /** True for the paths this class serves. */
  public static boolean handles(String path) {
    return path.equals(SESSIONS) || path.startsWith(SESSIONS + "/")
        || path.equals(LOCKS) || path.startsWith(LOCKS + "/");
  }

  /** The route's template, for metrics: ids and resources are not labels. */
  public static String route(String path) {
    if (path.equals(SESSIONS) || path.equals(LOCKS) || path.equals(RELEASE)) {
      return path;
    }
    if (path.startsWith(SESSIONS + "/")) {
      return path.endsWith("/keepalive") ? SESSIONS + "/{id}/keepalive" : SESSIONS + "/{id}";
    }
    return LOCKS + "/{resource}";
  }

  /**
   * Serves one request under {@link #SESSIONS} or {@link #LOCKS}: the 200 answer's body, or a
   * {@link SynodException} the caller turns into the error answer. {@code allow} refuses a
   * method the path does not take.
   */
  public JsonNode answer(String method, String path, Consumer<String> allow, Body body,
      String idempotencyKey) throws IOException {
    if (path.equals(SESSIONS)) {
      allow.accept("POST");
      return open(body.read(), idempotencyKey);
    }
    if (path.startsWith(SESSIONS + "/")) {
      String rest = path.substring(SESSIONS.length() + 1);
      if (rest.endsWith("/keepalive")) {
        allow.accept("POST");
        return keepalive(sessionId(rest.substring(0, rest.length() - "/keepalive".length()),
            path));
      }
      allow.accept("DELETE");
      String id = sessionId(rest, path);
      boolean closed = router.closeSession(
          CloseSessionRequest.newBuilder().setSessionId(id).build(), false).getClosed();
      return JSON.objectNode().put("session_id", id).put("closed", closed);
    }
    if (path.equals(LOCKS)) {
      allow.accept("POST");
      return acquire(body.read(), idempotencyKey);
    }
    if (path.equals(RELEASE) && !method.equals("GET") && !method.equals("HEAD")) {
      allow.accept("POST");
      return release(body.read());
    }
    allow.accept("GET");
    String resource = PathCodec.segment(path.substring(LOCKS.length() + 1), "resource");
    return status(router.status(LockStatusRequest.newBuilder().setResource(resource).build(),
        false));
  }

  private JsonNode open(JsonNode body, String idempotencyKey) {
    JsonFields fields = JsonFields.object(orEmpty(body), "", OPEN_FIELDS);
    String owner = fields.string("owner");
    if (owner == null) {
      throw SynodException.invalid("owner", "is required: who holds the session's locks");
    }
    Double leaseSeconds = fields.number("lease_seconds");
    long leaseMs = 0;
    if (leaseSeconds != null) {
      double min = io.synod.engine.lock.LockConfig.LEASE_MIN.toMillis() / 1000.0;
      if (!(leaseSeconds >= min) || leaseSeconds > LEASE_SECONDS_MAX) {
        throw SynodException.invalid("lease_seconds", "must be " + min + " to "
            + (long) LEASE_SECONDS_MAX + " (absent: the server's default); got " + leaseSeconds);
      }
      leaseMs = Math.round(leaseSeconds * 1000);
    }
    Session session = router.openSession(OpenSessionRequest.newBuilder()
        .setOwner(owner)
        .setLeaseMs(leaseMs)
        .setRequestId(requestId(fields, idempotencyKey))
        .build(), false);
    return JSON.objectNode()
        .put("session_id", session.getSessionId())
        .put("lease_seconds", session.getLeaseMs() / 1000.0);
  }

  private JsonNode keepalive(String sessionId) {
    KeepAliveResponse response = router.keepAlive(
        KeepAliveRequest.newBuilder().setSessionId(sessionId).build(), false);
    ObjectNode node = JSON.objectNode()
        .put("session_id", response.getSessionId())
        .put("state", response.getState().name().toLowerCase(Locale.ROOT));
    ArrayNode lost = node.putArray("lost");
    for (LostLock l : response.getLostList()) {
      lost.addObject()
          .put("resource", l.getResource())
          .put("fencing_token", l.getFencingToken())
          .put("reason", l.getReason().name().toLowerCase(Locale.ROOT));
    }
    return node;
  }

  private JsonNode acquire(JsonNode body, String idempotencyKey) {
    JsonFields fields = JsonFields.object(orEmpty(body), "", ACQUIRE_FIELDS);
    String sessionId = required(fields, "session_id");
    String resource = required(fields, "resource");
    String mode = required(fields, "mode");
    LockMode lockMode;
    try {
      lockMode = LockMode.valueOf(mode.strip().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw SynodException.invalid("mode", "must be IS, IX, S or X; got '" + mode + "'");
    }
    boolean tryOnly = bool(fields, "try_only", false);
    Double timeoutSeconds = fields.number("timeout_seconds");
    long timeoutMs = 0;
    if (tryOnly) {
      if (timeoutSeconds != null && timeoutSeconds != 0) {
        throw SynodException.invalid("timeout_seconds", "must be 0 or absent with try_only; got "
            + timeoutSeconds);
      }
    } else {
      double max = LockRouter.TIMEOUT_MAX.toSeconds();
      if (timeoutSeconds == null) {
        throw SynodException.invalid("timeout_seconds", "is required (how long to wait in the "
            + "queue), unless try_only is true");
      }
      if (!(timeoutSeconds > 0) || timeoutSeconds > max) {
        throw SynodException.invalid("timeout_seconds", "must be more than 0 and at most "
            + (long) max + "; got " + timeoutSeconds);
      }
      timeoutMs = Math.max(1, Math.round(timeoutSeconds * 1000));
    }
    AcquireRequest request = AcquireRequest.newBuilder()
        .setSessionId(sessionId)
        .setResource(resource)
        .setMode(LockProtoMapping.toProto(lockMode))
        .setTimeoutMs(timeoutMs)
        .setWithIntents(bool(fields, "with_intents", true))
        .setPriority(integer(fields, "priority"))
        .setTryOnly(tryOnly)
        .setRequestId(requestId(fields, idempotencyKey))
        .build();
    AcquireResponse granted = await(router.acquire(request, false));
    return JSON.objectNode()
        .put("fencing_token", granted.getFencingToken())
        .put("resource", granted.getResource())
        .put("mode", granted.getMode().name());
  }

  private JsonNode release(JsonNode body) {
    JsonFields fields = JsonFields.object(orEmpty(body), "", RELEASE_FIELDS);
    String sessionId = required(fields, "session_id");
    String resource = required(fields, "resource");
    router.release(ReleaseRequest.newBuilder().setSessionId(sessionId).setResource(resource)
        .build(), false);
    return JSON.objectNode().put("session_id", sessionId).put("resource", resource);
  }

  static ObjectNode status(LockStatusResponse status) {
    ObjectNode node = JSON.objectNode().put("resource", status.getResource());
    ArrayNode holders = node.putArray("holders");
    for (LockHolder h : status.getHoldersList()) {
      holders.addObject()
          .put("session_id", h.getSessionId())
          .put("owner", h.getOwner())
          .put("mode", h.getMode().name())
          .put("fencing_token", h.getFencingToken());
    }
    ArrayNode waiters = node.putArray("waiters");
    for (LockWaiter w : status.getWaitersList()) {
      waiters.addObject()
          .put("session_id", w.getSessionId())
          .put("owner", w.getOwner())
          .put("mode", w.getMode().name());
    }
    return node;
  }

  // ---- fields ---------------------------------------------------------------------------------

  /** An absent body reads as an empty object, so that the missing fields are named. */
  private static JsonNode orEmpty(JsonNode body) {
    return body == null || body.isMissingNode() ? JSON.objectNode() : body;
  }

  private static String required(JsonFields fields, String name) {
    String value = fields.string(name);
    if (value == null || value.isEmpty()) {
      throw SynodException.invalid(name, "is required");
    }
    return value;
  }

  private static boolean bool(JsonFields fields, String name, boolean absent) {
    JsonNode value = fields.raw(name);
    if (value == null) {
      return absent;
    }
    if (!value.isBoolean()) {
      throw SynodException.invalid(name, "must be true or false; got "
          + JsonFields.describe(value));
    }
    return value.booleanValue();
  }

  private static int integer(JsonFields fields, String name) {
    JsonNode value = fields.raw(name);
    if (value == null) {
      return 0;
    }
    if (!value.isIntegralNumber() || !value.canConvertToInt()) {
      throw SynodException.invalid(name, "must be a whole number from " + Integer.MIN_VALUE
          + " to " + Integer.MAX_VALUE + "; got " + JsonFields.describe(value));
    }
    return value.intValue();
  }

  /** The request id: the Idempotency-Key header or the request_id field; equal if both. */
  private static String requestId(JsonFields fields, String idempotencyKey) {
    String field = fields.string("request_id");
    if (field != null && idempotencyKey != null && !field.equals(idempotencyKey)) {
      throw SynodException.invalid("request_id", "differs from the Idempotency-Key header ('"
          + idempotencyKey + "'); send one of them, or the same value in both");
    }
    String id = field != null ? field : idempotencyKey;
    return id == null ? "" : id;
  }

  private static String sessionId(String segment, String path) {
    if (segment.isEmpty() || segment.contains("/")) {
      throw new SynodException(ErrorCode.NOT_FOUND, "path", "no resource at " + path
          + "; see /openapi.yaml");
    }
    return PathCodec.segment(segment, "path");
  }

  private static <T> T await(CompletableFuture<T> future) {
    try {
      return future.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SynodException(ErrorCode.UNAVAILABLE, "interrupted while waiting for the lock",
          e);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof SynodException synod) {
        throw synod;
      }
      throw new SynodException(ErrorCode.INTERNAL, "acquire failed: " + e.getCause(),
          e.getCause());
    }
  }
}
