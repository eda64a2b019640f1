package io.synod.core;

/**
 * Checks of what must hold at state transitions, log appends and recovery. Always on: a broken
 * invariant in a coordinator is a bug that must stop the machine, not a warning.
 */
public final class Invariants {
  private Invariants() {}

  public static void check(boolean condition, String message, Object... args) {
    if (!condition) {
      throw new IllegalStateException("invariant broken: " + String.format(message, args));
    }
  }
}
