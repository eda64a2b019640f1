package io.synod.engine.log;

import io.synod.core.txn.TxnCodec;
import io.synod.core.txn.TxnCommand;
import io.synod.core.txn.TxnOutcome;
import io.synod.core.txn.TxnRecord;
import io.synod.core.txn.TxnStateMachine;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
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
 * Adapts the pure {@link TxnStateMachine} to Ratis: decodes each committed entry, applies its
 * commands in order, and answers with their outcomes; writes and loads snapshots.
 *
 * <p>Apply and reads are serialised on this object; Ratis applies entries one at a time.
 *
 * <pre>
 * snapshot file := magic:i32("SYN1") count:i32 record*          (see TxnCodec for record)
 * </pre>
 */
final class RatisStateMachine extends BaseStateMachine {
  private static final int SNAPSHOT_MAGIC = 0x53594e31;

  private final SimpleStateMachineStorage storage = new SimpleStateMachineStorage();
  private final TxnStateMachine txns;
  private final Runnable onLeaderReady;

  RatisStateMachine(long retentionMs, int finishedMax, Runnable onLeaderReady) {
    this.txns = new TxnStateMachine(retentionMs, finishedMax);
    this.onLeaderReady = onLeaderReady;
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
    List<TxnCommand> commands;
    try {
      commands = LogEntries.decodeCommands(entry.getStateMachineLogEntry().getLogData().newInput());
    } catch (IOException e) {
      // A committed entry we cannot read: stop rather than diverge from the other replicas.
      return CompletableFuture.failedFuture(
          new IllegalStateException("undecodable log entry at " + TermIndex.valueOf(entry), e));
    }
    List<TxnOutcome> outcomes = new ArrayList<>(commands.size());
    synchronized (this) {
      for (TxnCommand command : commands) {
        outcomes.add(txns.apply(command));
      }
      updateLastAppliedTermIndex(entry.getTerm(), entry.getIndex());
    }
    return CompletableFuture.completedFuture(Message.valueOf(
        org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations.unsafeWrap(
            LogEntries.encodeOutcomes(outcomes))));
  }

  synchronized <T> T read(Function<TxnStateMachine, T> query) {
    return query.apply(txns);
  }

  @Override
  public void notifyLeaderReady() {
    onLeaderReady.run();
  }

  @Override
  public long takeSnapshot() throws IOException {
    TermIndex last;
    List<TxnRecord> records;
    synchronized (this) {
      last = getLastAppliedTermIndex();
      records = new ArrayList<>(txns.records());
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
    }
    Files.move(temp, target.toPath(), StandardCopyOption.ATOMIC_MOVE);
    var md5 = MD5FileUtil.computeAndSaveMd5ForFile(target);
    storage.updateLatestSnapshot(new SingleFileSnapshotInfo(new FileInfo(target.toPath(), md5), last));
    return last.getIndex();
  }

  private void load(SingleFileSnapshotInfo snapshot) throws IOException {
    if (snapshot == null || !Files.exists(snapshot.getFile().getPath())) {
      return;
    }
    Path path = snapshot.getFile().getPath();
    if (snapshot.getFile().getFileDigest() != null) {
      MD5FileUtil.verifySavedMD5(path.toFile(), snapshot.getFile().getFileDigest());
    }
    List<TxnRecord> records = new ArrayList<>();
    try (DataInputStream in = new DataInputStream(
        new BufferedInputStream(Files.newInputStream(path)))) {
      int magic = in.readInt();
      if (magic != SNAPSHOT_MAGIC) {
        throw new IOException("not a synod snapshot: " + path);
      }
      int count = in.readInt();
      for (int i = 0; i < count; i++) {
        records.add(TxnCodec.readRecord(in));
      }
    }
    synchronized (this) {
      txns.restore(records);
      updateLastAppliedTermIndex(SimpleStateMachineStorage.getTermIndexFromSnapshotFile(path.toFile()));
    }
  }
}
