package io.synod.engine.event;

import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.event.ChoreographyDefinition;
import io.synod.api.event.ChoreographyService;
import io.synod.api.saga.SagaStatus;
import io.synod.core.event.EventCommand;
import io.synod.core.event.EventEffect;
import io.synod.engine.log.CoordinatorLog;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Choreographed sagas: the API over the event state machine, and the leader's clock for it. The
 * machine does the saga's work itself, in the apply of the entry that asks for it (a service's
 * answer appends the next request; a failure appends the compensations), so this driver has one
 * job: when a step's answer is overdue, log {@link EventCommand.TimeOut} with the leader's time.
 *
 * <p>Each {@link EventEffect.Awaiting} names a saga's deadline and replaces the one before; a
 * timer every {@code tick} logs a timeout for each deadline passed. A new leader reads every
 * deadline from the state machine, so a step awaited under the old leader still times out.
 */
final class ChoreographyDriver implements ChoreographyService, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ChoreographyDriver.class);

  private final CoordinatorLog log;
  private final EventConfig config;
  private final LongSupplier clockMs;
  /** What each running saga awaits, by correlation id, as the last effect said. */
  private final Map<String, EventEffect.Awaiting> awaiting = new ConcurrentHashMap<>();
  /** Callers waiting for a saga's outcome. */
  private final Map<String, List<CompletableFuture<SagaStatus>>> outcomes =
      new ConcurrentHashMap<>();
  private final ScheduledExecutorService timer;
  private boolean leading;

  ChoreographyDriver(CoordinatorLog log, EventConfig config, LongSupplier clockMs) {
    this.log = log;
    this.config = config;
    this.clockMs = clockMs;
    this.timer = Executors.newSingleThreadScheduledExecutor(
        Thread.ofPlatform().daemon().name("synod-choreography-" + log.selfId()).factory());
  }

  void start() {
    long tickMs = config.tick().toMillis();
    timer.scheduleWithFixedDelay(this::tickSafely, tickMs, tickMs, TimeUnit.MILLISECONDS);
  }

  // ---------------------------------------------------------------- the API

  @Override
  public CompletableFuture<SagaStatus> start(String correlationId,
      ChoreographyDefinition definition, Map<String, String> payload) {
    try {
      EventCommand.Start start = new EventCommand.Start(correlationId, definition, payload,
          clockMs.getAsLong());
      Proposals.requireLeader(log);
      CompletableFuture<SagaStatus> outcome = new CompletableFuture<>();
      outcomes.computeIfAbsent(correlationId, id -> new CopyOnWriteArrayList<>()).add(outcome);
      for (EventEffect effect : Proposals.propose(log, start, config.proposalTimeout())) {
        switch (effect) {
          case EventEffect.AlreadyExists existing when existing.state().isTerminal() ->
              finish(correlationId);
          case EventEffect.Refused refused -> {
            forgetOutcome(correlationId, outcome);
            throw new SynodException(refused.reason() == EventEffect.Refused.Reason.LIMIT
                ? ErrorCode.RESOURCE_EXHAUSTED : ErrorCode.FAILED_PRECONDITION, null,
                refused.message());
          }
          default -> { }
        }
      }
      return outcome;
    } catch (SynodException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  @Override
  public Optional<SagaStatus> status(String correlationId) {
    return log.readEvents(events -> events.choreography(correlationId));
  }

  @Override
  public List<String> listActive() {
    return log.readEvents(events -> events.activeChoreographies());
  }

  @Override
  public boolean abort(String correlationId, String reason) {
    Proposals.requireLeader(log);
    String why = reason == null || reason.isBlank() ? "no reason given" : reason;
    return Proposals.propose(log, new EventCommand.Abort(correlationId, why, clockMs.getAsLong()),
        config.proposalTimeout()).stream().anyMatch(EventEffect.Finished.class::isInstance);
  }

  // ---------------------------------------------------------------- effects and the timer

  /** From the apply thread of every replica, in log order. */
  void onEffects(List<EventEffect> effects) {
    for (EventEffect effect : effects) {
      switch (effect) {
        case EventEffect.Awaiting next -> awaiting.put(next.correlationId(), next);
        case EventEffect.Finished finished -> {
          awaiting.remove(finished.correlationId());
          LOG.info("choreographed saga {} {}{}", finished.correlationId(),
              finished.state().wireName(), finished.error() == null ? ""
              : ": " + finished.error());
          finish(finished.correlationId());
        }
        default -> { }
      }
    }
  }

  private void tickSafely() {
    try {
      tick();
    } catch (RuntimeException e) {
      LOG.warn("choreography tick failed; the next tick retries", e);
    }
  }

  /** On the timer thread only. */
  private void tick() {
    boolean leader = log.isLeaderReady();
    if (leader && !leading) {
      // A new leader: the state machine, not this driver's memory, says what is awaited.
      log.readEvents(events -> {
        awaiting.clear();
        events.awaiting().forEach(next -> awaiting.put(next.correlationId(), next));
        return null;
      });
    }
    leading = leader;
    if (!leader) {
      return;
    }
    long now = clockMs.getAsLong();
    for (EventEffect.Awaiting next : List.copyOf(awaiting.values())) {
      if (next.deadlineMs() <= now) {
        timeOut(next, now);
      }
    }
  }

  private void timeOut(EventEffect.Awaiting overdue, long now) {
    LOG.info("choreographed saga {}: step {} gave no answer by {}; timing it out",
        overdue.correlationId(), overdue.step(), overdue.deadlineMs());
    try {
      List<EventEffect> effects = Proposals.propose(log, new EventCommand.TimeOut(
          overdue.correlationId(), overdue.step(), now), config.proposalTimeout());
      if (effects.stream().anyMatch(EventEffect.Refused.class::isInstance)) {
        // The saga moved on (or was forgotten) since this deadline: drop it unless replaced.
        awaiting.remove(overdue.correlationId(), overdue);
      }
    } catch (SynodException e) {
      LOG.warn("choreographed saga {}: {}", overdue.correlationId(), e.getMessage());
    }
  }

  // ---------------------------------------------------------------- outcomes

  private void finish(String correlationId) {
    List<CompletableFuture<SagaStatus>> waiting = outcomes.remove(correlationId);
    if (waiting != null) {
      Optional<SagaStatus> status = status(correlationId);
      waiting.forEach(f -> status.ifPresentOrElse(f::complete, () -> f.completeExceptionally(
          new SynodException(ErrorCode.NOT_FOUND, null, "saga " + correlationId
              + " was forgotten"))));
    }
  }

  private void forgetOutcome(String correlationId, CompletableFuture<SagaStatus> outcome) {
    outcomes.computeIfPresent(correlationId, (id, list) -> {
      list.remove(outcome);
      return list.isEmpty() ? null : list;
    });
  }

  @Override
  public void close() {
    timer.shutdownNow();
    outcomes.values().forEach(list -> list.forEach(f -> f.completeExceptionally(
        new SynodException(ErrorCode.UNAVAILABLE, null, "the choreography driver closed"))));
  }
}
