package io.synod.core.txn;

import static io.synod.core.Codecs.readNullable;
import static io.synod.core.Codecs.writeNullable;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Binary form of the atomic-commit log entries, outcomes and snapshot records. Big-endian, via
 * {@link DataOutput}; strings are modified UTF-8 with a 2-byte length, a nullable string has a
 * leading presence byte.
 *
 * <pre>
 * command  := tag:u8 body
 *   Decide   (tag 2) := txnKey:str coordinationId:nstr stores:strs operationCount:i32 commit:bool
 *                       reason:nstr startedAtMs:i64 atMs:i64
 *   Complete (tag 3) := txnKey:str atMs:i64
 * record   := txnKey:str coordinationId:nstr stores:strs operationCount:i32 phase:u8 reason:nstr
 *             startedAtMs:i64 decidedAtMs:i64 completedAtMs:i64
 * outcome  := tag:u8 (2 Duplicate | 3 Decided | 4 Completed | 5 Refused) hasRecord:bool
 *             record? [why:str if Refused]
 * strs     := count:u16 str*
 * </pre>
 */
public final class TxnCodec {
  private static final int DECIDE = 2;
  private static final int COMPLETE = 3;

  private TxnCodec() {}

  public static void writeCommand(DataOutput out, TxnCommand command) throws IOException {
    switch (command) {
      case TxnCommand.Decide d -> {
        out.writeByte(DECIDE);
        out.writeUTF(d.txnKey());
        writeNullable(out, d.coordinationId());
        writeStrings(out, d.stores());
        out.writeInt(d.operationCount());
        out.writeBoolean(d.commit());
        writeNullable(out, d.reason());
        out.writeLong(d.startedAtMs());
        out.writeLong(d.atMs());
      }
      case TxnCommand.Complete c -> {
        out.writeByte(COMPLETE);
        out.writeUTF(c.txnKey());
        out.writeLong(c.atMs());
      }
    }
  }

  public static TxnCommand readCommand(DataInput in) throws IOException {
    int tag = in.readUnsignedByte();
    return switch (tag) {
      case DECIDE ->
          new TxnCommand.Decide(in.readUTF(), readNullable(in), readStrings(in), in.readInt(),
              in.readBoolean(), readNullable(in), in.readLong(), in.readLong());
      case COMPLETE -> new TxnCommand.Complete(in.readUTF(), in.readLong());
      default -> throw new IOException("unknown transaction command tag " + tag);
    };
  }

  public static void writeRecord(DataOutput out, TxnRecord r) throws IOException {
    out.writeUTF(r.txnKey());
    writeNullable(out, r.coordinationId());
    writeStrings(out, r.stores());
    out.writeInt(r.operationCount());
    out.writeByte(r.phase().ordinal());
    writeNullable(out, r.reason());
    out.writeLong(r.startedAtMs());
    out.writeLong(r.decidedAtMs());
    out.writeLong(r.completedAtMs());
  }

  public static TxnRecord readRecord(DataInput in) throws IOException {
    String key = in.readUTF();
    String coordinationId = readNullable(in);
    List<String> stores = readStrings(in);
    int operationCount = in.readInt();
    int phase = in.readUnsignedByte();
    if (phase >= TxnPhase.values().length) {
      throw new IOException("unknown transaction phase " + phase);
    }
    return new TxnRecord(
        key, coordinationId, stores, operationCount, TxnPhase.values()[phase], readNullable(in),
        in.readLong(), in.readLong(), in.readLong());
  }

  public static void writeOutcome(DataOutput out, TxnOutcome outcome) throws IOException {
    int tag =
        switch (outcome) {
          case TxnOutcome.Duplicate d -> 2;
          case TxnOutcome.Decided d -> 3;
          case TxnOutcome.Completed c -> 4;
          case TxnOutcome.Refused r -> 5;
        };
    out.writeByte(tag);
    out.writeBoolean(outcome.record() != null);
    if (outcome.record() != null) {
      writeRecord(out, outcome.record());
    }
    if (outcome instanceof TxnOutcome.Refused refused) {
      out.writeUTF(refused.why());
    }
  }

  public static TxnOutcome readOutcome(DataInput in) throws IOException {
    int tag = in.readUnsignedByte();
    TxnRecord record = in.readBoolean() ? readRecord(in) : null;
    return switch (tag) {
      case 2 -> new TxnOutcome.Duplicate(record);
      case 3 -> new TxnOutcome.Decided(record);
      case 4 -> new TxnOutcome.Completed(record);
      case 5 -> new TxnOutcome.Refused(record, in.readUTF());
      default -> throw new IOException("unknown transaction outcome tag " + tag);
    };
  }

  private static void writeStrings(DataOutput out, List<String> values) throws IOException {
    out.writeShort(values.size());
    for (String value : values) {
      out.writeUTF(value);
    }
  }

  private static List<String> readStrings(DataInput in) throws IOException {
    int count = in.readUnsignedShort();
    List<String> values = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      values.add(in.readUTF());
    }
    return values;
  }
}
