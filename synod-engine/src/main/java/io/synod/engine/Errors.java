package io.synod.engine;

/** Small helpers for reporting errors that arrive wrapped in others. */
public final class Errors {
  private Errors() {}

  /**
   * The message of the innermost cause of {@code error} ("null" if it has none): a wrapped I/O or
   * driver error usually says what went wrong only at the bottom of its chain.
   */
  public static String rootMessage(Throwable error) {
    Throwable root = error;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return String.valueOf(root.getMessage());
  }
}
