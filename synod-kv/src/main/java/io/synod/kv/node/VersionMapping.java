package io.synod.kv.node;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.synod.api.kv.VectorClock;
import io.synod.api.kv.Versioned;
import io.synod.kv.proto.Clock;
import io.synod.kv.proto.Version;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Converts versions between the storage protocol and {@code synod-api}'s types. Both sides of the
 * wire (node and coordinator) and the node's RocksDB values go through here, so a version reads
 * back exactly as it was written.
 *
 * <p>What the Java types cannot hold (a counter of zero, a clock with no entries, a tombstone with
 * a value) is protocol input gone wrong: it fails as INVALID_ARGUMENT naming the field, e.g.
 * {@code versions[2].clock.entries[c1]}, so a caller sees which version of its request to fix.
 */
public final class VersionMapping {
  private VersionMapping() {}

  public static Version toProto(Versioned version) {
    return Version.newBuilder()
        .setValue(ByteString.copyFrom(version.value()))
        .setClock(toProto(version.clock()))
        .setTimestampMillis(version.timestampMillis())
        .setWriter(version.writer())
        .setTombstone(version.tombstone())
        .build();
  }

  public static List<Version> toProto(List<Versioned> versions) {
    List<Version> out = new ArrayList<>(versions.size());
    for (Versioned v : versions) {
      out.add(toProto(v));
    }
    return out;
  }

  public static Clock toProto(VectorClock clock) {
    return Clock.newBuilder().putAllEntries(clock.entries()).build();
  }

  /** A version of a request, its field called {@code version}. */
  public static Versioned fromProto(Version version) {
    return fromProto(version, "version");
  }

  /**
   * A version of a request; {@code field} is its path in the request ({@code versions[0]}), used
   * in the INVALID_ARGUMENT a bad one fails with.
   */
  public static Versioned fromProto(Version version, String field) {
    VectorClock clock = fromProto(version.getClock(), field + ".clock");
    if (clock.isEmpty()) {
      throw invalid(field + ".clock", "must have at least one entry (a version without a clock"
          + " would precede every other)");
    }
    if (version.getWriter().isEmpty()) {
      throw invalid(field + ".writer", "must name the coordinator that wrote the version");
    }
    if (version.getTombstone() && !version.getValue().isEmpty()) {
      throw invalid(field + ".value", "must be empty for a tombstone (has "
          + version.getValue().size() + " bytes)");
    }
    return new Versioned(version.getValue().toByteArray(), clock, version.getTimestampMillis(),
        version.getWriter(), version.getTombstone());
  }

  /** Versions of a request; {@code field} is the list's path ({@code versions}). */
  public static List<Versioned> fromProto(List<Version> versions, String field) {
    List<Versioned> out = new ArrayList<>(versions.size());
    for (int i = 0; i < versions.size(); i++) {
      out.add(fromProto(versions.get(i), field + "[" + i + "]"));
    }
    return out;
  }

  /**
   * A clock; an empty one is allowed here (callers that need entries check). Every counter must be
   * positive and every writer named, as {@link VectorClock#of} requires.
   */
  public static VectorClock fromProto(Clock clock, String field) {
    for (Map.Entry<String, Long> e : clock.getEntriesMap().entrySet()) {
      if (e.getKey().isEmpty()) {
        throw invalid(field + ".entries", "writer ids must not be empty");
      }
      if (e.getValue() <= 0) {
        throw invalid(field + ".entries[" + e.getKey() + "]", "counter must be positive (was "
            + e.getValue() + ")");
      }
    }
    return VectorClock.of(clock.getEntriesMap());
  }

  static StatusRuntimeException invalid(String field, String rule) {
    return Status.INVALID_ARGUMENT.withDescription(field + ": " + rule).asRuntimeException();
  }
}
