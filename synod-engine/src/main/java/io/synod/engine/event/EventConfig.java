package io.synod.engine.event;

import io.synod.api.SynodException;
import java.time.Duration;

/**
 * How the event bus delivers and how choreographed sagas keep time.
 *
 * @param tick how often the leader looks for a saga step whose answer is overdue
 * @param redeliveryDelay the pause before a handler that threw gets the same event again; it
 *     doubles with each failure of that event, up to {@code redeliveryDelayMax}
 * @param redeliveryDelayMax the longest pause between deliveries of one event
 * @param deliveryBatchMax events one subscription reads at a time; its acknowledgement is logged
 *     after each batch (one entry per batch, not per event)
 * @param subscriptionsMax subscriptions open on one node at once (each has a thread)
 * @param proposalTimeout the longest a publish, an acknowledgement or a saga command waits to be
 *     applied
 */
public record EventConfig(Duration tick, Duration redeliveryDelay, Duration redeliveryDelayMax,
    int deliveryBatchMax, int subscriptionsMax, Duration proposalTimeout) {
  public static final EventConfig DEFAULTS = new EventConfig(Duration.ofMillis(100),
      Duration.ofMillis(100), Duration.ofSeconds(5), 256, 100, Duration.ofSeconds(10));

  public EventConfig {
    between("events.tick", tick, Duration.ofMillis(5), Duration.ofSeconds(10));
    between("events.redelivery_delay", redeliveryDelay, Duration.ofMillis(1),
        Duration.ofMinutes(1));
    between("events.redelivery_delay_max", redeliveryDelayMax, redeliveryDelay,
        Duration.ofHours(1));
    between("events.delivery_batch_max", deliveryBatchMax, 1, 10_000);
    between("events.subscriptions_max", subscriptionsMax, 1, 10_000);
    between("events.proposal_timeout", proposalTimeout, Duration.ofMillis(100),
        Duration.ofMinutes(5));
  }

  private static void between(String field, Duration value, Duration min, Duration max) {
    if (value == null || value.compareTo(min) < 0 || value.compareTo(max) > 0) {
      throw SynodException.invalid(field, "must be between " + min + " and " + max + "; got "
          + value);
    }
  }

  private static void between(String field, int value, int min, int max) {
    if (value < min || value > max) {
      throw SynodException.invalid(field, "must be between " + min + " and " + max + "; got "
          + value);
    }
  }
}
