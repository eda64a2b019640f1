package io.synod.engine.log;

import io.synod.core.event.EventCodec;
import io.synod.core.event.EventEffect;
import io.synod.core.lock.LockCodec;
import io.synod.core.lock.LockEffect;
import io.synod.core.saga.SagaCodec;
import io.synod.core.saga.SagaEffect;
import io.synod.core.txn.TxnCodec;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The bytes of one Ratis log entry: a batch of commands, and of its reply: their results. The
 * proposer packs whatever commands are waiting into one entry, so one consensus round and one
 * apply carry many transactions' decisions and many lock requests.
 *
 * <pre>
 * entry  := version:u8(=1) count:u16 (domain:u8 command)*     domain 1 = atomic commit (TxnCodec)
 *                                                             domain 2 = locks (LockCodec)
 *                                                             domain 3 = sagas (SagaCodec)
 *                                                             domain 4 = events (EventCodec)
 * reply  := count:u16 (domain:u8 result)*
 * result := txn outcome (TxnCodec)                            domain 1
 *         | effects:u16 effect* (LockCodec)                   domain 2
 *         | effects:u16 effect* (SagaCodec)                   domain 3
 *         | effects:u16 effect* (EventCodec)                  domain 4
 * </pre>
 *
 * An entry with count 0 is a barrier: it changes nothing, and its apply proves every earlier
 * entry applied.
 */
final class LogEntries {
  static final int VERSION = 1;
  static final int DOMAIN_TXN = 1;
  static final int DOMAIN_LOCK = 2;
  static final int DOMAIN_SAGA = 3;
  static final int DOMAIN_EVENT = 4;
  /** Bounded by the u16 count and by the size we let one entry grow to. */
  static final int COMMANDS_PER_ENTRY_MAX = 1024;

  private LogEntries() {}

  static byte[] encodeCommands(List<LogCommand> commands) {
    if (commands.size() > COMMANDS_PER_ENTRY_MAX) {
      throw new IllegalArgumentException("batch of " + commands.size() + " commands exceeds "
          + COMMANDS_PER_ENTRY_MAX);
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(64 + 96 * commands.size());
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.writeByte(VERSION);
      out.writeShort(commands.size());
      for (LogCommand command : commands) {
        switch (command) {
          case LogCommand.Txn txn -> {
            out.writeByte(DOMAIN_TXN);
            TxnCodec.writeCommand(out, txn.command());
          }
          case LogCommand.Lock lock -> {
            out.writeByte(DOMAIN_LOCK);
            LockCodec.writeCommand(out, lock.command());
          }
          case LogCommand.Saga saga -> {
            out.writeByte(DOMAIN_SAGA);
            SagaCodec.writeCommand(out, saga.command());
          }
          case LogCommand.Events events -> {
            out.writeByte(DOMAIN_EVENT);
            EventCodec.writeCommand(out, events.command());
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  static List<LogCommand> decodeCommands(InputStream stream) throws IOException {
    DataInputStream in = new DataInputStream(stream);
    int version = in.readUnsignedByte();
    if (version != VERSION) {
      throw new IOException("log entry version " + version + " is not supported (expected "
          + VERSION + ")");
    }
    int count = in.readUnsignedShort();
    List<LogCommand> commands = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      int domain = in.readUnsignedByte();
      commands.add(switch (domain) {
        case DOMAIN_TXN -> new LogCommand.Txn(TxnCodec.readCommand(in));
        case DOMAIN_LOCK -> new LogCommand.Lock(LockCodec.readCommand(in));
        case DOMAIN_SAGA -> new LogCommand.Saga(SagaCodec.readCommand(in));
        case DOMAIN_EVENT -> new LogCommand.Events(EventCodec.readCommand(in));
        default -> throw new IOException("unknown log entry domain " + domain);
      });
    }
    return commands;
  }

  static byte[] encodeResults(List<LogCommand.Result> results) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(16 + 128 * results.size());
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.writeShort(results.size());
      for (LogCommand.Result result : results) {
        switch (result) {
          case LogCommand.TxnResult txn -> {
            out.writeByte(DOMAIN_TXN);
            TxnCodec.writeOutcome(out, txn.outcome());
          }
          case LogCommand.LockResult lock -> {
            out.writeByte(DOMAIN_LOCK);
            out.writeShort(lock.effects().size());
            for (LockEffect effect : lock.effects()) {
              LockCodec.writeEffect(out, effect);
            }
          }
          case LogCommand.SagaResult saga -> {
            out.writeByte(DOMAIN_SAGA);
            out.writeShort(saga.effects().size());
            for (SagaEffect effect : saga.effects()) {
              SagaCodec.writeEffect(out, effect);
            }
          }
          case LogCommand.EventResult events -> {
            out.writeByte(DOMAIN_EVENT);
            out.writeShort(events.effects().size());
            for (EventEffect effect : events.effects()) {
              EventCodec.writeEffect(out, effect);
            }
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  static List<LogCommand.Result> decodeResults(InputStream stream) throws IOException {
    DataInputStream in = new DataInputStream(stream);
    int count = in.readUnsignedShort();
    List<LogCommand.Result> results = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      int domain = in.readUnsignedByte();
      results.add(switch (domain) {
        case DOMAIN_TXN -> new LogCommand.TxnResult(TxnCodec.readOutcome(in));
        case DOMAIN_LOCK -> {
          int effects = in.readUnsignedShort();
          List<LockEffect> list = new ArrayList<>(effects);
          for (int e = 0; e < effects; e++) {
            list.add(LockCodec.readEffect(in));
          }
          yield new LogCommand.LockResult(list);
        }
        case DOMAIN_SAGA -> {
          int effects = in.readUnsignedShort();
          List<SagaEffect> list = new ArrayList<>(effects);
          for (int e = 0; e < effects; e++) {
            list.add(SagaCodec.readEffect(in));
          }
          yield new LogCommand.SagaResult(list);
        }
        case DOMAIN_EVENT -> {
          int effects = in.readUnsignedShort();
          List<EventEffect> list = new ArrayList<>(effects);
          for (int e = 0; e < effects; e++) {
            list.add(EventCodec.readEffect(in));
          }
          yield new LogCommand.EventResult(list);
        }
        default -> throw new IOException("unknown reply domain " + domain);
      });
    }
    return results;
  }
}
