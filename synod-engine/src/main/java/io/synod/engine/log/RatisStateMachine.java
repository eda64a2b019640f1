package io.synod.engine.log;

import io.synod.core.event.EventEffect;
import io.synod.core.event.EventStateMachine;
import io.synod.core.lock.LockCodec;
import io.synod.core.lock.LockEffect;
import io.synod.core.lock.LockTable;
import io.synod.core.saga.SagaEffect;
import io.synod.core.saga.SagaStateMachine;
import io.synod.core.txn.TxnCodec;
import io.synod.core.txn.TxnRecord;
import io.synod.core.txn.TxnStateMachine;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInput;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.function.Function;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.raftlog.RaftLog;
import org.apache.ratis.server.storage.FileInfo;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.statemachine.impl.SimpleStateMachineStorage;
import org.apache.ratis.statemachine.impl.SingleFileSnapshotInfo;
import org.apache.ratis.util.MD5FileUtil;

/**
 * Adapts the pure state machines to Ratis: the atomic-commit {@link TxnStateMachine}, the {@link
 * LockTable}, the {@link SagaStateMachine} and the {@link EventStateMachine}. Decodes each
 * committed entry, applies its commands in order, each to its domain's machine, and answers with
 * their results; hands every lock effect to the lock driver's listener (waiters live there), every
 * saga effect to the saga driver's and every event effect to the event bus's; writes and loads
 * snapshots of all four.
 *
 * <p>Apply and reads are serialised on this object; Ratis applies entries one at a time.
 *
 * <pre>
 * snapshot file := magic:i32("SYN4") count:i32 record* locks sagas events
 *                      (TxnCodec record, LockCodec snapshot, SagaStateMachine snapshot,
 *                       EventStateMachine snapshot)
 *                | magic:i32("SYN3") count:i32 record* locks sagas (before events; still read)
 *                | magic:i32("SYN2") count:i32 record* locks   (before sagas; still read)
 *                | magic:i32("SYN1") count:i32 record*         (before locks; still read)
 * </pre>
 */
final class RatisStateMachine extends BaseStateMachine {
  static final int SNAPSHOT_MAGIC_TXNS_ONLY = 0x53594e31;
  static final int SNAPSHOT_MAGIC_TXNS_LOCKS = 0x53594e32;
  static final int SNAPSHOT_MAGIC_BEFORE_EVENTS = 0x53594e33;
  static final int SNAPSHOT_MAGIC = 0x53594e34;

  private final SimpleStateMachineStorage storage = new SimpleStateMachineStorage();
  private final TxnStateMachine txns;
  private final LockTable.Limits lockLimits;
  private LockTable locks;
  private final SagaStateMachine.Limits sagaLimits;
  private SagaStateMachine sagas;
  private final EventStateMachine.Limits eventLimits;
  private EventStateMachine events;
  private final Runnable onLeaderReady;
  private volatile Consumer<List<LockEffect>> lockEffects = effects -> {};
  private volatile Consumer<List<SagaEffect>> sagaEffects = effects -> {};
  private volatile Consumer<List<EventEffect>> eventEffects = effects -> {};

  RatisStateMachine(long retentionMs, int finishedMax, LockTable.Limits lockLimits,
      SagaStateMachine.Limits sagaLimits, EventStateMachine.Limits eventLimits,
      Runnable onLeaderReady) {
    this.txns = new TxnStateMachine(retentionMs, finishedMax);
    this.lockLimits = lockLimits;
    this.locks = new LockTable(lockLimits);
    this.sagaLimits = sagaLimits;
    this.sagas = new SagaStateMachine(sagaLimits);
    this.eventLimits = eventLimits;
    this.events = new EventStateMachine(eventLimits);
    this.onLeaderReady = onLeaderReady;
  }

  /** Receives the effects of every applied lock command, on the apply thread, in log order. */
  void onLockEffects(Consumer<List<LockEffect>> listener) {
    this.lockEffects = listener;
  }

