package io.synod.core.saga;

import static io.synod.core.Codecs.readBytes;
import static io.synod.core.Codecs.readCount;
import static io.synod.core.Codecs.readEnum;
import static io.synod.core.Codecs.readNullableText;
import static io.synod.core.Codecs.readText;
import static io.synod.core.Codecs.writeBytes;
import static io.synod.core.Codecs.writeNullableText;
import static io.synod.core.Codecs.writeText;

import io.synod.api.saga.RetryPolicy;
import io.synod.api.saga.SagaDefinition;
import io.synod.api.saga.SagaState;
import io.synod.api.saga.SagaStep;
import io.synod.api.saga.StepOperation;
import io.synod.api.saga.StepState;
import io.synod.core.saga.SagaRun.StepRun;
import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * Binary form of the saga log's entries ({@link SagaCommand}), of the effects ({@link
 * SagaEffect}) and of a {@link SagaStateMachine} snapshot. Big-endian, via {@link DataOutput};
 * {@code str} is modified UTF-8 with a 2-byte length (ids and names, which are bounded), {@code
 * text} a 4-byte length then UTF-8 (SQL, errors, values: unbounded by the API), {@code n...} a
 * presence byte first. Each top-level form starts with a format version byte.
 *
 * <pre>
 * command := version:u8 (=1) tag:u8 body
 *   Start                 (1) := sagaId:str definition input nowMs:i64
 *   StepStarted           (2) := sagaId:str step:str attempt:i32 nowMs:i64
 *   StepSucceeded         (3) := sagaId:str step:str attempt:i32 nowMs:i64
 *   StepFailed            (4) := sagaId:str step:str attempt:i32 error:text retryable:bool
 *                                nowMs:i64
 *   CompensationStarted   (5) := sagaId:str step:str attempt:i32 nowMs:i64
 *   CompensationSucceeded (6) := sagaId:str step:str nowMs:i64
 *   CompensationFailed    (7) := sagaId:str step:str attempt:i32 error:text nowMs:i64
 *   RetryCompensations    (8) := sagaId:str nowMs:i64
 *   Abort                 (9) := sagaId:str reason:text nowMs:i64
 * definition := name:str count:u16 step*
 * step       := name:str action:op hasCompensation:bool op? count:u16 dependsOn:str*
 *               timeout:duration maxAttempts:i32 backoff:u8 baseDelay:duration maxDelay:duration
 * duration   := seconds:i64 nanos:i32
 * op         := 1 store:text sql:text count:i32 value*                  (Sql)
 *             | 2 store:text count:i32 text*                            (Redis)
 *             | 3 store:text count:i32 (key:text value:text)*           (Local, sorted by key)
 *             | 4 store:text tenant:text key:text delete:bool value:text? (Kv; value unless delete)
 * input      := count:i32 (name:str value)*                             (sorted by name)
 * value      := 0 (null) | 1 i64 (Long) | 2 i32 (Integer) | 3 f64 (Double)
 *             | 4 scale:i32 unscaled:bytes (BigDecimal) | 5 text (String) | 6 bool (Boolean)
 *             | 7 bytes (byte[])                                        bytes := length:i32 u8*
 *
 * effect := version:u8 (=1) tag:u8 body
 *   Updated       (1) := sagaId:str state:u8 count:u16 due*
 *   TryStarted    (2) := sagaId:str step:str attempt:i32 compensation:bool
 *   AlreadyExists (3) := sagaId:str state:u8
 *   Finished      (4) := sagaId:str state:u8 error:ntext
 *   Refused       (5) := sagaId:str reason:u8 message:text
 * due := tag:u8 (1 RunStep | 2 Compensate | 3 Timeout) sagaId:str step:str attempt:i32
 *        [compensation:bool if Timeout] notBeforeMs:i64
 *
 * snapshot := version:u8 (=1) count:i32 saga* (start order) finished:i32 sagaId:str* (finish order)
 *   saga     := sagaId:str definition input createdAtMs:i64 state:u8 reason:ntext updatedAtMs:i64
 *               stepState* (one per step of the definition, in its order)
 *   stepState := state:u8 attempts:i32 compensationAttempts:i32 compensationBase:i32
 *                compensationRunning:bool lastError:ntext updatedAtMs:i64
 * </pre>
 *
 * States, reasons and backoffs are enum ordinals. Readers reject unknown versions, tags and
 * ordinals and negative or oversized lengths with an IOException; a snapshot is checked against
 * every invariant after it is read.
 */
