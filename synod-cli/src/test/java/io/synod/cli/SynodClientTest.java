package io.synod.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.synod.api.CoordinationEvent;
import io.synod.api.CoordinationRequest;
import io.synod.api.CoordinationResult;
import io.synod.api.ErrorCode;
import io.synod.api.EventBus;
import io.synod.api.SynodException;
import io.synod.api.TransactionState;
import io.synod.client.SynodClient;
import io.synod.proto.v1.ClusterStatus;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link SynodClient} against a real single-node server in this JVM. */
class SynodClientTest {
  @TempDir static Path dir;
  static TestServer server;
  static SynodClient client;

  @BeforeAll
  static void start() throws Exception {
    server = TestServer.start(dir);
    client = SynodClient.connect(List.of(server.grpcAddress()));
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
  void aCoordinationCommitsInBothStores() throws Exception {
    CoordinationResult result = client.coordinateAndWait(transfer("c-1", 40));

    assertThat(result.success()).as(result.errorMessage()).isTrue();
    assertThat(result.finalState()).isEqualTo(TransactionState.COMMITTED);
    assertThat(result.coordinationId()).isEqualTo("c-1");
    assertThat(result.participatingStores()).containsExactly("a", "b");
    assertThat(result.operationsCompleted()).isEqualTo(2);
    assertThat(TestServer.amount(server.urlA, "c-1")).hasValue(40);
    assertThat(TestServer.amount(server.urlB, "c-1")).hasValue(-40);
  }

  @Test
  void theAsynchronousFormCommitsToo() throws Exception {
    CoordinationResult result = client.coordinate(transfer("c-async", 7)).get(60, TimeUnit.SECONDS);

    assertThat(result.success()).as(result.errorMessage()).isTrue();
    assertThat(TestServer.amount(server.urlA, "c-async")).hasValue(7);
    assertThat(TestServer.amount(server.urlB, "c-async")).hasValue(-7);
  }

  @Test
  void aRequestWithoutIdGetsOneAndCommits() throws Exception {
    CoordinationResult result = client.coordinateAndWait(CoordinationRequest.twoPhaseCommit(null)
        .sql("a", "INSERT INTO items (id, amount) VALUES (?, ?)", "no-id", 1)
        .build());

    assertThat(result.success()).as(result.errorMessage()).isTrue();
    assertThat(result.coordinationId()).isNotBlank();
    assertThat(client.status(result.coordinationId())).get()
        .extracting(CoordinationResult::finalState).isEqualTo(TransactionState.COMMITTED);
  }

  @Test
  void aRepeatedIdReturnsTheFirstOutcomeAndRunsNothingAgain() throws Exception {
    CoordinationResult first = client.coordinateAndWait(transfer("dup-1", 5));
    CoordinationResult again = client.coordinateAndWait(CoordinationRequest.twoPhaseCommit("dup-1")
        .sql("a", "INSERT INTO items (id, amount) VALUES (?, ?)", "dup-1-second", 99)
        .build());

    assertThat(first.success()).as(first.errorMessage()).isTrue();
    assertThat(again.coordinationId()).isEqualTo("dup-1");
    assertThat(again.success()).isTrue();
    assertThat(again.finalState()).isEqualTo(TransactionState.COMMITTED);
    assertThat(again.participatingStores()).containsExactly("a", "b");
    assertThat(TestServer.amount(server.urlA, "dup-1-second")).isEmpty();
    assertThat(TestServer.amount(server.urlA, "dup-1")).hasValue(5);
  }

  @Test
  void anAbortVoteIsAResultNotAnError() throws Exception {
    TestServer.execute(server.urlB, "INSERT INTO items (id, amount) VALUES ('taken', 0)");

    CoordinationResult result = client.coordinateAndWait(transfer("taken", 3));

    assertThat(result.success()).isFalse();
    assertThat(result.finalState()).isEqualTo(TransactionState.ABORTED);
    assertThat(result.errorMessage()).contains("b");
    assertThat(TestServer.amount(server.urlA, "taken")).isEmpty();
  }

  @Test
  void anUnknownStoreIsInvalidArgumentNamingTheField() {
    CoordinationRequest request = CoordinationRequest.twoPhaseCommit("bad-store")
        .sql("nowhere", "INSERT INTO items (id, amount) VALUES (?, ?)", "x", 1)
        .build();

    assertThatThrownBy(() -> client.coordinateAndWait(request))
        .isInstanceOfSatisfying(SynodException.class, e -> {
          assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT);
          assertThat(e.field()).hasValue("operations[0].store");
          assertThat(e.getMessage()).contains("nowhere");
        });
    assertThat(client.coordinate(request)).failsWithin(Duration.ofSeconds(30))
        .withThrowableOfType(java.util.concurrent.ExecutionException.class)
        .havingCause().isInstanceOf(SynodException.class);
  }

  @Test
  void statusOfAKnownAndAnUnknownId() {
    client.coordinateAndWait(transfer("st-1", 2));

    Optional<CoordinationResult> known = client.status("st-1");
    assertThat(known).get().satisfies(r -> {
      assertThat(r.finalState()).isEqualTo(TransactionState.COMMITTED);
      assertThat(r.success()).isTrue();
    });
    assertThat(client.status("never-seen")).isEmpty();
    assertThat(client.abort("st-1", "too late")).isFalse();
  }

