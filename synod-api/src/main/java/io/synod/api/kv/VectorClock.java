package io.synod.api.kv;

import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * A version vector: for each writer (a KV coordinator) how many writes of it a version has seen.
 * Immutable; entries are kept sorted by writer so that equal clocks print and encode alike.
 */
public final class VectorClock {
  /** The clock of a key never written. */
  public static final VectorClock EMPTY = new VectorClock(new TreeMap<>());

  /** How one clock relates to another. */
  public enum Order { BEFORE, AFTER, EQUAL, CONCURRENT }

  private final TreeMap<String, Long> entries;

  private VectorClock(TreeMap<String, Long> entries) {
    this.entries = entries;
  }

  /** A clock with these counters; every counter must be positive. */
  public static VectorClock of(Map<String, Long> entries) {
    TreeMap<String, Long> copy = new TreeMap<>();
    entries.forEach((writer, counter) -> {
      Objects.requireNonNull(writer, "writer");
      if (counter == null || counter <= 0) {
        throw new IllegalArgumentException("counter of '" + writer + "' must be positive: "
            + counter);
      }
      copy.put(writer, counter);
    });
    return new VectorClock(copy);
  }

  public Map<String, Long> entries() {
    return Collections.unmodifiableMap(entries);
  }

  public long counter(String writer) {
    return entries.getOrDefault(writer, 0L);
  }

  public boolean isEmpty() {
    return entries.isEmpty();
  }

  /** This clock with {@code writer}'s counter one higher (spec 004's IncrementFrom). */
  public VectorClock increment(String writer) {
    TreeMap<String, Long> next = new TreeMap<>(entries);
    next.merge(writer, 1L, Long::sum);
    return new VectorClock(next);
  }

  /** The pointwise maximum: a clock that has seen everything either has seen. */
  public VectorClock merge(VectorClock other) {
    TreeMap<String, Long> next = new TreeMap<>(entries);
    other.entries.forEach((writer, counter) -> next.merge(writer, counter, Math::max));
    return new VectorClock(next);
  }

  /** BEFORE if this clock happened before {@code other}, AFTER if after, else EQUAL or CONCURRENT. */
  public Order compare(VectorClock other) {
    boolean less = false;
    boolean greater = false;
    for (Map.Entry<String, Long> e : entries.entrySet()) {
      long theirs = other.counter(e.getKey());
      if (e.getValue() < theirs) {
        less = true;
      } else if (e.getValue() > theirs) {
        greater = true;
      }
    }
    for (Map.Entry<String, Long> e : other.entries.entrySet()) {
      if (!entries.containsKey(e.getKey())) {
        less = true; // theirs is positive, ours 0
      }
    }
    if (less && greater) {
      return Order.CONCURRENT;
    }
    return less ? Order.BEFORE : greater ? Order.AFTER : Order.EQUAL;
  }

  /** True when this clock has seen everything {@code other} has (AFTER or EQUAL). */
  public boolean descends(VectorClock other) {
    Order order = compare(other);
    return order == Order.AFTER || order == Order.EQUAL;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof VectorClock v && entries.equals(v.entries);
  }

  @Override
  public int hashCode() {
    return entries.hashCode();
  }

  /** {@code {c1:2, c2:1}}, as spec 004 writes clocks. */
  @Override
  public String toString() {
    StringBuilder out = new StringBuilder("{");
    entries.forEach((writer, counter) -> {
      if (out.length() > 1) {
        out.append(", ");
      }
      out.append(writer).append(':').append(counter);
    });
    return out.append('}').toString();
  }
}
