package io.synod.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code synod txn ...} and {@code synod cluster status} against a real server in this JVM. */
class CliTest {
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
  void submitCommitsAndPrintsTheResult() throws Exception {
    CliRun run = synod("txn", "submit", file("cli-1.json", transfer("cli-1", 30)),
        "--server", server.grpcAddress());

    assertThat(run.exitCode()).as(run.err()).isZero();
    assertThat(run.out()).containsPattern("(?m)^coordination_id\\s+cli-1$")
        .containsPattern("(?m)^success\\s+true$")
        .containsPattern("(?m)^final_state\\s+committed$")
        .containsPattern("(?m)^participating_stores\\s+a, b$");
    assertThat(run.err()).isEmpty();
    assertThat(TestServer.amount(server.urlA, "cli-1")).hasValue(30);
    assertThat(TestServer.amount(server.urlB, "cli-1")).hasValue(-30);
  }

  @Test
  void submitAndStatusPrintTheHttpApisJson() throws Exception {
    CliRun submit = synod("txn", "submit", file("cli-2.json", transfer("cli-2", 8)),
        "--server", server.grpcAddress(), "--output", "json");
    CliRun status = synod("txn", "status", "cli-2", "--server", server.grpcAddress(),
        "--output", "json");

    assertThat(submit.exitCode()).as(submit.err()).isZero();
    JsonNode result = JSON.readTree(submit.out());
    assertThat(result.get("coordination_id").asText()).isEqualTo("cli-2");
    assertThat(result.get("success").asBoolean()).isTrue();
    assertThat(result.get("final_state").asText()).isEqualTo("committed");
    assertThat(result.get("error_message").isNull()).isTrue();
    assertThat(result.get("operations_completed").asInt()).isEqualTo(2);
    assertThat(status.exitCode()).as(status.err()).isZero();
    assertThat(JSON.readTree(status.out()).get("final_state").asText()).isEqualTo("committed");
    assertThat(TestServer.amount(server.urlB, "cli-2")).hasValue(-8);
  }

  @Test
  void anAbortedCoordinationExitsWithOne() throws Exception {
    TestServer.execute(server.urlA, "INSERT INTO items (id, amount) VALUES ('cli-dup', 0)");

    CliRun run = synod("txn", "submit", file("cli-dup.json", transfer("cli-dup", 4)),
        "--server", server.grpcAddress(), "--output", "json");

    assertThat(run.exitCode()).isEqualTo(1);
    JsonNode result = JSON.readTree(run.out());
    assertThat(result.get("success").asBoolean()).isFalse();
    assertThat(result.get("final_state").asText()).isEqualTo("aborted");
    assertThat(TestServer.amount(server.urlB, "cli-dup")).isEmpty();
  }

  @Test
  void statusOfAnUnknownIdExitsWithFive() {
    CliRun run = synod("txn", "status", "never-seen", "--server", server.grpcAddress());

    assertThat(run.exitCode()).isEqualTo(5);
    assertThat(run.out()).isEmpty();
    assertThat(run.err()).isEqualTo("synod txn status: no coordination 'never-seen' is known\n");
  }

