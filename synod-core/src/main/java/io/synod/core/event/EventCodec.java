package io.synod.core.event;

import static io.synod.core.Codecs.readCount;
import static io.synod.core.Codecs.readEnum;
import static io.synod.core.Codecs.readNullableText;
import static io.synod.core.Codecs.readText;
import static io.synod.core.Codecs.writeNullableText;
import static io.synod.core.Codecs.writeText;

import io.synod.api.event.ChoreographyDefinition;
import io.synod.api.event.ChoreographyStep;
import io.synod.api.event.Event;
import io.synod.api.saga.SagaState;
import io.synod.api.saga.StepState;
import io.synod.core.Codecs;
import io.synod.core.event.ChoreographyRun.StepRun;
import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Binary form of the event domain's entries ({@link EventCommand}), effects ({@link EventEffect})
 * and snapshot ({@link EventStateMachine}). Big-endian, via {@link DataOutput}; {@code str} is
 * modified UTF-8 with a 2-byte length (types, ids, names, keys: bounded), {@code text} a 4-byte
 * length then UTF-8 (values, reasons), {@code n...} a presence byte first.
 *
 * <pre>
 * command := version:u8 (=1) tag:u8 body nowMs:i64
 *   Publish       (1) := type:str correlationId:str payload
 *   Acknowledge   (2) := group:str offset:i64
 *   Start         (3) := correlationId:str definition payload
 *   TimeOut       (4) := correlationId:str step:str
 *   Abort         (5) := correlationId:str reason:text
 * effect := version:u8 (=1) tag:u8 body
 *   Published     (1) := event
 *   Acknowledged  (2) := group:str offset:i64
 *   Awaiting      (3) := correlationId:str step:str deadlineMs:i64
 *   Finished      (4) := correlationId:str state:u8 error:ntext
 *   AlreadyExists (5) := correlationId:str state:u8
 *   Refused       (6) := subject:str reason:u8 message:text
 * event      := offset:i64 publishedAtMs:i64 type:str correlationId:str payload
 * payload    := count:u16 (key:str value:text)*                     (sorted by key)
 * definition := name:str count:u16 step*
 * step       := name:str on:str done:str failed:nstr compensate:nstr timeout:duration
 * duration   := seconds:i64 nanos:i32
 *
 * snapshot := version:u8 (=1) lastOffset:i64 count:i32 event* (offset order)
 *             count:i32 (group:str offset:i64 atMs:i64)* (least recently acknowledged first)
 *             count:i32 run* (start order) count:i32 correlationId:str* (finish order)
 *   run       := correlationId:str definition payload createdAtMs:i64 updatedAtMs:i64 state:u8
 *                reason:ntext current:i32 stepState* (one per step of the definition)
 *   stepState := state:u8 startedAtMs:i64 updatedAtMs:i64 lastError:ntext
 * </pre>
 *
 * States and reasons are enum ordinals. Readers reject unknown versions, tags and ordinals and
 * negative or oversized counts with an IOException; a snapshot is checked against every invariant
 * after it is read.
 */
public final class EventCodec {
  static final int VERSION = 1;
  /** Longest text a reader accepts: a corrupt length must not allocate gigabytes. */
  static final int TEXT_BYTES_MAX = 1 << 20;

  private EventCodec() {}

  // ---------------------------------------------------------------- commands

  public static void writeCommand(DataOutput out, EventCommand command) throws IOException {
    out.writeByte(VERSION);
    switch (command) {
      case EventCommand.Publish c -> {
        out.writeByte(1);
        out.writeUTF(c.type());
        out.writeUTF(c.correlationId());
        writePayload(out, c.payload());
      }
      case EventCommand.Acknowledge c -> {
        out.writeByte(2);
        out.writeUTF(c.group());
        out.writeLong(c.offset());
      }
      case EventCommand.Start c -> {
        out.writeByte(3);
        out.writeUTF(c.correlationId());
        writeDefinition(out, c.definition());
        writePayload(out, c.payload());
      }
      case EventCommand.TimeOut c -> {
        out.writeByte(4);
        out.writeUTF(c.correlationId());
        out.writeUTF(c.step());
      }
      case EventCommand.Abort c -> {
        out.writeByte(5);
        out.writeUTF(c.correlationId());
        writeText(out, c.reason());
      }
    }
    out.writeLong(command.nowMs());
  }

