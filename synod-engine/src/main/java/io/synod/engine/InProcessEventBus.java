package io.synod.engine;

import io.synod.api.CoordinationEvent;
import io.synod.api.EventBus;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers events to subscribers on the publishing thread, in publication order per publisher.
 * A subscriber that throws is logged and skipped; the others still get the event.
 */
public final class InProcessEventBus implements EventBus {
  private static final Logger LOG = LoggerFactory.getLogger(InProcessEventBus.class);
  private final CopyOnWriteArrayList<Consumer<? super CoordinationEvent>> subscribers =
      new CopyOnWriteArrayList<>();

  @Override
  public void publish(CoordinationEvent event) {
    for (Consumer<? super CoordinationEvent> subscriber : subscribers) {
      try {
        subscriber.accept(event);
      } catch (RuntimeException e) {
        LOG.warn("event subscriber failed on {} for {}", event.type(), event.coordinationId(), e);
      }
    }
  }

  @Override
  public Subscription subscribe(Consumer<? super CoordinationEvent> subscriber) {
    subscribers.add(subscriber);
    return () -> subscribers.remove(subscriber);
  }
}
