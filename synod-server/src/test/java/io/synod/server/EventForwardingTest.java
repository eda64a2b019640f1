package io.synod.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.synod.api.event.Event;
import io.synod.client.SynodClient;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A group of three servers, and callers that talk to a follower only: publishes and choreography
 * calls reach the leader through it, and a subscription on the follower is served there.
 */
@Timeout(120)
class EventForwardingTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  @TempDir static Path dir;
  private static List<SynodServer> servers;
  private static SynodServer follower;

  @BeforeAll
  static void start() throws Exception {
    servers = LockTestServers.cluster(dir, "events3", List.of());
    follower = servers.stream().filter(s -> !s.node().isLeader()).findFirst().orElseThrow();
  }

  @AfterAll
  static void stop() {
    if (servers != null) {
      servers.forEach(SynodServer::close);
    }
  }

  @Test
  void aFollowerForwardsPublishesAndChoreographiesAndDeliversToItsOwnSubscribers()
      throws Exception {
    Queue<Event> seen = new ConcurrentLinkedQueue<>();
    try (SynodClient client = SynodClient.connect(List.of(LockTestServers.grpc(follower)))) {
      client.eventBus().subscribe("audit", Set.of("audit.note"), seen::add);

      HttpResponse<String> published = post("/v1/events",
          "{\"type\": \"audit.note\", \"correlation_id\": \"a-1\", \"payload\": {\"k\": \"v\"}}");
      long viaGrpc = client.eventBus().publish(Event.of("audit.note", "a-2", null))
          .get(30, TimeUnit.SECONDS);

      assertThat(published.statusCode()).as(published.body()).isEqualTo(200);
      long offset = JSON.readTree(published.body()).get("offset").asLong();
      assertThat(viaGrpc).isGreaterThan(offset);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (seen.size() < 2 && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      assertThat(seen).extracting(Event::offset).containsExactly(offset, viaGrpc);
    }

    HttpResponse<String> started = post("/v1/choreographies", """
        {"correlation_id": "f-1", "payload": {"item": "fig"}, "definition": {"name": "order",
          "steps": [{"name": "reserve", "on": "stock.reserve", "done": "stock.reserved",
                     "compensate": "stock.release", "timeout_seconds": 60}]}}""");
    assertThat(started.statusCode()).as(started.body()).isEqualTo(200);
    assertThat(JSON.readTree(started.body()).get("state").asText()).isEqualTo("step_executing");
    JsonNode active = JSON.readTree(get("/v1/choreographies?state=active").body());
    assertThat(active.get("correlation_ids").toString()).contains("f-1");
    JsonNode abort = JSON.readTree(post("/v1/choreographies/f-1/abort", "{}").body());
    assertThat(abort.get("aborted").asBoolean()).isTrue();
    JsonNode status = JSON.readTree(get("/v1/choreographies/f-1").body());
    assertThat(status.get("state").asText()).isIn("compensating", "aborted");
  }

  private static URI uri(String path) {
    return URI.create("http://127.0.0.1:" + follower.httpAddress().getPort() + path);
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