  public static EventCommand readCommand(DataInput in) throws IOException {
    readVersion(in, "event command");
    int tag = in.readUnsignedByte();
    try {
      return switch (tag) {
        case 1 -> new EventCommand.Publish(in.readUTF(), in.readUTF(), readPayload(in),
            in.readLong());
        case 2 -> new EventCommand.Acknowledge(in.readUTF(), in.readLong(), in.readLong());
        case 3 -> new EventCommand.Start(in.readUTF(), readDefinition(in), readPayload(in),
            in.readLong());
        case 4 -> new EventCommand.TimeOut(in.readUTF(), in.readUTF(), in.readLong());
        case 5 -> new EventCommand.Abort(in.readUTF(), readText(in, TEXT_BYTES_MAX), in.readLong());
        default -> throw new IOException("unknown event command tag " + tag);
      };
    } catch (RuntimeException e) {
      throw new IOException("malformed event command (tag " + tag + "): " + e.getMessage(), e);
    }
  }

  // ---------------------------------------------------------------- effects

  public static void writeEffect(DataOutput out, EventEffect effect) throws IOException {
    out.writeByte(VERSION);
    switch (effect) {
      case EventEffect.Published e -> {
        out.writeByte(1);
        writeEvent(out, e.event());
      }
      case EventEffect.Acknowledged e -> {
        out.writeByte(2);
        out.writeUTF(e.group());
        out.writeLong(e.offset());
      }
      case EventEffect.Awaiting e -> {
        out.writeByte(3);
        out.writeUTF(e.correlationId());
        out.writeUTF(e.step());
        out.writeLong(e.deadlineMs());
      }
      case EventEffect.Finished e -> {
        out.writeByte(4);
        out.writeUTF(e.correlationId());
        out.writeByte(e.state().ordinal());
        writeNullableText(out, e.error());
      }
      case EventEffect.AlreadyExists e -> {
        out.writeByte(5);
        out.writeUTF(e.correlationId());
        out.writeByte(e.state().ordinal());
      }
      case EventEffect.Refused e -> {
        out.writeByte(6);
        out.writeUTF(e.subject());
        out.writeByte(e.reason().ordinal());
        writeText(out, e.message());
      }
    }
  }

  public static EventEffect readEffect(DataInput in) throws IOException {
    readVersion(in, "event effect");
    int tag = in.readUnsignedByte();
    try {
      return switch (tag) {
        case 1 -> new EventEffect.Published(readEvent(in));
        case 2 -> new EventEffect.Acknowledged(in.readUTF(), in.readLong());
        case 3 -> new EventEffect.Awaiting(in.readUTF(), in.readUTF(), in.readLong());
        case 4 -> new EventEffect.Finished(in.readUTF(),
            readEnum(in, SagaState.values(), "saga state"), readNullableText(in, TEXT_BYTES_MAX));
        case 5 -> new EventEffect.AlreadyExists(in.readUTF(),
            readEnum(in, SagaState.values(), "saga state"));
        case 6 -> new EventEffect.Refused(in.readUTF(),
            readEnum(in, EventEffect.Refused.Reason.values(), "refusal reason"),
            readText(in, TEXT_BYTES_MAX));
        default -> throw new IOException("unknown event effect tag " + tag);
      };
    } catch (RuntimeException e) {
      throw new IOException("malformed event effect (tag " + tag + "): " + e.getMessage(), e);
    }
  }

  // ---------------------------------------------------------------- snapshot

  static void writeSnapshot(DataOutput out, EventStream stream, Choreographies sagas)
      throws IOException {
    out.writeByte(VERSION);
    out.writeLong(stream.lastOffset());
    List<Event> events = new ArrayList<>();
    stream.retained().forEach(events::add);
    out.writeInt(events.size());
    for (Event event : events) {
      writeEvent(out, event);
    }
    out.writeInt(stream.groups().size());
    for (Map.Entry<String, EventStream.Position> group : stream.groups().entrySet()) {
      out.writeUTF(group.getKey());
      out.writeLong(group.getValue().offset());
      out.writeLong(group.getValue().atMs());
    }
    out.writeInt(sagas.runs().size());
    for (ChoreographyRun run : sagas.runs()) {
      writeRun(out, run);
    }
    List<String> finished = sagas.finishedIds();
    out.writeInt(finished.size());
    for (String id : finished) {
      out.writeUTF(id);
    }
  }

