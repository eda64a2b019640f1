package io.synod.api.lock;

/**
 * The four modes of hierarchical locking (Gray's granularity locks): intent-shared, intent-exclusive,
 * shared, exclusive. Compatibility is the standard matrix (spec 000; SPEC.md says why not 001's
 * partial table):
 *
 * <pre>
 *        IS   IX   S    X
 *   IS   yes  yes  yes  no
 *   IX   yes  yes  no   no
 *   S    yes  no   yes  no
 *   X    no   no   no   no
 * </pre>
 */
public enum LockMode {
  IS,
  IX,
  S,
  X;

  private static final boolean[][] COMPATIBLE = {
    /* IS */ {true, true, true, false},
    /* IX */ {true, true, false, false},
    /* S  */ {true, false, true, false},
    /* X  */ {false, false, false, false},
  };

  public boolean compatibleWith(LockMode other) {
    return COMPATIBLE[ordinal()][other.ordinal()];
  }

  /** The intent mode a holder of this mode must hold on every ancestor: IS for IS/S, IX for IX/X. */
  public LockMode intentForAncestors() {
    return switch (this) {
      case IS, S -> IS;
      case IX, X -> IX;
    };
  }

  /** True if holding this mode gives at least the rights of {@code other} (X covers all; S covers IS; IX covers IS). */
  public boolean covers(LockMode other) {
    return switch (this) {
      case X -> true;
      case S -> other == S || other == IS;
      case IX -> other == IX || other == IS;
      case IS -> other == IS;
    };
  }
}
