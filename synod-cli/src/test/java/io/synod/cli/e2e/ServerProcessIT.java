package io.synod.cli.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.synod.engine.testing.TestDatabase;
import io.synod.engine.testing.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code synod serve} as a real process over a real PostgreSQL and an H2 file: transactions
 * arrive through the CLI (another process) and through curl, commit in both stores, and move
 * the counters on /metrics; bad input through every door is refused with the documented error
 * while the server goes on serving.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ServerProcessIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int MAX_REQUEST_BYTES = 65_536;

  @TempDir static Path dir;
  static TestDatabase pg;
  static String h2Url;
  static ServerProcess server;

  @BeforeAll
  static void startServer() throws Exception {
    pg = TestPostgres.get().newDatabase();
    try (Connection c = pg.connect(); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE orders (id TEXT PRIMARY KEY, amount BIGINT NOT NULL)");
    }
    // AUTO_SERVER lets this JVM read the file while the server process holds it.
    h2Url = "jdbc:h2:file:" + dir.resolve("ledger").toAbsolutePath() + ";AUTO_SERVER=TRUE";
    try (Connection c = DriverManager.getConnection(h2Url, "sa", "");
        Statement s = c.createStatement()) {
      s.execute("CREATE TABLE entries (id VARCHAR(64) PRIMARY KEY, amount BIGINT NOT NULL)");
    }
    Path config = dir.resolve("synod.yaml");
    Files.writeString(config, """
        coordination_service:
          cluster_id: e2e
          data_dir: %s
          listen: {http_port: 0, grpc_port: 0, raft_port: 0}
          stores:
            - {name: orders, type: postgresql, jdbc_url: "%s", username: %s, password: "%s"}
            - {name: ledger, type: h2, jdbc_url: "%s", username: sa, password: ""}
          performance: {max_request_bytes: %d}
        """.formatted(dir.resolve("data"), pg.url(), pg.user(), pg.password(), h2Url,
        MAX_REQUEST_BYTES));
    server = ServerProcess.start(config, Map.of("SYNOD_MONITORING_LOG_FORMAT", "json"))
        .awaitListening().awaitReady();
  }

  @AfterAll
  static void stopServer() throws Exception {
    if (server != null) {
      server.close();
    }
  }

  @Test
  @Order(1)
  void aTransactionSubmittedWithTheCliCommitsInPostgresAndH2() throws Exception {
    Path request = dir.resolve("order-1.json");
    Files.writeString(request, transfer("order-1", 250));

    Cli.Run run = Cli.run("txn", "submit", request.toString(), "--server", server.grpcAddress(),
        "--output", "json");

    assertThat(run.exitCode()).as(run.stderr()).isZero();
    JsonNode result = JSON.readTree(run.stdout());
    assertThat(result.get("success").asBoolean()).isTrue();
    assertThat(result.get("final_state").asText()).isEqualTo("committed");
    assertThat(amountIn(pg.url(), pg.user(), pg.password(), "orders", "order-1")).isEqualTo(250);
    assertThat(amountIn(h2Url, "sa", "", "entries", "order-1")).isEqualTo(-250);
  }

  @Test
  @Order(2)
  void aTransactionSubmittedWithCurlCommitsAndItsStatusIsKept() throws Exception {
    Cli.Run post = Cli.curl("-X", "POST", "-H", "Content-Type: application/json",
        "--data", transfer("order-2", 75), url("/v1/coordinations"));

    JsonNode result = JSON.readTree(post.stdout());
    assertThat(result.get("success").asBoolean()).as(post.stdout()).isTrue();
    assertThat(result.get("participating_stores")).hasSize(2);
    assertThat(amountIn(pg.url(), pg.user(), pg.password(), "orders", "order-2")).isEqualTo(75);
    assertThat(amountIn(h2Url, "sa", "", "entries", "order-2")).isEqualTo(-75);

    Cli.Run status = Cli.curl(url("/v1/coordinations/order-2"));
    assertThat(JSON.readTree(status.stdout()).get("final_state").asText()).isEqualTo("committed");
    Cli.Run cliStatus = Cli.run("txn", "status", "order-2", "--server", server.grpcAddress(),
        "--output", "json");
    assertThat(cliStatus.exitCode()).isZero();
    assertThat(JSON.readTree(cliStatus.stdout()).get("final_state").asText())
        .isEqualTo("committed");
  }

  @Test
  @Order(3)
  void metricsShowTheCountersMoved() throws Exception {
    String metrics = server.get("/metrics").body();

    assertThat(sample(metrics, "coordination_transactions_total\\{outcome=\"committed\"\\}"))
        .isGreaterThanOrEqualTo(2);
    assertThat(sample(metrics, "coordination_transaction_duration_seconds_count"))
        .isGreaterThanOrEqualTo(2);
    assertThat(metrics).contains("coordination_transaction_duration_seconds_bucket")
        .contains("synod_raft_commit_index").contains("jvm_memory_used_bytes")
        .contains("coordination_active_locks_count");
  }

  @Test
  @Order(4)
  void badInputThroughEveryDoorIsRefusedAndTheServerKeepsServing() throws Exception {
    assertRefused(post("{\"coordination_id\": \"bad-1\", \"operations\": ["), 400, "INVALID_ARGUMENT",
        "body", "not valid JSON");
    assertRefused(post("{\"coordination_id\": \"bad-2\", \"operatons\": []}"), 400,
        "INVALID_ARGUMENT", "operatons", "unknown field");
    assertRefused(post("{\"coordination_id\": \"bad-3\", \"timeout_seconds\": \"soon\","
        + " \"operations\": []}"), 400, "INVALID_ARGUMENT", "timeout_seconds", "must be a number");
    assertRefused(post("{\"coordination_id\": \"bad-4\", \"operations\": [{\"store\": \"orders\","
        + " \"sql\": \"INSERT INTO orders VALUES (?, ?)\", \"params\": [[1], 2]}]}"), 400,
        "INVALID_ARGUMENT", "operations[0].params[0]", "must be a string, number");
    assertRefused(post("{\"coordination_id\": \"bad-5\", \"operations\": [{\"store\": \"nowhere\","
        + " \"sql\": \"SELECT 1\"}]}"), 400, "INVALID_ARGUMENT", "operations[0].store", "unknown store 'nowhere'");
    assertRefused(post("{\"coordination_id\": \"bad-6\", \"operations\": []}"), 400,
        "INVALID_ARGUMENT", "operations", "at least one operation");
    String oversized = "{\"coordination_id\": \"bad-7\", \"metadata\": {\"pad\": \""
        + "x".repeat(MAX_REQUEST_BYTES) + "\"}, \"operations\": []}";
    assertRefused(post(oversized), 413, "RESOURCE_EXHAUSTED", "body", "larger than the limit");
    assertRefused(Cli.curl("-w", "\n%{http_code}", url("/v1/coordinations/never-seen")), 404,
        "NOT_FOUND", "coordination_id", "never-seen");
    assertRefused(Cli.curl("-w", "\n%{http_code}", "-X", "DELETE", url("/v1/coordinations")),
        405, "INVALID_ARGUMENT", "method", "use GET, POST");

    Path malformed = dir.resolve("malformed.json");
    Files.writeString(malformed, "{\"operations\": [}");
    Cli.Run cli = Cli.run("txn", "submit", malformed.toString(), "--server", server.grpcAddress());
    assertThat(cli.exitCode()).isEqualTo(2);
    assertThat(cli.stderr()).contains("synod txn submit:");

    // Nothing of the refused requests was prepared or applied, and a valid request still commits.
    try (Connection c = DriverManager.getConnection(pg.url(), pg.user(), pg.password());
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()")) {
      rs.next();
      assertThat(rs.getInt(1)).isZero();
    }
    JsonNode ok = JSON.readTree(Cli.curl("-X", "POST", "-H", "Content-Type: application/json",
        "--data", transfer("order-3", 10), url("/v1/coordinations")).stdout());
    assertThat(ok.get("success").asBoolean()).isTrue();
    assertThat(server.isAlive()).isTrue();
  }

  @Test
  @Order(5)
  void anInvalidConfigurationStopsStartUpNamingTheKey() throws Exception {
    Path config = dir.resolve("invalid.yaml");
    Files.writeString(config, """
        coordination_service:
          listen: {http_port: 70000}
        """);
    try (ServerProcess invalid = ServerProcess.start(config, Map.of())) {
      assertThat(invalid.awaitExit()).isEqualTo(2);
      assertThat(invalid.log()).contains("http_port").contains("70000").contains("65535");
    }
  }

  private static String transfer(String id, long amount) {
    return """
        {"coordination_id": "%s",
         "operations": [
           {"store": "orders", "sql": "INSERT INTO orders (id, amount) VALUES (?, ?)", "params": ["%s", %d]},
           {"store": "ledger", "sql": "INSERT INTO entries (id, amount) VALUES (?, ?)", "params": ["%s", %d]}],
         "metadata": {"source": "e2e"}}
        """.formatted(id, id, amount, id, -amount);
  }

  private static Cli.Run post(String body) throws Exception {
    Path file = Files.createTempFile(dir, "body", ".json");
    Files.writeString(file, body);
    return Cli.curl("-w", "\n%{http_code}", "-X", "POST", "-H", "Content-Type: application/json",
        "--data-binary", "@" + file, url("/v1/coordinations"));
  }

  private static void assertRefused(Cli.Run run, int status, String code, String field,
      String message) throws Exception {
    String out = run.stdout();
    int split = out.lastIndexOf('\n');
    assertThat(Integer.parseInt(out.substring(split + 1).strip())).as(out).isEqualTo(status);
    JsonNode error = JSON.readTree(out.substring(0, split)).get("error");
    assertThat(error.get("code").asText()).as(out).isEqualTo(code);
    assertThat(error.get("field").asText()).as(out).isEqualTo(field);
    assertThat(error.get("message").asText()).as(out).contains(message);
  }

  private static String url(String path) {
    return "http://" + server.httpAddress() + path;
  }

  private static long amountIn(String url, String user, String password, String table, String id)
      throws SQLException {
    try (Connection c = DriverManager.getConnection(url, user, password);
        var s = c.prepareStatement("SELECT amount FROM " + table + " WHERE id = ?")) {
      s.setString(1, id);
      try (ResultSet rs = s.executeQuery()) {
        assertThat(rs.next()).as("row %s in %s", id, table).isTrue();
        return rs.getLong(1);
      }
    }
  }

  private static double sample(String metrics, String name) {
    Matcher m = Pattern.compile("(?m)^" + name + " (\\S+)$").matcher(metrics);
    assertThat(m.find()).as("metric %s in %n%s", name, metrics).isTrue();
    return Double.parseDouble(m.group(1));
  }
}
