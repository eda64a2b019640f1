package io.synod.server;

import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.event.ChoreographyDefinition;
import io.synod.api.event.ChoreographyService;
import io.synod.api.event.DurableEventBus;
import io.synod.api.event.Event;
import io.synod.api.saga.SagaStatus;
import io.synod.client.EventProtoMapping;
import io.synod.client.RemoteEvents;
import io.synod.engine.SynodNode;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Sends publishes and choreography calls where they can be answered: this node's bus and
 * choreography driver while it leads, otherwise the leader (see {@link Forwarding}). Subscribing
 * is not routed: delivery is local to each node ({@link #bus()}).
 *
 * <p>A start that waits answers when the saga has completed or aborted, or after {@code waitFor}
 * with the status it has then (as {@link SagaRouter}'s).
 */
public final class EventRouter {
  private static final Duration SHORT_CALL_TIMEOUT = Duration.ofSeconds(10);
  /** Longer than the bus's own proposal timeout, which fails a publish first. */
  private static final Duration PUBLISH_WAIT = Duration.ofSeconds(30);

  private final SynodNode node;
  private final Forwarding forwarding;

  EventRouter(SynodNode node, Forwarding forwarding) {
    this.node = node;
    this.forwarding = forwarding;
  }

  /** This node's bus, for subscriptions served here. */
  public DurableEventBus bus() {
    return node.eventLog();
  }

  /** Publishes the event at the leader; its offset. */
  public long publish(Event event, boolean forwarded) {
    return forwarding.route(forwarded,
        () -> await(node.eventLog().publish(event), PUBLISH_WAIT, "publish"),
        leader -> new RemoteEvents(leader, SHORT_CALL_TIMEOUT).publish(event));
  }

  public SagaStatus start(String correlationId, ChoreographyDefinition definition,
      Map<String, String> payload, boolean wait, Duration waitFor, boolean forwarded) {
    try {
      return forwarding.route(forwarded,
          () -> startHere(correlationId, definition, payload, wait, waitFor),
          leader -> new RemoteEvents(leader, SHORT_CALL_TIMEOUT).start(
              EventProtoMapping.toProto(correlationId, definition, payload, wait, waitFor)));
    } catch (SynodException e) {
      throw EventProtoMapping.onWire(e);
    }
  }

  private SagaStatus startHere(String correlationId, ChoreographyDefinition definition,
      Map<String, String> payload, boolean wait, Duration waitFor) {
    if (correlationId == null || correlationId.isEmpty()) {
      throw SynodException.invalid("correlation_id", "is required: a retry with the same id"
          + " starts nothing again");
    }
    ChoreographyService choreography = node.choreography();
    CompletableFuture<SagaStatus> outcome = choreography.start(correlationId, definition,
        payload);
    if (outcome.isDone()) { // refused, or known and finished already
      SagaStatus done = await(outcome, null, "start");
      return done != null ? done : current(correlationId);
    }
    if (!wait) {
      return current(correlationId);
    }
    SagaStatus finished = await(outcome, waitFor, "start");
    return finished != null ? finished : current(correlationId);
  }

  /** The value, or null if it did not come within {@code waitFor} (null: no bound). */
  private static <T> T await(CompletableFuture<T> future, Duration waitFor, String what) {
    try {
      return waitFor == null ? future.get() : future.get(waitFor.toMillis(),
          TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      if (what.equals("publish")) {
        throw new SynodException(ErrorCode.UNAVAILABLE, null, "the publish was not applied"
            + " within " + waitFor.toSeconds() + " s; retry");
      }
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SynodException(ErrorCode.UNAVAILABLE, "interrupted while waiting for the "
          + what, e);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof SynodException synod) {
        throw synod;
      }
      throw new SynodException(ErrorCode.INTERNAL, "the " + what + " failed: " + e.getCause(),
          e.getCause());
    }
  }

  private SagaStatus current(String correlationId) {
    return node.choreography().status(correlationId).orElseThrow(() -> new SynodException(
        ErrorCode.NOT_FOUND, "correlation_id", "no choreography '" + correlationId
        + "' is known"));
  }

  public Optional<SagaStatus> status(String correlationId, boolean forwarded) {
    return forwarding.route(forwarded, () -> node.choreography().status(correlationId),
        leader -> new RemoteEvents(leader, SHORT_CALL_TIMEOUT).status(correlationId));
  }

  public List<String> listActive(boolean forwarded) {
    return forwarding.route(forwarded, () -> node.choreography().listActive(),
        leader -> new RemoteEvents(leader, SHORT_CALL_TIMEOUT).listActive());
  }

  public boolean abort(String correlationId, String reason, boolean forwarded) {
    return forwarding.route(forwarded, () -> node.choreography().abort(correlationId, reason),
        leader -> new RemoteEvents(leader, SHORT_CALL_TIMEOUT).abort(correlationId, reason));
  }
}
