package io.synod.core.kv;

import io.synod.api.kv.VectorClock;
import io.synod.api.kv.Versioned;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;

/**
 * The versions of one key that no other version has superseded. A storage node keeps exactly
 * these; a coordinator merges what its replicas return into these. Pure functions.
 */
public final class Siblings {
  /** Latest timestamp wins; equal timestamps go to the greater writer id, then the greater clock. */
  public static final Comparator<Versioned> TIEBREAK = Comparator
      .comparingLong(Versioned::timestampMillis)
      .thenComparing(Versioned::writer)
      .thenComparing(v -> v.clock().toString());

  private Siblings() {}

  /**
   * {@code current} with {@code incoming} added: unchanged if it is already there or a version in
   * it descends from the incoming one; otherwise without the versions the incoming one supersedes,
   * plus it.
   *
   * <p>Two different versions with equal clocks are both kept, as concurrent: they are two writes
   * that raced through one coordinator from the same read, and dropping either would let replicas
   * that received them in different orders disagree forever under one clock. The next write
   * supersedes both.
   */
  public static List<Versioned> add(List<Versioned> current, Versioned incoming) {
    List<Versioned> next = new ArrayList<>(current.size() + 1);
    for (Versioned v : current) {
      VectorClock.Order order = v.clock().compare(incoming.clock());
      if (order == VectorClock.Order.AFTER || v.equals(incoming)) {
        return current; // already seen (a retry, a repair, or a stale copy)
      }
      if (order != VectorClock.Order.BEFORE) {
        next.add(v); // concurrent, or a different write under the same clock
      }
    }
    next.add(incoming);
    return next;
  }

  /** The versions among {@code all} that no other one supersedes, each once, in tiebreak order. */
  public static List<Versioned> reconcile(Collection<Versioned> all) {
    List<Versioned> out = new ArrayList<>();
    for (Versioned v : all) {
      out = add(out, v);
    }
    out.sort(TIEBREAK);
    return out;
  }

  /** The version a read returns when it resolves concurrent ones: the tiebreak's greatest. */
  public static Versioned winner(List<Versioned> siblings) {
    return siblings.stream().max(TIEBREAK).orElseThrow();
  }

  /** A clock that descends from every one of {@code siblings}: their pointwise maximum. */
  public static VectorClock mergedClock(Collection<Versioned> siblings) {
    VectorClock merged = VectorClock.EMPTY;
    for (Versioned v : siblings) {
      merged = merged.merge(v.clock());
    }
    return merged;
  }

  /** True when {@code have} already holds each of {@code wanted} or a version that supersedes it. */
  public static boolean covers(Collection<Versioned> have, Collection<Versioned> wanted) {
    for (Versioned w : wanted) {
      boolean seen = false;
      for (Versioned h : have) {
        if (h.equals(w) || h.clock().compare(w.clock()) == VectorClock.Order.AFTER) {
          seen = true;
          break;
        }
      }
      if (!seen) {
        return false;
      }
    }
    return true;
  }
}
