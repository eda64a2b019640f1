package io.synod.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.kv.Consistency;
import io.synod.api.kv.KvDelete;
import io.synod.api.kv.KvRead;
import io.synod.api.kv.KvReadResult;
import io.synod.api.kv.KvService;
import io.synod.api.kv.KvWrite;
import io.synod.api.kv.KvWriteResult;
import io.synod.api.kv.Tenant;
import io.synod.client.SynodClient;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The key-value store through a single server in this JVM with its defaults (three embedded
 * storage nodes, an H2 metadata database, tenant "default"): the HTTP API ({@code /v1/kv},
 * {@code /v1/tenants}, {@code /v1/kv-nodes}) and the Java client over gRPC ({@link
 * SynodClient#kv()}).
 */
@Timeout(120)
class KvApiTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @TempDir static Path dir;
  static SynodServer server;
  static SynodClient client;
  static KvService kv;

  @BeforeAll
  static void start() throws Exception {
    server = LockTestServers.withKv(dir, "kvapi");
    client = SynodClient.builder(List.of(LockTestServers.grpc(server)))
        .retryFor(java.time.Duration.ZERO).build();
    kv = client.kv();
  }

  @AfterAll
  static void stop() {
    if (client != null) {
      client.close();
    }
    if (server != null) {
      server.close();
    }
  }

  // ---- gRPC

  @Test
  void aValueWrittenOverGrpcIsReadAndDeleted() {
    KvWriteResult written = kv.write(KvWrite.of("default", "g/1", bytes("one")));

    assertThat(written.success()).isTrue();
    assertThat(written.key()).isEqualTo("g/1");
    assertThat(written.clock().entries()).isEqualTo(Map.of("n1", 1L));
    assertThat(written.consistency()).isEqualTo(Consistency.QUORUM);
    assertThat(written.replicaCount()).isBetween(2, 3);
    assertThat(written.duplicate()).isFalse();

    KvWriteResult second = kv.write(new KvWrite("default", "g/1", bytes("two"), Consistency.ALL,
        null));
    assertThat(second.clock().entries()).isEqualTo(Map.of("n1", 2L));
    assertThat(second.replicaCount()).isEqualTo(3);

    KvReadResult read = kv.read(new KvRead("default", "g/1", Consistency.ONE, false));
    assertThat(read.found()).isTrue();
    assertThat(new String(read.value(), StandardCharsets.UTF_8)).isEqualTo("two");
    assertThat(read.clock()).isEqualTo(second.clock());
    assertThat(read.consistency()).isEqualTo(Consistency.ONE);
    assertThat(read.siblings()).isEmpty();

    KvWriteResult deleted = kv.delete(KvDelete.of("default", "g/1"));
    assertThat(deleted.clock().entries()).isEqualTo(Map.of("n1", 3L));
    assertThat(kv.read(KvRead.of("default", "g/1")).found()).isFalse();
  }

  @Test
  void aRepeatedIdempotencyKeyOverGrpcAnswersTheFirstWrite() {
    KvWriteResult first = kv.write(new KvWrite("default", "g/idem", bytes("x"), null, "g-key-1"));
    KvWriteResult again = kv.write(new KvWrite("default", "g/idem", bytes("x"), null, "g-key-1"));

    assertThat(first.duplicate()).isFalse();
    assertThat(first.idempotencyKey()).isEqualTo("g-key-1");
    assertThat(again.duplicate()).isTrue();
    assertThat(again.clock()).isEqualTo(first.clock());
    assertThat(kv.read(KvRead.of("default", "g/idem")).clock()).isEqualTo(first.clock());
  }

  @Test
  void badGrpcInputNamesItsField() {
    assertThat(failure(() -> kv.write(KvWrite.of("no such!", "k", bytes("v")))))
        .satisfies(e -> assertField(e, ErrorCode.INVALID_ARGUMENT, "tenant_id"));
    assertThat(failure(() -> kv.write(KvWrite.of("default", "", bytes("v")))))
        .satisfies(e -> assertField(e, ErrorCode.INVALID_ARGUMENT, "key"));
    assertThat(failure(() -> kv.read(KvRead.of("nosuch", "k"))))
        .satisfies(e -> assertField(e, ErrorCode.NOT_FOUND, "tenant_id"));
    assertThat(failure(() -> kv.tenants().create(Tenant.withDefaults("default"))))
        .satisfies(e -> assertField(e, ErrorCode.ALREADY_EXISTS, "tenant_id"));
  }

  @Test
  void tenantsAreAdministeredOverGrpc() {
    Tenant created = kv.tenants().create(new Tenant("g-tenant", 2, Consistency.ONE, 1024, 0));

    assertThat(created.replicationFactor()).isEqualTo(2);
    assertThat(kv.tenants().get("g-tenant")).contains(created);
    Tenant changed = new Tenant("g-tenant", 1, Consistency.ALL, 10, 5);
    assertThat(kv.tenants().update(changed)).isEqualTo(changed);
    assertThat(kv.tenants().list()).extracting(Tenant::id).contains("default", "g-tenant");
    assertThat(failure(() -> kv.write(KvWrite.of("g-tenant", "k", bytes("eleven bytes")))))
        .satisfies(e -> assertField(e, ErrorCode.INVALID_ARGUMENT, "value"));
    assertThat(kv.tenants().delete("g-tenant")).isTrue();
    assertThat(kv.tenants().get("g-tenant")).isEmpty();
    assertThat(kv.tenants().delete("g-tenant")).isFalse();
  }

  @Test
  void theRingHasTheThreeEmbeddedNodes() {
    assertThat(kv.membership().nodes()).extracting(KvService.StorageNodeInfo::id)
        .containsExactly("n1-kv1", "n1-kv2", "n1-kv3");
    assertThat(failure(() -> kv.membership().remove("nowhere")))
        .satisfies(e -> assertField(e, ErrorCode.NOT_FOUND, "node_id"));
  }

  // ---- HTTP

  @Test
  void aValueWrittenOverHttpIsReadAndDeleted() throws Exception {
    HttpResponse<String> put = send("PUT", "/v1/kv/default/h/a%2Fb/c",
        "{\"value\": \"h\u00e9llo\", \"consistency\": \"all\"}", null);

    assertThat(put.statusCode()).as(put.body()).isEqualTo(200);
    JsonNode written = JSON.readTree(put.body());
    assertThat(written.get("tenant_id").asText()).isEqualTo("default");
    assertThat(written.get("key").asText()).isEqualTo("h/a/b/c");
    assertThat(written.get("success").asBoolean()).isTrue();
    assertThat(written.get("vector_clock").get("n1").asLong()).isEqualTo(1);
    assertThat(written.get("replica_count").asInt()).isEqualTo(3);
    assertThat(written.get("consistency").asText()).isEqualTo("all");
    assertThat(written.get("is_duplicate").asBoolean()).isFalse();
    assertThat(written.get("idempotency_key").isNull()).isTrue();

    HttpResponse<String> get = send("GET", "/v1/kv/default/h/a/b/c?consistency=one", null, null);
    assertThat(get.statusCode()).as(get.body()).isEqualTo(200);
    JsonNode read = JSON.readTree(get.body());
    assertThat(read.get("found").asBoolean()).isTrue();
    assertThat(read.get("value").asText()).isEqualTo("h\u00e9llo");
    assertThat(read.get("value_base64").asText()).isEqualTo(Base64.getEncoder()
        .encodeToString("h\u00e9llo".getBytes(StandardCharsets.UTF_8)));
    assertThat(read.get("vector_clock")).isEqualTo(written.get("vector_clock"));
    assertThat(read.get("consistency").asText()).isEqualTo("one");
    assertThat(read.get("siblings")).isEmpty();

    HttpResponse<String> delete = send("DELETE", "/v1/kv/default/h/a/b/c", null, null);
    assertThat(delete.statusCode()).as(delete.body()).isEqualTo(200);
    assertThat(JSON.readTree(delete.body()).get("vector_clock").get("n1").asLong()).isEqualTo(2);
    assertError(send("GET", "/v1/kv/default/h/a/b/c", null, null), 404, "key");
  }

  @Test
  void bytesThatAreNotTextTravelAsBase64() throws Exception {
    byte[] value = {(byte) 0xff, 0, (byte) 0xfe};
    String base64 = Base64.getEncoder().encodeToString(value);

    HttpResponse<String> put = send("PUT", "/v1/kv/default/h-bin",
        "{\"value_base64\": \"" + base64 + "\"}", null);
    assertThat(put.statusCode()).as(put.body()).isEqualTo(200);

    JsonNode read = JSON.readTree(send("GET", "/v1/kv/default/h-bin", null, null).body());
    assertThat(read.get("value").isNull()).isTrue();
    assertThat(read.get("value_base64").asText()).isEqualTo(base64);
    assertThat(kv.read(KvRead.of("default", "h-bin")).value()).isEqualTo(value);
  }

  @Test
  void aRepeatedIdempotencyKeyHeaderAnswersTheFirstWriteAsADuplicate() throws Exception {
    JsonNode first = JSON.readTree(send("PUT", "/v1/kv/default/h-idem", "{\"value\": \"1\"}",
        "h-key-1").body());
    HttpResponse<String> again = send("PUT", "/v1/kv/default/h-idem", "{\"value\": \"1\"}",
        "h-key-1");
    JsonNode inField = JSON.readTree(send("PUT", "/v1/kv/default/h-idem",
        "{\"value\": \"1\", \"idempotency_key\": \"h-key-1\"}", null).body());

    assertThat(first.get("is_duplicate").asBoolean()).isFalse();
    assertThat(again.statusCode()).isEqualTo(200);
    JsonNode second = JSON.readTree(again.body());
    assertThat(second.get("is_duplicate").asBoolean()).isTrue();
    assertThat(second.get("idempotency_key").asText()).isEqualTo("h-key-1");
    assertThat(second.get("vector_clock")).isEqualTo(first.get("vector_clock"));
    assertThat(inField.get("is_duplicate").asBoolean()).isTrue();
    assertError(send("PUT", "/v1/kv/default/h-idem", "{\"value\": \"2\"}", "h-key-1"), 400,
        "idempotency_key");
  }

  @Test
  void siblingsAreListedWhenAsked() throws Exception {
    send("PUT", "/v1/kv/default/h-sib", "{\"value\": \"s\"}", null);

    HttpResponse<String> get = send("GET", "/v1/kv/default/h-sib?siblings=true", null, null);

    assertThat(get.statusCode()).as(get.body()).isEqualTo(200);
    JsonNode siblings = JSON.readTree(get.body()).get("siblings");
    assertThat(siblings).hasSize(1);
    assertThat(siblings.get(0).get("value").asText()).isEqualTo("s");
    assertThat(siblings.get(0).get("writer").asText()).isEqualTo("n1");
    assertThat(siblings.get(0).get("tombstone").asBoolean()).isFalse();
    assertThat(siblings.get(0).get("timestamp_millis").asLong()).isPositive();
    assertThat(siblings.get(0).get("vector_clock").get("n1").asLong()).isEqualTo(1);
    assertThat(kv.read(new KvRead("default", "h-sib", null, true)).siblings()).hasSize(1);
  }

  @Test
  void badHttpInputNamesItsField() throws Exception {
    assertError(send("PUT", "/v1/kv/default/k", "{\"value\": \"v\", \"consistency\": \"most\"}",
        null), 400, "consistency");
    assertError(send("PUT", "/v1/kv/default/k", "{\"value\": \"v\", \"value_base64\": \"dg==\"}",
        null), 400, "value_base64");
    assertError(send("PUT", "/v1/kv/default/k", "{\"consistency\": \"one\"}", null), 400,
        "value");
    assertError(send("PUT", "/v1/kv/default/k", "{\"value_base64\": \"***\"}", null), 400,
        "value_base64");
    assertError(send("PUT", "/v1/kv/default/k", "{\"value\": \"v\", \"ttl\": 5}", null), 400,
        "ttl");
    assertError(send("PUT", "/v1/kv/default/k", "{\"value\": 5}", null), 400, "value");
    assertError(send("PUT", "/v1/kv/Bad%20Tenant/k", "{\"value\": \"v\"}", null), 400,
        "tenant_id");
    assertError(send("PUT", "/v1/kv/default/", "{\"value\": \"v\"}", null), 400, "key");
    assertError(send("GET", "/v1/kv/default/k?consistency=most", null, null), 400,
        "consistency");
    assertError(send("GET", "/v1/kv/default/k?siblings=maybe", null, null), 400, "siblings");
    assertError(send("GET", "/v1/kv/default/k?limit=3", null, null), 400, "limit");
    assertError(send("POST", "/v1/kv/default/k", "{}", null), 405, "method");
    assertError(send("POST", "/v1/tenants", "{\"tenant_id\": \"t\", \"replication_factor\": 9}",
        null), 400, "replication_factor");
    assertError(send("POST", "/v1/tenants", "{\"replication_factor\": 2}", null), 400,
        "tenant_id");
  }

  @Test
  void anUnknownTenantIsNotFound() throws Exception {
    assertError(send("PUT", "/v1/kv/nosuch/k", "{\"value\": \"v\"}", null), 404, "tenant_id");
    assertError(send("GET", "/v1/kv/nosuch/k", null, null), 404, "tenant_id");
    assertError(send("GET", "/v1/tenants/nosuch", null, null), 404, "tenant_id");
  }

  @Test
  void tenantsAreAdministeredOverHttp() throws Exception {
    HttpResponse<String> created = send("POST", "/v1/tenants",
        "{\"tenant_id\": \"h-tenant\", \"replication_factor\": 2}", null);

    assertThat(created.statusCode()).as(created.body()).isEqualTo(200);
    assertThat(JSON.readTree(created.body())).isEqualTo(JSON.readTree("""
        {"tenant_id": "h-tenant", "replication_factor": 2, "default_consistency": "quorum",
         "max_value_bytes": 1048576, "max_requests_per_second": 0}"""));
    assertError(send("POST", "/v1/tenants", "{\"tenant_id\": \"h-tenant\"}", null), 409,
        "tenant_id");

    HttpResponse<String> updated = send("PUT", "/v1/tenants/h-tenant",
        "{\"default_consistency\": \"one\"}", null);
    assertThat(updated.statusCode()).as(updated.body()).isEqualTo(200);
    JsonNode tenant = JSON.readTree(send("GET", "/v1/tenants/h-tenant", null, null).body());
    assertThat(tenant.get("default_consistency").asText()).isEqualTo("one");
    assertThat(tenant.get("replication_factor").asInt()).isEqualTo(2);
    JsonNode put = JSON.readTree(send("PUT", "/v1/kv/h-tenant/k", "{\"value\": \"v\"}", null)
        .body());
    assertThat(put.get("consistency").asText()).isEqualTo("one");

    JsonNode list = JSON.readTree(send("GET", "/v1/tenants", null, null).body());
    assertThat(list.get("tenants").findValuesAsText("tenant_id"))
        .contains("default", "h-tenant");
    HttpResponse<String> deleted = send("DELETE", "/v1/tenants/h-tenant", null, null);
    assertThat(JSON.readTree(deleted.body()).get("deleted").asBoolean()).isTrue();
    assertError(send("GET", "/v1/tenants/h-tenant", null, null), 404, "tenant_id");
  }

  @Test
  void storageNodesAreListedAndAKnownOneIsNotAddedTwice() throws Exception {
    JsonNode nodes = JSON.readTree(send("GET", "/v1/kv-nodes", null, null).body());

    assertThat(nodes.get("nodes").findValuesAsText("node_id"))
        .containsExactly("n1-kv1", "n1-kv2", "n1-kv3");
    assertThat(nodes.get("nodes").get(0).get("address").asText()).startsWith("127.0.0.1:");
    assertError(send("POST", "/v1/kv-nodes",
        "{\"node_id\": \"n1-kv1\", \"address\": \"127.0.0.1:1\"}", null), 409, "node_id");
    assertError(send("POST", "/v1/kv-nodes", "{\"node_id\": \"x\", \"address\": \"nowhere\"}",
        null), 400, "address");
    assertError(send("DELETE", "/v1/kv-nodes/nowhere", null, null), 404, "node_id");
  }

  @Test
  void theCoordinatorsMetricsAndReadinessAreServed() throws Exception {
    for (int i = 0; i < 5; i++) { // the first, cold, may be slow; the others take milliseconds
      send("PUT", "/v1/kv/default/h-metrics", "{\"value\": \"m" + i + "\"}", null);
    }

    HttpResponse<String> metrics = send("GET", "/metrics", null, null);
    assertThat(metrics.body()).contains("coordinator_requests_total")
        .contains("coordinator_request_duration_seconds")
        .contains("coordinator_cache_hits_total");
    // An in-process write takes milliseconds: it must land in a sub-second bucket, not only in
    // the 1 s one (distribution summaries rounded every value up to a whole second).
    assertThat(metrics.body().lines().filter(l -> l.startsWith(
            "coordinator_request_duration_seconds_bucket{")
            && l.contains("le=\"0.5\"") && l.contains("operation=\"write\"")).findFirst().orElseThrow(() ->
            new AssertionError(metrics.body().lines().filter(l -> l.contains("duration"))
                .toList().toString())))
        .doesNotEndWith(" 0.0").doesNotEndWith(" 0");
    JsonNode ready = JSON.readTree(send("GET", "/health/ready", null, null).body());
    assertThat(ready.get("checks").get("kv").asText()).startsWith("ok (3 storage nodes");
    assertThat(send("GET", "/openapi.yaml", null, null).body())
        .contains("/v1/kv/{tenant_id}/{key}");
  }

  // ---- restarts

  @Test
  void afterARestartTheEmbeddedNodesAreFoundOnTheirNewPorts() throws Exception {
    Path home = dir.resolve("restart");
    try (SynodServer first = LockTestServers.withKv(home, "kvrestart");
        SynodClient firstClient = SynodClient.connect(List.of(LockTestServers.grpc(first)))) {
      firstClient.kv().write(KvWrite.of("default", "survives", bytes("yes")));
    }

    try (SynodServer second = LockTestServers.withKv(home, "kvrestart");
        SynodClient secondClient = SynodClient.connect(List.of(LockTestServers.grpc(second)))) {
      // "all" needs every replica: each embedded node's new address is on the ring.
      KvReadResult read = secondClient.kv().read(new KvRead("default", "survives",
          Consistency.ALL, false));
      assertThat(read.found()).isTrue();
      assertThat(new String(read.value(), StandardCharsets.UTF_8)).isEqualTo("yes");
      assertThat(secondClient.kv().tenants().list()).extracting(Tenant::id)
          .containsExactly("default");
    }
  }

  // ---- helpers

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  @FunctionalInterface
  interface Call {
    void run();
  }

  private static SynodException failure(Call call) {
    SynodException e = catchThrowableOfType(SynodException.class, call::run);
    assertThat(e).as("the call fails").isNotNull();
    return e;
  }

  private static void assertField(SynodException e, ErrorCode code, String field) {
    assertThat(e.code()).as(e.getMessage()).isEqualTo(code);
    assertThat(e.field()).as(e.getMessage()).contains(field);
  }

  private static void assertError(HttpResponse<String> answer, int status, String field)
      throws Exception {
    assertThat(answer.statusCode()).as(answer.body()).isEqualTo(status);
    JsonNode error = JSON.readTree(answer.body()).get("error");
    assertThat(error.get("field").asText()).as(answer.body()).isEqualTo(field);
    assertThat(error.get("message").asText()).startsWith(field + ": ");
  }

  private static HttpResponse<String> send(String method, String path, String body,
      String idempotencyKey) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
            + server.httpAddress().getPort() + path))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body));
    if (body != null) {
      request.header("Content-Type", "application/json");
    }
    if (idempotencyKey != null) {
      request.header("Idempotency-Key", idempotencyKey);
    }
    return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }
}