public final class SagaCodec {
  static final int VERSION = 1;
  /** Longest text a reader accepts: a corrupt length must not allocate gigabytes. */
  static final int TEXT_BYTES_MAX = 16 << 20;

  private SagaCodec() {}

  // ---------------------------------------------------------------- commands

  public static void writeCommand(DataOutput out, SagaCommand command) throws IOException {
    out.writeByte(VERSION);
    switch (command) {
      case SagaCommand.Start c -> {
        out.writeByte(1);
        out.writeUTF(c.sagaId());
        writeDefinition(out, c.definition());
        writeInput(out, c.input());
      }
      case SagaCommand.StepStarted c -> writeTry(out, 2, c.sagaId(), c.step(), c.attempt());
      case SagaCommand.StepSucceeded c -> writeTry(out, 3, c.sagaId(), c.step(), c.attempt());
      case SagaCommand.StepFailed c -> {
        writeTry(out, 4, c.sagaId(), c.step(), c.attempt());
        writeText(out, c.error());
        out.writeBoolean(c.retryable());
      }
      case SagaCommand.CompensationStarted c ->
          writeTry(out, 5, c.sagaId(), c.step(), c.attempt());
      case SagaCommand.CompensationSucceeded c -> {
        out.writeByte(6);
        out.writeUTF(c.sagaId());
        out.writeUTF(c.step());
      }
      case SagaCommand.CompensationFailed c -> {
        writeTry(out, 7, c.sagaId(), c.step(), c.attempt());
        writeText(out, c.error());
      }
      case SagaCommand.RetryCompensations c -> {
        out.writeByte(8);
        out.writeUTF(c.sagaId());
      }
      case SagaCommand.Abort c -> {
        out.writeByte(9);
        out.writeUTF(c.sagaId());
        writeText(out, c.reason());
      }
    }
    out.writeLong(command.nowMs());
  }

  private static void writeTry(DataOutput out, int tag, String sagaId, String step, int attempt)
      throws IOException {
    out.writeByte(tag);
    out.writeUTF(sagaId);
    out.writeUTF(step);
    out.writeInt(attempt);
  }

  public static SagaCommand readCommand(DataInput in) throws IOException {
    readVersion(in, "saga command");
    int tag = in.readUnsignedByte();
    try {
      return switch (tag) {
        case 1 -> new SagaCommand.Start(
            in.readUTF(), readDefinition(in), readInput(in), in.readLong());
        case 2 -> new SagaCommand.StepStarted(
            in.readUTF(), in.readUTF(), in.readInt(), in.readLong());
        case 3 -> new SagaCommand.StepSucceeded(
            in.readUTF(), in.readUTF(), in.readInt(), in.readLong());
        case 4 -> new SagaCommand.StepFailed(in.readUTF(), in.readUTF(), in.readInt(),
            readText(in, TEXT_BYTES_MAX), in.readBoolean(), in.readLong());
        case 5 -> new SagaCommand.CompensationStarted(
            in.readUTF(), in.readUTF(), in.readInt(), in.readLong());
        case 6 -> new SagaCommand.CompensationSucceeded(in.readUTF(), in.readUTF(), in.readLong());
        case 7 -> new SagaCommand.CompensationFailed(
            in.readUTF(), in.readUTF(), in.readInt(), readText(in, TEXT_BYTES_MAX), in.readLong());
        case 8 -> new SagaCommand.RetryCompensations(in.readUTF(), in.readLong());
        case 9 -> new SagaCommand.Abort(in.readUTF(), readText(in, TEXT_BYTES_MAX), in.readLong());
        default -> throw new IOException("unknown saga command tag " + tag);
      };
    } catch (RuntimeException e) {
      throw new IOException("malformed saga command (tag " + tag + "): " + e.getMessage(), e);
    }
  }

  // ---------------------------------------------------------------- definitions and values

  private static void writeDefinition(DataOutput out, SagaDefinition definition)
      throws IOException {
    out.writeUTF(definition.name());
    out.writeShort(definition.steps().size());
    for (SagaStep step : definition.steps()) {
      out.writeUTF(step.name());
      writeOperation(out, step.action());
      out.writeBoolean(step.compensation() != null);
      if (step.compensation() != null) {
        writeOperation(out, step.compensation());
      }
      out.writeShort(step.dependsOn().size());
      for (String dependency : step.dependsOn()) {
        out.writeUTF(dependency);
      }
      writeDuration(out, step.timeout());
      RetryPolicy retry = step.retry();
      out.writeInt(retry.maxAttempts());
      out.writeByte(retry.backoff().ordinal());
      writeDuration(out, retry.baseDelay());
      writeDuration(out, retry.maxDelay());
    }
  }

