package io.synod.server;

import static io.synod.server.SagaTestStores.TRANSFER_SQL;
import static io.synod.server.SagaTestStores.UNDO_SQL;
import static io.synod.server.SagaTestStores.transfer;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.saga.RetryPolicy;
import io.synod.api.saga.SagaDefinition;
import io.synod.api.saga.SagaState;
import io.synod.api.saga.SagaStatus;
import io.synod.api.saga.StepOperation;
import io.synod.api.saga.StepState;
import io.synod.client.SynodClient;
import io.synod.server.config.ServerConfig;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sagas through a single server in this JVM over two H2 stores: the HTTP API ({@code /v1/sagas})
 * and the Java client over gRPC ({@link SynodClient#sagas()}).
 */
@Timeout(120)
class SagaApiTest {
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
    // A Redis store nobody listens at: its pool connects only when a step runs there.
    List<ServerConfig.Store> config = new java.util.ArrayList<>(stores.config());
    config.add(new ServerConfig.Store("cache", ServerConfig.StoreType.REDIS,
        "redis://127.0.0.1:1", "", "", 2));
    server = LockTestServers.single(dir, "sagas", config);
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

  // ---- HTTP

  @Test
  void aSagaOverTwoStoresCompletes() throws Exception {
    HttpResponse<String> answer = post("/v1/sagas", transfer("h-ok", 40, true), null);

    assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
    JsonNode status = JSON.readTree(answer.body());
    assertThat(status.get("saga_id").asText()).isEqualTo("h-ok");
    assertThat(status.get("definition").asText()).isEqualTo("transfer");
    assertThat(status.get("state").asText()).isEqualTo("completed");
    assertThat(status.get("error").isNull()).isTrue();
    assertThat(status.get("steps")).hasSize(2);
    assertThat(status.get("steps").get(0).get("name").asText()).isEqualTo("debit");
    assertThat(status.get("steps").get(0).get("state").asText()).isEqualTo("succeeded");
    assertThat(status.get("steps").get(1).get("attempts").asInt()).isEqualTo(1);
    assertThat(stores.rows("left", "h-ok")).isEqualTo(1);
    assertThat(stores.rows("right", "h-ok")).isEqualTo(1);

    HttpResponse<String> read = get("/v1/sagas/h-ok");
    assertThat(read.statusCode()).isEqualTo(200);
    assertThat(JSON.readTree(read.body()).get("state").asText()).isEqualTo("completed");
    JsonNode active = JSON.readTree(get("/v1/sagas?state=active").body());
    assertThat(active.get("saga_ids").toString()).doesNotContain("h-ok");
    HttpResponse<String> abort = post("/v1/sagas/h-ok/abort", "{\"reason\": \"late\"}", null);
    assertThat(JSON.readTree(abort.body()).get("aborted").asBoolean()).isFalse();
  }

  @Test
  void aSagaWhoseSecondStepFailsIsAbortedAndItsFirstStepCompensated() throws Exception {
    HttpResponse<String> answer = post("/v1/sagas", transfer("h-bad", 500, true), null);

    assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
    JsonNode status = JSON.readTree(answer.body());
    assertThat(status.get("state").asText()).isEqualTo("aborted");
    assertThat(status.get("error").asText()).isNotEmpty();
    assertThat(status.get("steps").get(0).get("state").asText()).isEqualTo("compensated");
    assertThat(status.get("steps").get(1).get("last_error").asText()).isNotEmpty();
    assertThat(stores.rows("left", "h-bad")).isZero();
    assertThat(stores.rows("right", "h-bad")).isZero();
  }

  @Test
  void aRepeatedSagaIdStartsNothingAgain() throws Exception {
    JsonNode first = JSON.readTree(post("/v1/sagas", transfer("h-twice", 7, true), null).body());
    HttpResponse<String> again = post("/v1/sagas", transfer("h-twice", 7, true), null);

    assertThat(first.get("state").asText()).isEqualTo("completed");
    assertThat(again.statusCode()).isEqualTo(200);
    JsonNode second = JSON.readTree(again.body());
    assertThat(second.get("state").asText()).isEqualTo("completed");
    assertThat(second.get("created_at_ms").asLong())
        .isEqualTo(first.get("created_at_ms").asLong());
    assertThat(stores.rows("left", "h-twice")).isEqualTo(1);
  }

  @Test
  void theIdempotencyKeyStandsInForTheSagaId() throws Exception {
    HttpResponse<String> answer = post("/v1/sagas", transfer(null, 3, true), "h-key");

    assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
    assertThat(JSON.readTree(answer.body()).get("saga_id").asText()).isEqualTo("h-key");
    assertThat(stores.rows("right", "h-key")).isEqualTo(1);
  }

  @Test
  void withoutWaitTheAnswerComesOnceTheSagaIsLogged() throws Exception {
    HttpResponse<String> answer = post("/v1/sagas", transfer("h-nowait", 4, false), null);

    assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
    assertThat(JSON.readTree(answer.body()).get("saga_id").asText()).isEqualTo("h-nowait");
    // Waiting with the same id starts nothing again and answers the outcome.
    JsonNode done = JSON.readTree(post("/v1/sagas", transfer("h-nowait", 4, true), null).body());
    assertThat(done.get("state").asText()).isEqualTo("completed");
    assertThat(stores.rows("left", "h-nowait")).isEqualTo(1);
  }

  @Test
  void aFailedCompensationLeavesTheSagaFailedAndListedAsActive() throws Exception {
    String body = transfer("h-failed", 500, true, "DELETE FROM no_such_table WHERE id = ?");

    JsonNode status = JSON.readTree(post("/v1/sagas", body, null).body());
    JsonNode again = JSON.readTree(post("/v1/sagas", body, null).body());
    JsonNode active = JSON.readTree(get("/v1/sagas").body());

    assertThat(status.get("state").asText()).isEqualTo("failed");
    assertThat(status.get("steps").get(0).get("state").asText())
        .isEqualTo("compensation_failed");
    assertThat(again.get("state").asText()).isEqualTo("failed");
    assertThat(active.get("saga_ids").toString()).contains("h-failed");
    assertThat(stores.rows("left", "h-failed")).isEqualTo(1);
  }

  @Test
  void badInputIsRefusedNamingTheField() throws Exception {
    assertBadRequest(transfer("h-x1", 1, true).replace("\"name\": \"debit\",",
            "\"name\": \"debit\", \"colour\": \"red\","),
        "definition.steps[0].colour", "unknown field");
    assertBadRequest(transfer("h-x2", 1, true).replace("\"store\": \"right\", \"sql\"",
            "\"store\": \"elsewhere\", \"sql\""),
        "definition.steps[1].forward_operation.store", "unknown store 'elsewhere'");
    assertBadRequest(transfer("h-x3", 1, true).replace("\"input\": {\"amount\": 1}",
            "\"input\": {\"amuont\": 1}"),
        "definition.steps[0].forward_operation.params[1]", "{{saga.amount}} is not in the");
    assertBadRequest(transfer(null, 1, true), "saga_id", "is required");
    assertBadRequest(transfer("h-x4", 1, true).replace("\"wait\": true", "\"wait\": \"yes\""),
        "wait", "must be true or false");
    assertThat(stores.rows("left", "h-x2")).isZero();
    assertThat(get("/v1/sagas/h-x2").statusCode()).isEqualTo(404);

    HttpResponse<String> unknown = get("/v1/sagas/no-such-saga");
    assertThat(unknown.statusCode()).isEqualTo(404);
    assertThat(JSON.readTree(unknown.body()).get("error").get("field").asText())
        .isEqualTo("saga_id");
    assertThat(get("/v1/sagas?state=done").statusCode()).isEqualTo(400);
  }

  @Test
  void aKvStepIsRefusedWhereTheKeyValueStoreIsDisabled() throws Exception {
    assertBadRequest("""
        {"saga_id": "h-kv", "definition": {"name": "mark", "steps": [
          {"name": "mark", "forward_operation": {"store": "kv", "tenant_id": "default",
                                                 "key": "k", "value": "v"}}]}}""",
        "definition.steps[0].forward_operation.store", "key-value store, which is disabled");
    assertThat(get("/v1/sagas/h-kv").statusCode()).isEqualTo(404);
  }

  @Test
  void sqlStoresServeCoordinationsTooButARedisStoreServesSagasOnly() throws Exception {
    HttpResponse<String> commit = post("/v1/coordinations", """
        {"coordination_id": "c-1", "operations": [
          {"store": "left", "sql": "INSERT INTO ledger (id, amount) VALUES ('c-1', 1)"}]}""",
        null);
    HttpResponse<String> redis = post("/v1/coordinations", """
        {"coordination_id": "c-2", "operations": [
          {"store": "cache", "sql": "INSERT INTO ledger (id, amount) VALUES ('c-2', 1)"}]}""",
        null);

    assertThat(commit.statusCode()).as(commit.body()).isEqualTo(200);
    assertThat(stores.rows("left", "c-1")).isEqualTo(1);
    assertThat(redis.statusCode()).isEqualTo(400);
    JsonNode error = JSON.readTree(redis.body()).get("error");
    assertThat(error.get("field").asText()).isEqualTo("operations[0].store");
    assertThat(error.get("message").asText()).contains("'cache' is a redis store, which serves"
        + " saga steps only");
  }

  // ---- the Java client over gRPC

  @Test
  void theClientStartsASagaAndWaitsForItsOutcome() throws Exception {
    SagaStatus done = client.sagas().start("g-ok", transferDefinition(), Map.of("amount", 12L))
        .get(60, TimeUnit.SECONDS);
    SagaStatus failed = client.sagas().start("g-bad", transferDefinition(),
        Map.of("amount", 200L)).get(60, TimeUnit.SECONDS);

    assertThat(done.state()).isEqualTo(SagaState.COMPLETED);
    assertThat(done.steps()).extracting(s -> s.state())
        .containsExactly(StepState.SUCCEEDED, StepState.SUCCEEDED);
    assertThat(stores.rows("right", "g-ok")).isEqualTo(1);
    assertThat(failed.state()).isEqualTo(SagaState.ABORTED);
    assertThat(failed.steps().getFirst().state()).isEqualTo(StepState.COMPENSATED);
    assertThat(stores.rows("left", "g-bad")).isZero();
    assertThat(client.sagas().status("g-ok")).hasValueSatisfying(
        s -> assertThat(s.state()).isEqualTo(SagaState.COMPLETED));
    assertThat(client.sagas().status("g-nothing")).isEmpty();
    assertThat(client.sagas().listActive()).doesNotContain("g-ok", "g-bad");
    assertThat(client.sagas().abort("g-ok", "too late")).isFalse();
  }

  @Test
  void theClientsRepeatedStartIsIdempotent() throws Exception {
    SagaStatus logged = client.sagas().submit("g-twice", transferDefinition(),
        Map.of("amount", 5L));
    SagaStatus done = client.sagas().startAndWait("g-twice", transferDefinition(),
        Map.of("amount", 5L));

    assertThat(logged.sagaId()).isEqualTo("g-twice");
    assertThat(done.state()).isEqualTo(SagaState.COMPLETED);
    assertThat(done.createdAtMs()).isEqualTo(logged.createdAtMs());
    assertThat(stores.rows("left", "g-twice")).isEqualTo(1);
  }

  @Test
  void theClientHearsBadInputNamingTheWireField() {
    SagaDefinition elsewhere = SagaDefinition.sequential("transfer")
        .step("debit", new StepOperation.Sql("elsewhere", TRANSFER_SQL,
            List.of("{{saga.saga_id}}", "{{saga.amount}}")), null, ONCE)
        .build();
    SynodException unknownStore = failure(() -> client.sagas().start("g-x1", elsewhere,
        Map.of("amount", 1L)).get());
    SynodException noInput = failure(() -> client.sagas().start("g-x2", transferDefinition(),
        Map.of()).get());
    SagaDefinition local = SagaDefinition.sequential("local")
        .step("mine", new StepOperation.Local("handler", Map.of()), null).build();
    SynodException localStep = failure(() -> client.sagas().start("g-x3", local, Map.of()).get());

    assertThat(unknownStore.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT);
    assertThat(unknownStore.field()).hasValue("definition.steps[0].forward_operation.store");
    assertThat(noInput.field()).hasValue("definition.steps[0].forward_operation.params[1]");
    assertThat(localStep.field()).hasValue("definition.steps[0].forward_operation");
    assertThat(client.sagas().status("g-x1")).isEmpty();
  }

  private static SagaDefinition transferDefinition() {
    List<Object> row = List.of("{{saga.saga_id}}", "{{saga.amount}}");
    List<Object> id = List.of("{{saga.saga_id}}");
    return SagaDefinition.sequential("transfer")
        .step("debit", new StepOperation.Sql("left", TRANSFER_SQL, row),
            new StepOperation.Sql("left", UNDO_SQL, id), ONCE)
        .step("credit", new StepOperation.Sql("right", TRANSFER_SQL, row),
            new StepOperation.Sql("right", UNDO_SQL, id), ONCE)
        .build();
  }

  // ---- helpers

  interface Call {
    void run() throws Exception;
  }

  private static SynodException failure(Call call) {
    Throwable thrown = catchThrowableOfType(Throwable.class, call::run);
    assertThat(thrown).as("the call fails").isNotNull();
    Throwable cause = thrown instanceof ExecutionException e ? e.getCause() : thrown;
    assertThat(cause).isInstanceOf(SynodException.class);
    return (SynodException) cause;
  }

  private static void assertBadRequest(String body, String field, String message)
      throws Exception {
    HttpResponse<String> answer = post("/v1/sagas", body, null);
    assertThat(answer.statusCode()).as(answer.body()).isEqualTo(400);
    JsonNode error = JSON.readTree(answer.body()).get("error");
    assertThat(error.get("code").asText()).isEqualTo("INVALID_ARGUMENT");
    assertThat(error.get("field").asText()).isEqualTo(field);
    assertThat(error.get("message").asText()).contains(message);
  }

  private static URI uri(String path) {
    return URI.create("http://127.0.0.1:" + server.httpAddress().getPort() + path);
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
