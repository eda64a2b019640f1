package io.synod.api.kv;

import java.util.List;

/**
 * A read's outcome (spec 004 {@code ReadKeyValueResponse}). {@code found} is false for a key never
 * written or deleted. {@code value} and {@code clock} are the chosen version's: the newest, or
 * among concurrent ones the latest by timestamp. {@code siblings} holds every concurrent version
 * when the read asked for them (one element when there is no conflict), and is empty otherwise.
 */
public record KvReadResult(boolean success, String key, boolean found, byte[] value,
    VectorClock clock, List<Versioned> siblings, Consistency consistency, String errorMessage) {
  public KvReadResult {
    siblings = List.copyOf(siblings);
  }
}
