package io.synod.engine;

import io.synod.api.CoordinationEvent;
import io.synod.api.CoordinationRequest;
import io.synod.api.CoordinationResult;
import io.synod.api.CoordinationService;
import io.synod.api.ErrorCode;
import io.synod.api.EventBus;
import io.synod.api.SynodException;
import io.synod.api.spi.Participant;
import io.synod.core.txn.TxnCommand;
import io.synod.core.txn.TxnPhase;
import io.synod.core.txn.TxnRecord;
import io.synod.engine.log.CoordinatorLog;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * The atomic-commit coordinator: accepts requests, runs each as a {@link TxnRun}, answers status,
 * abort and listing from the live runs and the log, and hands the recovery driver what it needs.
 *
 * <p>Only the leader of the log coordinates; on another replica {@code coordinate} fails with
 * UNAVAILABLE naming the leader. A run is registered as live before its Begin is proposed and
 * forgotten after its Complete is applied, so recovery never touches a transaction a live run
 * owns, and always owns every transaction no run does.
 *
 * <p>Global transaction ids are {@code synod_<cluster>_<key>}, with a random 128-bit key made
 * here (outside the state machine) and carried in the Begin entry.
 */
public final class Coordinator implements CoordinationService {
  private final CoordinatorLog log;
  private final Map<String, Participant> participants;
  private final CoordinatorConfig config;
  private final EventBus events;
  private final LongSupplier clockMs;
  private final String gidPrefix;
  private final RequestValidator validator;
  private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
  private final Resolver resolver;
  private final Map<String, TxnRun> liveById = new ConcurrentHashMap<>();
  private final Map<String, TxnRun> liveByKey = new ConcurrentHashMap<>();
  private final Duration logTimeout;

  public Coordinator(CoordinatorLog log, String clusterId, Collection<Participant> participants,
      CoordinatorConfig config, EventBus events, LongSupplier clockMs, Duration logTimeout) {
    this.log = log;
    Map<String, Participant> byName = new LinkedHashMap<>();
    for (Participant p : participants) {
      if (byName.put(p.name(), p) != null) {
        throw SynodException.invalid("stores." + p.name(), "store name is configured twice");
      }
    }
    this.participants = java.util.Collections.unmodifiableMap(byName);
    this.config = config;
    this.events = events;
    this.clockMs = clockMs;
    this.gidPrefix = "synod_" + clusterId + "_";
    this.validator = new RequestValidator(byName.keySet(), config.operationsPerRequestMax());
    this.resolver = new Resolver(executor, config.retryBackoffMin(), config.retryBackoffMax());
    this.logTimeout = logTimeout;
  }

  @Override
  public CompletableFuture<CoordinationResult> coordinate(CoordinationRequest request) {
    try {
      validator.validate(request);
    } catch (SynodException e) {
      String id = request == null ? null : request.coordinationId();
      events.publish(new CoordinationEvent.Failed(id, e.getMessage(), nowMs()));
      return CompletableFuture.failedFuture(e);
    }
    TxnRun live = liveById.get(request.coordinationId());
    if (live != null) {
      return live.result();
    }
    Optional<TxnRecord> logged = log.read(sm -> sm.byCoordinationId(request.coordinationId()));
    if (logged.isPresent()) {
      return CompletableFuture.completedFuture(resultOf(logged.get()));
    }
    if (!log.isLeaderReady()) {
      return CompletableFuture.failedFuture(new SynodException(ErrorCode.UNAVAILABLE, null,
          new CoordinatorLog.NotLeaderException(log.selfId(), log.leaderId()).getMessage()));
    }
    if (liveById.size() >= config.activeTransactionsMax()) {
      return CompletableFuture.failedFuture(new SynodException(ErrorCode.RESOURCE_EXHAUSTED, null,
          config.activeTransactionsMax() + " coordinations are already running"
              + " (active_transactions_max); retry later"));
    }
    String key = UUID.randomUUID().toString().replace("-", "");
    TxnRun run = new TxnRun(this, request, key);
    TxnRun first = liveById.putIfAbsent(request.coordinationId(), run);
    if (first != null) {
      return first.result();
    }
    liveByKey.put(key, run);
    executor.execute(run::drive);
    return run.result();
  }

  @Override
  public Optional<CoordinationResult> status(String coordinationId) {
    TxnRun live = liveById.get(coordinationId);
    if (live != null) {
      return Optional.of(live.snapshot());
    }
    return log.read(sm -> sm.byCoordinationId(coordinationId)).map(Coordinator::resultOf);
  }

  @Override
  public boolean abort(String coordinationId, String reason) {
    String why = "aborted on request: " + (reason == null || reason.isBlank() ? "no reason given" : reason);
    TxnRun live = liveById.get(coordinationId);
    String key = live != null ? live.txnKey()
        : log.read(sm -> sm.byCoordinationId(coordinationId)).map(TxnRecord::txnKey).orElse(null);
    if (key == null) {
      return false;
    }
    try {
      TxnRecord record = log.propose(new TxnCommand.Decide(key, false, why, nowMs()))
          .get(logTimeout.toMillis(), TimeUnit.MILLISECONDS).record();
      return record != null && !record.phase().isCommit();
    } catch (Exception e) {
      throw new SynodException(ErrorCode.UNAVAILABLE, "could not record the abort of "
          + coordinationId + ": " + e.getMessage(), e);
    }
  }

  @Override
  public List<String> listActive() {
    List<String> active = new ArrayList<>(liveById.keySet());
    for (TxnRecord record : log.read(sm -> sm.unfinished())) {
      if (record.coordinationId() != null && !liveById.containsKey(record.coordinationId())) {
        active.add(record.coordinationId());
      }
    }
    return active;
  }

  @Override
  public EventBus events() {
    return events;
  }

  @Override
  public void close() {
    resolver.close();
    executor.shutdownNow();
  }

  static CoordinationResult resultOf(TxnRecord record) {
    TxnPhase phase = record.phase();
    long end = phase.isTerminal() ? record.completedAtMs()
        : phase.isDecided() ? record.decidedAtMs() : record.startedAtMs();
    boolean committed = phase.isCommit();
    return new CoordinationResult(record.coordinationId(), committed, phase.apiState(),
        record.reason(), Math.max(0, end - record.startedAtMs()), record.stores(),
        phase == TxnPhase.COMMITTED ? record.operationCount() : 0,
        phase == TxnPhase.ABORTED ? record.operationCount() : 0);
  }

  // ---- for TxnRun and the recovery driver ----

  String gidOf(String txnKey) {
    return gidPrefix + txnKey;
  }

  String gidPrefix() {
    return gidPrefix;
  }

  boolean isLive(String txnKey) {
    return liveByKey.containsKey(txnKey);
  }

  void forget(TxnRun run) {
    liveByKey.remove(run.txnKey(), run);
    liveById.remove(run.coordinationId(), run);
  }

  Participant participant(String store) {
    return participants.get(store);
  }

  Collection<Participant> participants() {
    return participants.values();
  }

  CoordinatorLog log() {
    return log;
  }

  CoordinatorConfig config() {
    return config;
  }

  ExecutorService executor() {
    return executor;
  }

  Resolver resolver() {
    return resolver;
  }

  Duration logTimeout() {
    return logTimeout;
  }

  long nowMs() {
    return clockMs.getAsLong();
  }

  /** Used by status displays: how many runs this coordinator is driving now. */
  public int liveCount() {
    return liveByKey.size();
  }
}
