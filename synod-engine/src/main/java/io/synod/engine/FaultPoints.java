package io.synod.engine;

import java.util.function.Consumer;

/**
 * Named points in the protocol where a test can stop the coordinator (for example to SIGKILL it
 * there). A no-op unless a test installs a handler; the names are part of the test contract.
 */
public final class FaultPoints {
  /** Some participants have voted, not all. */
  public static final String AFTER_SOME_PREPARES = "after-some-prepares";
  /** Every participant voted commit; the decision is not yet proposed. */
  public static final String AFTER_ALL_PREPARES = "after-all-prepares";
  /** The commit decision is applied; no participant has been told. */
  public static final String AFTER_DECISION = "after-decision";
  /** Some participants acknowledged commit, not all. */
  public static final String AFTER_SOME_COMMITS = "after-some-commits";

  private static volatile Consumer<String> handler;

  private FaultPoints() {}

  public static void install(Consumer<String> h) {
    handler = h;
  }

  static void hit(String point) {
    Consumer<String> h = handler;
    if (h != null) {
      h.accept(point);
    }
  }
}
