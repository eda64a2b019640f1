package io.synod.engine;

import io.synod.api.SynodException;
import java.time.Duration;

/**
 * Timeouts and bounds of the atomic-commit coordinator, with the spec's defaults (000 "2PC",
 * 001 {@code timeouts}). Validated once, here.
 *
 * @param prepareTimeout the longest the prepare phase waits for all votes (spec: 30 s)
 * @param commitTimeout how long a caller waits for every participant to acknowledge a commit
 *     before it is answered {@code committing}; the coordinator keeps retrying after that (60 s)
 * @param participantResponseTimeout the longest one participant call may take (10 s)
 * @param recoveryInterval how often in-doubt transactions are looked for (5 s)
 * @param retryBackoffMin first pause between retries of commit or rollback at a participant
 * @param retryBackoffMax longest pause between those retries
 * @param activeTransactionsMax coordinations running at once on this coordinator; beyond it new
 *     ones are refused with RESOURCE_EXHAUSTED
 * @param operationsPerRequestMax operations one request may carry
 */
public record CoordinatorConfig(
    Duration prepareTimeout,
    Duration commitTimeout,
    Duration participantResponseTimeout,
    Duration recoveryInterval,
    Duration retryBackoffMin,
    Duration retryBackoffMax,
    int activeTransactionsMax,
    int operationsPerRequestMax) {

  public static final CoordinatorConfig DEFAULTS = new CoordinatorConfig(
      Duration.ofSeconds(30), Duration.ofSeconds(60), Duration.ofSeconds(10),
      Duration.ofSeconds(5), Duration.ofMillis(20), Duration.ofSeconds(2), 10_000, 1_000);

  public CoordinatorConfig {
    positive("prepare_phase_timeout", prepareTimeout);
    positive("commit_phase_timeout", commitTimeout);
    positive("participant_response_timeout", participantResponseTimeout);
    positive("recovery_interval", recoveryInterval);
    positive("retry_backoff_min", retryBackoffMin);
    positive("retry_backoff_max", retryBackoffMax);
    if (retryBackoffMax.compareTo(retryBackoffMin) < 0) {
      throw SynodException.invalid("retry_backoff_max",
          "must not be less than retry_backoff_min (" + retryBackoffMin + "); got " + retryBackoffMax);
    }
    if (activeTransactionsMax < 1) {
      throw SynodException.invalid("active_transactions_max", "must be at least 1; got "
          + activeTransactionsMax);
    }
    if (operationsPerRequestMax < 1) {
      throw SynodException.invalid("operations_per_request_max", "must be at least 1; got "
          + operationsPerRequestMax);
    }
  }

  private static void positive(String key, Duration value) {
    if (value == null || value.isNegative() || value.isZero()) {
      throw SynodException.invalid(key, "must be a positive duration; got " + value);
    }
  }

  public CoordinatorConfig withPrepareTimeout(Duration d) {
    return new CoordinatorConfig(d, commitTimeout, participantResponseTimeout, recoveryInterval,
        retryBackoffMin, retryBackoffMax, activeTransactionsMax, operationsPerRequestMax);
  }

  public CoordinatorConfig withParticipantResponseTimeout(Duration d) {
    return new CoordinatorConfig(prepareTimeout, commitTimeout, d, recoveryInterval,
        retryBackoffMin, retryBackoffMax, activeTransactionsMax, operationsPerRequestMax);
  }

  public CoordinatorConfig withRecoveryInterval(Duration d) {
    return new CoordinatorConfig(prepareTimeout, commitTimeout, participantResponseTimeout, d,
        retryBackoffMin, retryBackoffMax, activeTransactionsMax, operationsPerRequestMax);
  }

  public CoordinatorConfig withCommitTimeout(Duration d) {
    return new CoordinatorConfig(prepareTimeout, d, participantResponseTimeout, recoveryInterval,
        retryBackoffMin, retryBackoffMax, activeTransactionsMax, operationsPerRequestMax);
  }
}
