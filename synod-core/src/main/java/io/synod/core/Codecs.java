package io.synod.core;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;

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
}