  static void readSnapshot(DataInput in, EventStream stream, Choreographies sagas)
      throws IOException {
    readVersion(in, "event snapshot");
    long lastOffset = in.readLong();
    int count = readCount(in, "retained events");
    List<Event> events = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      events.add(readEvent(in));
    }
    int groupCount = readCount(in, "consumer groups");
    Map<String, EventStream.Position> groups = new LinkedHashMap<>();
    for (int i = 0; i < groupCount; i++) {
      groups.put(in.readUTF(), new EventStream.Position(in.readLong(), in.readLong()));
    }
    stream.restore(lastOffset, events, groups);
    int runs = readCount(in, "sagas");
    for (int i = 0; i < runs; i++) {
      sagas.restore(readRun(in));
    }
    int finished = readCount(in, "finished sagas");
    for (int i = 0; i < finished; i++) {
      sagas.restoreFinished(in.readUTF());
    }
  }

  private static void writeRun(DataOutput out, ChoreographyRun run) throws IOException {
    out.writeUTF(run.correlationId);
    writeDefinition(out, run.definition);
    writePayload(out, run.payload);
    out.writeLong(run.createdAtMs);
    out.writeLong(run.updatedAtMs);
    out.writeByte(run.state.ordinal());
    writeNullableText(out, run.reason);
    out.writeInt(run.current);
    for (StepRun step : run.steps) {
      out.writeByte(step.state.ordinal());
      out.writeLong(step.startedAtMs);
      out.writeLong(step.updatedAtMs);
      writeNullableText(out, step.lastError);
    }
  }

  private static ChoreographyRun readRun(DataInput in) throws IOException {
    String correlationId = in.readUTF();
    ChoreographyDefinition definition = readDefinition(in);
    Map<String, String> payload = readPayload(in);
    ChoreographyRun run = new ChoreographyRun(correlationId, definition, payload, in.readLong());
    run.updatedAtMs = in.readLong();
    run.state = readEnum(in, SagaState.values(), "saga state");
    run.reason = readNullableText(in, TEXT_BYTES_MAX);
    run.current = in.readInt();
    if (run.current < 0 || run.current >= run.steps.length) {
      throw new IOException("saga " + correlationId + " awaits step " + run.current + " of "
          + run.steps.length);
    }
    for (StepRun step : run.steps) {
      step.state = readEnum(in, StepState.values(), "step state");
      step.startedAtMs = in.readLong();
      step.updatedAtMs = in.readLong();
      step.lastError = readNullableText(in, TEXT_BYTES_MAX);
    }
    return run;
  }

  // ---------------------------------------------------------------- pieces

  private static void writeEvent(DataOutput out, Event event) throws IOException {
    out.writeLong(event.offset());
    out.writeLong(event.publishedAtMs());
    out.writeUTF(event.type());
    out.writeUTF(event.correlationId());
    writePayload(out, event.payload());
  }

  private static Event readEvent(DataInput in) throws IOException {
    long offset = in.readLong();
    long publishedAtMs = in.readLong();
    return new Event(in.readUTF(), in.readUTF(), readPayload(in), publishedAtMs, offset);
  }

  /** The payload is a sorted map already ({@link Event}), so its bytes are the same everywhere. */
  private static void writePayload(DataOutput out, Map<String, String> payload)
      throws IOException {
    out.writeShort(payload.size());
    for (Map.Entry<String, String> entry : payload.entrySet()) {
      out.writeUTF(entry.getKey());
      writeText(out, entry.getValue());
    }
  }

  private static Map<String, String> readPayload(DataInput in) throws IOException {
    int count = in.readUnsignedShort();
    Map<String, String> payload = new LinkedHashMap<>();
    for (int i = 0; i < count; i++) {
      payload.put(in.readUTF(), readText(in, TEXT_BYTES_MAX));
    }
    return payload;
  }

  private static void writeDefinition(DataOutput out, ChoreographyDefinition definition)
      throws IOException {
    out.writeUTF(definition.name());
    out.writeShort(definition.steps().size());
    for (ChoreographyStep step : definition.steps()) {
      out.writeUTF(step.name());
      out.writeUTF(step.on());
      out.writeUTF(step.done());
      Codecs.writeNullable(out, step.failed());
      Codecs.writeNullable(out, step.compensate());
      out.writeLong(step.timeout().getSeconds());
      out.writeInt(step.timeout().getNano());
    }
  }

  private static ChoreographyDefinition readDefinition(DataInput in) throws IOException {
    String name = in.readUTF();
    int count = in.readUnsignedShort();
    List<ChoreographyStep> steps = new ArrayList<>(Math.min(count,
        ChoreographyDefinition.STEPS_MAX));
    for (int i = 0; i < count; i++) {
      steps.add(new ChoreographyStep(in.readUTF(), in.readUTF(), in.readUTF(),
          Codecs.readNullable(in), Codecs.readNullable(in),
          Duration.ofSeconds(in.readLong(), in.readInt())));
    }
    return new ChoreographyDefinition(name, steps);
  }

  private static void readVersion(DataInput in, String what) throws IOException {
    int version = in.readUnsignedByte();
    if (version != VERSION) {
      throw new IOException(what + " version " + version + " is not supported (expected "
          + VERSION + ")");
    }
  }
}
