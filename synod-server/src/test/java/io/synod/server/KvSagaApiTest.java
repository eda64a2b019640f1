package io.synod.server;

import static io.synod.server.SagaTestStores.TRANSFER_SQL;
import static io.synod.server.SagaTestStores.UNDO_SQL;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.synod.api.kv.KvRead;
import io.synod.api.kv.KvReadResult;
import io.synod.api.kv.KvWrite;
import io.synod.api.saga.RetryPolicy;
import io.synod.api.saga.SagaDefinition;
import io.synod.api.saga.SagaState;
import io.synod.api.saga.SagaStatus;
import io.synod.api.saga.StepOperation;
import io.synod.api.saga.StepState;
import io.synod.client.SynodClient;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sagas whose steps write the server's own key-value store (store {@code kv}) next to SQL steps,
 * through a single server in this JVM: the key-value store with its defaults (three embedded
 * storage nodes, tenant "default") and the two H2 stores of {@link SagaTestStores}, whose right
 * one refuses an amount over 100.
 */
@Timeout(120)
class KvSagaApiTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final RetryPolicy ONCE =
      new RetryPolicy(1, RetryPolicy.Backoff.FIXED, Duration.ZERO, Duration.ZERO);

  @TempDir static Path dir;
  static SagaTestStores stores;
  static SynodServer server;
  static SynodClient client;

  @BeforeAll
  static void start() throws Exception {
    stores = SagaTestStores.create(dir);
    server = LockTestServers.withKv(dir, "kvsagas", stores.config());
    client = SynodClient.connect(List.of(LockTestServers.grpc(server)));
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

  @Test
  void aSagaWithSqlAndKvStepsCompletes() throws Exception {
    client.kv().write(KvWrite.of("default", "balance:h-ok", utf8("old")));

    JsonNode status = start(order("h-ok", 40));

    assertThat(status.get("state").asText()).as(status.toString()).isEqualTo("completed");
    assertThat(status.get("steps").findValuesAsText("state"))
        .containsExactly("succeeded", "succeeded", "succeeded", "succeeded");
    assertThat(stores.rows("left", "h-ok")).isEqualTo(1);
    assertThat(read("order:h-ok")).hasValue("reserved 40");
    assertThat(read("balance:h-ok")).hasValue("40");
    assertThat(stores.rows("right", "h-ok")).isEqualTo(1);
  }

  @Test
  void whenALaterStepFailsTheKvStepsAreCompensatedAndTheKeysReadAsBefore() throws Exception {
    client.kv().write(KvWrite.of("default", "balance:h-bad", utf8("old")));

    JsonNode status = start(order("h-bad", 500));

    assertThat(status.get("state").asText()).as(status.toString()).isEqualTo("aborted");
    // Every step whose effect may exist is compensated, the failed one too (it finds nothing).
    assertThat(status.get("steps").findValuesAsText("state"))
        .containsExactly("compensated", "compensated", "compensated", "compensated");
    assertThat(status.get("steps").get(3).get("last_error").asText()).isNotEmpty();
    assertThat(stores.rows("left", "h-bad")).isZero();
    assertThat(read("order:h-bad")).isEmpty();
    assertThat(read("balance:h-bad")).hasValue("old");
  }

  @Test
  void theClientRunsAKvSagaDefinedInJava() throws Exception {
    SagaDefinition definition = SagaDefinition.sequential("tag")
        .step("tag", StepOperation.Kv.put("kv", "default", "tag:{{saga.saga_id}}",
                "{{saga.colour}}"),
            StepOperation.Kv.delete("kv", "default", "tag:{{saga.saga_id}}"), ONCE)
        .step("debit", new StepOperation.Sql("right", TRANSFER_SQL,
                List.of("{{saga.saga_id}}", "{{saga.amount}}")),
            new StepOperation.Sql("right", UNDO_SQL, List.of("{{saga.saga_id}}")), ONCE)
        .build();

    SagaStatus done = client.sagas().start("g-kv-ok", definition,
        Map.of("colour", "blue", "amount", 1L)).get(60, TimeUnit.SECONDS);
    SagaStatus aborted = client.sagas().start("g-kv-bad", definition,
        Map.of("colour", "red", "amount", 101L)).get(60, TimeUnit.SECONDS);

    assertThat(done.state()).isEqualTo(SagaState.COMPLETED);
    assertThat(read("tag:g-kv-ok")).hasValue("blue");
    assertThat(aborted.state()).isEqualTo(SagaState.ABORTED);
    assertThat(aborted.steps().getFirst().state()).isEqualTo(StepState.COMPENSATED);
    assertThat(read("tag:g-kv-bad")).isEmpty();
  }

  @Test
  void badKvStepsAreRefusedNamingTheField() throws Exception {
    String put = """
        {"store": "kv", "tenant_id": "default", "key": "k", "value": "v"}""";
    assertBadRequest(saga(put, """
            {"store": "kv", "tenant_id": "other", "key": "k", "delete": true}"""),
        "definition.steps[0].compensation_operation.tenant_id", "must be the action's tenant_id");
    assertBadRequest(saga(put, """
            {"store": "left", "sql": "DELETE FROM ledger WHERE id = ?", "params": ["x"]}"""),
        "definition.steps[0].compensation_operation.store", "must be the action's key-value");
    assertBadRequest(saga("""
            {"store": "left", "sql": "INSERT INTO ledger VALUES ('x', 1)"}""", """
            {"store": "kv", "tenant_id": "default", "key": "k", "delete": true}"""),
        "definition.steps[0].compensation_operation.store", "a kv compensation needs a kv");
    assertBadRequest(saga("""
            {"store": "kv", "tenant_id": "default", "key": "k"}""", null),
        "definition.steps[0].forward_operation.value", "is required unless delete");
    assertBadRequest(saga("""
            {"store": "kv", "tenant_id": "default", "key": "k", "value": "v", "delete": true}""",
            null),
        "definition.steps[0].forward_operation.value", "must be absent when delete");
    assertBadRequest(saga("""
            {"store": "kv", "tenant_id": "default", "key": "k", "delete": "yes"}""", null),
        "definition.steps[0].forward_operation.delete", "must be true or false");
    assertBadRequest(saga("""
            {"store": "kv", "tenant_id": "default", "key": "k", "value": "v", "params": [1]}""",
            null),
        "definition.steps[0].forward_operation.params", "belongs to sql");
    assertBadRequest(saga("""
            {"store": "left", "sql": "DELETE FROM ledger", "key": "k"}""", null),
        "definition.steps[0].forward_operation.key", "belongs to a kv operation");
    assertBadRequest(saga("""
            {"store": "kv", "tenant_id": "{{saga.tenant}}", "key": "k", "value": "v"}""", null)
            .replace("\"input\": {}", "\"input\": {\"tenant\": \"no spaces\"}"),
        "definition.steps[0].forward_operation.tenant_id", "letters, digits");
    assertBadRequest(saga("""
            {"store": "kv", "tenant_id": "default", "value": "v"}""", null),
        "definition.steps[0].forward_operation.key", "is required");
    assertThat(get("/v1/sagas/h-kv-bad").statusCode()).isEqualTo(404);
  }

  // ---- helpers

  /**
   * An order of {@code amount}: a ledger row in the left store, the order's key in the key-value
   * store (undone by deleting it), the account's balance there (undone by writing the previous
   * one back), then a ledger row in the right store, which fails over 100. Each step once.
   */
  private static String order(String sagaId, long amount) {
    return """
        {"saga_id": "%s", "wait": true,
         "definition": {"name": "order", "steps": [
           {"name": "debit",
            "forward_operation": {"store": "left", "sql": "%s",
                                  "params": ["{{saga.saga_id}}", "{{saga.amount}}"]},
            "compensation_operation": {"store": "left", "sql": "%s",
                                       "params": ["{{saga.saga_id}}"]},
            "retry_policy": {"max_attempts": 1}},
           {"name": "mark",
            "forward_operation": {"store": "kv", "tenant_id": "default",
                                  "key": "order:{{saga.saga_id}}",
                                  "value": "reserved {{saga.amount}}"},
            "compensation_operation": {"store": "kv", "tenant_id": "default",
                                       "key": "order:{{saga.saga_id}}", "delete": true},
            "retry_policy": {"max_attempts": 1}},
           {"name": "balance",
            "forward_operation": {"store": "kv", "tenant_id": "default",
                                  "key": "balance:{{saga.saga_id}}", "value": "{{saga.amount}}"},
            "compensation_operation": {"store": "kv", "tenant_id": "default",
                                       "key": "balance:{{saga.saga_id}}",
                                       "value": "{{saga.previous}}"},
            "retry_policy": {"max_attempts": 1}},
           {"name": "credit",
            "forward_operation": {"store": "right", "sql": "%s",
                                  "params": ["{{saga.saga_id}}", "{{saga.amount}}"]},
            "compensation_operation": {"store": "right", "sql": "%s",
                                       "params": ["{{saga.saga_id}}"]},
            "retry_policy": {"max_attempts": 1}}]},
         "input": {"amount": %d, "previous": "old"}}
        """.formatted(sagaId, TRANSFER_SQL, UNDO_SQL, TRANSFER_SQL, UNDO_SQL, amount);
  }

  /** A one-step saga {@code h-kv-bad} with these operations (no compensation when null). */
  private static String saga(String forward, String compensation) {
    return """
        {"saga_id": "h-kv-bad", "definition": {"name": "bad", "steps": [
          {"name": "only", "forward_operation": %s%s}]},
         "input": {}}
        """.formatted(forward, compensation == null ? ""
        : ", \"compensation_operation\": " + compensation);
  }

  private static JsonNode start(String body) throws Exception {
    HttpResponse<String> answer = post("/v1/sagas", body);
    assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
    return JSON.readTree(answer.body());
  }

  private static Optional<String> read(String key) {
    KvReadResult read = client.kv().read(KvRead.of("default", key));
    return read.found() ? Optional.of(new String(read.value(), StandardCharsets.UTF_8))
        : Optional.empty();
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static void assertBadRequest(String body, String field, String message)
      throws Exception {
    HttpResponse<String> answer = post("/v1/sagas", body);
    assertThat(answer.statusCode()).as(answer.body()).isEqualTo(400);
    JsonNode error = JSON.readTree(answer.body()).get("error");
    assertThat(error.get("code").asText()).isEqualTo("INVALID_ARGUMENT");
    assertThat(error.get("field").asText()).as(answer.body()).isEqualTo(field);
    assertThat(error.get("message").asText()).contains(message);
  }

  private static URI uri(String path) {
    return URI.create("http://127.0.0.1:" + server.httpAddress().getPort() + path);
  }

  private static HttpResponse<String> get(String path) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(uri(path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> post(String path, String body) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(uri(path))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
