package io.synod.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.synod.api.event.ChoreographyDefinition;
import io.synod.api.event.DurableEventBus;
import io.synod.api.event.Event;
import io.synod.api.saga.SagaState;
import io.synod.api.saga.SagaStatus;
import io.synod.client.SynodClient;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Choreographed sagas and the durable event bus through a single server in this JVM: three
 * services (inventory, payment, shipping), each a {@link SynodClient} subscribed over gRPC
 * ({@link SynodClient#eventBus()}), answer the saga's events; sagas are started over HTTP
 * ({@code /v1/choreographies}) and over gRPC ({@link SynodClient#choreography()}).
 */
@Timeout(120)
class ChoreographyApiTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @TempDir static Path dir;
  static SynodServer server;
  static SynodClient inventory;
  static SynodClient payment;
  static SynodClient shipping;
  static final Queue<Event> inventorySeen = new ConcurrentLinkedQueue<>();
  static final Queue<Event> paymentSeen = new ConcurrentLinkedQueue<>();
  static final Queue<Event> shippingSeen = new ConcurrentLinkedQueue<>();
  static final AtomicInteger paymentFailuresLeft = new AtomicInteger();

  @BeforeAll
  static void start() throws Exception {
    server = LockTestServers.single(dir, "events", List.of());
    String endpoint = LockTestServers.grpc(server);
    inventory = SynodClient.connect(List.of(endpoint));
    payment = SynodClient.connect(List.of(endpoint));
    shipping = SynodClient.connect(List.of(endpoint));
    service(inventory, "inventory", inventorySeen, Map.of("inventory.reserve",
        "inventory.reserved"), Set.of("inventory.release"));
    service(payment, "payment", paymentSeen, Map.of("payment.charge", "payment.charged"),
        Set.of("payment.refund"));
    // Shipping never answers a saga whose correlation id starts with "never".
    service(shipping, "shipping", shippingSeen, Map.of("shipping.ship", "shipping.shipped"),
        Set.of());
  }

  /**
   * A service over gRPC: records every event, answers each request type with its answer type
   * (passing the payload along, plus its own mark), does nothing more for a compensation.
   */
  private static void service(SynodClient client, String name, Queue<Event> seen,
      Map<String, String> answers, Set<String> compensations) {
    DurableEventBus bus = client.eventBus();
    Set<String> types = new java.util.HashSet<>(answers.keySet());
    types.addAll(compensations);
    bus.subscribe(name, types, event -> {
      if (name.equals("payment") && event.type().equals("payment.charge")
          && paymentFailuresLeft.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
        throw new IllegalStateException("the card network is down (a test failure)");
      }
      seen.add(event);
      String answer = answers.get(event.type());
      if (answer == null || (name.equals("shipping")
          && event.correlationId().startsWith("never"))) {
        return;
      }
      Map<String, String> payload = new java.util.HashMap<>(event.payload());
      payload.put(name, "ok");
      bus.publish(Event.of(answer, event.correlationId(), payload)).get(10, TimeUnit.SECONDS);
    });
  }

  @AfterAll
  static void stop() {
    for (SynodClient client : new SynodClient[] {inventory, payment, shipping}) {
      if (client != null) {
        client.close();
      }
    }
    if (server != null) {
      server.close();
    }
  }

  private static String definition(double shippingTimeoutSeconds) {
    return """
        {"name": "order", "steps": [
          {"name": "reserve", "on": "inventory.reserve", "done": "inventory.reserved",
           "compensate": "inventory.release", "timeout_seconds": 20},
          {"name": "charge", "on": "payment.charge", "done": "payment.charged",
           "compensate": "payment.refund", "timeout_seconds": 20},
          {"name": "ship", "on": "shipping.ship", "done": "shipping.shipped",
           "timeout_seconds": %s}]}""".formatted(shippingTimeoutSeconds);
  }

  private static String start(String id, String definition) {
    return """
        {"correlation_id": "%s", "wait": true, "payload": {"item": "apple"},
         "definition": %s}""".formatted(id, definition);
  }

  @Test
  void aChoreographyStartedOverHttpCompletesThroughServicesSubscribedOverGrpc()
      throws Exception {
    HttpResponse<String> answer = post("/v1/choreographies", start("ok-1", definition(20)));

    assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
    JsonNode status = JSON.readTree(answer.body());
    assertThat(status.get("correlation_id").asText()).isEqualTo("ok-1");
    assertThat(status.get("saga_id").asText()).isEqualTo("ok-1");
    assertThat(status.get("definition").asText()).isEqualTo("order");
    assertThat(status.get("state").asText()).isEqualTo("completed");
    assertThat(status.get("steps")).hasSize(3);
    // The payload travels from step to step: shipping saw what inventory and payment added.
    Event shipped = shippingSeen.stream().filter(e -> e.correlationId().equals("ok-1"))
        .findFirst().orElseThrow();
    assertThat(shipped.payload()).containsEntry("item", "apple")
        .containsEntry("inventory", "ok").containsEntry("payment", "ok");
    assertThat(shipped.offset()).isPositive();

    JsonNode read = JSON.readTree(get("/v1/choreographies/ok-1").body());
    assertThat(read.get("state").asText()).isEqualTo("completed");
    JsonNode active = JSON.readTree(get("/v1/choreographies?state=active").body());
    assertThat(active.get("correlation_ids").toString()).doesNotContain("ok-1");
    JsonNode abort = JSON.readTree(post("/v1/choreographies/ok-1/abort",
        "{\"reason\": \"late\"}").body());
    assertThat(abort.get("aborted").asBoolean()).isFalse();
    assertThat(compensations(inventorySeen, "ok-1")).isEmpty();
  }

  @Test
  void aStepThatNeverAnswersAbortsTheSagaAndTheServicesBeforeItGetTheirCompensations()
      throws Exception {
    HttpResponse<String> answer = post("/v1/choreographies", start("never-1", definition(1.5)));

    assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
    JsonNode status = JSON.readTree(answer.body());
    assertThat(status.get("state").asText()).isEqualTo("aborted");
    assertThat(status.get("error").asText()).isNotEmpty();
    awaitTrue(() -> compensations(inventorySeen, "never-1").contains("inventory.release")
        && compensations(paymentSeen, "never-1").contains("payment.refund"));
    Event release = inventorySeen.stream().filter(e -> e.correlationId().equals("never-1")
        && e.type().equals("inventory.release")).findFirst().orElseThrow();
    assertThat(release.payload()).containsEntry("item", "apple");
    assertThat(shippingSeen.stream().anyMatch(e -> e.correlationId().equals("never-1")))
        .isTrue();
  }

  @Test
  void aHandlerThatThrowsGetsTheEventAgainAndGrpcStartsWaitForTheOutcome() throws Exception {
    paymentFailuresLeft.set(2);
    ChoreographyDefinition definition = ChoreographyDefinition.builder("order")
        .step("reserve", "inventory.reserve", "inventory.reserved", null, "inventory.release",
            Duration.ofSeconds(20))
        .step("charge", "payment.charge", "payment.charged", null, "payment.refund",
            Duration.ofSeconds(20))
        .step("ship", "shipping.ship", "shipping.shipped", null, null, Duration.ofSeconds(20))
        .build();

    SagaStatus status = inventory.choreography().start("grpc-1", definition,
        Map.of("item", "pear")).get(60, TimeUnit.SECONDS);

    assertThat(status.state()).isEqualTo(SagaState.COMPLETED);
    assertThat(paymentFailuresLeft.get()).isZero();
    assertThat(inventory.choreography().status("grpc-1")).get()
        .extracting(SagaStatus::state).isEqualTo(SagaState.COMPLETED);
    assertThat(inventory.choreography().listActive()).doesNotContain("grpc-1");
    assertThat(payment.eventBus().acknowledged("payment")).isNotNegative();
  }

  @Test
  void anEventWhoseStreamBrokeBeforeItsAckIsDeliveredAgainToTheGroupsNextSubscriber()
      throws Exception {
    Queue<Event> first = new ConcurrentLinkedQueue<>();
    Queue<Event> second = new ConcurrentLinkedQueue<>();
    long offset;
    try (SynodClient dying = SynodClient.connect(List.of(LockTestServers.grpc(server)))) {
      dying.eventBus().subscribe("flaky", Set.of("flaky.ping"), event -> {
        first.add(event);
        Thread.sleep(Long.MAX_VALUE); // never returns: never acknowledged
      });
      offset = dying.eventBus().publish(Event.of("flaky.ping", "p-1", Map.of("n", "1")))
          .get(10, TimeUnit.SECONDS);
      awaitTrue(() -> !first.isEmpty());
    } // the stream is cancelled with the event in flight

    try (SynodClient next = SynodClient.connect(List.of(LockTestServers.grpc(server)))) {
      next.eventBus().subscribe("flaky", Set.of("flaky.ping"), second::add);
      awaitTrue(() -> !second.isEmpty());
      assertThat(first.peek().offset()).isEqualTo(offset);
      assertThat(second.peek().offset()).isEqualTo(offset);
      assertThat(second.peek().payload()).containsEntry("n", "1");
      awaitTrue(() -> next.eventBus().acknowledged("flaky") >= offset);
    }
  }

  @Test
  void badInputIsRefusedNamingTheField() throws Exception {
    assertBadRequest("/v1/events", "{\"correlation_id\": \"c\"}", "type", "must be 1 to 128");
    assertBadRequest("/v1/events", "{\"type\": \"a b\", \"correlation_id\": \"c\"}", "type",
        "letters, digits");
    assertBadRequest("/v1/events", "{\"type\": \"t\"}", "correlation_id", "must be 1 to 256");
    assertBadRequest("/v1/events", "{\"type\": \"t\", \"correlation_id\": \"c\","
        + " \"payload\": {\"n\": 1}}", "payload.n", "must be a string");
    assertBadRequest("/v1/events", "{\"type\": \"t\", \"correlation_id\": \"c\", \"x\": 1}",
        "x", "unknown field");
    assertBadRequest("/v1/choreographies", start("bad-1", definition(20)
            .replace("\"on\": \"payment.charge\",", "")), "definition.steps[1].on",
        "must be 1 to 128");
    assertBadRequest("/v1/choreographies", start("bad-2", definition(20)
            .replace("\"payment.refund\", \"timeout_seconds\": 20",
                "\"payment.refund\", \"timeout_seconds\": 0")),
        "definition.steps[1].timeout_seconds", "must be between");
    assertBadRequest("/v1/choreographies", start("bad-3", definition(20)
            .replace("\"name\": \"reserve\",", "\"name\": \"reserve\", \"colour\": \"red\",")),
        "definition.steps[0].colour", "unknown field");
    assertBadRequest("/v1/choreographies", start("bad-4", definition(20)
            .replace("\"done\": \"payment.charged\"", "\"done\": \"inventory.reserved\"")),
        "definition.steps[1].done", "is used twice");
    assertBadRequest("/v1/choreographies", start("bad-5", definition(20)
            .replace("\"name\": \"order\"", "\"name\": \"Order!\"")),
        "definition.name", "lower-case");
    assertBadRequest("/v1/choreographies", start("", definition(20)), "correlation_id",
        "is required");
    assertBadRequest("/v1/choreographies", "{\"correlation_id\": \"bad-6\"}", "definition",
        "is required");
    assertThat(get("/v1/choreographies/bad-1").statusCode()).isEqualTo(404);

    HttpResponse<String> unknown = get("/v1/choreographies/no-such-saga");
    assertThat(unknown.statusCode()).isEqualTo(404);
    assertThat(JSON.readTree(unknown.body()).get("error").get("field").asText())
        .isEqualTo("correlation_id");
    assertThat(get("/v1/choreographies?state=done").statusCode()).isEqualTo(400);
    HttpResponse<String> subscribe = get("/v1/events");
    assertThat(subscribe.statusCode()).isEqualTo(405);
    assertThat(subscribe.headers().firstValue("Allow")).contains("POST");
  }

  private static List<String> compensations(Queue<Event> seen, String correlationId) {
    return seen.stream().filter(e -> e.correlationId().equals(correlationId))
        .map(Event::type).filter(t -> t.endsWith(".release") || t.endsWith(".refund")).toList();
  }

  private static void awaitTrue(BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as("condition within 20 s").isLessThan(deadline);
      Thread.sleep(50);
    }
  }

  private static void assertBadRequest(String path, String body, String field, String message)
      throws Exception {
    HttpResponse<String> answer = post(path, body);
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
    return HTTP.send(HttpRequest.newBuilder(uri(path)).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
