package io.synod.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code synod lock ...} against a real server in this JVM. */
@Timeout(60)
class LockCliTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir static Path dir;
  static TestServer server;

  @BeforeAll
  static void start() throws Exception {
    server = TestServer.start(dir);
  }

  @AfterAll
  static void stop() {
    if (server != null) {
      server.close();
    }
  }

  @Test
  void acquireHoldsTheLockWhileStatusShowsItThenReleasesIt() throws Exception {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    Thread[] holder = new Thread[1];
    CompletableFuture<Integer> exit = new CompletableFuture<>();
    holder[0] = Thread.ofPlatform().start(() -> exit.complete(CliRun.command(out, err).execute(
        "lock", "acquire", "cli/orders/1", "--mode", "X", "--timeout", "10s",
        "--hold-until-killed", "--owner", "cli-test", "--server", server.grpcAddress(),
        "--output", "json")));
    JsonNode granted = awaitJson(out, exit);
    assertThat(granted.get("resource").asText()).isEqualTo("cli/orders/1");
    assertThat(granted.get("mode").asText()).isEqualTo("X");
    long token = granted.get("fencing_token").asLong();

    CliRun status = synod("lock", "status", "cli/orders/1", "--server", server.grpcAddress(),
        "--output", "json");
    assertThat(status.exitCode()).as(status.err()).isZero();
    JsonNode shown = JSON.readTree(status.out());
    assertThat(shown.get("holders")).singleElement().satisfies(h -> {
      assertThat(h.get("owner").asText()).isEqualTo("cli-test");
      assertThat(h.get("mode").asText()).isEqualTo("X");
      assertThat(h.get("fencing_token").asLong()).isEqualTo(token);
      assertThat(h.get("session_id").asText()).isEqualTo(granted.get("session_id").asText());
    });
    CliRun table = synod("lock", "status", "cli/orders/1", "--server", server.grpcAddress());
    assertThat(table.out()).containsPattern("(?m)^holders\\s+1$")
        .containsPattern("(?m)^holder\\s+\\S+\\s+cli-test\\s+X\\s+" + token + "$");

    CliRun blocked = synod("lock", "acquire", "cli/orders/1", "--timeout", "300ms",
        "--server", server.grpcAddress());
    assertThat(blocked.exitCode()).as(blocked.err()).isEqualTo(LockCommand.TIMED_OUT);
    assertThat(blocked.err()).startsWith("synod lock acquire: ").contains("cli/orders/1");
    assertThat(blocked.out()).isEmpty();

    holder[0].interrupt(); // as when killed: the lock is released, the session closed
    assertThat(exit.get(30, TimeUnit.SECONDS)).as(err.toString()).isZero();
    CliRun after = synod("lock", "status", "cli/orders/1", "--server", server.grpcAddress(),
        "--output", "json");
    assertThat(JSON.readTree(after.out()).get("holders")).isEmpty();
    CliRun next = synod("lock", "acquire", "cli/orders/1", "--timeout", "5s", "--hold", "10ms",
        "--server", server.grpcAddress());
    assertThat(next.exitCode()).as(next.err()).isZero();
    assertThat(next.out()).containsPattern("(?m)^fencing_token\\s+(\\d+)$");
  }

  @Test
  void releaseFreesALockOfASessionOpenedOverHttp() throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    String id = JSON.readTree(post(http, "/v1/lock-sessions",
        "{\"owner\": \"script\", \"lease_seconds\": 30}")).get("session_id").asText();
    post(http, "/v1/locks", "{\"session_id\": \"" + id + "\", \"resource\": \"cli/jobs/9\", "
        + "\"mode\": \"S\", \"timeout_seconds\": 5}");

    CliRun release = synod("lock", "release", "--session", id, "cli/jobs/9",
        "--server", server.grpcAddress());
    assertThat(release.exitCode()).as(release.err()).isZero();
    assertThat(release.out()).containsPattern("(?m)^released\\s+true$");
    CliRun status = synod("lock", "status", "cli/jobs/9", "--server", server.grpcAddress(),
        "--output", "json");
    assertThat(JSON.readTree(status.out()).get("holders")).isEmpty();

    CliRun unknown = synod("lock", "release", "--session", "r-unknown", "cli/jobs/9",
        "--server", server.grpcAddress());
    assertThat(unknown.exitCode()).isEqualTo(ExitCodes.NOT_FOUND);
    assertThat(unknown.err()).contains("session_id");
  }

  @Test
  void badInputExitsWithTwoNamingTheProblem() {
    CliRun resource = synod("lock", "acquire", "a//b", "--server", server.grpcAddress());
    assertThat(resource.exitCode()).isEqualTo(ExitCodes.BAD_INPUT);
    assertThat(resource.err()).contains("resource");

    CliRun mode = synod("lock", "acquire", "x", "--mode", "Q", "--server", server.grpcAddress());
    assertThat(mode.exitCode()).isEqualTo(ExitCodes.BAD_INPUT);
    assertThat(mode.err()).contains("--mode");

    CliRun both = synod("lock", "acquire", "x", "--hold", "1s", "--hold-until-killed",
        "--server", server.grpcAddress());
    assertThat(both.exitCode()).isEqualTo(ExitCodes.BAD_INPUT);
  }

  @Test
  void noServerExitsWithThree() throws Exception {
    CliRun run = synod("lock", "status", "x", "--server", TestServer.deadAddress(),
        "--retry-for", "0s");
    assertThat(run.exitCode()).isEqualTo(ExitCodes.UNAVAILABLE);
  }

  /** Waits until the command printed its whole JSON answer (or ended without one). */
  private static JsonNode awaitJson(StringWriter out, CompletableFuture<Integer> exit)
      throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < deadline) {
      String text = out.toString();
      if (text.strip().endsWith("}")) {
        return JSON.readTree(text);
      }
      if (exit.isDone()) {
        throw new AssertionError("the command ended with " + exit.get() + " and printed " + text);
      }
      Thread.sleep(20);
    }
    throw new AssertionError("no grant printed within 30 s: " + out);
  }

  private static String post(HttpClient http, String path, String body) throws Exception {
    HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(
            "http://127.0.0.1:" + server.server.httpAddress().getPort() + path))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    return response.body();
  }

  private static CliRun synod(String... args) {
    return CliRun.of(args);
  }
}
