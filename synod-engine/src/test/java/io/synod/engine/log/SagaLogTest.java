package io.synod.engine.log;

import static io.synod.engine.log.LogTesting.bytes;
import static io.synod.engine.log.LogTesting.snapshotMagics;
import static io.synod.engine.log.LogTesting.started;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.synod.api.saga.SagaDefinition;
import io.synod.api.saga.SagaState;
import io.synod.api.saga.StepOperation;
import io.synod.core.event.EventStateMachine;
import io.synod.core.lock.LockCodec;
import io.synod.core.lock.LockCommand;
import io.synod.core.lock.LockEffect;
import io.synod.core.lock.LockTable;
import io.synod.core.saga.SagaCommand;
import io.synod.core.saga.SagaEffect;
import io.synod.core.saga.SagaStateMachine;
import io.synod.core.txn.TxnCodec;
import io.synod.core.txn.TxnCommand;
import io.synod.core.txn.TxnOutcome;
import io.synod.core.txn.TxnPhase;
import io.synod.core.txn.TxnRecord;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Sagas as the third domain of the one log: applied, answered, snapshotted, replayed. */
class SagaLogTest {
  private static final StepOperation ACT = new StepOperation.Local("app", Map.of());
  private static final SagaDefinition ORDER = SagaDefinition.sequential("order")
      .step("reserve", ACT, ACT)
      .step("charge", ACT, ACT)
      .build();
  private static final int SAGAS = 40;

  @TempDir Path dir;

  @Test
  void sagaCommandsAreAppliedSeenByTheListenerAndSurviveARestart() throws Exception {
    LogConfig config = LogConfig.singleNode("sagas", dir.resolve("log"),
        LogConfig.freeLoopbackPort()).withSnapshotEveryEntries(100);
    byte[] state;
    List<SagaEffect> seen = new CopyOnWriteArrayList<>();
    try (RatisLog log = started(config)) {
      log.onSagaEffects(seen::addAll);
      List<SagaEffect> answered = new CopyOnWriteArrayList<>();
      for (int i = 0; i < SAGAS; i++) { // three entries each: a snapshot is taken on the way
        String id = "o" + i;
        answered.addAll(propose(log, new SagaCommand.Start(id, ORDER, Map.of("n", (long) i), i)));
        answered.addAll(propose(log, new SagaCommand.StepStarted(id, "reserve", 1, i)));
        answered.addAll(propose(log, new SagaCommand.StepSucceeded(id, "reserve", 1, i)));
      }
      for (int i = 0; i < SAGAS; i += 4) { // only in the log after the snapshot
        answered.addAll(propose(log, new SagaCommand.StepStarted("o" + i, "charge", 1, 100)));
        answered.addAll(propose(log, new SagaCommand.StepSucceeded("o" + i, "charge", 1, 100)));
      }
      assertThat(propose(log, new SagaCommand.Abort("o1", "changed my mind", 200)))
          .first().isEqualTo(new SagaEffect.Updated("o1", SagaState.COMPENSATING,
              log.readSagas(sagas -> sagas.due("o1"))));
      assertThat(propose(log, new SagaCommand.Start("o2", ORDER, Map.of(), 300)))
          .containsExactly(new SagaEffect.AlreadyExists("o2", SagaState.STEP_COMPLETED));

      assertThat(answered).filteredOn(SagaEffect.Finished.class::isInstance).hasSize(SAGAS / 4);
      assertThat(seen).containsAll(answered);
      assertThat(seen).contains(new SagaEffect.Finished("o0", SagaState.COMPLETED, null));
      assertThat(log.readSagas(SagaStateMachine::active)).hasSize(SAGAS - SAGAS / 4);
      state = snapshotOf(log);
    }
    assertThat(snapshotMagics(config)).isNotEmpty()
        .allMatch(magic -> magic == RatisStateMachine.SNAPSHOT_MAGIC);

    seen.clear();
    try (RatisLog log = started(config)) {
      log.onSagaEffects(seen::addAll);
      log.barrier().get(30, TimeUnit.SECONDS);
      assertThat(snapshotOf(log)).as("the saga state after a restart").isEqualTo(state);
      assertThat(log.readSagas(sagas -> sagas.status("o1")).orElseThrow().state())
          .isEqualTo(SagaState.COMPENSATING);

      List<SagaEffect> effects = propose(log, new SagaCommand.CompensationStarted(
          "o1", "reserve", 1, 400));
      assertThat(effects).first()
          .isEqualTo(new SagaEffect.TryStarted("o1", "reserve", 1, true));
      assertThat(seen).containsAll(effects);
    }
  }

