package io.synod.server.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.server.Health;
import io.synod.server.LeaderRouter;
import io.synod.server.ServerMetrics;
import io.synod.server.Telemetry;
import io.synod.proto.v1.ClusterStatus;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP/JSON API, for curl and browsers: the coordination, lock, saga and key-value operations
 * under {@code /v1/} (locks in {@link LockHttp}, sagas in {@link SagaHttp}, events and
 * choreographies in {@link EventHttp}, the key-value store in {@link KvHttp}), the cluster's
 * status, {@code /metrics} for Prometheus, {@code /health/live} and {@code /health/ready} for
 * probes, and the OpenAPI document at {@code /openapi.yaml}.
 *
 * <p>Errors are JSON, {@code {"error": {"code", "field", "message"}}}, with the HTTP status that
 * matches the gRPC code of the same failure. A request the server refuses leaves nothing behind,
 * and the server goes on serving: a handler never lets an exception escape to the HTTP server.
 *
 * <p>Built on the JDK's HTTP server with a virtual thread per request: a coordination blocks its
 * thread until its outcome, and virtual threads make that cheap.
 */
public final class HttpApi implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(HttpApi.class);
  private static final String JSON = "application/json";
  private static final String COORDINATIONS = "/v1/coordinations";
  /** Request headers as a carrier of the caller's {@code traceparent}. */
  private static final TextMapGetter<HttpExchange> HEADERS = new TextMapGetter<>() {
    @Override
    public Iterable<String> keys(HttpExchange exchange) {
      return exchange.getRequestHeaders().keySet();
    }

    @Override
    public String get(HttpExchange exchange, String key) {
      return exchange == null ? null : exchange.getRequestHeaders().getFirst(key);
    }
  };

  private final HttpServer server;
  private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
  private final ObjectMapper json;
  private final CoordinationJson shapes;
  private final LeaderRouter router;
  private final Supplier<ClusterStatus> cluster;
  private final Health health;
  private final ServerMetrics metrics;
  private final Telemetry telemetry;
  private final int maxRequestBytes;
  /** The OpenAPI document, read once: it is part of the build. */
  private final byte[] openApi;
  private final LockHttp locks;
  private final SagaHttp sagas;
  private final EventHttp events;
  private final KvHttp kv;

  private HttpApi(HttpServer server, LeaderRouter router, Supplier<ClusterStatus> cluster,
      Health health, ServerMetrics metrics, Telemetry telemetry, int maxRequestBytes,
      LockHttp locks, SagaHttp sagas, EventHttp events, KvHttp kv) throws IOException {
    this.server = server;
    this.json = JsonMapper.builder()
        .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
        .build();
    json.getFactory().setStreamReadConstraints(StreamReadConstraints.builder()
        .maxNestingDepth(64).build());
    this.shapes = new CoordinationJson(json);
    this.router = router;
    this.cluster = cluster;
    this.health = health;
    this.metrics = metrics;
    this.telemetry = telemetry;
    this.maxRequestBytes = maxRequestBytes;
    this.openApi = readOpenApi();
    this.locks = locks;
    this.sagas = sagas;
    this.events = events;
    this.kv = kv;
    server.setExecutor(executor);
    server.createContext("/", this::handle);
  }

  /** Binds {@code host:port} (0 for any free port) and starts serving. */
  public static HttpApi start(String host, int port, LeaderRouter router,
      Supplier<ClusterStatus> cluster, Health health, ServerMetrics metrics, Telemetry telemetry,
      int maxRequestBytes, LockHttp locks, SagaHttp sagas, EventHttp events, KvHttp kv)
      throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress(host, port), 256);
    HttpApi api = new HttpApi(server, router, cluster, health, metrics, telemetry,
        maxRequestBytes, locks, sagas, events, kv);
    server.start();
    return api;
  }

  public InetSocketAddress address() {
    return server.getAddress();
  }

  private void handle(HttpExchange exchange) {
    try (exchange) {
      Request request = new Request(exchange);
      String route = request.route();
      int status = telemetry.serve(request.method + " " + route, exchange, HEADERS, span -> {
        int answered = answer(request);
        span.setAttribute("http.response.status_code", answered);
        return answered;
      });
      metrics.httpRequest(route, request.method, status);
    }
  }

  /** Serves one request; every failure becomes the error answer that matches it. */
  private int answer(Request request) {
    HttpExchange exchange = request.exchange;
    int status;
    try {
      status = dispatch(request);
    } catch (SynodException e) {
      status = error(exchange, e.code().httpStatus(), e);
    } catch (MethodNotAllowed e) {
      exchange.getResponseHeaders().set("Allow", e.allowed);
      status = error(exchange, 405, new SynodException(ErrorCode.INVALID_ARGUMENT, "method",
          exchange.getRequestMethod() + " is not allowed here; use " + e.allowed));
    } catch (PayloadTooLarge e) {
      status = error(exchange, 413, new SynodException(ErrorCode.RESOURCE_EXHAUSTED, "body",
          "is larger than the limit of " + maxRequestBytes + " bytes (max_request_bytes)"));
    } catch (RuntimeException | IOException e) {
      LOG.error("HTTP {} {} failed", exchange.getRequestMethod(), exchange.getRequestURI(), e);
      status = error(exchange, 500, new SynodException(ErrorCode.INTERNAL, null,
          "internal error: " + e));
    }
    return status;
  }

  private int dispatch(Request request) throws IOException {
    String path = request.path;
    String method = request.method;
    return switch (path) {
      case "/health/live" -> text(request, 200, "live\n");
      case "/health/ready" -> ready(request);
      case "/metrics" -> {
        request.allow("GET");
        yield send(request.exchange, 200, "text/plain; version=0.0.4; charset=utf-8",
            metrics.scrape().getBytes(StandardCharsets.UTF_8));
      }
      case "/openapi.yaml", "/v1/openapi.yaml" -> {
        request.allow("GET");
        yield send(request.exchange, 200, "application/yaml", openApi);
      }
      case "/v1/cluster" -> {
        request.allow("GET");
        yield sendJson(request.exchange, 200, shapes.cluster(cluster.get()));
      }
      case COORDINATIONS -> switch (method) {
        case "POST" -> sendJson(request.exchange, 200, shapes.result(router.coordinate(
            shapes.request(request.body(), request.idempotencyKey()), false)));
        case "GET" -> listCoordinations(request);
        default -> throw methodNotAllowed("GET, POST");
      };
      default -> LockHttp.handles(path) ? sendJson(request.exchange, 200, locks.answer(method,
          path, request::allow, request::bodyOrMissing, request.idempotencyKey()))
          : SagaHttp.handles(path) ? sendJson(request.exchange, 200, sagas.answer(method, path,
              request::allow, request::bodyOrMissing, request.idempotencyKey(), request::query))
          : EventHttp.handles(path) ? sendJson(request.exchange, 200, events.answer(method, path,
              request::allow, request::bodyOrMissing, request::query))
          : KvHttp.handles(path) ? sendJson(request.exchange, 200, kv.answer(method, path,
              request::allow, request::bodyOrMissing, request.idempotencyKey(), request::params))
          : coordinationById(request);
    };
  }

  private int coordinationById(Request request) throws IOException {
    String path = request.path;
    if (!path.startsWith(COORDINATIONS + "/")) {
      throw new SynodException(ErrorCode.NOT_FOUND, "path", "no resource at " + path
          + "; see /openapi.yaml");
    }
    String rest = path.substring(COORDINATIONS.length() + 1);
    if (rest.endsWith("/abort")) {
      request.allow("POST");
      String id = PathCodec.segment(rest.substring(0, rest.length() - "/abort".length()),
          "coordination_id");
      String reason = shapes.abortReason(request.bodyOrMissing());
      ObjectNode answer = json.createObjectNode().put("aborted", router.abort(id, reason, false));
      return sendJson(request.exchange, 200, answer);
    }
    if (rest.isEmpty() || rest.contains("/")) {
      throw new SynodException(ErrorCode.NOT_FOUND, "path", "no resource at " + path
          + "; see /openapi.yaml");
    }
    request.allow("GET");
    String id = PathCodec.segment(rest, "coordination_id");
    return sendJson(request.exchange, 200, shapes.result(router.status(id, false).orElseThrow(
        () -> new SynodException(ErrorCode.NOT_FOUND, "coordination_id",
            "no coordination '" + id + "' is known"))));
  }

  private int listCoordinations(Request request) throws IOException {
    String state = request.query("state");
    if (state != null && !state.equals("active")) {
      throw SynodException.invalid("state", "must be 'active' (the only listing kept); got '"
          + state + "'");
    }
    return sendJson(request.exchange, 200, shapes.ids(router.listActive(false)));
  }

  private int ready(Request request) throws IOException {
    request.allow("GET");
    Health.Report report = health.ready();
    ObjectNode body = json.createObjectNode().put("ready", report.ready());
    report.checks().forEach(body.putObject("checks")::put);
    return sendJson(request.exchange, report.ready() ? 200 : 503, body);
  }

  private int text(Request request, int status, String text) throws IOException {
    request.allow("GET");
    return send(request.exchange, status, "text/plain; charset=utf-8",
        text.getBytes(StandardCharsets.UTF_8));
  }

  private static byte[] readOpenApi() throws IOException {
    try (InputStream in = HttpApi.class.getResourceAsStream("/openapi.yaml")) {
      if (in == null) {
        throw new IOException("openapi.yaml is missing from the server's resources");
      }
      return in.readAllBytes();
    }
  }

  private int error(HttpExchange exchange, int status, SynodException e) {
    ObjectNode body = json.createObjectNode();
    ObjectNode error = body.putObject("error").put("code", e.code().name());
    e.field().ifPresentOrElse(f -> error.put("field", f), () -> error.putNull("field"));
    error.put("message", e.getMessage());
    try {
      return sendJson(exchange, status, body);
    } catch (IOException io) {
      LOG.debug("could not send the error answer", io);
      return status;
    }
  }

  private int sendJson(HttpExchange exchange, int status, JsonNode body) throws IOException {
    return send(exchange, status, JSON, json.writeValueAsBytes(body));
  }

  private static int send(HttpExchange exchange, int status, String contentType, byte[] body)
      throws IOException {
    exchange.getResponseHeaders().set("Content-Type", contentType);
    exchange.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(body);
    }
    return status;
  }

  private static MethodNotAllowed methodNotAllowed(String allowed) {
    return new MethodNotAllowed(allowed);
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }

  /** Thrown for a method the path does not take; answered 405 with an Allow header. */
  private static final class MethodNotAllowed extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final String allowed;

    MethodNotAllowed(String allowed) {
      super(null, null, false, false);
      this.allowed = allowed;
    }
  }

  /** Thrown when a body passes {@code max_request_bytes}. */
  private static final class PayloadTooLarge extends RuntimeException {
    private static final long serialVersionUID = 1L;

    PayloadTooLarge() {
      super(null, null, false, false);
    }
  }

  /** One exchange, with its body read under the size limit. */
  private final class Request {
    final HttpExchange exchange;
    final String method;
    final String path;

    Request(HttpExchange exchange) {
      this.exchange = exchange;
      this.method = exchange.getRequestMethod();
      this.path = exchange.getRequestURI().getRawPath();
    }

    /** The route's template, for metrics: ids are not labels. */
    String route() {
      if (path.startsWith(COORDINATIONS + "/")) {
        return path.endsWith("/abort") ? COORDINATIONS + "/{id}/abort" : COORDINATIONS + "/{id}";
      }
      if (LockHttp.handles(path)) {
        return LockHttp.route(path);
      }
      if (SagaHttp.handles(path)) {
        return SagaHttp.route(path);
      }
      if (EventHttp.handles(path)) {
        return EventHttp.route(path);
      }
      if (KvHttp.handles(path)) {
        return KvHttp.route(path);
      }
      return switch (path) {
        case "/health/live", "/health/ready", "/metrics", "/openapi.yaml", "/v1/openapi.yaml",
            "/v1/cluster", COORDINATIONS -> path;
        default -> "other";
      };
    }

    void allow(String allowed) {
      if (!method.equals(allowed) && !(allowed.equals("GET") && method.equals("HEAD"))) {
        throw methodNotAllowed(allowed);
      }
    }

    String idempotencyKey() {
      String key = exchange.getRequestHeaders().getFirst("Idempotency-Key");
      return key == null || key.isBlank() ? null : key.strip();
    }

    String query(String name) {
      String query = exchange.getRequestURI().getRawQuery();
      if (query == null) {
        return null;
      }
      for (String pair : query.split("&")) {
        int eq = pair.indexOf('=');
        String key = PathCodec.query(eq < 0 ? pair : pair.substring(0, eq), "query");
        if (key.equals(name)) {
          return eq < 0 ? "" : PathCodec.query(pair.substring(eq + 1), name);
        }
        throw SynodException.invalid(key, "unknown query parameter; known: " + name);
      }
      return null;
    }

    /**
     * The query parameters, each decoded; a parameter not in {@code known}, or given twice, is
     * refused naming it.
     */
    Map<String, String> params(Set<String> known) {
      Map<String, String> params = new LinkedHashMap<>();
      String query = exchange.getRequestURI().getRawQuery();
      if (query == null || query.isEmpty()) {
        return params;
      }
      for (String pair : query.split("&")) {
        int eq = pair.indexOf('=');
        String key = decodeParam(eq < 0 ? pair : pair.substring(0, eq), "query");
        if (!known.contains(key)) {
          throw SynodException.invalid(key, "unknown query parameter; known here: "
              + (known.isEmpty() ? "none" : String.join(", ", new TreeSet<>(known))));
        }
        if (params.put(key, eq < 0 ? "" : decodeParam(pair.substring(eq + 1), key)) != null) {
          throw SynodException.invalid(key, "is given twice in the query");
        }
      }
      return params;
    }

    private static String decodeParam(String raw, String field) {
      return PathCodec.query(raw, field);
    }

    JsonNode body() throws IOException {
      JsonNode body = bodyOrMissing();
      if (body.isMissingNode()) {
        throw SynodException.invalid("body", "is required: a JSON object");
      }
      return body;
    }

    JsonNode bodyOrMissing() throws IOException {
      String type = exchange.getRequestHeaders().getFirst("Content-Type");
      byte[] bytes = readLimited(exchange.getRequestBody());
      if (bytes.length == 0) {
        return MissingNode.getInstance();
      }
      if (type != null && !type.toLowerCase(java.util.Locale.ROOT).startsWith(JSON)) {
        throw SynodException.invalid("Content-Type", "must be application/json; got '"
            + type + "'");
      }
      try {
        return json.readTree(bytes);
      } catch (JsonProcessingException e) {
        var at = e.getLocation();
        throw SynodException.invalid("body", "is not valid JSON"
            + (at == null ? "" : " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")")
            + ": " + e.getOriginalMessage());
      }
    }

    private byte[] readLimited(InputStream in) throws IOException {
      String declared = exchange.getRequestHeaders().getFirst("Content-Length");
      if (declared != null) {
        try {
          if (Long.parseLong(declared.strip()) > maxRequestBytes) {
            throw new PayloadTooLarge();
          }
        } catch (NumberFormatException e) {
          throw SynodException.invalid("Content-Length", "must be a number; got '" + declared
              + "'");
        }
      }
      byte[] bytes = in.readNBytes(maxRequestBytes + 1);
      if (bytes.length > maxRequestBytes) {
        throw new PayloadTooLarge();
      }
      return bytes;
    }
  }
}
