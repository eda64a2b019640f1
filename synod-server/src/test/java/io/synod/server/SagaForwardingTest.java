package io.synod.server;

import static io.synod.server.SagaTestStores.transfer;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.synod.api.saga.RetryPolicy;
import io.synod.api.saga.SagaDefinition;
import io.synod.api.saga.SagaState;
import io.synod.api.saga.SagaStatus;
import io.synod.api.saga.StepOperation;
import io.synod.client.SynodClient;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A group of three servers over the same two H2 stores, and callers that talk to a follower
 * only: every saga call reaches the leader, which runs the saga, through it.
 */
@Timeout(120)
class SagaForwardingTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir static Path dir;
  private static SagaTestStores stores;
  private static List<SynodServer> servers;
  private static SynodServer follower;

  @BeforeAll
  static void start() throws Exception {
    stores = SagaTestStores.create(dir);
    servers = LockTestServers.cluster(dir, "sagas3", stores.config());
    follower = servers.stream().filter(s -> !s.node().isLeader()).findFirst().orElseThrow();
  }

  @AfterAll
  static void stop() {
    if (servers != null) {
      servers.forEach(SynodServer::close);
    }
  }

  @Test
  void httpOnAFollowerStartsTheSagaAtTheLeader() throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    URI base = URI.create("http://127.0.0.1:" + follower.httpAddress().getPort());
    HttpResponse<String> started = http.send(HttpRequest.newBuilder(base.resolve("/v1/sagas"))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(transfer("f-http", 9, true))).build(),
        HttpResponse.BodyHandlers.ofString());
    HttpResponse<String> status = http.send(HttpRequest.newBuilder(
        base.resolve("/v1/sagas/f-http")).build(), HttpResponse.BodyHandlers.ofString());
    HttpResponse<String> bad = http.send(HttpRequest.newBuilder(base.resolve("/v1/sagas"))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(transfer("f-bad", 9, true)
            .replace("\"store\": \"left\"", "\"store\": \"nowhere\""))).build(),
        HttpResponse.BodyHandlers.ofString());

    assertThat(started.statusCode()).as(started.body()).isEqualTo(200);
    assertThat(JSON.readTree(started.body()).get("state").asText()).isEqualTo("completed");
    assertThat(JSON.readTree(status.body()).get("state").asText()).isEqualTo("completed");
    assertThat(stores.rows("right", "f-http")).isEqualTo(1);
    // An error of the leader's driver, relayed: named as the HTTP API names it.
    assertThat(bad.statusCode()).isEqualTo(400);
    JsonNode error = JSON.readTree(bad.body()).get("error");
    assertThat(error.get("field").asText()).isEqualTo("definition.steps[0].forward_operation.store");
  }

  @Test
  void aClientOfAFollowerOnlyRunsSagas() throws Exception {
    RetryPolicy once = new RetryPolicy(1, RetryPolicy.Backoff.FIXED, Duration.ZERO,
        Duration.ZERO);
    SagaDefinition definition = SagaDefinition.sequential("transfer")
        .step("debit", new StepOperation.Sql("left", SagaTestStores.TRANSFER_SQL,
            List.of("{{saga.saga_id}}", "{{saga.amount}}")), null, once)
        .build();
    try (SynodClient client = SynodClient.connect(List.of(LockTestServers.grpc(follower)))) {
      SagaStatus done = client.sagas().start("f-grpc", definition, Map.of("amount", 2L))
          .get(60, TimeUnit.SECONDS);

      assertThat(done.state()).isEqualTo(SagaState.COMPLETED);
      assertThat(client.sagas().status("f-grpc")).isPresent();
      assertThat(client.sagas().listActive()).doesNotContain("f-grpc");
      assertThat(stores.rows("left", "f-grpc")).isEqualTo(1);
    }
  }
}