  @Test
  void aBatchOfEveryDomainSurvivesTheEntryAndReplyCodecs() throws IOException {
    List<LogCommand> commands = List.of(
        new LogCommand.Txn(new TxnCommand.Complete("k", 1)),
        new LogCommand.Lock(new LockCommand.Tick(2)),
        new LogCommand.Saga(new SagaCommand.Start("s", ORDER, Map.of("x", "y"), 3)),
        new LogCommand.Saga(new SagaCommand.StepFailed("s", "reserve", 1, "no", true, 4)));
    assertThat(LogEntries.decodeCommands(
        new ByteArrayInputStream(LogEntries.encodeCommands(commands)))).isEqualTo(commands);

    List<LogCommand.Result> results = List.of(
        new LogCommand.TxnResult(new TxnOutcome.Refused(null, "why")),
        new LogCommand.LockResult(List.of(new LockEffect.SessionOpened("s1"))),
        new LogCommand.SagaResult(List.of(new SagaEffect.TryStarted("s", "reserve", 1, false),
            new SagaEffect.Refused("s", SagaEffect.Refused.Reason.STALE, "late"))));
    assertThat(LogEntries.decodeResults(
        new ByteArrayInputStream(LogEntries.encodeResults(results)))).isEqualTo(results);
  }

  @Test
  void snapshotsFromBeforeSagasStillLoadWithNoSagas() throws IOException {
    TxnRecord record = new TxnRecord("k1", "c1", List.of("pg"), 1, TxnPhase.COMMITTED, null, 1,
        2, 3);
    LockTable locks = new LockTable();
    locks.apply(new LockCommand.OpenSession("s1", "owner", 30_000, 5));

    byte[] syn2 = bytes(out -> {
      out.writeInt(RatisStateMachine.SNAPSHOT_MAGIC_TXNS_LOCKS);
      out.writeInt(1);
      TxnCodec.writeRecord(out, record);
      LockCodec.writeSnapshot(out, locks);
    });
    RatisStateMachine.Restored fromSyn2 = read(syn2);
    assertThat(fromSyn2.txns()).containsExactly(record);
    assertThat(fromSyn2.locks().sessions()).containsExactly("s1");
    assertThat(fromSyn2.sagas().size()).isZero();

    byte[] syn1 = bytes(out -> {
      out.writeInt(RatisStateMachine.SNAPSHOT_MAGIC_TXNS_ONLY);
      out.writeInt(1);
      TxnCodec.writeRecord(out, record);
    });
    RatisStateMachine.Restored fromSyn1 = read(syn1);
    assertThat(fromSyn1.txns()).containsExactly(record);
    assertThat(fromSyn1.locks().sessions()).isEmpty();
    assertThat(fromSyn1.sagas().size()).isZero();

    SagaStateMachine sagas = new SagaStateMachine(SagaStateMachine.Limits.DEFAULTS);
    sagas.apply(new SagaCommand.Start("o1", ORDER, Map.of(), 9));
    byte[] syn3 = bytes(out -> {
      out.writeInt(RatisStateMachine.SNAPSHOT_MAGIC_BEFORE_EVENTS);
      out.writeInt(0);
      LockCodec.writeSnapshot(out, locks);
      sagas.writeSnapshot(out);
    });
    assertThat(read(syn3).sagas().status("o1")).isEqualTo(sagas.status("o1"));

    assertThatThrownBy(() -> read(new byte[] {'S', 'Y', 'N', '9', 0, 0, 0, 0}))
        .isInstanceOf(IOException.class).hasMessageContaining("not a synod snapshot");
  }

  private static List<SagaEffect> propose(RatisLog log, SagaCommand command) throws Exception {
    return log.proposeSaga(command).get(30, TimeUnit.SECONDS);
  }

  private static byte[] snapshotOf(RatisLog log) {
    return log.readSagas(sagas -> bytes(sagas::writeSnapshot));
  }

  /** The magic number of every snapshot file the replica kept. */
  private static RatisStateMachine.Restored read(byte[] snapshot) throws IOException {
    return RatisStateMachine.readSnapshot(
        new DataInputStream(new ByteArrayInputStream(snapshot)), LockTable.Limits.DEFAULTS,
        SagaStateMachine.Limits.DEFAULTS, EventStateMachine.Limits.DEFAULTS);
  }
}
