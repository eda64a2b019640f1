package io.synod.api.kv;

import java.util.Arrays;
import java.util.Objects;

/**
 * One version of a key as a storage node keeps it: the value (empty for a tombstone), its clock,
 * when and by which coordinator it was written. Concurrent versions of a key are siblings.
 *
 * @param timestampMillis the writing coordinator's wall clock; only a tiebreak between
 *     concurrent versions, never used to order causally related ones
 */
public record Versioned(byte[] value, VectorClock clock, long timestampMillis, String writer,
    boolean tombstone) {
  public Versioned {
    Objects.requireNonNull(value, "value");
    Objects.requireNonNull(clock, "clock");
    Objects.requireNonNull(writer, "writer");
    if (tombstone && value.length != 0) {
      throw new IllegalArgumentException("a tombstone has no value");
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Versioned v && Arrays.equals(value, v.value) && clock.equals(v.clock)
        && timestampMillis == v.timestampMillis && writer.equals(v.writer)
        && tombstone == v.tombstone;
  }

  @Override
  public int hashCode() {
    return Objects.hash(Arrays.hashCode(value), clock, timestampMillis, writer, tombstone);
  }

  @Override
  public String toString() {
    return (tombstone ? "tombstone" : value.length + " bytes") + " " + clock + " @" + timestampMillis
        + " by " + writer;
  }
}