  @Test
  void aMalformedFileExitsWithTwoNamingTheProblem() throws Exception {
    String malformed = file("malformed.json", "{\"operations\": [}");

    CliRun run = synod("txn", "submit", malformed, "--server", server.grpcAddress());

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.out()).isEmpty();
    assertThat(run.err()).startsWith("synod txn submit: " + malformed + " is not valid JSON")
        .contains("line 1, column").hasLineCount(1);
  }

  @Test
  void anUnknownFieldOrAMissingFileExitsWithTwoNamingIt() throws Exception {
    CliRun unknownField = synod("txn", "submit", file("typo.json", "{\"operatons\": []}"),
        "--server", server.grpcAddress());
    CliRun missing = synod("txn", "submit", dir.resolve("missing.json").toString(),
        "--server", server.grpcAddress());

    assertThat(unknownField.exitCode()).isEqualTo(2);
    assertThat(unknownField.err()).startsWith("synod txn submit: operatons: unknown field");
    assertThat(missing.exitCode()).isEqualTo(2);
    assertThat(missing.err()).contains("missing.json").contains("no such file");
  }

  @Test
  void aFieldTheServerRefusesExitsWithTwoNamingIt() throws Exception {
    String body = """
        {"coordination_id": "cli-bad-store",
         "operations": [{"store": "nowhere", "sql": "INSERT INTO items VALUES (?, ?)", "params": ["x", 1]}]}
        """;

    CliRun run = synod("txn", "submit", file("bad-store.json", body), "--server", server.grpcAddress());

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err()).startsWith("synod txn submit: operations[0].store: ")
        .contains("nowhere").hasLineCount(1);
  }

  @Test
  void noServerListeningExitsWithThree() throws Exception {
    CliRun run = synod("txn", "submit", file("cli-3.json", transfer("cli-3", 1)),
        "--server", TestServer.deadAddress(), "--retry-for", "500ms");

    assertThat(run.exitCode()).isEqualTo(3);
    assertThat(run.err()).startsWith("synod txn submit: ").contains("no answer from")
        .hasLineCount(1);
    assertThat(TestServer.amount(server.urlA, "cli-3")).isEmpty();
  }

  @Test
  void abortAndListAnswer() throws Exception {
    synod("txn", "submit", file("cli-4.json", transfer("cli-4", 2)), "--server",
        server.grpcAddress());

    CliRun abort = synod("txn", "abort", "cli-4", "--reason", "too late", "--server",
        server.grpcAddress(), "--output", "json");
    CliRun list = synod("txn", "list", "--server", server.grpcAddress(), "--output", "json");

    assertThat(abort.exitCode()).as(abort.err()).isZero();
    assertThat(JSON.readTree(abort.out()).get("aborted").asBoolean()).isFalse();
    assertThat(list.exitCode()).as(list.err()).isZero();
    assertThat(JSON.readTree(list.out()).get("coordination_ids").isArray()).isTrue();
  }

  @Test
  void clusterStatusAsJsonNamesTheLeader() throws Exception {
    CliRun run = synod("cluster", "status", "--server", server.grpcAddress(), "--output", "json");

    assertThat(run.exitCode()).as(run.err()).isZero();
    JsonNode status = JSON.readTree(run.out());
    assertThat(status.get("leader_id").asText()).isEqualTo("n1");
    assertThat(status.get("term").asLong()).isPositive();
    assertThat(status.get("members")).hasSize(1);
    assertThat(status.get("members").get(0).get("id").asText()).isEqualTo("n1");
    assertThat(status.get("members").get(0).get("leader").asBoolean()).isTrue();
    assertThat(status.get("members").get(0).get("raft_address").asText())
        .isEqualTo(server.server.raftAddress());
  }

  @Test
  void clusterStatusAsATableMarksTheLeader() {
    CliRun run = synod("cluster", "status", "--server", server.grpcAddress());

    assertThat(run.exitCode()).as(run.err()).isZero();
    assertThat(run.out()).containsPattern("(?m)^leader_id\\s+n1$")
        .containsPattern("(?m)^ID\\s+RAFT_ADDRESS\\s+API_ADDRESS\\s+LEADER$")
        .containsPattern("(?m)^n1\\s+\\S+\\s+" + java.util.regex.Pattern.quote(server.grpcAddress())
            + "\\s+\\*$");
  }

  @Test
  void anInvalidServerAddressIsBadInput() {
    CliRun run = synod("txn", "list", "--server", "no-port-here");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err()).startsWith("synod txn list: --server: ").contains("host:port");
  }

  private static CliRun synod(String... args) {
    return CliRun.of(args);
  }

  private static String file(String name, String content) throws Exception {
    Path path = dir.resolve(name);
    Files.writeString(path, content);
    return path.toString();
  }

  private static String transfer(String id, long amount) {
    return """
        {"coordination_id": "%s",
         "operations": [
           {"store": "a", "sql": "INSERT INTO items (id, amount) VALUES (?, ?)", "params": ["%s", %d]},
           {"store": "b", "sql": "INSERT INTO items (id, amount) VALUES (?, ?)", "params": ["%s", %d]}],
         "timeout_seconds": 30,
         "metadata": {"source": "cli-test"}}
        """.formatted(id, id, amount, id, -amount);
  }
}
