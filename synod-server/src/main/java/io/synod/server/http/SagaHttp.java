package io.synod.server.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.server.SagaRouter;
import java.io.IOException;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The saga routes of the HTTP API, the same calls as the Sagas gRPC service:
 *
 * <pre>
 * POST /v1/sagas             {saga_id, definition, input, wait, wait_seconds} → status
 * GET  /v1/sagas/{id}                                                       → status
 * GET  /v1/sagas?state=active                                               → {saga_ids}
 * POST /v1/sagas/{id}/abort  {reason}                                       → {saga_id, aborted}
 * </pre>
 *
 * The definition has the shape {@link SagaJson} reads. The {@code Idempotency-Key} header stands
 * in for a missing saga_id; a repeated id starts nothing again and answers that saga's status.
 * Without {@code "wait": true} the answer comes once the saga is logged; with it, once the saga
 * has completed, aborted or failed, or after {@code wait_seconds} (default 60, at most 3600),
 * with the status it has then.
 */
public final class SagaHttp {
  static final String SAGAS = "/v1/sagas";
  private static final Set<String> ABORT_FIELDS = Set.of("reason");

  private final SagaRouter router;

  public SagaHttp(SagaRouter router) {
    this.router = router;
  }

  /** True for the paths this class serves. */
  public static boolean handles(String path) {
    return path.equals(SAGAS) || path.startsWith(SAGAS + "/");
  }

  /** The route's template, for metrics: ids are not labels. */
  public static String route(String path) {
    if (path.equals(SAGAS)) {
      return path;
    }
    return path.endsWith("/abort") ? SAGAS + "/{id}/abort" : SAGAS + "/{id}";
  }

  /**
   * Serves one request under {@link #SAGAS}: the 200 answer's body, or a {@link SynodException}
   * the caller turns into the error answer. {@code allow} refuses a method the path does not
   * take; {@code query} reads a query parameter (refusing unknown ones).
   */
  public JsonNode answer(String method, String path, Consumer<String> allow, LockHttp.Body body,
      String idempotencyKey, Function<String, String> query) throws IOException {
    if (path.equals(SAGAS)) {
      if (method.equals("POST")) {
        SagaJson.StartRequest request = SagaJson.request(body.read(), idempotencyKey);
        return SagaJson.status(router.start(request.sagaId(), request.definition(),
            request.input(), Boolean.TRUE.equals(request.waits()), request.waitFor(), false));
      }
      if (!method.equals("GET") && !method.equals("HEAD")) {
        allow.accept("GET, POST"); // refuses the method, naming both
      }
      String state = query.apply("state");
      if (state != null && !state.equals("active")) {
        throw SynodException.invalid("state", "must be 'active' (the only listing kept); got '"
            + state + "'");
      }
      return SagaJson.ids(router.listActive(false));
    }
    String rest = path.substring(SAGAS.length() + 1);
    if (rest.endsWith("/abort")) {
      allow.accept("POST");
      String id = sagaId(rest.substring(0, rest.length() - "/abort".length()), path);
      JsonNode reasonBody = body.read();
      String reason = reasonBody == null || reasonBody.isMissingNode() ? null
          : JsonFields.object(reasonBody, "", ABORT_FIELDS).string("reason");
      return JsonNodeFactory.instance.objectNode().put("saga_id", id)
          .put("aborted", router.abort(id, reason, false));
    }
    allow.accept("GET");
    String id = sagaId(rest, path);
    return SagaJson.status(router.status(id, false).orElseThrow(() -> new SynodException(
        ErrorCode.NOT_FOUND, "saga_id", "no saga '" + id + "' is known")));
  }

  private static String sagaId(String segment, String path) {
    if (segment.isEmpty() || segment.contains("/")) {
      throw new SynodException(ErrorCode.NOT_FOUND, "path", "no resource at " + path
          + "; see /openapi.yaml");
    }
    return PathCodec.segment(segment, "path");
  }
}
