package io.synod.core.txn;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

class TxnStateMachineTest {
  private static final long RETENTION_MS = 1_000;

  private static TxnCommand.Decide decide(String key, String id, boolean commit, long atMs) {
    return new TxnCommand.Decide(key, id, List.of("pg", "h2"), 2, commit, commit ? null : "why",
        atMs - 1, atMs);
  }

  @Test
  void commitPathMovesThroughTheLoggedPhases() {
    TxnStateMachine sm = new TxnStateMachine(RETENTION_MS, 1_000);
    assertThat(sm.apply(decide("k1", "c1", true, 11)).record().phase())
        .isEqualTo(TxnPhase.COMMITTING);
    assertThat(sm.apply(new TxnCommand.Complete("k1", 12)).record().phase())
        .isEqualTo(TxnPhase.COMMITTED);
    assertThat(sm.byCoordinationId("c1")).get().extracting(TxnRecord::decidedAtMs).isEqualTo(11L);
  }

  @Test
  void aRepeatedCoordinationIdReturnsTheFirstTransaction() {
    TxnStateMachine sm = new TxnStateMachine(RETENTION_MS, 1_000);
    sm.apply(decide("k1", "c1", true, 10));
    var second = sm.apply(decide("k2", "c1", true, 11));
    assertThat(second).isInstanceOf(TxnOutcome.Duplicate.class);
    assertThat(second.record().txnKey()).isEqualTo("k1");
    assertThat(sm.byKey("k2")).isEmpty();
  }

  @Test
  void theFirstDecisionWinsAndACommitIsNeverReversed() {
    TxnStateMachine sm = new TxnStateMachine(RETENTION_MS, 1_000);
    sm.apply(decide("k1", "c1", true, 11));
    var abort = sm.apply(decide("k1", "c1", false, 12));
    assertThat(abort.record().phase()).isEqualTo(TxnPhase.COMMITTING);
  }

  @Test
  void recoveryTombstoneRefusesALateCommit() {
    TxnStateMachine sm = new TxnStateMachine(RETENTION_MS, 1_000);
    var tombstone = sm.apply(TxnCommand.Decide.tombstone("k9", "presumed abort", 5));
    assertThat(tombstone.record().phase()).isEqualTo(TxnPhase.ABORTING);
    assertThat(tombstone.record().isTombstone()).isTrue();
    assertThat(sm.apply(decide("k9", "c9", true, 7)).record().phase())
        .isEqualTo(TxnPhase.ABORTING);
    assertThat(sm.byCoordinationId("c9")).isEmpty();
  }

  @Test
  void aCommitWithoutCoordinationIdIsRefused() {
    TxnStateMachine sm = new TxnStateMachine(RETENTION_MS, 1_000);
    var refused = sm.apply(new TxnCommand.Decide("k1", null, List.of(), 0, true, null, 5, 5));
    assertThat(refused).isInstanceOf(TxnOutcome.Refused.class);
    assertThat(sm.byKey("k1")).isEmpty();
  }

  @Test
  void finishedTransactionsAreForgottenAfterRetentionButUnfinishedOnesNever() {
    TxnStateMachine sm = new TxnStateMachine(RETENTION_MS, 1_000);
    sm.apply(decide("done", "c1", false, 1));
    sm.apply(new TxnCommand.Complete("done", 2));
    sm.apply(decide("open", "c2", true, 3));
    sm.apply(decide("late", "c3", true, 2 + RETENTION_MS + 1));
    assertThat(sm.byCoordinationId("c1")).isEmpty();
    assertThat(sm.byCoordinationId("c2")).isPresent();
  }

  @Test
  void atMostFinishedMaxFinishedTransactionsAreKept() {
    TxnStateMachine sm = new TxnStateMachine(RETENTION_MS, 2);
    for (int i = 0; i < 4; i++) {
      sm.apply(decide("k" + i, "c" + i, true, 10 + i));
      sm.apply(new TxnCommand.Complete("k" + i, 10 + i));
    }
    sm.apply(decide("open", "c9", true, 20));
    assertThat(sm.byCoordinationId("c0")).isEmpty();
    assertThat(sm.byCoordinationId("c1")).isEmpty();
    assertThat(sm.byCoordinationId("c2")).isPresent();
    assertThat(sm.byCoordinationId("c3")).isPresent();
    assertThat(sm.byCoordinationId("c9")).isPresent();
  }

