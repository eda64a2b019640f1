package io.synod.engine.log;

import static io.synod.engine.log.LogTesting.bytes;
import static io.synod.engine.log.LogTesting.snapshotMagics;
import static io.synod.engine.log.LogTesting.started;
import static org.assertj.core.api.Assertions.assertThat;

import io.synod.api.event.ChoreographyDefinition;
import io.synod.api.event.Event;
import io.synod.api.saga.SagaState;
import io.synod.core.event.EventCommand;
import io.synod.core.event.EventEffect;
import io.synod.core.event.EventStateMachine;
import io.synod.core.lock.LockCodec;
import io.synod.core.lock.LockTable;
import io.synod.core.saga.SagaCommand;
import io.synod.core.saga.SagaStateMachine;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The event domain as the log's fourth: applied, answered, snapshotted (SYN4), replayed. */
class EventLogTest {
  private static final ChoreographyDefinition ORDER = ChoreographyDefinition.builder("order")
      .step("pay", "pay.charge", "pay.charged", "pay.declined", "pay.refund",
          Duration.ofSeconds(30))
      .step("ship", "ship.send", "ship.sent", null, null, Duration.ofSeconds(30))
      .build();

  @TempDir Path dir;

  @Test
  void eventCommandsAreAppliedSeenByTheListenerAndSurviveASnapshotAndARestart()
      throws Exception {
    LogConfig config = LogConfig.singleNode("events", dir.resolve("log"),
        LogConfig.freeLoopbackPort()).withSnapshotEveryEntries(100)
        .withEventLimits(EventStateMachine.Limits.DEFAULTS);
    byte[] state;
    List<EventEffect> seen = new CopyOnWriteArrayList<>();
    try (RatisLog log = started(config)) {
      log.onEventEffects(seen::addAll);
      for (int i = 0; i < 60; i++) { // two entries each: a snapshot is taken on the way
        String id = "o" + i;
        propose(log, new EventCommand.Start(id, ORDER, Map.of("n", "" + i), i));
        propose(log, new EventCommand.Publish(i % 2 == 0 ? "pay.charged" : "pay.declined", id,
            Map.of(), i));
      }
      List<EventEffect> acknowledged = propose(log, new EventCommand.Acknowledge("g", 50, 100));
      assertThat(acknowledged).containsExactly(new EventEffect.Acknowledged("g", 50));
      assertThat(seen).containsAll(acknowledged)
          .contains(new EventEffect.Finished("o1", SagaState.ABORTED,
              log.readEvents(events -> events.choreography("o1")).orElseThrow().error()));
      assertThat(log.readEvents(EventStateMachine::activeChoreographies)).hasSize(30);
      state = snapshotOf(log);
    }
    assertThat(snapshotMagics(config)).isNotEmpty()
        .allMatch(magic -> magic == RatisStateMachine.SNAPSHOT_MAGIC);

    try (RatisLog log = started(config)) {
      log.barrier().get(30, TimeUnit.SECONDS);
      assertThat(snapshotOf(log)).as("the event state after a restart").isEqualTo(state);
      List<EventEffect> effects = propose(log, new EventCommand.Publish("ship.sent", "o0",
          Map.of(), 200));
      assertThat(effects).last()
          .isEqualTo(new EventEffect.Finished("o0", SagaState.COMPLETED, null));
      List<Event> retained = log.readEvents(events -> events.after(0, 1_000));
      assertThat(retained).extracting(Event::offset).doesNotHaveDuplicates().isSorted();
    }
  }

  @Test
  void snapshotsFromBeforeEventsStillLoadWithAnEmptyBus() throws IOException {
    SagaStateMachine sagas = new SagaStateMachine(SagaStateMachine.Limits.DEFAULTS);
    sagas.apply(new SagaCommand.Abort("none", "x", 1));
    byte[] syn3 = bytes(out -> {
      out.writeInt(RatisStateMachine.SNAPSHOT_MAGIC_BEFORE_EVENTS);
      out.writeInt(0);
      LockCodec.writeSnapshot(out, new LockTable());
      sagas.writeSnapshot(out);
    });
    RatisStateMachine.Restored restored = RatisStateMachine.readSnapshot(
        new DataInputStream(new ByteArrayInputStream(syn3)), LockTable.Limits.DEFAULTS,
        SagaStateMachine.Limits.DEFAULTS, EventStateMachine.Limits.DEFAULTS);
    assertThat(restored.events().lastOffset()).isZero();
    assertThat(restored.events().activeChoreographies()).isEmpty();
  }

  @Test
  void eventCommandsAndEffectsSurviveTheEntryAndReplyCodecs() throws IOException {
    List<LogCommand> commands = List.of(
        new LogCommand.Events(new EventCommand.Publish("a", "c", Map.of("k", "v"), 1)),
        new LogCommand.Events(new EventCommand.Start("c", ORDER, Map.of(), 2)),
        new LogCommand.Saga(new SagaCommand.Abort("s", "why", 3)));
    assertThat(LogEntries.decodeCommands(
        new ByteArrayInputStream(LogEntries.encodeCommands(commands)))).isEqualTo(commands);

    List<LogCommand.Result> results = List.of(new LogCommand.EventResult(List.of(
        new EventEffect.Published(new Event("a", "c", Map.of("k", "v"), 1, 7)),
        new EventEffect.Awaiting("c", "pay", 30_002))));
    assertThat(LogEntries.decodeResults(
        new ByteArrayInputStream(LogEntries.encodeResults(results)))).isEqualTo(results);
  }

  private static List<EventEffect> propose(RatisLog log, EventCommand command) throws Exception {
    return log.proposeEvent(command).get(30, TimeUnit.SECONDS);
  }

  private static byte[] snapshotOf(RatisLog log) {
    return log.readEvents(events -> bytes(events::writeSnapshot));
  }
}