  private static SagaDefinition readDefinition(DataInput in) throws IOException {
    String name = in.readUTF();
    int count = in.readUnsignedShort();
    List<SagaStep> steps = new ArrayList<>(Math.min(count, SagaDefinition.STEPS_MAX));
    for (int i = 0; i < count; i++) {
      String step = in.readUTF();
      StepOperation action = readOperation(in);
      StepOperation compensation = in.readBoolean() ? readOperation(in) : null;
      int dependencies = in.readUnsignedShort();
      List<String> dependsOn = new ArrayList<>(dependencies);
      for (int d = 0; d < dependencies; d++) {
        dependsOn.add(in.readUTF());
      }
      Duration timeout = readDuration(in);
      RetryPolicy retry = new RetryPolicy(in.readInt(),
          readEnum(in, RetryPolicy.Backoff.values(), "backoff"), readDuration(in),
          readDuration(in));
      steps.add(new SagaStep(step, action, compensation, dependsOn, timeout, retry));
    }
    return new SagaDefinition(name, steps);
  }

  private static void writeOperation(DataOutput out, StepOperation operation)
      throws IOException {
    switch (operation) {
      case StepOperation.Sql sql -> {
        out.writeByte(1);
        writeText(out, sql.store());
        writeText(out, sql.sql());
        out.writeInt(sql.params().size());
        for (Object param : sql.params()) {
          writeValue(out, param);
        }
      }
      case StepOperation.Redis redis -> {
        out.writeByte(2);
        writeText(out, redis.store());
        out.writeInt(redis.command().size());
        for (String word : redis.command()) {
          writeText(out, word);
        }
      }
      case StepOperation.Local local -> {
        out.writeByte(3);
        writeText(out, local.store());
        Map<String, String> sorted = new TreeMap<>(local.args());
        out.writeInt(sorted.size());
        for (Map.Entry<String, String> arg : sorted.entrySet()) {
          writeText(out, arg.getKey());
          writeText(out, arg.getValue());
        }
      }
      case StepOperation.Kv kv -> {
        out.writeByte(4);
        writeText(out, kv.store());
        writeText(out, kv.tenantId());
        writeText(out, kv.key());
        out.writeBoolean(kv.delete());
        if (!kv.delete()) {
          writeText(out, kv.value());
        }
      }
    }
  }

  private static StepOperation readOperation(DataInput in) throws IOException {
    int tag = in.readUnsignedByte();
    String store = readText(in, TEXT_BYTES_MAX);
    return switch (tag) {
      case 1 -> {
        String sql = readText(in, TEXT_BYTES_MAX);
        int count = readCount(in, "sql parameters");
        List<Object> params = new ArrayList<>();
        for (int i = 0; i < count; i++) {
          params.add(readValue(in));
        }
        yield new StepOperation.Sql(store, sql, params);
      }
      case 2 -> {
        int count = readCount(in, "redis command words");
        List<String> command = new ArrayList<>();
        for (int i = 0; i < count; i++) {
          command.add(readText(in, TEXT_BYTES_MAX));
        }
        yield new StepOperation.Redis(store, command);
      }
      case 3 -> {
        int count = readCount(in, "local arguments");
        Map<String, String> args = new LinkedHashMap<>();
        for (int i = 0; i < count; i++) {
          args.put(readText(in, TEXT_BYTES_MAX), readText(in, TEXT_BYTES_MAX));
        }
        yield new StepOperation.Local(store, args);
      }
      case 4 -> {
        String tenantId = readText(in, TEXT_BYTES_MAX);
        String key = readText(in, TEXT_BYTES_MAX);
        boolean delete = in.readBoolean();
        yield new StepOperation.Kv(store, tenantId, key,
            delete ? null : readText(in, TEXT_BYTES_MAX), delete);
      }
      default -> throw new IOException("unknown step operation tag " + tag);
    };
  }

  private static void writeInput(DataOutput out, Map<String, Object> input) throws IOException {
    out.writeInt(input.size());
    for (Map.Entry<String, Object> entry : input.entrySet()) {
      out.writeUTF(entry.getKey());
      writeValue(out, entry.getValue());
    }
  }

