package io.synod.core.lock;

import io.synod.api.lock.LockMode;

/** Mode arithmetic the matrix in {@link LockMode} does not give directly. */
final class LockModes {
  private LockModes() {}

  /**
   * The weakest mode that covers both: what a session holds after asking {@code wanted} while
   * holding {@code held} (null if it holds nothing). IX and S have no common cover but X: the
   * matrix has no SIX.
   */
  static LockMode join(LockMode held, LockMode wanted) {
    if (held == null || wanted.covers(held)) {
      return wanted;
    }
    return held.covers(wanted) ? held : LockMode.X;
  }

  /**
   * True if a lock in {@code ancestorMode} on an ancestor gives a descendant the rights of {@code
   * wanted}: S covers reading below it, X everything; intent modes cover nothing below.
   */
  static boolean coversDescendants(LockMode ancestorMode, LockMode wanted) {
    return (ancestorMode == LockMode.S || ancestorMode == LockMode.X)
        && ancestorMode.covers(wanted);
  }

  static boolean isIntent(LockMode mode) {
    return mode == LockMode.IS || mode == LockMode.IX;
  }
}