  @Property(tries = 300)
  void decisionsAreFinalAndSnapshotsReplayExactly(@ForAll("histories") List<TxnCommand> history)
      throws IOException {
    TxnStateMachine sm = new TxnStateMachine(50, 8);
    Map<String, Boolean> firstDecision = new HashMap<>();
    for (TxnCommand command : history) {
      TxnOutcome outcome = sm.apply(command);
      TxnRecord record = outcome.record();
      if (record != null) {
        Boolean commit = record.phase().isCommit();
        Boolean before = firstDecision.putIfAbsent(record.txnKey(), commit);
        assertThat(before == null || before.equals(commit))
            .as("decision of %s changed", record.txnKey()).isTrue();
      }
      if (record != null && record.phase().isCommit()) {
        assertThat(record.isTombstone()).as("commit without coordination").isFalse();
      }
      if (outcome instanceof TxnOutcome.Refused r && command instanceof TxnCommand.Decide d
          && d.commit()) {
        assertThat(r.record() == null || !r.record().phase().isCommit()).isTrue();
      }
      // Retention may forget a finished key; only then may the key carry a new decision.
      firstDecision.keySet().removeIf(key -> sm.byKey(key).isEmpty());
    }
    TxnStateMachine restored = new TxnStateMachine(50, 8);
    restored.restore(roundTrip(sm.records()));
    assertThat(restored.records()).containsExactlyElementsOf(sm.records());
  }

  private static List<TxnRecord> roundTrip(Iterable<TxnRecord> records) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    DataOutputStream out = new DataOutputStream(bytes);
    List<TxnRecord> list = new ArrayList<>();
    records.forEach(list::add);
    for (TxnRecord r : list) {
      TxnCodec.writeRecord(out, r);
    }
    DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes.toByteArray()));
    List<TxnRecord> back = new ArrayList<>();
    for (int i = 0; i < list.size(); i++) {
      back.add(TxnCodec.readRecord(in));
    }
    return back;
  }

  @Property(tries = 200)
  void commandsSurviveTheCodec(@ForAll("commands") TxnCommand command) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    TxnCodec.writeCommand(new DataOutputStream(bytes), command);
    var back = TxnCodec.readCommand(new DataInputStream(new ByteArrayInputStream(bytes.toByteArray())));
    assertThat(back).isEqualTo(command);
  }

  @Provide
  Arbitrary<List<TxnCommand>> histories() {
    return commands().list().ofMaxSize(60).map(TxnStateMachineTest::withIncreasingTime);
  }

  private static List<TxnCommand> withIncreasingTime(List<TxnCommand> commands) {
    List<TxnCommand> timed = new ArrayList<>();
    long now = 0;
    for (TxnCommand c : commands) {
      now += 3;
      timed.add(
          switch (c) {
            case TxnCommand.Decide d -> new TxnCommand.Decide(d.txnKey(), d.coordinationId(),
                d.stores(), d.operationCount(), d.commit(), d.reason(), now - 1, now);
            case TxnCommand.Complete x -> new TxnCommand.Complete(x.txnKey(), now);
          });
    }
    return timed;
  }

  @Provide
  Arbitrary<TxnCommand> commands() {
    Arbitrary<String> keys = Arbitraries.of("k1", "k2", "k3", "k4");
    Arbitrary<TxnCommand> decide =
        Combinators.combine(keys, Arbitraries.of("c1", "c2", "c3", null),
                Arbitraries.of(true, false), Arbitraries.of(null, "why"))
            .as((k, id, commit, why) -> id == null
                ? TxnCommand.Decide.tombstone(k, why, 0)
                : new TxnCommand.Decide(k, id, List.of("pg", "maria"), 2, commit, why, 0, 0));
    Arbitrary<TxnCommand> complete = keys.map(k -> new TxnCommand.Complete(k, 0));
    return Arbitraries.oneOf(decide, complete);
  }
}
