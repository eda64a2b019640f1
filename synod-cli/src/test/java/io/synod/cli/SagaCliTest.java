package io.synod.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code synod saga ...} against a real server in this JVM, over its two H2 stores. */
@Timeout(120)
class SagaCliTest {
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
  void startRunsTheSagaToItsEndAndPrintsItsStatusThenItsSteps() throws Exception {
    CliRun run = synod("saga", "start", file("s-1.json", saga("s-1", 30)),
        "--server", server.grpcAddress());

    assertThat(run.exitCode()).as(run.err()).isZero();
    assertThat(run.out()).containsPattern("(?m)^saga_id\\s+s-1$")
        .containsPattern("(?m)^definition\\s+transfer$")
        .containsPattern("(?m)^state\\s+completed$")
        .containsPattern("(?m)^NAME\\s+STATE\\s+ATTEMPTS\\s+COMPENSATION_ATTEMPTS")
        .containsPattern("(?m)^debit\\s+succeeded\\s+1\\s+0\\s+-")
        .containsPattern("(?m)^credit\\s+succeeded\\s+1\\s+0\\s+-");
    assertThat(run.err()).isEmpty();
    assertThat(TestServer.amount(server.urlA, "s-1")).hasValue(30);
    assertThat(TestServer.amount(server.urlB, "s-1")).hasValue(-30);

    CliRun status = synod("saga", "status", "s-1", "--server", server.grpcAddress(),
        "--output", "json");
    assertThat(status.exitCode()).as(status.err()).isZero();
    JsonNode json = JSON.readTree(status.out());
    assertThat(json.get("state").asText()).isEqualTo("completed");
    assertThat(json.get("steps").get(1).get("name").asText()).isEqualTo("credit");
  }

  @Test
  void aYamlFileReadsLikeItsJson() throws Exception {
    String yaml = new com.fasterxml.jackson.dataformat.yaml.YAMLMapper()
        .writeValueAsString(JSON.readTree(saga("s-yaml", 7)));

    CliRun run = synod("saga", "start", file("s-yaml.yaml", yaml),
        "--server", server.grpcAddress(), "--output", "json");

    assertThat(run.exitCode()).as(run.err()).isZero();
    assertThat(JSON.readTree(run.out()).get("state").asText()).isEqualTo("completed");
    assertThat(TestServer.amount(server.urlA, "s-yaml")).hasValue(7);
  }

  @Test
  void aSagaThatAbortsExitsWithOneAndIsCompensated() throws Exception {
    TestServer.execute(server.urlB, "INSERT INTO items (id, amount) VALUES ('s-dup', 0)");

    CliRun run = synod("saga", "start", file("s-dup.json", saga("s-dup", 4)),
        "--server", server.grpcAddress(), "--output", "json");

    assertThat(run.exitCode()).as(run.err()).isEqualTo(1);
    JsonNode status = JSON.readTree(run.out());
    assertThat(status.get("state").asText()).isEqualTo("aborted");
    assertThat(status.get("steps").get(0).get("state").asText()).isEqualTo("compensated");
    assertThat(TestServer.amount(server.urlA, "s-dup")).isEmpty();
  }

  @Test
  void noWaitReturnsOnceLoggedAndStdinIsAFile() throws Exception {
    CliRun run = synodWithInput(saga("s-2", 2), "saga", "start", "-", "--no-wait",
        "--server", server.grpcAddress(), "--output", "json");

    assertThat(run.exitCode()).as(run.err()).isZero();
    assertThat(JSON.readTree(run.out()).get("saga_id").asText()).isEqualTo("s-2");
    CliRun waited = synod("saga", "start", file("s-2.json", saga("s-2", 2)),
        "--server", server.grpcAddress(), "--output", "json");
    assertThat(waited.exitCode()).as(waited.err()).isZero();
    assertThat(JSON.readTree(waited.out()).get("state").asText()).isEqualTo("completed");
    CliRun list = synod("saga", "list", "--server", server.grpcAddress(), "--output", "json");
    assertThat(list.exitCode()).as(list.err()).isZero();
    assertThat(JSON.readTree(list.out()).get("saga_ids").toString()).doesNotContain("s-2");
  }

  @Test
  void aMalformedFileIsBadInput() throws Exception {
    CliRun notJson = synod("saga", "start", file("bad.json", "{\"saga_id\": "),
        "--server", server.grpcAddress());
    CliRun unknownField = synod("saga", "start",
        file("field.json", saga("s-3", 1).replace("\"name\": \"debit\",",
            "\"name\": \"debit\", \"colour\": \"red\",")),
        "--server", server.grpcAddress());
    CliRun unknownStore = synod("saga", "start",
        file("store.json", saga("s-4", 1).replace("\"store\": \"b\"", "\"store\": \"zz\"")),
        "--server", server.grpcAddress());
    CliRun missing = synod("saga", "start", dir.resolve("nothing.json").toString(),
        "--server", server.grpcAddress());

    assertThat(notJson.exitCode()).isEqualTo(2);
    assertThat(notJson.err()).startsWith("synod saga start: ").contains("not valid JSON");
    assertThat(unknownField.exitCode()).isEqualTo(2);
    assertThat(unknownField.err()).contains("definition.steps[0].colour: unknown field");
    assertThat(unknownStore.exitCode()).isEqualTo(2);
    assertThat(unknownStore.err())
        .contains("definition.steps[1].forward_operation.store: unknown store 'zz'");
    assertThat(missing.exitCode()).isEqualTo(2);
  }

  @Test
  void anUnknownSagaIsNotFoundAndAbortSaysSo() {
    CliRun status = synod("saga", "status", "no-such-saga", "--server", server.grpcAddress());
    CliRun abort = synod("saga", "abort", "no-such-saga", "--reason", "why not",
        "--server", server.grpcAddress());

    assertThat(status.exitCode()).isEqualTo(5);
    assertThat(status.err()).contains("no saga 'no-such-saga' is known");
    assertThat(abort.exitCode()).as(abort.err()).isZero();
    assertThat(abort.out()).containsPattern("(?m)^aborted\\s+false$");
  }

  private static CliRun synod(String... args) {
    return CliRun.of(args);
  }

  private static CliRun synodWithInput(String stdin, String... args) {
    return CliRun.withInput(stdin, args);
  }

  private static String file(String name, String content) throws Exception {
    Path path = dir.resolve(name);
    Files.writeString(path, content);
    return path.toString();
  }

  /**
   * A saga that writes row {@code id} with {@code amount} in store a, then with -amount in store
   * b, each undone by deleting it; each step is tried once.
   */
  private static String saga(String id, long amount) {
    return """
        {"saga_id": "%s",
         "definition": {"name": "transfer", "steps": [
           {"name": "debit",
            "forward_operation": {"store": "a", "sql": "INSERT INTO items (id, amount) VALUES (?, ?)",
                                  "params": ["{{saga.saga_id}}", "{{saga.amount}}"]},
            "compensation_operation": {"store": "a", "sql": "DELETE FROM items WHERE id = ?",
                                       "params": ["{{saga.saga_id}}"]},
            "retry_policy": {"max_attempts": 1}},
           {"name": "credit",
            "forward_operation": {"store": "b", "sql": "INSERT INTO items (id, amount) VALUES (?, ?)",
                                  "params": ["{{saga.saga_id}}", "{{saga.negated}}"]},
            "retry_policy": {"max_attempts": 1}}]},
         "input": {"amount": %d, "negated": %d}}
        """.formatted(id, amount, -amount);
  }
}