  private static Map<String, Object> readInput(DataInput in) throws IOException {
    int count = readCount(in, "input values");
    Map<String, Object> input = new LinkedHashMap<>();
    for (int i = 0; i < count; i++) {
      input.put(in.readUTF(), readValue(in));
    }
    return input;
  }

  private static void writeValue(DataOutput out, Object value) throws IOException {
    switch (value) {
      case null -> out.writeByte(0);
      case Long v -> {
        out.writeByte(1);
        out.writeLong(v);
      }
      case Integer v -> {
        out.writeByte(2);
        out.writeInt(v);
      }
      case Double v -> {
        out.writeByte(3);
        out.writeDouble(v);
      }
      case BigDecimal v -> {
        out.writeByte(4);
        out.writeInt(v.scale());
        writeBytes(out, v.unscaledValue().toByteArray());
      }
      case String v -> {
        out.writeByte(5);
        writeText(out, v);
      }
      case Boolean v -> {
        out.writeByte(6);
        out.writeBoolean(v);
      }
      case byte[] v -> {
        out.writeByte(7);
        writeBytes(out, v);
      }
      default -> throw new IllegalArgumentException(
          "a saga value cannot be a " + value.getClass().getName());
    }
  }

  private static Object readValue(DataInput in) throws IOException {
    int tag = in.readUnsignedByte();
    return switch (tag) {
      case 0 -> null;
      case 1 -> in.readLong();
      case 2 -> in.readInt();
      case 3 -> in.readDouble();
      case 4 -> {
        int scale = in.readInt();
        byte[] unscaled = readBytes(in, TEXT_BYTES_MAX);
        if (unscaled.length == 0) {
          throw new IOException("a decimal without digits");
        }
        yield new BigDecimal(new BigInteger(unscaled), scale);
      }
      case 5 -> readText(in, TEXT_BYTES_MAX);
      case 6 -> in.readBoolean();
      case 7 -> readBytes(in, TEXT_BYTES_MAX);
      default -> throw new IOException("unknown saga value tag " + tag);
    };
  }

  // ---------------------------------------------------------------- effects

  public static void writeEffect(DataOutput out, SagaEffect effect) throws IOException {
    out.writeByte(VERSION);
    switch (effect) {
      case SagaEffect.Updated e -> {
        out.writeByte(1);
        out.writeUTF(e.sagaId());
        out.writeByte(e.state().ordinal());
        out.writeShort(e.due().size());
        for (Due due : e.due()) {
          writeDue(out, due);
        }
      }
      case SagaEffect.TryStarted e -> {
        out.writeByte(2);
        out.writeUTF(e.sagaId());
        out.writeUTF(e.step());
        out.writeInt(e.attempt());
        out.writeBoolean(e.compensation());
      }
      case SagaEffect.AlreadyExists e -> {
        out.writeByte(3);
        out.writeUTF(e.sagaId());
        out.writeByte(e.state().ordinal());
      }
      case SagaEffect.Finished e -> {
        out.writeByte(4);
        out.writeUTF(e.sagaId());
        out.writeByte(e.state().ordinal());
        writeNullableText(out, e.error());
      }
      case SagaEffect.Refused e -> {
        out.writeByte(5);
        out.writeUTF(e.sagaId());
        out.writeByte(e.reason().ordinal());
        writeText(out, e.message());
      }
    }
  }