  /** Receives the effects of every applied saga command, on the apply thread, in log order. */
  void onSagaEffects(Consumer<List<SagaEffect>> listener) {
    this.sagaEffects = listener;
  }

  /** Receives the effects of every applied event command, on the apply thread, in log order. */
  void onEventEffects(Consumer<List<EventEffect>> listener) {
    this.eventEffects = listener;
  }

  @Override
  public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage raftStorage)
      throws IOException {
    super.initialize(server, groupId, raftStorage);
    storage.init(raftStorage);
    reinitialize();
  }

  @Override
  public void reinitialize() throws IOException {
    load(storage.getLatestSnapshot());
  }

  @Override
  public SimpleStateMachineStorage getStateMachineStorage() {
    return storage;
  }

  @Override
  public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
    LogEntryProto entry = trx.getLogEntry();
    List<LogCommand> commands;
    try {
      commands = LogEntries.decodeCommands(entry.getStateMachineLogEntry().getLogData().newInput());
    } catch (IOException e) {
      // A committed entry we cannot read: stop rather than diverge from the other replicas.
      return CompletableFuture.failedFuture(
          new IllegalStateException("undecodable log entry at " + TermIndex.valueOf(entry), e));
    }
    List<LogCommand.Result> results = new ArrayList<>(commands.size());
    List<LockEffect> lockApplied = new ArrayList<>();
    List<SagaEffect> sagaApplied = new ArrayList<>();
    List<EventEffect> eventApplied = new ArrayList<>();
    synchronized (this) {
      for (LogCommand command : commands) {
        switch (command) {
          case LogCommand.Txn txn -> results.add(new LogCommand.TxnResult(txns.apply(txn.command())));
          case LogCommand.Lock lock -> {
            List<LockEffect> applied = locks.apply(lock.command());
            lockApplied.addAll(applied);
            results.add(new LogCommand.LockResult(applied));
          }
          case LogCommand.Saga saga -> {
            List<SagaEffect> applied = sagas.apply(saga.command());
            sagaApplied.addAll(applied);
            results.add(new LogCommand.SagaResult(applied));
          }
          case LogCommand.Events event -> {
            List<EventEffect> applied = events.apply(event.command());
            eventApplied.addAll(applied);
            results.add(new LogCommand.EventResult(applied));
          }
        }
      }
      updateLastAppliedTermIndex(entry.getTerm(), entry.getIndex());
    }
    if (!lockApplied.isEmpty()) {
      lockEffects.accept(lockApplied);
    }
    if (!sagaApplied.isEmpty()) {
      sagaEffects.accept(sagaApplied);
    }
    if (!eventApplied.isEmpty()) {
      eventEffects.accept(eventApplied);
    }
    return CompletableFuture.completedFuture(Message.valueOf(
        org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations.unsafeWrap(
            LogEntries.encodeResults(results))));
  }

  synchronized <T> T read(Function<TxnStateMachine, T> query) {
    return query.apply(txns);
  }

  synchronized <T> T readLocks(Function<LockTable, T> query) {
    return query.apply(locks);
  }

  synchronized <T> T readSagas(Function<SagaStateMachine, T> query) {
    return query.apply(sagas);
  }

  synchronized <T> T readEvents(Function<EventStateMachine, T> query) {
    return query.apply(events);
  }

  @Override
  public void notifyLeaderReady() {
    onLeaderReady.run();
  }

  @Override
  public long takeSnapshot() throws IOException {
    TermIndex last;
    List<TxnRecord> records;
    byte[] lockSnapshot;
    byte[] sagaSnapshot;
    byte[] eventSnapshot;
    synchronized (this) {
      last = getLastAppliedTermIndex();
      records = new ArrayList<>(txns.records());
      lockSnapshot = bytesOf(out -> LockCodec.writeSnapshot(out, locks));
      sagaSnapshot = bytesOf(sagas::writeSnapshot);
      eventSnapshot = bytesOf(events::writeSnapshot);
    }
    if (last == null || last.getIndex() < 0) {
      return RaftLog.INVALID_LOG_INDEX;
    }
    File target = storage.getSnapshotFile(last.getTerm(), last.getIndex());
    Path temp = target.toPath().resolveSibling(target.getName() + ".tmp");
    try (DataOutputStream out = new DataOutputStream(
        new BufferedOutputStream(Files.newOutputStream(temp)))) {
      out.writeInt(SNAPSHOT_MAGIC);
      out.writeInt(records.size());
      for (TxnRecord record : records) {
        TxnCodec.writeRecord(out, record);
      }
      out.write(lockSnapshot);
      out.write(sagaSnapshot);
      out.write(eventSnapshot);
    }
    Files.move(temp, target.toPath(), StandardCopyOption.ATOMIC_MOVE);
    var md5 = MD5FileUtil.computeAndSaveMd5ForFile(target);
    storage.updateLatestSnapshot(new SingleFileSnapshotInfo(new FileInfo(target.toPath(), md5), last));
    return last.getIndex();
  }

  /** Writes a snapshot section. */
  private interface SectionWriter {
    void write(DataOutputStream out) throws IOException;
  }

  private static byte[] bytesOf(SectionWriter writer) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      writer.write(out);
    }
    return bytes.toByteArray();
  }

  private void load(SingleFileSnapshotInfo snapshot) throws IOException {
    if (snapshot == null || !Files.exists(snapshot.getFile().getPath())) {
      return;
    }
    Path path = snapshot.getFile().getPath();
    if (snapshot.getFile().getFileDigest() != null) {
      MD5FileUtil.verifySavedMD5(path.toFile(), snapshot.getFile().getFileDigest());
    }
    Restored restored;
    try (DataInputStream in = new DataInputStream(
        new BufferedInputStream(Files.newInputStream(path)))) {
      restored = readSnapshot(in, lockLimits, sagaLimits, eventLimits);
    } catch (IOException e) {
      throw new IOException("cannot read snapshot " + path + ": " + e.getMessage(), e);
    }
    synchronized (this) {
      txns.restore(restored.txns());
      locks = restored.locks();
      sagas = restored.sagas();
      events = restored.events();
      updateLastAppliedTermIndex(SimpleStateMachineStorage.getTermIndexFromSnapshotFile(path.toFile()));
    }
  }

  /** The four machines' state as a snapshot file holds it. */
  record Restored(List<TxnRecord> txns, LockTable locks, SagaStateMachine sagas,
      EventStateMachine events) {}

  /** Reads a snapshot of any supported format; what an older one lacks starts empty. */
  static Restored readSnapshot(DataInput in, LockTable.Limits lockLimits,
      SagaStateMachine.Limits sagaLimits, EventStateMachine.Limits eventLimits)
      throws IOException {
    int magic = in.readInt();
    if (magic != SNAPSHOT_MAGIC && magic != SNAPSHOT_MAGIC_BEFORE_EVENTS
        && magic != SNAPSHOT_MAGIC_TXNS_LOCKS && magic != SNAPSHOT_MAGIC_TXNS_ONLY) {
      throw new IOException("not a synod snapshot (magic " + Integer.toHexString(magic) + ")");
    }
    int count = in.readInt();
    List<TxnRecord> records = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      records.add(TxnCodec.readRecord(in));
    }
    LockTable locks = magic == SNAPSHOT_MAGIC_TXNS_ONLY
        ? new LockTable(lockLimits)
        : LockCodec.readSnapshot(in, lockLimits);
    boolean hasSagas = magic == SNAPSHOT_MAGIC || magic == SNAPSHOT_MAGIC_BEFORE_EVENTS;
    SagaStateMachine sagas = hasSagas
        ? SagaStateMachine.readSnapshot(in, sagaLimits)
        : new SagaStateMachine(sagaLimits);
    EventStateMachine events = magic == SNAPSHOT_MAGIC
        ? EventStateMachine.readSnapshot(in, eventLimits)
        : new EventStateMachine(eventLimits);
    return new Restored(records, locks, sagas, events);
  }
}
