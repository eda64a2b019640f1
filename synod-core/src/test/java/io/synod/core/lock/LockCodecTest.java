package io.synod.core.lock;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.synod.api.lock.LockMode;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LockCodecTest {

  static LockCommand roundTrip(LockCommand command) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    LockCodec.writeCommand(new DataOutputStream(bytes), command);
    return LockCodec.readCommand(in(bytes.toByteArray()));
  }

  static LockEffect roundTrip(LockEffect effect) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    LockCodec.writeEffect(new DataOutputStream(bytes), effect);
    return LockCodec.readEffect(in(bytes.toByteArray()));
  }

  private static DataInputStream in(byte[] bytes) {
    return new DataInputStream(new ByteArrayInputStream(bytes));
  }

  @Test
  void everyCommandSurvivesTheCodec() throws IOException {
    List<LockCommand> commands = List.of(
        new LockCommand.OpenSession("s1", "owner", 30_000, 5),
        new LockCommand.OpenSession(null, null, -1, 5),
        new LockCommand.CloseSession("s1", 6),
        new LockCommand.Acquire("r1", "s1", "pg/t/1", LockMode.X, 100, true, -3, 7),
        new LockCommand.Acquire(null, null, null, null, -1, false, 0, 7),
        new LockCommand.Release("s1", "pg/t/1", 8),
        new LockCommand.LeaseCheckpoint(Map.of("s1", 9L, "s2", 3L), 9),
        new LockCommand.ExpireSession("s1", 9, 40_000),
        new LockCommand.Tick(Long.MAX_VALUE));
    for (LockCommand command : commands) {
      assertThat(roundTrip(command)).isEqualTo(command);
    }
  }

  @Test
  void everyEffectSurvivesTheCodec() throws IOException {
    List<LockEffect> effects = List.of(
        new LockEffect.Granted("r1", "s1", "pg/t", LockMode.IX, 4),
        new LockEffect.Queued("r1", "s1", "pg/t", 3),
        new LockEffect.Refused(null, null, LockEffect.Refused.Reason.LIMIT, "why"),
        new LockEffect.Refused("r", "s", LockEffect.Refused.Reason.WOULD_BLOCK, "why"),
        new LockEffect.TimedOut("r1", "s1", "pg"),
        new LockEffect.DeadlockVictim("r1", "s1", List.of("s1@a", "s2@b")),
        new LockEffect.Cancelled("r1", "s1", "pg", LockEffect.Cancelled.Cause.SESSION_EXPIRED),
        new LockEffect.Released("s1", "pg", 9),
        new LockEffect.LockLost("s1", "pg", 9, io.synod.api.lock.LockLost.Reason.LEASE_EXPIRED),
        new LockEffect.Escalated("s1", "pg/t", LockMode.S, 10, 1001),
        new LockEffect.SessionOpened("s1"),
        new LockEffect.SessionExpired("s1"),
        new LockEffect.SessionClosed("s1"));
    for (LockEffect effect : effects) {
      assertThat(roundTrip(effect)).isEqualTo(effect);
    }
  }

  @Test
  void unknownVersionsTagsAndModesAreRefused() throws IOException {
    assertThatThrownBy(() -> LockCodec.readCommand(in(new byte[] {2, 1})))
        .isInstanceOf(IOException.class).hasMessageContaining("version 2");
    assertThatThrownBy(() -> LockCodec.readCommand(in(new byte[] {1, 99})))
        .isInstanceOf(IOException.class).hasMessageContaining("tag 99");
    assertThatThrownBy(() -> LockCodec.readEffect(in(new byte[] {1, 0})))
        .isInstanceOf(IOException.class).hasMessageContaining("tag 0");
    ByteArrayOutputStream granted = new ByteArrayOutputStream();
    LockCodec.writeEffect(new DataOutputStream(granted),
        new LockEffect.Granted("r", "s", "p", LockMode.X, 1));
    byte[] badMode = granted.toByteArray();
    badMode[2 + 3 * 3] = 9; // after version, tag and three one-letter strings
    assertThatThrownBy(() -> LockCodec.readEffect(in(badMode)))
        .isInstanceOf(IOException.class).hasMessageContaining("unknown lock mode 9");
  }

  @Test
  void aCorruptSnapshotIsRefusedRatherThanApplied() throws IOException {
    LockTableHarness h = new LockTableHarness();
    h.open("s1");
    h.open("s2");
    h.acquire("r1", "s1", "db", LockMode.S);
    h.acquire("r2", "s2", "db", LockMode.S);
    byte[] good = LockTableHarness.snapshot(h.table);
    // lastToken (bytes 1..8) lowered below a held token.
    byte[] bad = good.clone();
    bad[8] = 1;
    assertThatThrownBy(() -> LockCodec.readSnapshot(in(bad), h.table.limits()))
        .isInstanceOf(IOException.class).hasMessageContaining("corrupt lock snapshot");
    assertThat(LockCodec.readSnapshot(in(good), h.table.limits()).lastToken()).isEqualTo(2);
  }
}
