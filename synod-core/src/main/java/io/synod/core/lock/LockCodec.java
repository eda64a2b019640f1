package io.synod.core.lock;

import static io.synod.core.Codecs.readCount;
import static io.synod.core.Codecs.readEnum;
import static io.synod.core.Codecs.readNullable;
import static io.synod.core.Codecs.writeNullable;

import io.synod.api.lock.LockMode;
import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Binary form of the lock log's entries ({@link LockCommand}), of the effects ({@link LockEffect})
 * and of a whole {@link LockTable} snapshot. Big-endian, via {@link DataOutput}; {@code str} is
 * modified UTF-8 with a 2-byte length, {@code nstr} a presence byte then a {@code str}; each
 * top-level form starts with a format version byte, so a later format can read older bytes.
 *
 * <pre>
 * command := version:u8 (=1) tag:u8 body
 *   OpenSession     (1) := sessionId:nstr owner:nstr leaseMs:i64 atMs:i64
 *   CloseSession    (2) := sessionId:nstr atMs:i64
 *   Acquire         (3) := requestId:nstr sessionId:nstr resource:nstr mode:u8 timeoutMs:i64
 *                          withIntents:bool priority:i32 atMs:i64
 *   Release         (4) := sessionId:nstr resource:nstr atMs:i64
 *   LeaseCheckpoint (5) := count:i32 (sessionId:str lastSeenMs:i64)* atMs:i64
 *   ExpireSession   (6) := sessionId:nstr lastSeenMs:i64 atMs:i64
 *   Tick            (7) := atMs:i64
 *   (client fields are nstr and mode 255 is null: a malformed request must still reach the log,
 *    which refuses it, rather than fail to encode)
 *
 * effect := version:u8 (=1) tag:u8 body
 *   Granted         (1) := requestId:str sessionId:str resource:str mode:u8 token:i64
 *   Queued          (2) := requestId:str sessionId:str resource:str position:i32
 *   Refused         (3) := requestId:nstr sessionId:nstr reason:u8 message:str
 *   TimedOut        (4) := requestId:str sessionId:str resource:str
 *   DeadlockVictim  (5) := requestId:str sessionId:str count:i32 entry:str*
 *   Cancelled       (6) := requestId:str sessionId:str resource:str cause:u8
 *   Released        (7) := sessionId:str resource:str token:i64
 *   LockLost        (8) := sessionId:str resource:str token:i64 reason:u8
 *   Escalated       (9) := sessionId:str resource:str mode:u8 token:i64 releasedCount:i32
 *   SessionOpened  (10), SessionExpired (11), SessionClosed (12) := sessionId:str
 *
 * snapshot := version:u8 (=1) lastToken:i64 lastSessionSeq:i64
 *             sessionCount:i32 session*     (opening order)
 *             requestCount:i32 request*     (order of first queueing)
 *             resourceCount:i32 resource*   (by path)
 *             answerCount:i32 effect*       (oldest first; keyed by the effect's request id)
 *   session  := id:str owner:str leaseMs:i64 openedAtMs:i64 lastSeenMs:i64 openedSeq:i64
 *   request  := requestId:str sessionId:str target:str mode:u8 withIntents:bool priority:i32
 *               deadlineMs:i64 stage:u8 upgrade:bool
 *   resource := path:str holderCount:i32 holder* waiterCount:i32 requestId:str*  (queue order)
 *   holder   := sessionId:str mode:u8 token:i64 implicit:bool
 * </pre>
 *
 * Modes, reasons and causes are enum ordinals. Readers reject unknown versions, tags and
 * ordinals with an IOException; a snapshot is checked against every table invariant after it is
 * read, so a corrupt one is refused rather than applied.
 */
public final class LockCodec {
  static final int VERSION = 1;
  private static final int NULL_MODE = 255;

  private LockCodec() {}

  // ---------------------------------------------------------------- commands

  public static void writeCommand(DataOutput out, LockCommand command) throws IOException {
    out.writeByte(VERSION);
    switch (command) {
      case LockCommand.OpenSession c -> {
        out.writeByte(1);
        writeNullable(out, c.sessionId());
        writeNullable(out, c.owner());
        out.writeLong(c.leaseMs());
        out.writeLong(c.atMs());
      }
      case LockCommand.CloseSession c -> {
        out.writeByte(2);
        writeNullable(out, c.sessionId());
        out.writeLong(c.atMs());
      }
      case LockCommand.Acquire c -> {
        out.writeByte(3);
        writeNullable(out, c.requestId());
        writeNullable(out, c.sessionId());
        writeNullable(out, c.resource());
        out.writeByte(c.mode() == null ? NULL_MODE : c.mode().ordinal());
        out.writeLong(c.timeoutMs());
        out.writeBoolean(c.withIntents());
        out.writeInt(c.priority());
        out.writeLong(c.atMs());
      }
      case LockCommand.Release c -> {
        out.writeByte(4);
        writeNullable(out, c.sessionId());
        writeNullable(out, c.resource());
        out.writeLong(c.atMs());
      }
      case LockCommand.LeaseCheckpoint c -> {
        out.writeByte(5);
        out.writeInt(c.lastSeenMs().size());
        for (Map.Entry<String, Long> entry : c.lastSeenMs().entrySet()) {
          out.writeUTF(entry.getKey());
          out.writeLong(entry.getValue());
        }
        out.writeLong(c.atMs());
      }
      case LockCommand.ExpireSession c -> {
        out.writeByte(6);
        writeNullable(out, c.sessionId());
        out.writeLong(c.lastSeenMs());
        out.writeLong(c.atMs());
      }
      case LockCommand.Tick c -> {
        out.writeByte(7);
        out.writeLong(c.atMs());
      }
    }
  }

  public static LockCommand readCommand(DataInput in) throws IOException {
    readVersion(in, "lock command");
    int tag = in.readUnsignedByte();
    return switch (tag) {
      case 1 -> new LockCommand.OpenSession(
          readNullable(in), readNullable(in), in.readLong(), in.readLong());
      case 2 -> new LockCommand.CloseSession(readNullable(in), in.readLong());
      case 3 -> new LockCommand.Acquire(readNullable(in), readNullable(in), readNullable(in),
          readNullableMode(in), in.readLong(), in.readBoolean(), in.readInt(), in.readLong());
      case 4 -> new LockCommand.Release(readNullable(in), readNullable(in), in.readLong());
      case 5 -> readCheckpoint(in);
      case 6 -> new LockCommand.ExpireSession(readNullable(in), in.readLong(), in.readLong());
      case 7 -> new LockCommand.Tick(in.readLong());
      default -> throw new IOException("unknown lock command tag " + tag);
    };
  }

  private static LockCommand readCheckpoint(DataInput in) throws IOException {
    int count = readCount(in, "checkpoint entries");
    Map<String, Long> lastSeenMs = new LinkedHashMap<>();
    for (int i = 0; i < count; i++) {
      lastSeenMs.put(in.readUTF(), in.readLong());
    }
    return new LockCommand.LeaseCheckpoint(lastSeenMs, in.readLong());
  }

  // ---------------------------------------------------------------- effects

  public static void writeEffect(DataOutput out, LockEffect effect) throws IOException {
    out.writeByte(VERSION);
    switch (effect) {
      case LockEffect.Granted e -> {
        writeRequestHeader(out, 1, e.requestId(), e.sessionId(), e.resource());
        out.writeByte(e.mode().ordinal());
        out.writeLong(e.token());
      }
      case LockEffect.Queued e -> {
        writeRequestHeader(out, 2, e.requestId(), e.sessionId(), e.resource());
        out.writeInt(e.position());
      }
      case LockEffect.Refused e -> {
        out.writeByte(3);
        writeNullable(out, e.requestId());
        writeNullable(out, e.sessionId());
        out.writeByte(e.reason().ordinal());
        out.writeUTF(e.message());
      }
      case LockEffect.TimedOut e -> writeRequestHeader(out, 4, e.requestId(), e.sessionId(),
          e.resource());
      case LockEffect.DeadlockVictim e -> {
        out.writeByte(5);
        out.writeUTF(e.requestId());
        out.writeUTF(e.sessionId());
        out.writeInt(e.cycle().size());
        for (String entry : e.cycle()) {
          out.writeUTF(entry);
        }
      }
      case LockEffect.Cancelled e -> {
        writeRequestHeader(out, 6, e.requestId(), e.sessionId(), e.resource());
        out.writeByte(e.cause().ordinal());
      }
      case LockEffect.Released e -> writeLockHeader(out, 7, e.sessionId(), e.resource(),
          e.token());
      case LockEffect.LockLost e -> {
        writeLockHeader(out, 8, e.sessionId(), e.resource(), e.token());
        out.writeByte(e.reason().ordinal());
      }
      case LockEffect.Escalated e -> {
        out.writeByte(9);
        out.writeUTF(e.sessionId());
        out.writeUTF(e.resource());
        out.writeByte(e.mode().ordinal());
        out.writeLong(e.token());
        out.writeInt(e.releasedCount());
      }
      case LockEffect.SessionOpened e -> writeSessionEvent(out, 10, e.sessionId());
      case LockEffect.SessionExpired e -> writeSessionEvent(out, 11, e.sessionId());
      case LockEffect.SessionClosed e -> writeSessionEvent(out, 12, e.sessionId());
    }
  }

  public static LockEffect readEffect(DataInput in) throws IOException {
    readVersion(in, "lock effect");
    int tag = in.readUnsignedByte();
    return switch (tag) {
      case 1 -> new LockEffect.Granted(
          in.readUTF(), in.readUTF(), in.readUTF(), readMode(in), in.readLong());
      case 2 -> new LockEffect.Queued(in.readUTF(), in.readUTF(), in.readUTF(), in.readInt());
      case 3 -> new LockEffect.Refused(readNullable(in), readNullable(in),
          readEnum(in, LockEffect.Refused.Reason.values(), "refusal reason"), in.readUTF());
      case 4 -> new LockEffect.TimedOut(in.readUTF(), in.readUTF(), in.readUTF());
      case 5 -> new LockEffect.DeadlockVictim(in.readUTF(), in.readUTF(), readStrings(in));
      case 6 -> new LockEffect.Cancelled(in.readUTF(), in.readUTF(), in.readUTF(),
          readEnum(in, LockEffect.Cancelled.Cause.values(), "cancel cause"));
      case 7 -> new LockEffect.Released(in.readUTF(), in.readUTF(), in.readLong());
      case 8 -> new LockEffect.LockLost(in.readUTF(), in.readUTF(), in.readLong(),
          readEnum(in, io.synod.api.lock.LockLost.Reason.values(), "lock-lost reason"));
      case 9 -> new LockEffect.Escalated(
          in.readUTF(), in.readUTF(), readMode(in), in.readLong(), in.readInt());
      case 10 -> new LockEffect.SessionOpened(in.readUTF());
      case 11 -> new LockEffect.SessionExpired(in.readUTF());
      case 12 -> new LockEffect.SessionClosed(in.readUTF());
      default -> throw new IOException("unknown lock effect tag " + tag);
    };
  }

  private static void writeRequestHeader(DataOutput out, int tag, String requestId,
      String sessionId, String resource) throws IOException {
    out.writeByte(tag);
    out.writeUTF(requestId);
    out.writeUTF(sessionId);
    out.writeUTF(resource);
  }

  private static void writeLockHeader(DataOutput out, int tag, String sessionId, String resource,
      long token) throws IOException {
    out.writeByte(tag);
    out.writeUTF(sessionId);
    out.writeUTF(resource);
    out.writeLong(token);
  }

  private static void writeSessionEvent(DataOutput out, int tag, String sessionId)
      throws IOException {
    out.writeByte(tag);
    out.writeUTF(sessionId);
  }

  // ---------------------------------------------------------------- snapshots

  public static void writeSnapshot(DataOutput out, LockTable table) throws IOException {
    out.writeByte(VERSION);
    out.writeLong(table.lastToken());
    out.writeLong(table.lastSessionSeq());
    out.writeInt(table.sessionStates().size());
    for (SessionState s : table.sessionStates().values()) {
      out.writeUTF(s.id);
      out.writeUTF(s.owner);
      out.writeLong(s.leaseMs);
      out.writeLong(s.openedAtMs);
      out.writeLong(s.lastSeenMs);
      out.writeLong(s.openedSeq);
    }
    out.writeInt(table.pendingRequests().size());
    for (PendingRequest r : table.pendingRequests().values()) {
      out.writeUTF(r.requestId);
      out.writeUTF(r.sessionId);
      out.writeUTF(r.target.path());
      out.writeByte(r.mode.ordinal());
      out.writeBoolean(r.withIntents);
      out.writeInt(r.priority);
      out.writeLong(r.deadlineMs);
      out.writeByte(r.stage);
      out.writeBoolean(r.queuedAsUpgrade);
    }
    out.writeInt(table.resourceStates().size());
    for (ResourceState resource : table.resourceStates()) {
      writeResource(out, resource);
    }
    out.writeInt(table.answers().size());
    for (LockEffect answer : table.answers().values()) {
      writeEffect(out, answer);
    }
  }

  private static void writeResource(DataOutput out, ResourceState resource) throws IOException {
    out.writeUTF(resource.path.path());
    out.writeInt(resource.holders.size());
    for (Holding h : resource.holders.values()) {
      out.writeUTF(h.sessionId());
      out.writeByte(h.mode().ordinal());
      out.writeLong(h.token());
      out.writeBoolean(h.implicit());
    }
    out.writeInt(resource.queue.size());
    for (PendingRequest r : resource.queue) {
      out.writeUTF(r.requestId);
    }
  }

  /** Reads a snapshot into a new table with {@code limits}; refuses one that breaks invariants. */
  public static LockTable readSnapshot(DataInput in, LockTable.Limits limits) throws IOException {
    readVersion(in, "lock snapshot");
    LockTable table = new LockTable(limits);
    try {
      long lastToken = in.readLong();
      long lastSessionSeq = in.readLong();
      table.restoreCounters(lastToken, lastSessionSeq);
      int sessions = readCount(in, "sessions");
      for (int i = 0; i < sessions; i++) {
        String id = in.readUTF();
        String owner = in.readUTF();
        long leaseMs = in.readLong();
        long openedAtMs = in.readLong();
        long lastSeenMs = in.readLong();
        SessionState session =
            new SessionState(id, owner, leaseMs, openedAtMs, in.readLong(), lastSeenMs);
        if (session.openedSeq < 1 || session.openedSeq > lastSessionSeq) {
          throw new IOException("session " + session.id + " has opening number "
              + session.openedSeq + " outside 1.." + lastSessionSeq);
        }
        table.restoreSession(session);
      }
      int requests = readCount(in, "requests");
      for (int i = 0; i < requests; i++) {
        table.restoreRequest(readRequest(in));
      }
      int resources = readCount(in, "resources");
      for (int i = 0; i < resources; i++) {
        readResource(in, table);
      }
      int answers = readCount(in, "answers");
      for (int i = 0; i < answers; i++) {
        LockEffect answer = readEffect(in);
        table.restoreAnswer(LockTable.requestIdOf(answer), answer);
      }
      table.checkInvariants();
    } catch (IllegalStateException | IllegalArgumentException | NullPointerException e) {
      throw new IOException("corrupt lock snapshot: " + e.getMessage(), e);
    }
    return table;
  }

  private static PendingRequest readRequest(DataInput in) throws IOException {
    PendingRequest request = new PendingRequest(in.readUTF(), in.readUTF(),
        ResourcePath.parse(in.readUTF()), readMode(in), in.readBoolean(), in.readInt(),
        in.readLong());
    int stage = in.readUnsignedByte();
    if (stage < request.firstStage() || stage >= request.target.depth()) {
      throw new IOException("request " + request.requestId + " at stage " + stage + " of "
          + request.target);
    }
    request.stage = stage;
    request.queuedAsUpgrade = in.readBoolean();
    return request;
  }

  private static void readResource(DataInput in, LockTable table) throws IOException {
    ResourcePath path = ResourcePath.parse(in.readUTF());
    int holders = readCount(in, "holders");
    for (int i = 0; i < holders; i++) {
      table.restoreHolding(
          new Holding(in.readUTF(), path, readMode(in), in.readLong(), in.readBoolean()));
    }
    int waiters = readCount(in, "waiters");
    List<String> queue = new ArrayList<>();
    for (int i = 0; i < waiters; i++) {
      queue.add(in.readUTF());
    }
    table.restoreQueue(path, queue);
  }

  // ---------------------------------------------------------------- primitives

  private static void readVersion(DataInput in, String what) throws IOException {
    int version = in.readUnsignedByte();
    if (version != VERSION) {
      throw new IOException(what + " format version " + version + " is not " + VERSION);
    }
  }

  private static LockMode readMode(DataInput in) throws IOException {
    return readEnum(in, LockMode.values(), "lock mode");
  }

  private static LockMode readNullableMode(DataInput in) throws IOException {
    int ordinal = in.readUnsignedByte();
    if (ordinal == NULL_MODE) {
      return null;
    }
    if (ordinal >= LockMode.values().length) {
      throw new IOException("unknown lock mode " + ordinal);
    }
    return LockMode.values()[ordinal];
  }

  private static List<String> readStrings(DataInput in) throws IOException {
    int count = readCount(in, "strings");
    List<String> values = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      values.add(in.readUTF());
    }
    return values;
  }
}
