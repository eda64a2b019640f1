package io.synod.engine.saga;

import io.synod.api.SynodException;
import java.time.Duration;

/**
 * How the saga driver keeps time.
 *
 * @param tick how often the leader looks for tries whose backoff or timeout has passed
 * @param compensationRetryEvery how often a FAILED saga's compensations are tried again
 * @param proposalTimeout the longest the driver waits for one of its entries to be applied
 */
public record SagaConfig(Duration tick, Duration compensationRetryEvery, Duration proposalTimeout) {
  public static final SagaConfig DEFAULTS =
      new SagaConfig(Duration.ofMillis(100), Duration.ofSeconds(30), Duration.ofSeconds(10));

  public SagaConfig {
    between("sagas.tick", tick, Duration.ofMillis(5), Duration.ofSeconds(10));
    between("sagas.compensation_retry_every", compensationRetryEvery, Duration.ofMillis(50),
        Duration.ofHours(1));
    between("sagas.proposal_timeout", proposalTimeout, Duration.ofMillis(100),
        Duration.ofMinutes(5));
  }

  public SagaConfig withCompensationRetryEvery(Duration every) {
    return new SagaConfig(tick, every, proposalTimeout);
  }

  private static void between(String field, Duration value, Duration min, Duration max) {
    if (value == null || value.compareTo(min) < 0 || value.compareTo(max) > 0) {
      throw SynodException.invalid(field, "must be between " + min + " and " + max + "; got "
          + value);
    }
  }
}
