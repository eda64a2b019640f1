package io.synod.engine.saga;

import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.api.saga.SagaDefinition;
import io.synod.api.saga.SagaService;
import io.synod.api.saga.SagaState;
import io.synod.api.saga.SagaStatus;
import io.synod.api.saga.SagaStep;
import io.synod.api.saga.StepOperation;
import io.synod.core.saga.Due;
import io.synod.core.saga.SagaCommand;
import io.synod.core.saga.SagaEffect;
import io.synod.engine.Errors;
import io.synod.engine.log.CoordinatorLog;
import io.synod.engine.saga.store.LocalHandlers;
import io.synod.engine.saga.store.LocalSagaStore;
import io.synod.engine.saga.store.SagaStore;
import io.synod.engine.saga.store.StepCall;
import io.synod.engine.saga.store.StepResult;
import io.synod.engine.saga.store.Templates;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs orchestrated sagas: the driver of the saga state machine (DESIGN §1, §3). The machine
 * says what is due ({@link Due}); the leader's driver does it and logs what happened, one entry
 * per try's start and one per its outcome, so that the log always knows which tries may have
 * taken effect.
 *
 * <p><b>A try.</b> Log {@code StepStarted} (or {@code CompensationStarted}); only if that entry
 * answers {@code TryStarted} run the operation at its store, which records the step's idempotency
 * key with the effect (the barrier), then log the outcome. A try whose outcome never reaches the
 * log (the leader died, or this driver restarted) is due as a {@link Due.Timeout} after the step's
 * timeout: the new leader logs it failed, and the retry with the same key applies nothing twice.
 *
 * <p><b>Wake-ups.</b> Each applied saga command's {@code Updated} effect carries everything due
 * for that saga; the driver acts on it at once, and a timer every {@code tick} picks up what was
 * due later (backoffs, timeouts). A new leader reads what is due from the state machine.
 *
 * <p><b>Failed sagas</b> (a compensation that kept failing) are retried every {@code
 * compensationRetryEvery}: the leader logs {@code RetryCompensations}, and the failed
 * compensations get another round of tries.
 *
 * <p>Clock: the leader's wall clock goes into the entries; backoffs and timeouts are measured
 * from logged times, so a new leader honours what the old one logged.
 */