  /**
   * A row lock held here keeps a coordination preparing: it is listed as active, the abort is
   * certain, and once the lock is released the coordination ends aborted with nothing written.
   */
  @Test
  void aPreparingCoordinationIsListedAndCanBeAborted() throws Exception {
    TestServer.execute(server.urlA, "INSERT INTO items (id, amount) VALUES ('held', 0)");
    CompletableFuture<CoordinationResult> outcome;
    try (Connection holder = DriverManager.getConnection(server.urlA, "sa", "");
        Statement s = holder.createStatement()) {
      holder.setAutoCommit(false);
      s.executeUpdate("UPDATE items SET amount = 1 WHERE id = 'held'");
      outcome = client.coordinate(CoordinationRequest.twoPhaseCommit("ab-1")
          .sql("a", "UPDATE items SET amount = 100 WHERE id = ?", "held")
          .sql("b", "INSERT INTO items (id, amount) VALUES (?, ?)", "ab-1", 100)
          .build());
      awaitActive("ab-1");

      assertThat(client.abort("ab-1", "test")).isTrue();
      holder.rollback();
    }
    CoordinationResult result = outcome.get(60, TimeUnit.SECONDS);

    assertThat(result.success()).isFalse();
    assertThat(result.finalState()).isEqualTo(TransactionState.ABORTED);
    assertThat(TestServer.amount(server.urlA, "held")).hasValue(0);
    assertThat(TestServer.amount(server.urlB, "ab-1")).isEmpty();
  }

  @Test
  void aDeadEndpointFirstInTheListDoesNotStopTheClient() throws Exception {
    try (SynodClient failover = SynodClient.builder(
        List.of(TestServer.deadAddress(), server.grpcAddress())).build()) {
      CoordinationResult result = failover.coordinateAndWait(transfer("fo-1", 11));

      assertThat(result.success()).as(result.errorMessage()).isTrue();
      assertThat(TestServer.amount(server.urlB, "fo-1")).hasValue(-11);
      assertThat(failover.status("fo-1")).isPresent();
      assertThat(failover.clusterStatus().getLeaderId()).isEqualTo("n1");
    }
  }

  @Test
  void noServerAnsweringIsUnavailableOnceTheBudgetIsSpent() throws Exception {
    try (SynodClient nowhere = SynodClient.builder(List.of(TestServer.deadAddress()))
        .retryFor(Duration.ofMillis(300)).build()) {
      assertThatThrownBy(() -> nowhere.coordinateAndWait(transfer("nowhere-1", 1)))
          .isInstanceOfSatisfying(SynodException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE);
            assertThat(e.getMessage()).contains("nowhere-1").contains("no answer from");
          });
    }
    assertThat(TestServer.amount(server.urlA, "nowhere-1")).isEmpty();
  }

  @Test
  void clusterStatusNamesTheLeader() {
    ClusterStatus status = client.clusterStatus();

    assertThat(status.getLeaderId()).isEqualTo("n1");
    assertThat(status.getNodeId()).isEqualTo("n1");
    assertThat(status.getMembersList()).singleElement().satisfies(member -> {
      assertThat(member.getId()).isEqualTo("n1");
      assertThat(member.getLeader()).isTrue();
    });
  }

  /**
   * The stream is registered on the server some time after subscribe() returns, so
   * coordinations are run until one of them is seen completing.
   */
  @Test
  void aSubscriptionSeesCoordinationsComplete() throws Exception {
    LinkedBlockingQueue<CoordinationEvent> events = new LinkedBlockingQueue<>();
    Set<String> sent = new HashSet<>();
    CoordinationEvent.Completed seen = null;
    EventBus.Subscription subscription = client.events().subscribe(events::add);
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      for (int i = 0; seen == null && System.nanoTime() < deadline; i++) {
        String id = "ev-" + i;
        sent.add(id);
        client.coordinateAndWait(transfer(id, 1));
        seen = completedAmong(events, sent);
      }
    } finally {
      subscription.close();
    }

    assertThat(seen).as("a COORDINATION_COMPLETED of %s", sent).isNotNull();
    assertThat(seen.success()).isTrue();
    assertThat(seen.finalState()).isEqualTo(TransactionState.COMMITTED);
  }

  @Test
  void aClientCannotPublishEvents() {
    assertThatThrownBy(() -> client.events().publish(
        new CoordinationEvent.Failed("x", "no", 0)))
        .isInstanceOf(UnsupportedOperationException.class)
        .hasMessageContaining("published by the synod servers");
  }

  @Test
  void badEndpointsAreRefusedWhenBuilding() {
    assertThatThrownBy(() -> SynodClient.connect(List.of("localhost")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("host:port");
    assertThatThrownBy(() -> SynodClient.connect(List.of("localhost:99999")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1 to 65535");
    assertThatThrownBy(() -> SynodClient.connect(List.of()))
        .isInstanceOf(IllegalArgumentException.class);
  }

  private static CoordinationEvent.Completed completedAmong(
      LinkedBlockingQueue<CoordinationEvent> events, Set<String> ids) throws InterruptedException {
    CoordinationEvent event;
    while ((event = events.poll(200, TimeUnit.MILLISECONDS)) != null) {
      if (event instanceof CoordinationEvent.Completed done && ids.contains(done.coordinationId())) {
        return done;
      }
    }
    return null;
  }

  private static void awaitActive(String id) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!client.listActive().contains(id)) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(id + " was never listed as active");
      }
      Thread.sleep(20);
    }
  }

  private static CoordinationRequest transfer(String id, long amount) {
    return CoordinationRequest.twoPhaseCommit(id)
        .sql("a", "INSERT INTO items (id, amount) VALUES (?, ?)", id, amount)
        .sql("b", "INSERT INTO items (id, amount) VALUES (?, ?)", id, -amount)
        .build();
  }
}
