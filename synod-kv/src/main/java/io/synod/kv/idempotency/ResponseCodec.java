package io.synod.kv.idempotency;

import io.synod.api.SynodException;
import io.synod.api.kv.Consistency;
import io.synod.api.kv.KvWriteResult;
import io.synod.api.kv.VectorClock;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A stored write response in bytes, the same for every store. Integers are big-endian; a string
 * is its length in UTF-8 bytes (-1 for null) and the bytes. The clock's entries come in writer
 * order, as {@link VectorClock} keeps them, so equal responses encode alike.
 *
 * <pre>
 *  0        1        2
 *  +--------+--------+--------------+-----------------+-------------+---------------+
 *  | format | flags  | key (str)    | idem key (str)  | consistency | replica count |
 *  | = 1    | bit0 success, bit1 duplicate            | (str, wire) | (int32)       |
 *  +--------+--------+--------------+-----------------+-------------+---------------+
 *  | clock entries n (int32, -1: no clock) | n x ( writer (str) | counter (int64) ) |
 *  +---------------------------------------+---------------------------------------+
 *  | error message (str) |
 *  +---------------------+
 * </pre>
 *
 * Decoding checks every length against the bytes left and that none are left over, so a
 * truncated or foreign value fails with a message instead of yielding a wrong response.
 */
final class ResponseCodec {
  static final int FORMAT = 1;
  private static final int SUCCESS = 1;
  private static final int DUPLICATE = 2;
  /** The smallest clock entry: an empty writer's length and a counter. */
  private static final int CLOCK_ENTRY_BYTES_MIN = 4 + 8;

  private ResponseCodec() {}

  static byte[] encode(KvWriteResult r) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(64);
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.writeByte(FORMAT);
      out.writeByte((r.success() ? SUCCESS : 0) | (r.duplicate() ? DUPLICATE : 0));
      writeString(out, r.key());
      writeString(out, r.idempotencyKey());
      writeString(out, r.consistency() == null ? null : r.consistency().wireName());
      out.writeInt(r.replicaCount());
      if (r.clock() == null) {
        out.writeInt(-1);
      } else {
        Map<String, Long> entries = r.clock().entries();
        out.writeInt(entries.size());
        for (Map.Entry<String, Long> e : entries.entrySet()) {
          writeString(out, e.getKey());
          out.writeLong(e.getValue());
        }
      }
      writeString(out, r.errorMessage());
    } catch (IOException e) {
      throw new UncheckedIOException("a byte array stream does not fail", e);
    }
    return bytes.toByteArray();
  }

  /** The response in {@code bytes}; IllegalArgumentException saying what is wrong with them. */
  static KvWriteResult decode(byte[] bytes) {
    ByteBuffer in = ByteBuffer.wrap(bytes);
    try {
      int format = in.get() & 0xff;
      if (format != FORMAT) {
        throw new IllegalArgumentException("format " + format + ", expected " + FORMAT);
      }
      int flags = in.get() & 0xff;
      String key = readString(in, "key");
      String idempotencyKey = readString(in, "idempotency_key");
      String consistency = readString(in, "consistency");
      int replicaCount = in.getInt();
      VectorClock clock = readClock(in);
      String errorMessage = readString(in, "error_message");
      if (in.hasRemaining()) {
        throw new IllegalArgumentException(in.remaining() + " bytes after the response");
      }
      return new KvWriteResult((flags & SUCCESS) != 0, key, idempotencyKey, clock, replicaCount,
          Consistency.fromWire("consistency", consistency), (flags & DUPLICATE) != 0,
          errorMessage);
    } catch (BufferUnderflowException e) {
      throw new IllegalArgumentException("truncated at byte " + in.position() + " of "
          + bytes.length, e);
    } catch (SynodException e) {
      throw new IllegalArgumentException(e.getMessage(), e); // an unknown consistency
    }
  }

  private static VectorClock readClock(ByteBuffer in) {
    int n = in.getInt();
    if (n == -1) {
      return null;
    }
    if (n < 0 || n > in.remaining() / CLOCK_ENTRY_BYTES_MIN) {
      throw new IllegalArgumentException("clock of " + n + " entries in " + in.remaining()
          + " bytes");
    }
    Map<String, Long> entries = new LinkedHashMap<>();
    for (int i = 0; i < n; i++) {
      String writer = readString(in, "clock writer");
      if (writer == null || entries.put(writer, in.getLong()) != null) {
        throw new IllegalArgumentException("clock writer " + i + " is missing or repeated");
      }
    }
    return VectorClock.of(entries);
  }

  private static void writeString(DataOutputStream out, String s) throws IOException {
    if (s == null) {
      out.writeInt(-1);
      return;
    }
    byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
    out.writeInt(utf8.length);
    out.write(utf8);
  }

  private static String readString(ByteBuffer in, String what) {
    int length = in.getInt();
    if (length == -1) {
      return null;
    }
    if (length < 0 || length > in.remaining()) {
      throw new IllegalArgumentException(what + " of " + length + " bytes, with "
          + in.remaining() + " left");
    }
    String s = new String(in.array(), in.position(), length, StandardCharsets.UTF_8);
    in.position(in.position() + length);
    return s;
  }
}
