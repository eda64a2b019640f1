package io.synod.api.kv;

import io.synod.api.SynodException;
import java.util.Locale;

/** How many replicas must answer a key-value read or write (spec 004): one, a majority, or all. */
public enum Consistency {
  ONE,
  QUORUM,
  ALL;

  /** Acknowledgements needed out of {@code replicas}. */
  public int required(int replicas) {
    return switch (this) {
      case ONE -> 1;
      case QUORUM -> replicas / 2 + 1;
      case ALL -> replicas;
    };
  }

  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses {@code one}, {@code quorum} or {@code all}; null or empty means "not given". */
  public static Consistency fromWire(String field, String value) {
    if (value == null || value.isEmpty()) {
      return null;
    }
    for (Consistency c : values()) {
      if (c.wireName().equals(value.toLowerCase(Locale.ROOT))) {
        return c;
      }
    }
    throw SynodException.invalid(field, "must be one of one, quorum, all (was '" + value + "')");
  }
}
