package io.synod.core.lock;

import io.synod.api.lock.LockMode;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;

/** A lock table with a fake clock, checking every invariant after every command. */
final class LockTableHarness {
  static final long LEASE_MS = 30_000;

  final LockTable table;
  long nowMs = 1_000;

  LockTableHarness() {
    this(LockTable.Limits.DEFAULTS.withEscalationThreshold(5));
  }

  LockTableHarness(LockTable.Limits limits) {
    this.table = new LockTable(limits);
  }

  List<LockEffect> apply(LockCommand command) {
    List<LockEffect> effects = table.apply(command);
    table.checkInvariants();
    return effects;
  }

  List<LockEffect> open(String sessionId) {
    return apply(new LockCommand.OpenSession(sessionId, "owner-" + sessionId, LEASE_MS, nowMs));
  }

  List<LockEffect> acquire(String requestId, String sessionId, String resource, LockMode mode,
      long timeoutMs) {
    return apply(new LockCommand.Acquire(
        requestId, sessionId, resource, mode, timeoutMs, true, 0, nowMs));
  }

  List<LockEffect> acquire(String requestId, String sessionId, String resource, LockMode mode) {
    return acquire(requestId, sessionId, resource, mode, 10_000);
  }

  List<LockEffect> acquireWithoutIntents(
      String requestId, String sessionId, String resource, LockMode mode) {
    return apply(new LockCommand.Acquire(
        requestId, sessionId, resource, mode, 10_000, false, 0, nowMs));
  }

  List<LockEffect> acquireWithPriority(
      String requestId, String sessionId, String resource, LockMode mode, int priority) {
    return apply(new LockCommand.Acquire(
        requestId, sessionId, resource, mode, 10_000, true, priority, nowMs));
  }

  List<LockEffect> release(String sessionId, String resource) {
    return apply(new LockCommand.Release(sessionId, resource, nowMs));
  }

  List<LockEffect> tick() {
    return apply(new LockCommand.Tick(nowMs));
  }

  List<LockEffect> checkpoint(Map<String, Long> lastSeenMs) {
    return apply(new LockCommand.LeaseCheckpoint(lastSeenMs, nowMs));
  }

  List<LockEffect> expire(String sessionId, long lastSeenMs) {
    return apply(new LockCommand.ExpireSession(sessionId, lastSeenMs, nowMs));
  }

  List<LockEffect> close(String sessionId) {
    return apply(new LockCommand.CloseSession(sessionId, nowMs));
  }

  LockMode modeOf(String sessionId, String resource) {
    return table.holds(sessionId, ResourcePath.parse(resource))
        .map(LockTable.HeldLock::mode).orElse(null);
  }

  long tokenOf(String sessionId, String resource) {
    return table.holds(sessionId, ResourcePath.parse(resource)).orElseThrow().token();
  }

  static byte[] snapshot(LockTable table) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try {
      table.writeSnapshot(new DataOutputStream(bytes));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  static LockTable restore(byte[] snapshot, LockTable.Limits limits) {
    try {
      return LockTable.readSnapshot(
          new DataInputStream(new ByteArrayInputStream(snapshot)), limits);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @SuppressWarnings("unchecked")
  static <T extends LockEffect> T only(List<LockEffect> effects, Class<T> type) {
    List<LockEffect> matching = effects.stream().filter(type::isInstance).toList();
    if (matching.size() != 1) {
      throw new AssertionError("expected one " + type.getSimpleName() + " in " + effects);
    }
    return (T) matching.get(0);
  }
}
