package io.synod.core;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/** Pieces every binary codec of the state machines shares. */
public final class Codecs {
  private Codecs() {}

  /** {@code present:bool [utf]}: a string that may be null. */
  public static void writeNullable(DataOutput out, String value) throws IOException {
    out.writeBoolean(value != null);
    if (value != null) {
      out.writeUTF(value);
    }
  }

  public static String readNullable(DataInput in) throws IOException {
    return in.readBoolean() ? in.readUTF() : null;
  }

  /** {@code length:i32 bytes}: text of any length, unlike {@code writeUTF}'s 64 KiB. */
  public static void writeText(DataOutput out, String text) throws IOException {
    writeBytes(out, text.getBytes(StandardCharsets.UTF_8));
  }

  /** Text written by {@link #writeText}; longer than {@code maxBytes} is corrupt. */
  public static String readText(DataInput in, int maxBytes) throws IOException {
    return new String(readBytes(in, maxBytes), StandardCharsets.UTF_8);
  }

  /** {@code present:bool [text]}. */
  public static void writeNullableText(DataOutput out, String text) throws IOException {
    out.writeBoolean(text != null);
    if (text != null) {
      writeText(out, text);
    }
  }

  public static String readNullableText(DataInput in, int maxBytes) throws IOException {
    return in.readBoolean() ? readText(in, maxBytes) : null;
  }

  /** {@code length:i32 bytes}. */
  public static void writeBytes(DataOutput out, byte[] bytes) throws IOException {
    out.writeInt(bytes.length);
    out.write(bytes);
  }

  /**
   * Bytes written by {@link #writeBytes}; a negative length or one over {@code maxBytes} is
   * corrupt (it must not allocate gigabytes).
   */
  public static byte[] readBytes(DataInput in, int maxBytes) throws IOException {
    int length = in.readInt();
    if (length < 0 || length > maxBytes) {
      throw new IOException("byte length " + length + " outside 0.." + maxBytes);
    }
    byte[] bytes = new byte[length];
    in.readFully(bytes);
    return bytes;
  }

  /** A count written as {@code i32}; negative is corrupt. */
  public static int readCount(DataInput in, String what) throws IOException {
    int count = in.readInt();
    if (count < 0) {
      throw new IOException("negative count of " + what + ": " + count);
    }
    return count;
  }

  /** An enum written as its ordinal ({@code u8}); an ordinal past the values is corrupt. */
  public static <E extends Enum<E>> E readEnum(DataInput in, E[] values, String what)
      throws IOException {
    int ordinal = in.readUnsignedByte();
    if (ordinal >= values.length) {
      throw new IOException("unknown " + what + " " + ordinal);
    }
    return values[ordinal];
  }
}
