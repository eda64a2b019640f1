package io.synod.api;

import java.util.function.Consumer;

/**
 * Publishes coordination events to subscribers. The in-process bus delivers each event to every
 * subscriber in publication order; a subscriber that throws is logged and does not affect others.
 */
public interface EventBus {

  void publish(CoordinationEvent event);

  /** Subscribes until the returned handle is closed. */
  Subscription subscribe(Consumer<? super CoordinationEvent> subscriber);

  /** A subscription; closing it stops delivery. */
  interface Subscription extends AutoCloseable {
    @Override
    void close();
  }
}
