package io.synod.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.synod.core.lock.LockTable;
import io.synod.engine.CoordinatorConfig;
import io.synod.engine.lock.LockConfig;
import io.synod.server.config.ServerConfig;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server in-process over two H2 stores: the HTTP API's answers, health, metrics, and the
 * spans of one traced request from the caller's traceparent down to each store's prepare and
 * commit.
 */
class SynodServerTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final InMemorySpanExporter SPANS = InMemorySpanExporter.create();

  @TempDir static Path dir;
  static SynodServer server;

  @BeforeAll
  static void start() throws Exception {
    List<ServerConfig.Store> stores = List.of(h2Store("left"), h2Store("right"));
    for (ServerConfig.Store store : stores) {
      try (Connection c = DriverManager.getConnection(store.jdbcUrl(), "sa", "");
          Statement s = c.createStatement()) {
        s.execute("CREATE TABLE items (id VARCHAR(64) PRIMARY KEY, n INT NOT NULL CHECK (n >= 0))");
      }
    }
    ServerConfig config = new ServerConfig("unit", "n1", dir.resolve("data"),
        new ServerConfig.Listen("127.0.0.1", 0, 0, 0), stores, List.of(),
        CoordinatorConfig.DEFAULTS, LockConfig.DEFAULTS, LockTable.Limits.DEFAULTS, 10_000,
        new ServerConfig.ApiLimits(16_384, Duration.ofHours(1)),
        new ServerConfig.Monitoring(true, true, 0.0, "", "text"));
    server = SynodServer.start(config, Optional.of(SPANS));
    server.node().awaitLeadership(30, TimeUnit.SECONDS);
  }

  @AfterAll
  static void stop() {
    if (server != null) {
      server.close();
    }
  }

  private static ServerConfig.Store h2Store(String name) {
    return new ServerConfig.Store(name, ServerConfig.StoreType.H2,
        "jdbc:h2:file:" + dir.resolve(name).toAbsolutePath(), "sa", "", 4);
  }

  @Test
  void aCommitAndAnAbortAreBothAnswers() throws Exception {
    HttpResponse<String> commit = post("/v1/coordinations", request("c-1", 5), null);
    HttpResponse<String> abort = post("/v1/coordinations", request("c-2", -5), null);

    assertThat(commit.statusCode()).isEqualTo(200);
    assertThat(JSON.readTree(commit.body()).get("final_state").asText()).isEqualTo("committed");
    assertThat(abort.statusCode()).isEqualTo(200);
    JsonNode aborted = JSON.readTree(abort.body());
    assertThat(aborted.get("success").asBoolean()).isFalse();
    assertThat(aborted.get("final_state").asText()).isEqualTo("aborted");
    assertThat(aborted.get("error_message").asText()).contains("right");
    assertThat(rows("left", "c-1")).isEqualTo(1);
    assertThat(rows("left", "c-2")).isZero();
  }

  @Test
  void theIdempotencyKeyStandsInForTheCoordinationId() throws Exception {
    String body = request(null, "key-1", 1);
    HttpResponse<String> first = post("/v1/coordinations", body, "key-1");
    HttpResponse<String> again = post("/v1/coordinations", body, "key-1");

    assertThat(JSON.readTree(first.body()).get("coordination_id").asText()).isEqualTo("key-1");
    assertThat(JSON.readTree(again.body()).get("success").asBoolean()).isTrue();
    assertThat(rows("left", "key-1")).isEqualTo(1);
  }

  @Test
  void readinessReportsTheGroupAndEveryStore() throws Exception {
    HttpResponse<String> ready = get("/health/ready");

    assertThat(ready.statusCode()).isEqualTo(200);
    JsonNode checks = JSON.readTree(ready.body()).get("checks");
    assertThat(checks.get("raft").asText()).startsWith("ok");
    assertThat(checks.get("store:left").asText()).isEqualTo("ok");
    assertThat(checks.get("store:right").asText()).isEqualTo("ok");
    assertThat(get("/health/live").statusCode()).isEqualTo(200);
    assertThat(get("/openapi.yaml").body()).contains("/v1/coordinations");
  }

  @Test
  void aTracedRequestHasSpansFromTheCallerDownToEachStore() throws Exception {
    String traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    HttpRequest request = HttpRequest.newBuilder(uri("/v1/coordinations"))
        .header("Content-Type", "application/json")
        // sampled by the caller: followed even though the server samples 0 % of new traces
        .header("traceparent", "00-" + traceId + "-00f067aa0ba902b7-01")
        .POST(HttpRequest.BodyPublishers.ofString(request("t-1", 2))).build();
    assertThat(HTTP.send(request, HttpResponse.BodyHandlers.ofString()).statusCode())
        .isEqualTo(200);

    List<SpanData> spans = awaitSpans(traceId, "synod.coordinate", "POST /v1/coordinations");
    SpanData serverSpan = only(spans, "POST /v1/coordinations");
    SpanData coordinate = only(spans, "synod.coordinate");
    assertThat(serverSpan.getKind()).isEqualTo(SpanKind.SERVER);
    assertThat(coordinate.getParentSpanId()).isEqualTo(serverSpan.getSpanId());
    assertThat(coordinate.getAttributes().get(AttributeKey.stringKey("coordination.type")))
        .isEqualTo("two_phase_commit");
    assertThat(coordinate.getAttributes().get(AttributeKey.stringKey("coordination.outcome")))
        .isEqualTo("committed");
    assertThat(coordinate.getAttributes()
        .get(AttributeKey.stringArrayKey("coordination.participants")))
        .containsExactly("left", "right");
    assertThat(coordinate.getAttributes().get(AttributeKey.longKey("coordination.duration")))
        .isNotNull();
    assertThat(spans.stream().filter(s -> s.getName().equals("synod.prepare")))
        .hasSize(2).allMatch(s -> s.getParentSpanId().equals(coordinate.getSpanId()));
    assertThat(spans.stream().filter(s -> s.getName().equals("synod.commit")))
        .hasSize(2).allMatch(s -> s.getParentSpanId().equals(coordinate.getSpanId()));
  }

  @Test
  void anUntracedRequestIsNotSampledAtZeroPercent() throws Exception {
    SPANS.reset();
    post("/v1/coordinations", request("u-1", 1), null);

    assertThat(SPANS.getFinishedSpanItems()).isEmpty();
  }

  /**
   * The trace's finished spans once every one of {@code last} is among them: the run's span ends
   * when its thread is done, and the server's span once the answer is sent, either of which may
   * be just after the caller has its answer.
   */
  private static List<SpanData> awaitSpans(String traceId, String... last) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (true) {
      List<SpanData> spans = SPANS.getFinishedSpanItems().stream()
          .filter(s -> s.getTraceId().equals(traceId)).toList();
      if (java.util.Arrays.stream(last).allMatch(
              name -> spans.stream().anyMatch(s -> s.getName().equals(name)))
          || System.nanoTime() > deadline) {
        return spans;
      }
      Thread.sleep(10);
    }
  }

  private static SpanData only(List<SpanData> spans, String name) {
    List<SpanData> named = spans.stream().filter(s -> s.getName().equals(name)).toList();
    assertThat(named).as("spans named %s in %s", name, spans).hasSize(1);
    return named.getFirst();
  }

  private static String request(String id, int n) {
    return request(id, id, n);
  }

  /**
   * Inserts row {@code row} in both stores, with {@code n} on the right: a negative n breaks the
   * right store's CHECK constraint, so that store votes abort. No coordination_id when id is null.
   */
  private static String request(String id, String row, int n) {
    return """
        {%s"operations": [
          {"store": "left", "sql": "INSERT INTO items (id, n) VALUES (?, ?)", "params": ["%s", 1]},
          {"store": "right", "sql": "INSERT INTO items (id, n) VALUES (?, ?)", "params": ["%s", %d]}]}
        """.formatted(id == null ? "" : "\"coordination_id\": \"" + id + "\", ", row, row, n);
  }

  private static int rows(String store, String id) throws Exception {
    try (Connection c = DriverManager.getConnection(
            "jdbc:h2:file:" + dir.resolve(store).toAbsolutePath(), "sa", "");
        var s = c.prepareStatement("SELECT count(*) FROM items WHERE id = ?")) {
      s.setString(1, id);
      try (ResultSet rs = s.executeQuery()) {
        rs.next();
        return rs.getInt(1);
      }
    }
  }

  @Test
  void aNodeWithTheKeyValueStoreDisabledRefusesItsCallsSayingSo() throws Exception {
    HttpResponse<String> answer = get("/v1/kv/default/k");

    assertThat(answer.statusCode()).as(answer.body()).isEqualTo(412);
    JsonNode error = JSON.readTree(answer.body()).get("error");
    assertThat(error.get("code").asText()).isEqualTo("FAILED_PRECONDITION");
    assertThat(error.get("message").asText()).contains("kv.enabled is false");
    assertThat(JSON.readTree(get("/health/ready").body()).get("checks").has("kv")).isFalse();
  }

  /** A malformed escape never reaches a route: the HTTP server refuses the request line. */
  @Test
  void aMalformedPercentEscapeIsBadInputNotAServerError() throws Exception {
    for (String path : List.of("/v1/coordinations/t%zz", "/v1/locks/a%zz", "/v1/sagas/s%zz",
        "/v1/kv/default/k%zz", "/v1/coordinations?state=%zz")) {
      // java.net.http refuses to send such a URI: write the request by hand.
      var address = server.httpAddress();
      try (var socket = new java.net.Socket(address.getHostString(), address.getPort())) {
        socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: localhost\r\n"
            + "Connection: close\r\n\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        String answer = new String(socket.getInputStream().readAllBytes(),
            java.nio.charset.StandardCharsets.US_ASCII);
        assertThat(answer).as(path).startsWith("HTTP/1.1 400");
      }
    }
  }

  private static URI uri(String path) {
    var address = server.httpAddress();
    return URI.create("http://" + address.getHostString() + ":" + address.getPort() + path);
  }

  private static HttpResponse<String> get(String path) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(uri(path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> post(String path, String body, String idempotencyKey)
      throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(uri(path))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body));
    if (idempotencyKey != null) {
      request.header("Idempotency-Key", idempotencyKey);
    }
    return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }
}
