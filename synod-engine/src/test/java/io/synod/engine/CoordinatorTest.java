package io.synod.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.synod.api.CoordinationEvent;
import io.synod.api.CoordinationRequest;
import io.synod.api.CoordinationResult;
import io.synod.api.CoordinationType;
import io.synod.api.ErrorCode;
import io.synod.api.SqlOperation;
import io.synod.api.SynodException;
import io.synod.api.TransactionState;
import io.synod.api.spi.AbortReason;
import io.synod.api.spi.Vote;
import io.synod.engine.log.LogConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The coordinator's protocol on a real single-replica Ratis log, with scripted participants. */
class CoordinatorTest {
  @TempDir Path dir;
  private ScriptedParticipant a;
  private ScriptedParticipant b;
  private SynodNode node;
  private int raftPort;

  @BeforeEach
  void start() throws Exception {
    a = new ScriptedParticipant("a");
    b = new ScriptedParticipant("b");
    raftPort = LogConfig.freeLoopbackPort();
    node = startNode(CoordinatorConfig.DEFAULTS
        .withParticipantResponseTimeout(Duration.ofMillis(300))
        .withRecoveryInterval(Duration.ofHours(1)), 10_000);
  }

  private SynodNode startNode(CoordinatorConfig config, long snapshotEvery) throws Exception {
    LogConfig log = LogConfig.singleNode("test", dir.resolve("log"), raftPort)
        .withSnapshotEveryEntries(snapshotEvery);
    return SynodNode.start(log, config, List.of(a, b)).awaitLeadership(30, TimeUnit.SECONDS);
  }

  @AfterEach
  void stop() {
    node.close();
  }

  private static CoordinationRequest transfer(String id) {
    return CoordinationRequest.twoPhaseCommit(id)
        .sql("a", "UPDATE t SET v = v - 1 WHERE id = ?", 1)
        .sql("b", "UPDATE t SET v = v + 1 WHERE id = ?", 1)
        .build();
  }

  @Test
  void allVotesCommitCommitsEverywhereAndPublishesEvents() {
    List<CoordinationEvent> events = new CopyOnWriteArrayList<>();
    node.coordination().events().subscribe(events::add);

    CoordinationResult result = node.coordination().coordinate(transfer("t1")).join();

    assertThat(result.success()).isTrue();
    assertThat(result.finalState()).isEqualTo(TransactionState.COMMITTED);
    assertThat(result.operationsCompleted()).isEqualTo(2);
    assertThat(a.committed).singleElement().asString().startsWith("synod_test_").endsWith("_0");
    assertThat(b.committed).singleElement().asString().endsWith("_1");
    String key = a.committed.iterator().next().replaceAll("_0$", "");
    assertThat(b.committed.iterator().next()).isEqualTo(key + "_1");
    assertThat(a.prepared).isEmpty();
    assertThat(events).extracting(CoordinationEvent::type)
        .containsExactly("COORDINATION_STARTED", "COORDINATION_COMPLETED");
  }

