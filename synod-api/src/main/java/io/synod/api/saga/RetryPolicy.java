package io.synod.api.saga;

import io.synod.api.SynodException;
import java.time.Duration;
import java.util.Objects;

/**
 * How often, and how far apart, a saga step (or its compensation) is tried (spec 000
 * {@code retry_policy}: 3 attempts, exponential backoff, 1 s base delay, 30 s max delay).
 *
 * @param maxAttempts tries in all, the first included (1 means no retry)
 * @param backoff how the pause grows between tries
 * @param baseDelay the pause before the second try
 * @param maxDelay the longest pause
 */
public record RetryPolicy(int maxAttempts, Backoff backoff, Duration baseDelay, Duration maxDelay) {
  public static final RetryPolicy DEFAULT =
      new RetryPolicy(3, Backoff.EXPONENTIAL, Duration.ofSeconds(1), Duration.ofSeconds(30));

  /** The pause grows: doubling each time (exponential), or stays the same (fixed). */
  public enum Backoff { EXPONENTIAL, FIXED }

  public RetryPolicy {
    Objects.requireNonNull(backoff, "backoff");
    if (maxAttempts < 1 || maxAttempts > 100) {
      throw SynodException.invalid("retry_policy.max_attempts", "must be 1 to 100; got "
          + maxAttempts);
    }
    if (baseDelay == null || baseDelay.isNegative()) {
      throw SynodException.invalid("retry_policy.base_delay", "must be zero or more; got "
          + baseDelay);
    }
    if (maxDelay == null || maxDelay.compareTo(baseDelay) < 0) {
      throw SynodException.invalid("retry_policy.max_delay", "must be at least base_delay ("
          + baseDelay + "); got " + maxDelay);
    }
  }

  /**
   * The pause before try number {@code attempt} (2 for the first retry): base delay, then
   * doubling (exponential) up to the max delay. Zero before the first try.
   */
  public Duration delayBefore(int attempt) {
    if (attempt <= 1) {
      return Duration.ZERO;
    }
    if (backoff == Backoff.FIXED) {
      return baseDelay;
    }
    int doublings = Math.min(attempt - 2, 62);
    long millis = baseDelay.toMillis();
    for (int i = 0; i < doublings && millis < maxDelay.toMillis(); i++) {
      millis *= 2;
    }
    return Duration.ofMillis(Math.min(millis, maxDelay.toMillis()));
  }
}
