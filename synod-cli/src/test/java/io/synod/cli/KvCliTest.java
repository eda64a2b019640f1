package io.synod.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code synod kv ...} against a real server in this JVM with the key-value store's defaults:
 * three embedded storage nodes and tenant "default".
 */
@Timeout(120)
class KvCliTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir static Path dir;
  static TestServer server;

  @BeforeAll
  static void start() throws Exception {
    server = TestServer.start(dir, true);
  }

  @AfterAll
  static void stop() {
    if (server != null) {
      server.close();
    }
  }

  @Test
  void putThenGetPrintsTheValueAndDeleteMakesItNotFound() throws Exception {
    CliRun put = kv("put", "default", "users/1", "Alice", "--consistency", "all");

    assertThat(put.exitCode()).as(put.err()).isZero();
    assertThat(put.out()).containsPattern("(?m)^key\\s+users/1$")
        .containsPattern("(?m)^vector_clock\\s+\\{\"n1\":1}$")
        .containsPattern("(?m)^replica_count\\s+3$")
        .containsPattern("(?m)^consistency\\s+all$")
        .containsPattern("(?m)^is_duplicate\\s+false$");

    CliRun get = kv("get", "default", "users/1");
    assertThat(get.exitCode()).as(get.err()).isZero();
    assertThat(get.out()).isEqualTo("Alice\n");

    CliRun json = kv("get", "default", "users/1", "--consistency", "one", "--output", "json");
    assertThat(json.exitCode()).as(json.err()).isZero();
    JsonNode read = JSON.readTree(json.out());
    assertThat(read.get("value").asText()).isEqualTo("Alice");
    assertThat(read.get("vector_clock").get("n1").asLong()).isEqualTo(1);
    assertThat(read.get("consistency").asText()).isEqualTo("one");

    CliRun delete = kv("delete", "default", "users/1", "--output", "json");
    assertThat(delete.exitCode()).as(delete.err()).isZero();
    assertThat(JSON.readTree(delete.out()).get("vector_clock").get("n1").asLong()).isEqualTo(2);
    CliRun gone = kv("get", "default", "users/1");
    assertThat(gone.exitCode()).isEqualTo(5);
    assertThat(gone.err()).isEqualTo("synod kv get: no key 'users/1' in tenant 'default': never "
        + "written, or deleted\n");
  }

  @Test
  void anIdempotencyKeyMakesTheRetryADuplicateAndBase64CarriesBytes() throws Exception {
    CliRun first = kv("put", "default", "bin", "/wD+", "--base64", "--idempotency-key", "cli-1",
        "--output", "json");
    CliRun again = kv("put", "default", "bin", "/wD+", "--base64", "--idempotency-key", "cli-1",
        "--output", "json");

    assertThat(first.exitCode()).as(first.err()).isZero();
    assertThat(JSON.readTree(first.out()).get("is_duplicate").asBoolean()).isFalse();
    assertThat(JSON.readTree(again.out()).get("is_duplicate").asBoolean()).isTrue();
    assertThat(JSON.readTree(again.out()).get("vector_clock"))
        .isEqualTo(JSON.readTree(first.out()).get("vector_clock"));
    CliRun get = kv("get", "default", "bin");
    assertThat(get.out()).isEqualTo("/wD+\n");
    assertThat(get.err()).contains("not UTF-8 text; it is printed in base64");
  }

  @Test
  void siblingsPrintTheWholeAnswerWithATableOfVersions() {
    kv("put", "default", "sib", "one");

    CliRun get = kv("get", "default", "sib", "--siblings");

    assertThat(get.exitCode()).as(get.err()).isZero();
    assertThat(get.out()).containsPattern("(?m)^value\\s+one$")
        .containsPattern("(?m)^VALUE\\s+VALUE_BASE64\\s+VECTOR_CLOCK\\s+TIMESTAMP_MILLIS\\s+"
            + "WRITER\\s+TOMBSTONE$")
        .containsPattern("(?m)^one\\s+b25l\\s+\\{\"n1\":1}\\s+\\d+\\s+n1$");
  }

  @Test
  void aBadConsistencyExitsWithTwoNamingTheOption() {
    CliRun run = kv("put", "default", "k", "v", "--consistency", "most");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err()).isEqualTo("synod kv put: --consistency: must be one of one, quorum, "
        + "all (was 'most')\n");
    assertThat(run.out()).isEmpty();
  }

  @Test
  void aFieldTheServerRefusesExitsWithTwoNamingIt() {
    CliRun run = kv("put", "default", "", "v");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err()).startsWith("synod kv put: key: must not be empty");
  }

  @Test
  void anUnknownTenantExitsWithFive() {
    CliRun put = kv("put", "nosuch", "k", "v");

    assertThat(put.exitCode()).isEqualTo(5);
    assertThat(put.err()).startsWith("synod kv put: tenant_id: no tenant 'nosuch'");
    assertThat(put.out()).isEmpty();
    assertThat(kv("get", "nosuch", "k").exitCode()).isEqualTo(5);
    assertThat(kv("tenants", "get", "nosuch").exitCode()).isEqualTo(5);
  }

  @Test
  void tenantsAreCreatedChangedListedAndDeleted() throws Exception {
    CliRun created = kv("tenants", "create", "shop", "--replication-factor", "2", "--output",
        "json");

    assertThat(created.exitCode()).as(created.err()).isZero();
    assertThat(JSON.readTree(created.out()).get("replication_factor").asInt()).isEqualTo(2);
    CliRun updated = kv("tenants", "update", "shop", "--default-consistency", "one", "--output",
        "json");
    assertThat(updated.exitCode()).as(updated.err()).isZero();
    JsonNode tenant = JSON.readTree(updated.out());
    assertThat(tenant.get("default_consistency").asText()).isEqualTo("one");
    assertThat(tenant.get("replication_factor").asInt()).isEqualTo(2);
    CliRun list = kv("tenants", "list");
    assertThat(list.out()).containsPattern("(?m)^TENANT_ID\\s+REPLICATION_FACTOR")
        .containsPattern("(?m)^default\\s+3\\s+quorum")
        .containsPattern("(?m)^shop\\s+2\\s+one");
    CliRun bad = kv("tenants", "update", "shop", "--replication-factor", "9");
    assertThat(bad.exitCode()).isEqualTo(2);
    assertThat(bad.err()).startsWith("synod kv tenants update: --replication-factor: must be 1 "
        + "to 7");
    CliRun deleted = kv("tenants", "delete", "shop", "--output", "json");
    assertThat(JSON.readTree(deleted.out()).get("deleted").asBoolean()).isTrue();
    assertThat(kv("tenants", "update", "shop", "--replication-factor", "1").exitCode())
        .isEqualTo(5);
  }

  @Test
  void nodesListsTheEmbeddedStorageNodes() {
    CliRun list = kv("nodes", "list");

    assertThat(list.exitCode()).as(list.err()).isZero();
    assertThat(list.out()).containsPattern("(?m)^NODE_ID\\s+ADDRESS$")
        .containsPattern("(?m)^n1-kv1\\s+127\\.0\\.0\\.1:\\d+$")
        .containsPattern("(?m)^n1-kv3\\s+127\\.0\\.0\\.1:\\d+$");
    CliRun remove = kv("nodes", "remove", "nowhere");
    assertThat(remove.exitCode()).isEqualTo(5);
    assertThat(remove.err()).contains("node_id: storage node nowhere is not on the ring");
  }

  @Test
  void aSagaFileInYamlWritesAKeyAndItsCompensationDeletesIt() throws Exception {
    TestServer.execute(server.urlB, "INSERT INTO items (id, amount) VALUES ('ks-dup', 0)");

    CliRun done = saga("ks-ok");
    CliRun aborted = saga("ks-dup");

    assertThat(done.exitCode()).as(done.err()).isZero();
    assertThat(JSON.readTree(done.out()).get("state").asText()).isEqualTo("completed");
    assertThat(kv("get", "default", "order/ks-ok").out()).isEqualTo("paid ks-ok\n");
    assertThat(aborted.exitCode()).as(aborted.err()).isEqualTo(1);
    JsonNode status = JSON.readTree(aborted.out());
    assertThat(status.get("state").asText()).isEqualTo("aborted");
    assertThat(status.get("steps").get(0).get("state").asText()).isEqualTo("compensated");
    assertThat(kv("get", "default", "order/ks-dup").exitCode()).isEqualTo(5);
  }

  /**
   * {@code synod saga start} of a YAML file: a key written in the key-value store (undone by
   * deleting it), then a row in store b, which fails when the row exists.
   */
  private static CliRun saga(String sagaId) throws Exception {
    Path file = dir.resolve(sagaId + ".yaml");
    java.nio.file.Files.writeString(file, """
        saga_id: %s
        definition:
          name: order
          steps:
            - name: mark
              forward_operation: {store: kv, tenant_id: default, key: "order/{{saga.saga_id}}",
                                  value: "paid {{saga.saga_id}}"}
              compensation_operation: {store: kv, tenant_id: default,
                                       key: "order/{{saga.saga_id}}", delete: true}
              retry_policy: {max_attempts: 1}
            - name: book
              forward_operation:
                store: b
                sql: INSERT INTO items (id, amount) VALUES (?, 1)
                params: ["{{saga.saga_id}}"]
              retry_policy: {max_attempts: 1}
        """.formatted(sagaId));
    return CliRun.of("saga", "start", file.toString(), "--server", server.grpcAddress(),
        "--output", "json");
  }

  /** {@code synod kv ARGS --server <the test server>}. */
  private static CliRun kv(String... args) {
    String[] full = new String[args.length + 3];
    full[0] = "kv";
    System.arraycopy(args, 0, full, 1, args.length);
    full[args.length + 1] = "--server";
    full[args.length + 2] = server.grpcAddress();
    return CliRun.of(full);
  }
}