  @Test
  void coordinateAndWaitDrivesTheRunOnTheCallersThread() {
    List<String> threads = new CopyOnWriteArrayList<>();
    b.voter = ops -> {
      threads.add(Thread.currentThread().getName());
      return Vote.commit();
    };

    CoordinationResult result = node.coordination().coordinateAndWait(transfer("inline"));

    assertThat(result.finalState()).isEqualTo(TransactionState.COMMITTED);
    assertThat(threads).containsExactly(Thread.currentThread().getName());
    assertThat(a.committed).hasSize(1);
    assertThat(b.committed).hasSize(1);
    // A repeat answers from the log, and bad input throws as the future would have failed.
    assertThat(node.coordination().coordinateAndWait(transfer("inline"))).isEqualTo(result);
    assertThatThrownBy(() -> node.coordination().coordinateAndWait(
            CoordinationRequest.twoPhaseCommit("bad").sql("nope", "SELECT 1").build()))
        .isInstanceOfSatisfying(SynodException.class,
            e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT));
  }

  @Test
  void oneAbortVoteRollsBackTheOthersAndNamesTheStoreAndReason() {
    b.voter = ops -> Vote.abort(AbortReason.CONSTRAINT_VIOLATION, "operations[0]: check failed");

    CoordinationResult result = node.coordination().coordinate(transfer("t1")).join();

    assertThat(result.success()).isFalse();
    assertThat(result.finalState()).isEqualTo(TransactionState.ABORTED);
    assertThat(result.errorMessage()).contains("store 'b'", "CONSTRAINT_VIOLATION", "check failed");
    // b's only operation is the request's second: the message names it as the caller knows it
    assertThat(result.errorMessage()).contains("operations[1]: check failed");
    assertThat(result.operationsFailed()).isEqualTo(2);
    assertThat(a.rolledBack).hasSize(1);
    assertThat(a.committed).isEmpty();
    assertThat(a.prepared).isEmpty();
  }

  /** More runs than cores at once: each asks its stores in turn, so a first abort spares b. */
  @Test
  void underLoadStoresAreAskedInTurnAndAnAbortVoteSparesTheStoresAfterIt() {
    int cores = Runtime.getRuntime().availableProcessors();
    int runs = cores + 6;
    // a answers slowly, so every run is still driving when the last one starts
    a.prepareDelay = Duration.ofMillis(150);
    a.voter = ops -> Vote.abort(AbortReason.CONSTRAINT_VIOLATION, "operations[0]: check failed");

    List<CoordinationResult> results = startAll(runs, "load-");

    assertThat(results).allSatisfy(r -> {
      assertThat(r.finalState()).isEqualTo(TransactionState.ABORTED);
      assertThat(r.errorMessage()).contains("store 'a'", "CONSTRAINT_VIOLATION");
    });
    // Only runs that started while no more than `cores` were driving call b in parallel.
    assertThat(b.prepareCalls.get()).isLessThanOrEqualTo(cores);
    assertThat(a.prepared).isEmpty();
    assertThat(b.prepared).isEmpty();
    assertThat(b.committed).isEmpty();
  }

  @Test
  void underLoadEveryStoreStillCommitsInTurn() {
    int runs = Runtime.getRuntime().availableProcessors() + 6;
    a.prepareDelay = Duration.ofMillis(150);

    List<CoordinationResult> results = startAll(runs, "commit-");

    assertThat(results).allSatisfy(r -> assertThat(r.finalState())
        .isEqualTo(TransactionState.COMMITTED));
    assertThat(a.committed).hasSize(runs);
    assertThat(b.committed).hasSize(runs);
    assertThat(a.prepared).isEmpty();
    assertThat(b.prepared).isEmpty();
  }

  /** Starts {@code runs} coordinations at once, then waits for all of them. */
  private List<CoordinationResult> startAll(int runs, String idPrefix) {
    List<CompletableFuture<CoordinationResult>> started = IntStream.range(0, runs)
        .mapToObj(i -> node.coordination().coordinate(transfer(idPrefix + i)))
        .toList();
    return started.stream().map(CompletableFuture::join).toList();
  }

  @Test
  void aParticipantThatDoesNotVoteInTimeAbortsAndItsLatePrepareIsRolledBack() throws Exception {
    b.prepareDelay = Duration.ofMillis(900);

    CoordinationResult result = node.coordination().coordinate(transfer("slow")).join();

    assertThat(result.finalState()).isEqualTo(TransactionState.ABORTED);
    assertThat(result.errorMessage()).contains("store 'b'", "TIMEOUT", "did not vote within 300 ms");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (!b.prepared.isEmpty() || b.rolledBack.isEmpty()) {
      assertThat(System.nanoTime()).as("late prepare rolled back").isLessThan(deadline);
      Thread.sleep(20);
    }
    assertThat(b.committed).isEmpty();
  }

  @Test
  void aRepeatedCoordinationIdReturnsTheFirstOutcomeAndRunsNothingAgain() {
    CoordinationResult first = node.coordination().coordinate(transfer("same")).join();
    b.voter = ops -> Vote.abort(AbortReason.CONFLICT, "would abort if run again");

    CoordinationResult second = node.coordination().coordinate(transfer("same")).join();

    assertThat(second.success()).isTrue();
    assertThat(second.finalState()).isEqualTo(TransactionState.COMMITTED);
    assertThat(second.coordinationId()).isEqualTo(first.coordinationId());
    assertThat(a.prepareCalls.get()).isEqualTo(1);
    assertThat(b.prepareCalls.get()).isEqualTo(1);
  }

  @Test
  void badRequestsNameTheFieldAndPrepareNothing() {
    assertInvalid(CoordinationRequest.twoPhaseCommit("x").sql("nope", "SELECT 1").build(),
        "operations[0].store", "unknown store 'nope'");
    assertInvalid(new CoordinationRequest("x", CoordinationType.TWO_PHASE_COMMIT,
        List.of("a", "nope"), List.of(new SqlOperation("a", "UPDATE t SET v = 1", List.of())),
        Duration.ofSeconds(5), null, Map.of()), "participating_stores[1]", "unknown store 'nope'");
    assertInvalid(new CoordinationRequest("x", CoordinationType.TWO_PHASE_COMMIT, List.of("a"),
        List.of(), Duration.ofSeconds(5), null, Map.of()), "operations", "at least one");
    assertInvalid(CoordinationRequest.twoPhaseCommit(" ").sql("a", "SELECT 1").build(),
        "coordination_id", "blank");
    assertInvalid(new CoordinationRequest("x", CoordinationType.TWO_PHASE_COMMIT, List.of("a"),
        List.of(new SqlOperation("b", "UPDATE t SET v = 1", List.of())), Duration.ofSeconds(5),
        null, Map.of()), "operations[0].store", "not one of participating_stores");
    assertInvalid(CoordinationRequest.twoPhaseCommit("x").sql("a", "UPDATE t SET v = ?", new Object())
        .build(), "operations[0].params[0]", "cannot be bound");
    assertInvalid(CoordinationRequest.twoPhaseCommit("x").sql("a", "SELECT 1")
        .timeout(Duration.ZERO).build(), "timeout_seconds", "positive");
    assertThat(a.prepareCalls.get() + b.prepareCalls.get()).isZero();
    assertThat(node.coordination().listActive()).isEmpty();
  }

  private void assertInvalid(CoordinationRequest request, String field, String rule) {
    assertThatThrownBy(() -> node.coordination().coordinate(request).join())
        .isInstanceOf(CompletionException.class)
        .cause().isInstanceOf(SynodException.class)
        .hasMessageContaining(field).hasMessageContaining(rule)
        .satisfies(e -> assertThat(((SynodException) e).code()).isEqualTo(ErrorCode.INVALID_ARGUMENT))
        .satisfies(e -> assertThat(((SynodException) e).field()).contains(field));
  }

  @Test
  void anAbortRequestWinsOverAPendingCommit() throws Exception {
    b.prepareDelay = Duration.ofMillis(200);
    var future = node.coordination().coordinate(transfer("victim"));
    Thread.sleep(50);

    assertThat(node.coordination().abort("victim", "operator said so")).isTrue();

    CoordinationResult result = future.join();
    assertThat(result.finalState()).isEqualTo(TransactionState.ABORTED);
    assertThat(result.errorMessage()).contains("operator said so");
    assertThat(a.committed).isEmpty();
    assertThat(b.committed).isEmpty();
  }

  @Test
  void aCommittedTransactionCannotBeAborted() {
    node.coordination().coordinate(transfer("done")).join();
    assertThat(node.coordination().abort("done", "too late")).isFalse();
    assertThat(node.coordination().status("done")).get()
        .extracting(CoordinationResult::finalState).isEqualTo(TransactionState.COMMITTED);
  }

  @Test
  void commitIsRetriedUntilTheParticipantAcknowledges() {
    b.commitFailuresLeft.set(3);

    CoordinationResult result = node.coordination().coordinate(transfer("retry")).join();

    assertThat(result.finalState()).isEqualTo(TransactionState.COMMITTED);
    assertThat(b.committed).hasSize(1);
  }

  @Test
  void aCallerIsAnsweredCommittingWhenAStoreDoesNotAcknowledgeInTime() throws Exception {
    node.close();
    node = startNode(CoordinatorConfig.DEFAULTS.withCommitTimeout(Duration.ofMillis(300))
        .withRecoveryInterval(Duration.ofHours(1)), 10_000);
    b.commitFailuresLeft.set(8); // the last store: committed on the run's thread first

    CoordinationResult answer = node.coordination().coordinate(transfer("slow-ack")).join();

    assertThat(answer.success()).isTrue();
    assertThat(answer.finalState()).isEqualTo(TransactionState.COMMITTING);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (node.coordination().status("slow-ack").get().finalState() != TransactionState.COMMITTED) {
      assertThat(System.nanoTime()).as("commit retried to the end").isLessThan(deadline);
      Thread.sleep(50);
    }
    assertThat(b.committed).hasSize(1);
  }

  @Test
  void outcomesSurviveRestartThroughLogAndSnapshots() throws Exception {
    node.close();
    node = startNode(CoordinatorConfig.DEFAULTS, 100);
    for (int i = 0; i < 150; i++) {
      node.coordination().coordinate(transfer("t" + i)).join();
    }
    node.close();
    node = startNode(CoordinatorConfig.DEFAULTS, 100);

    assertThat(node.coordination().status("t0")).get()
        .extracting(CoordinationResult::finalState).isEqualTo(TransactionState.COMMITTED);
    assertThat(node.coordination().status("t149")).get()
        .extracting(CoordinationResult::success).isEqualTo(true);
    assertThat(dir.resolve("log").toFile().list()).isNotEmpty();
  }

  @Test
  void recoveryRollsBackAPreparedGidTheLogNeverSaw() throws Exception {
    a.prepared.add("synod_test_00000000000000000000000000000abc_0");
    a.prepared.add("other_prefix_tx");

    // The pass this node runs on gaining leadership may still be on its way and find the gid
    // first; whichever pass does, the gid is rolled back once and later passes are quiet.
    boolean quiet = node.recoverNow();
    for (int pass = 0; !quiet && pass < 3; pass++) {
      quiet = node.recoverNow();
    }

    assertThat(quiet).as("a pass after the rollback is quiet").isTrue();
    assertThat(a.prepared).containsExactly("other_prefix_tx");
    assertThat(a.rolledBack).containsExactly("synod_test_00000000000000000000000000000abc_0");
  }

}
