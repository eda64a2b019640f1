package io.synod.client;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Exponential backoff with jitter: the n-th pause in a row is drawn from the upper half of
 * {@code min(max, initial * 2^(n-1))}, so that clients that failed together do not retry in step.
 */
record Backoff(Duration initial, Duration max) {
  Backoff {
    if (initial.isNegative() || initial.isZero() || max.compareTo(initial) < 0) {
      throw new IllegalArgumentException("backoff must be positive and its maximum at least its "
          + "initial pause; got " + initial + " to " + max);
    }
  }

  /** The pause in milliseconds after {@code failures} failures in a row (1 for the first). */
  long millis(int failures) {
    long ceiling = initial.toMillis();
    for (int i = 1; i < failures && ceiling < max.toMillis(); i++) {
      ceiling *= 2;
    }
    ceiling = Math.min(ceiling, max.toMillis());
    long floor = Math.max(1, ceiling / 2);
    return floor + ThreadLocalRandom.current().nextLong(ceiling - floor + 1);
  }
}
