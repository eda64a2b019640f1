package io.synod.engine.event;

import io.synod.api.event.ChoreographyService;
import io.synod.api.event.DurableEventBus;
import io.synod.engine.log.CoordinatorLog;
import java.util.function.LongSupplier;

/**
 * The event domain's services on one node: the durable bus on the log and choreographed sagas
 * over it. Takes the log's one event-effect listener and hands each applied batch of effects to
 * both. Closing stops delivery (each subscription logs its position first) and the saga timer.
 */
public final class EventServices implements AutoCloseable {
  private final LogEventBus bus;
  private final ChoreographyDriver choreography;

  /** @param clockMs the leader time that goes into entries (wall clock in production) */
  public EventServices(CoordinatorLog log, EventConfig config, LongSupplier clockMs) {
    this.bus = new LogEventBus(log, config, clockMs);
    this.choreography = new ChoreographyDriver(log, config, clockMs);
    log.onEventEffects(effects -> {
      bus.onEffects(effects);
      choreography.onEffects(effects);
    });
  }

  /** Starts the leader's timer for overdue saga steps. */
  public void start() {
    choreography.start();
  }

  public DurableEventBus bus() {
    return bus;
  }

  public ChoreographyService choreography() {
    return choreography;
  }

  @Override
  public void close() {
    choreography.close();
    bus.close();
  }
}