public final class SagaDriver implements SagaService, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SagaDriver.class);

  private final CoordinatorLog log;
  private final Map<String, SagaStore> stores;
  private final LocalHandlers locals;
  private final LocalSagaStore localStore;
  private final SagaConfig config;
  private final LongSupplier clockMs;
  /** What the last Updated effect of each saga said is due. */
  private final Map<String, List<Due>> due = new ConcurrentHashMap<>();
  /** Tries this driver is running now, by {@link #key}: never two of the same. */
  private final Set<String> running = ConcurrentHashMap.newKeySet();
  /** Callers waiting for a saga's outcome. */
  private final Map<String, List<CompletableFuture<SagaStatus>>> outcomes =
      new ConcurrentHashMap<>();
  private final ScheduledExecutorService timer;
  private final ExecutorService tries;
  private volatile boolean leading;
  private long lastCompensationRetryMs;

  /**
   * @param stores the SQL and Redis stores steps may name; the driver closes them
   * @param locals the application's in-process steps ({@link StepOperation.Local}), by name
   */
  public SagaDriver(CoordinatorLog log, List<SagaStore> stores, LocalHandlers locals,
      SagaConfig config, LongSupplier clockMs) {
    this.log = log;
    this.stores = byName(stores);
    this.locals = locals;
    this.localStore = new LocalSagaStore(locals);
    this.config = config;
    this.clockMs = clockMs;
    this.timer = Executors.newSingleThreadScheduledExecutor(
        Thread.ofPlatform().daemon().name("synod-saga-driver-" + log.selfId()).factory());
    // Platform threads: steps run JDBC, which is cheaper there (see the Coordinator's pools).
    this.tries = Executors.newCachedThreadPool(
        Thread.ofPlatform().daemon().name("synod-saga-try-", 0).factory());
    log.onSagaEffects(this::onEffects);
  }

  private static Map<String, SagaStore> byName(List<SagaStore> stores) {
    Map<String, SagaStore> byName = new java.util.LinkedHashMap<>();
    for (SagaStore store : stores) {
      if (byName.put(store.name(), store) != null) {
        throw SynodException.invalid("stores." + store.name(), "store name is configured twice");
      }
    }
    return Map.copyOf(byName);
  }

  public void start() {
    long tickMs = config.tick().toMillis();
    timer.scheduleWithFixedDelay(this::tickSafely, tickMs, tickMs, TimeUnit.MILLISECONDS);
  }

  // ---- the API

  @Override
  public CompletableFuture<SagaStatus> start(String sagaId, SagaDefinition definition,
      Map<String, Object> input) {
    try {
      SagaCommand.Start start = new SagaCommand.Start(sagaId, definition, input, clockMs.getAsLong());
      checkRunnable(start);
      requireLeader();
      CompletableFuture<SagaStatus> outcome = new CompletableFuture<>();
      outcomes.computeIfAbsent(sagaId, id -> new java.util.concurrent.CopyOnWriteArrayList<>())
          .add(outcome);
      List<SagaEffect> effects;
      try {
        effects = propose(start);
      } catch (SynodException e) {
        forgetOutcome(sagaId, outcome); // the start may not be on the log: nobody would finish it
        throw e;
      }
      for (SagaEffect effect : effects) {
        switch (effect) {
          case SagaEffect.AlreadyExists existing when existing.state().isTerminal()
              || existing.state() == SagaState.FAILED -> finish(sagaId);
          case SagaEffect.Refused refused -> {
            forgetOutcome(sagaId, outcome);
            throw refusal(refused);
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
  public Optional<SagaStatus> status(String sagaId) {
    return log.readSagas(sm -> sm.status(sagaId));
  }

  @Override
  public List<String> listActive() {
    return log.readSagas(sm -> List.copyOf(sm.active()));
  }

  @Override
  public boolean abort(String sagaId, String reason) {
    requireLeader();
    String why = "aborted on request: " + (reason == null || reason.isBlank()
        ? "no reason given" : reason);
    return propose(new SagaCommand.Abort(sagaId, why, clockMs.getAsLong())).stream()
        .anyMatch(effect -> effect instanceof SagaEffect.Updated);
  }

  /**
   * Every store and local handler the saga names exists, and every placeholder has a value: a
   * saga that could not run a step is refused before anything is logged.
   */
  private void checkRunnable(SagaCommand.Start start) {
    List<SagaStep> steps = start.definition().steps();
    for (int i = 0; i < steps.size(); i++) {
      SagaStep step = steps.get(i);
      checkOperation("steps[" + i + "].action", step.action(), start);
      if (step.compensation() != null) {
        checkOperation("steps[" + i + "].compensation", step.compensation(), start);
      }
    }
  }

  private void checkOperation(String field, StepOperation operation, SagaCommand.Start start) {
    if (operation instanceof StepOperation.Local) {
      if (!locals.names().contains(operation.store())) {
        throw SynodException.invalid(field + ".store", "no local handler '" + operation.store()
            + "' is registered; registered handlers are " + new java.util.TreeSet<>(locals.names()));
      }
    } else if (!stores.containsKey(operation.store())) {
      throw SynodException.invalid(field + ".store", "unknown store '" + operation.store()
          + "'; configured saga stores are " + new java.util.TreeSet<>(stores.keySet()));
    }
    Templates.resolve(field, operation, start.sagaId(), start.input());
  }

  // ---- effects and the timer

  private void onEffects(List<SagaEffect> effects) {
    for (SagaEffect effect : effects) {
      switch (effect) {
        case SagaEffect.Updated updated -> {
          due.put(updated.sagaId(), updated.due());
          if (leading) {
            timer.execute(() -> dispatch(updated.sagaId()));
          }
        }
        case SagaEffect.Finished finished -> {
          due.remove(finished.sagaId());
          finish(finished.sagaId());
        }
        default -> { }
      }
    }
  }

  private void tickSafely() {
    try {
      tick();
    } catch (RuntimeException e) {
      LOG.warn("saga driver tick failed; next tick retries", e);
    }
  }

  private void tick() {
    boolean leader = log.isLeaderReady();
    if (leader && !leading) {
      // A new leader: the state machine, not this driver's memory, says what is due.
      log.readSagas(sm -> {
        due.clear();
        sm.active().forEach(id -> due.put(id, sm.due(id)));
        return null;
      });
      lastCompensationRetryMs = clockMs.getAsLong();
    }
    leading = leader;
    if (!leader) {
      return;
    }
    due.keySet().forEach(this::dispatch);
    retryFailedCompensations();
  }

  private void retryFailedCompensations() {
    long now = clockMs.getAsLong();
    if (now - lastCompensationRetryMs < config.compensationRetryEvery().toMillis()) {
      return;
    }
    lastCompensationRetryMs = now;
    List<String> failed = log.readSagas(sm -> sm.active().stream()
        .filter(id -> sm.status(id).map(s -> s.state() == SagaState.FAILED).orElse(false))
        .toList());
    for (String sagaId : failed) {
      LOG.info("saga {} failed to compensate; trying its compensations again", sagaId);
      proposeQuietly(new SagaCommand.RetryCompensations(sagaId, now));
    }
  }

  /** Starts every try of the saga that is due now and not running here (on the timer thread). */
  private void dispatch(String sagaId) {
    long now = clockMs.getAsLong();
    for (Due item : due.getOrDefault(sagaId, List.of())) {
      if (item.notBeforeMs() > now) {
        continue;
      }
      switch (item) {
        case Due.RunStep step -> begin(step, false);
        case Due.Compensate compensate -> begin(compensate, true);
        case Due.Timeout timeout -> expire(timeout);
      }
    }
  }

  private void begin(Due item, boolean compensation) {
    String key = key(item.sagaId(), item.step(), compensation, item.attempt());
    if (running.add(key)) {
      tries.execute(() -> {
        try {
          runTry(item, compensation);
        } catch (RuntimeException e) {
          LOG.warn("try {} of saga {} ended without a logged outcome; its timeout will retry it",
              key, item.sagaId(), e);
        } finally {
          running.remove(key);
        }
      });
    }
  }

  /** A try that is not running here (lost with a leader or a restart) is logged as failed. */
  private void expire(Due.Timeout timeout) {
    String key = key(timeout.sagaId(), timeout.step(), timeout.compensation(), timeout.attempt());
    if (running.contains(key) || !running.add(key)) {
      return; // ours, still running: its outcome will come
    }
    tries.execute(() -> {
      try {
        String why = "no outcome within the step's timeout (the try was lost, or is still"
            + " running somewhere); retrying under the same idempotency key";
        long now = clockMs.getAsLong();
        proposeQuietly(timeout.compensation()
            ? new SagaCommand.CompensationFailed(timeout.sagaId(), timeout.step(),
                timeout.attempt(), why, now)
            : new SagaCommand.StepFailed(timeout.sagaId(), timeout.step(), timeout.attempt(),
                why, true, now));
      } finally {
        running.remove(key);
      }
    });
  }

  // ---- one try

  private void runTry(Due item, boolean compensation) {
    String sagaId = item.sagaId();
    long now = clockMs.getAsLong();
    SagaCommand started = compensation
        ? new SagaCommand.CompensationStarted(sagaId, item.step(), item.attempt(), now)
        : new SagaCommand.StepStarted(sagaId, item.step(), item.attempt(), now);
    boolean mayRun = propose(started).stream().anyMatch(e -> e instanceof SagaEffect.TryStarted);
    if (!mayRun) {
      return; // stale: another try or the saga's state went on meanwhile
    }
    StepResult result = call(sagaId, item.step(), compensation);
    proposeQuietly(outcome(item, compensation, result));
  }

  private StepResult call(String sagaId, String stepName, boolean compensation) {
    Optional<SagaCommand.Start> start = log.readSagas(sm -> sm.startOf(sagaId));
    if (start.isEmpty()) {
      return new StepResult.Failed(false, "saga " + sagaId + " is no longer known");
    }
    SagaDefinition definition = start.get().definition();
    SagaStep step = definition.step(stepName);
    int index = definition.steps().indexOf(step);
    try {
      if (compensation) {
        StepOperation op = Templates.resolve("steps[" + index + "].compensation",
            step.compensation(), sagaId, start.get().input());
        return store(op).apply(StepCall.compensation(sagaId, step, op));
      }
      StepOperation op = Templates.resolve("steps[" + index + "].action", step.action(), sagaId,
          start.get().input());
      return store(op).apply(StepCall.action(sagaId, step, op));
    } catch (SynodException e) {
      return new StepResult.Failed(false, e.getMessage());
    } catch (RuntimeException e) {
      LOG.warn("{} of step {} of saga {} failed unexpectedly", compensation ? "compensation"
          : "action", stepName, sagaId, e);
      return new StepResult.Failed(true, "unexpected failure: " + e);
    }
  }

  private SagaStore store(StepOperation op) {
    if (op instanceof StepOperation.Local) {
      return localStore;
    }
    SagaStore store = stores.get(op.store());
    if (store == null) {
      throw SynodException.invalid("store", "unknown store '" + op.store() + "'");
    }
    return store;
  }

  private SagaCommand outcome(Due item, boolean compensation, StepResult result) {
    String sagaId = item.sagaId();
    String step = item.step();
    int attempt = item.attempt();
    long now = clockMs.getAsLong();
    if (compensation) {
      return switch (result) {
        case StepResult.Applied a -> new SagaCommand.CompensationSucceeded(sagaId, step, now);
        case StepResult.AlreadyApplied a -> new SagaCommand.CompensationSucceeded(sagaId, step, now);
        case StepResult.Skipped s -> new SagaCommand.CompensationSucceeded(sagaId, step, now);
        case StepResult.Refused r -> new SagaCommand.CompensationFailed(sagaId, step, attempt,
            "the store refused the compensation", now);
        case StepResult.Failed f -> new SagaCommand.CompensationFailed(sagaId, step, attempt,
            f.reason(), now);
      };
    }
    return switch (result) {
      case StepResult.Applied a -> new SagaCommand.StepSucceeded(sagaId, step, attempt, now);
      case StepResult.AlreadyApplied a -> new SagaCommand.StepSucceeded(sagaId, step, attempt, now);
      case StepResult.Refused r -> new SagaCommand.StepFailed(sagaId, step, attempt,
          "refused by the store: the step's compensation ran before it", false, now);
      case StepResult.Skipped s -> new SagaCommand.StepFailed(sagaId, step, attempt,
          "the store skipped the action", false, now);
      case StepResult.Failed f -> new SagaCommand.StepFailed(sagaId, step, attempt, f.reason(),
          f.retryable(), now);
    };
  }

  // ---- proposing

  private List<SagaEffect> propose(SagaCommand command) {
    try {
      return log.proposeSaga(command).get(config.proposalTimeout().toMillis(),
          TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SynodException(ErrorCode.UNAVAILABLE, "interrupted while logging " + command, e);
    } catch (Exception e) {
      throw new SynodException(ErrorCode.UNAVAILABLE, "could not log the saga's "
          + command.getClass().getSimpleName() + ": " + Errors.rootMessage(e), e);
    }
  }

  /** Proposes; a failure is logged, not thrown: the state still says what is due, and it recurs. */
  private void proposeQuietly(SagaCommand command) {
    try {
      propose(command);
    } catch (SynodException e) {
      LOG.warn("saga {}: {}", command.sagaId(), e.getMessage());
    }
  }

  private void requireLeader() {
    if (!log.isLeaderReady()) {
      throw new SynodException(ErrorCode.UNAVAILABLE, null, "replica " + log.selfId()
          + " does not lead the saga log" + log.leaderId().map(l -> "; the leader is " + l)
          .orElse("; no leader is known") + ". Retry there.");
    }
  }

  private static SynodException refusal(SagaEffect.Refused refused) {
    ErrorCode code = refused.reason() == SagaEffect.Refused.Reason.LIMIT
        ? ErrorCode.RESOURCE_EXHAUSTED : ErrorCode.FAILED_PRECONDITION;
    return new SynodException(code, null, refused.message());
  }

  private void finish(String sagaId) {
    List<CompletableFuture<SagaStatus>> waiting = outcomes.remove(sagaId);
    if (waiting != null) {
      Optional<SagaStatus> status = status(sagaId);
      waiting.forEach(f -> status.ifPresentOrElse(f::complete, () -> f.completeExceptionally(
          new SynodException(ErrorCode.NOT_FOUND, null, "saga " + sagaId + " was forgotten"))));
    }
  }

  private void forgetOutcome(String sagaId, CompletableFuture<SagaStatus> outcome) {
    outcomes.computeIfPresent(sagaId, (id, list) -> {
      list.remove(outcome);
      return list.isEmpty() ? null : list;
    });
  }

  private static String key(String sagaId, String step, boolean compensation, int attempt) {
    return sagaId + "/" + step + (compensation ? "/compensation/" : "/action/") + attempt;
  }

  @Override
  public void close() {
    timer.shutdownNow();
    tries.shutdownNow();
    List<SagaStore> all = new ArrayList<>(stores.values());
    for (SagaStore store : all) {
      try {
        store.close();
      } catch (RuntimeException e) {
        LOG.warn("closing saga store '{}' failed", store.name(), e);
      }
    }
    outcomes.values().forEach(list -> list.forEach(f -> f.completeExceptionally(
        new SynodException(ErrorCode.UNAVAILABLE, null, "the saga driver closed"))));
  }
}
