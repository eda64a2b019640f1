package io.synod.api;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The consistency a request asks for (spec 001 {@code consistency_level}). Atomic commit is always
 * {@link #STRONG}; the weaker levels belong to the key-value store and eventual-consistency
 * coordination.
 */
public enum ConsistencyLevel {
  STRONG,
  QUORUM,
  EVENTUAL;

  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static ConsistencyLevel fromWire(String field, String value) {
    for (ConsistencyLevel level : values()) {
      if (level.wireName().equals(value)) {
        return level;
      }
    }
    throw SynodException.invalid(
        field,
        "must be one of "
            + Arrays.stream(values()).map(ConsistencyLevel::wireName).collect(Collectors.joining(", "))
            + "; got '" + value + "'");
  }
}
