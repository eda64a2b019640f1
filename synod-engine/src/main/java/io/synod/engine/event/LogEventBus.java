package io.synod.engine.event;

import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.event.DurableEventBus;
import io.synod.api.event.Event;
import io.synod.core.event.EventCommand;
import io.synod.core.event.EventEffect;
import io.synod.engine.log.CoordinatorLog;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * The durable bus on the coordinator log. A publish is a log entry; the event state machine
 * gives it the next offset and retains it (a bounded window); each consumer group's acknowledged
 * offset is a log entry too. Delivery is local: every replica applies the same entries, and each
 * node's {@link LogSubscription}s read the events its replica applied and hand them to their
 * handlers, woken by the apply listener.
 *
 * <p><b>Where to subscribe.</b> A group's position is one logged number, and its delivery runs on
 * the node it subscribed on; so a group subscribes on one node (an embedded application on its
 * own). Publishing and logging acknowledgements need the leader: a subscriber on a follower
 * receives every event, but its acknowledgements are only logged once its node leads, so after a
 * restart it may see events again (never miss one the window still holds).
 */
final class LogEventBus implements DurableEventBus, AutoCloseable {
  private final CoordinatorLog log;
  private final EventConfig config;
  private final LongSupplier clockMs;
  private final Map<String, LogSubscription> subscriptions = new ConcurrentHashMap<>();

  LogEventBus(CoordinatorLog log, EventConfig config, LongSupplier clockMs) {
    this.log = log;
    this.config = config;
    this.clockMs = clockMs;
  }

  @Override
  public CompletableFuture<Long> publish(Event event) {
    EventCommand.Publish command;
    try {
      command = new EventCommand.Publish(event.type(), event.correlationId(), event.payload(),
          clockMs.getAsLong());
    } catch (SynodException e) {
      return CompletableFuture.failedFuture(e);
    }
    return log.proposeEvent(command).handle((effects, error) -> {
      if (error != null) {
        throw Proposals.unavailable(log, command, error);
      }
      return effects.stream().filter(EventEffect.Published.class::isInstance)
          .map(effect -> ((EventEffect.Published) effect).event().offset())
          .findFirst().orElseThrow();
    });
  }

  @Override
  public synchronized Subscription subscribe(String consumerGroup, Set<String> types,
      Handler handler) {
    Event.requireType("consumer_group", consumerGroup);
    if (types == null || types.isEmpty()) {
      throw SynodException.invalid("types", "must name at least one event type");
    }
    types.forEach(type -> Event.requireType("types", type));
    if (subscriptions.containsKey(consumerGroup)) {
      throw new SynodException(ErrorCode.FAILED_PRECONDITION, "consumer_group", "group '"
          + consumerGroup + "' is subscribed on this node already: close that subscription"
          + " first (a group is delivered through one subscription)");
    }
    if (subscriptions.size() >= config.subscriptionsMax()) {
      throw new SynodException(ErrorCode.RESOURCE_EXHAUSTED, "consumer_group", "limit"
          + " events.subscriptions_max=" + config.subscriptionsMax() + " reached on this node");
    }
    LogSubscription subscription = new LogSubscription(log, config, clockMs, consumerGroup,
        Set.copyOf(types), handler, () -> subscriptions.remove(consumerGroup));
    subscriptions.put(consumerGroup, subscription);
    subscription.start();
    return subscription;
  }

  @Override
  public long acknowledged(String consumerGroup) {
    return log.readEvents(events -> events.acknowledged(consumerGroup));
  }

  /** From the apply thread: wakes the subscriptions when events were appended. */
  void onEffects(List<EventEffect> effects) {
    if (effects.stream().anyMatch(EventEffect.Published.class::isInstance)) {
      subscriptions.values().forEach(LogSubscription::wake);
    }
  }

  @Override
  public void close() {
    new ArrayList<>(subscriptions.values()).forEach(LogSubscription::close);
  }
}
