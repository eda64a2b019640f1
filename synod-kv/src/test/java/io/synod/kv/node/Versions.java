package io.synod.kv.node;

import io.synod.api.kv.VectorClock;
import io.synod.api.kv.Versioned;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/** Versions for tests, written as {@code clock("c1", 2, "c2", 1)}. */
final class Versions {
  private Versions() {}

  static VectorClock clock(Object... writerCounterPairs) {
    Map<String, Long> entries = new LinkedHashMap<>();
    for (int i = 0; i < writerCounterPairs.length; i += 2) {
      entries.put((String) writerCounterPairs[i], ((Number) writerCounterPairs[i + 1]).longValue());
    }
    return VectorClock.of(entries);
  }

  static Versioned value(String value, VectorClock clock, long timestampMillis) {
    return new Versioned(value.getBytes(StandardCharsets.UTF_8), clock, timestampMillis, "c1",
        false);
  }

  static Versioned tombstone(VectorClock clock, long timestampMillis) {
    return new Versioned(new byte[0], clock, timestampMillis, "c1", true);
  }
}
