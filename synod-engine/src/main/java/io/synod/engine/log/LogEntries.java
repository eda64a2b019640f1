package io.synod.engine.log;

import io.synod.core.txn.TxnCodec;
import io.synod.core.txn.TxnCommand;
import io.synod.core.txn.TxnOutcome;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The bytes of one Ratis log entry: a batch of commands, and of its reply: their outcomes. The
 * proposer packs whatever commands are waiting into one entry, so one consensus round and one
 * apply carry many transactions' decisions.
 *
 * <pre>
 * entry  := version:u8(=1) count:u16 (domain:u8 command)*      domain 1 = atomic commit
 * reply  := count:u16 outcome*
 * </pre>
 *
 * An entry with count 0 is a barrier: it changes nothing, and its apply proves every earlier
 * entry applied.
 */
final class LogEntries {
  static final int VERSION = 1;
  static final int DOMAIN_TXN = 1;
  /** Bounded by the u16 count and by the size we let one entry grow to. */
  static final int COMMANDS_PER_ENTRY_MAX = 1024;

  private LogEntries() {}

  static byte[] encodeCommands(List<TxnCommand> commands) {
    if (commands.size() > COMMANDS_PER_ENTRY_MAX) {
      throw new IllegalArgumentException("batch of " + commands.size() + " commands exceeds "
          + COMMANDS_PER_ENTRY_MAX);
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(64 + 96 * commands.size());
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.writeByte(VERSION);
      out.writeShort(commands.size());
      for (TxnCommand command : commands) {
        out.writeByte(DOMAIN_TXN);
        TxnCodec.writeCommand(out, command);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  static List<TxnCommand> decodeCommands(InputStream stream) throws IOException {
    DataInputStream in = new DataInputStream(stream);
    int version = in.readUnsignedByte();
    if (version != VERSION) {
      throw new IOException("log entry version " + version + " is not supported (expected "
          + VERSION + ")");
    }
    int count = in.readUnsignedShort();
    List<TxnCommand> commands = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      int domain = in.readUnsignedByte();
      if (domain != DOMAIN_TXN) {
        throw new IOException("unknown log entry domain " + domain);
      }
      commands.add(TxnCodec.readCommand(in));
    }
    return commands;
  }

  static byte[] encodeOutcomes(List<TxnOutcome> outcomes) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(16 + 128 * outcomes.size());
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.writeShort(outcomes.size());
      for (TxnOutcome outcome : outcomes) {
        TxnCodec.writeOutcome(out, outcome);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  static List<TxnOutcome> decodeOutcomes(InputStream stream) throws IOException {
    DataInputStream in = new DataInputStream(stream);
    int count = in.readUnsignedShort();
    List<TxnOutcome> outcomes = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      outcomes.add(TxnCodec.readOutcome(in));
    }
    return outcomes;
  }
}