  public static SagaEffect readEffect(DataInput in) throws IOException {
    readVersion(in, "saga effect");
    int tag = in.readUnsignedByte();
    return switch (tag) {
      case 1 -> {
        String sagaId = in.readUTF();
        SagaState state = readEnum(in, SagaState.values(), "saga state");
        int count = in.readUnsignedShort();
        List<Due> due = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
          due.add(readDue(in));
        }
        yield new SagaEffect.Updated(sagaId, state, due);
      }
      case 2 -> new SagaEffect.TryStarted(
          in.readUTF(), in.readUTF(), in.readInt(), in.readBoolean());
      case 3 -> new SagaEffect.AlreadyExists(
          in.readUTF(), readEnum(in, SagaState.values(), "saga state"));
      case 4 -> new SagaEffect.Finished(in.readUTF(),
          readEnum(in, SagaState.values(), "saga state"), readNullableText(in, TEXT_BYTES_MAX));
      case 5 -> new SagaEffect.Refused(in.readUTF(),
          readEnum(in, SagaEffect.Refused.Reason.values(), "refusal reason"),
          readText(in, TEXT_BYTES_MAX));
      default -> throw new IOException("unknown saga effect tag " + tag);
    };
  }

  private static void writeDue(DataOutput out, Due due) throws IOException {
    out.writeByte(switch (due) {
      case Due.RunStep d -> 1;
      case Due.Compensate d -> 2;
      case Due.Timeout d -> 3;
    });
    out.writeUTF(due.sagaId());
    out.writeUTF(due.step());
    out.writeInt(due.attempt());
    if (due instanceof Due.Timeout timeout) {
      out.writeBoolean(timeout.compensation());
    }
    out.writeLong(due.notBeforeMs());
  }

  private static Due readDue(DataInput in) throws IOException {
    int tag = in.readUnsignedByte();
    String sagaId = in.readUTF();
    String step = in.readUTF();
    int attempt = in.readInt();
    return switch (tag) {
      case 1 -> new Due.RunStep(sagaId, step, attempt, in.readLong());
      case 2 -> new Due.Compensate(sagaId, step, attempt, in.readLong());
      case 3 -> new Due.Timeout(sagaId, step, attempt, in.readBoolean(), in.readLong());
      default -> throw new IOException("unknown saga due tag " + tag);
    };
  }

  // ---------------------------------------------------------------- snapshot

  static void writeSnapshot(DataOutput out, Collection<SagaRun> runs,
      Collection<String> finishedOrder) throws IOException {
    out.writeByte(VERSION);
    out.writeInt(runs.size());
    for (SagaRun run : runs) {
      out.writeUTF(run.sagaId);
      writeDefinition(out, run.definition);
      writeInput(out, run.input);
      out.writeLong(run.createdAtMs);
      out.writeByte(run.state.ordinal());
      writeNullableText(out, run.reason);
      out.writeLong(run.updatedAtMs);
      for (StepRun step : run.steps) {
        out.writeByte(step.state.ordinal());
        out.writeInt(step.attempts);
        out.writeInt(step.compensationAttempts);
        out.writeInt(step.compensationBase);
        out.writeBoolean(step.compensationRunning);
        writeNullableText(out, step.lastError);
        out.writeLong(step.updatedAtMs);
      }
    }
    out.writeInt(finishedOrder.size());
    for (String sagaId : finishedOrder) {
      out.writeUTF(sagaId);
    }
  }

  /** Hands each saga read, then each finished id in order, to the machine being restored. */
  static void readSnapshot(DataInput in, Consumer<SagaRun> runs, Consumer<String> finished)
      throws IOException {
    readVersion(in, "saga snapshot");
    int count = readCount(in, "sagas");
    for (int i = 0; i < count; i++) {
      runs.accept(readRun(in));
    }
    int finishedCount = readCount(in, "finished sagas");
    for (int i = 0; i < finishedCount; i++) {
      finished.accept(in.readUTF());
    }
  }

  private static SagaRun readRun(DataInput in) throws IOException {
    String sagaId = in.readUTF();
    SagaDefinition definition = readDefinition(in);
    SortedMap<String, Object> input =
        Collections.unmodifiableSortedMap(new TreeMap<>(readInput(in)));
    SagaRun run = new SagaRun(sagaId, definition, input, in.readLong());
    run.state = readEnum(in, SagaState.values(), "saga state");
    run.reason = readNullableText(in, TEXT_BYTES_MAX);
    run.updatedAtMs = in.readLong();
    for (StepRun step : run.steps) {
      step.state = readEnum(in, StepState.values(), "step state");
      step.attempts = in.readInt();
      step.compensationAttempts = in.readInt();
      step.compensationBase = in.readInt();
      step.compensationRunning = in.readBoolean();
      step.lastError = readNullableText(in, TEXT_BYTES_MAX);
      step.updatedAtMs = in.readLong();
    }
    return run;
  }

  // ---------------------------------------------------------------- primitives

  private static void writeDuration(DataOutput out, Duration duration) throws IOException {
    out.writeLong(duration.getSeconds());
    out.writeInt(duration.getNano());
  }

  private static Duration readDuration(DataInput in) throws IOException {
    long seconds = in.readLong();
    int nanos = in.readInt();
    if (nanos < 0 || nanos > 999_999_999) {
      throw new IOException("duration with " + nanos + " nanoseconds");
    }
    return Duration.ofSeconds(seconds, nanos);
  }

  private static void readVersion(DataInput in, String what) throws IOException {
    int version = in.readUnsignedByte();
    if (version != VERSION) {
      throw new IOException(what + " format version " + version + " is not " + VERSION);
    }
  }
}
