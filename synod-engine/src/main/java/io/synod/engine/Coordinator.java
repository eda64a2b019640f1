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
import java.security.SecureRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * The atomic-commit coordinator: accepts requests, runs each as a {@link TxnRun}, answers status,
 * abort and listing from the live runs and the log, and hands the recovery driver what it needs.
 *
 * <p>Only the leader of the log coordinates; on another replica {@code coordinate} fails with
 * UNAVAILABLE naming the leader. A run is registered as live before its first prepare and
 * forgotten after its Complete is applied, so recovery never touches a transaction a live run
 * owns, and always owns every transaction no run does.
 *
 * <p>Global transaction ids are {@code synod_<cluster>_<key>_<store index>}, with a 128-bit
 * key made here (outside the state machine: a random nonce per coordinator and a counter) and
 * carried in the Decide entry.
 */
public final class Coordinator implements CoordinationService {
  private final CoordinatorLog log;
  private final io.opentelemetry.api.trace.Tracer tracer;
  private final Map<String, Participant> participants;
  private final CoordinatorConfig config;
  private final EventBus events;
  private final LongSupplier clockMs;
  private final String gidPrefix;
  private final RequestValidator validator;
  /**
   * Runs and store calls (JDBC) run on platform threads: measured on 2 cores, a prepare over
   * pgjdbc took 2.5 ms on virtual threads and 1.6 ms on platform threads, the difference being
   * the socket poller hand-offs of virtual threads. Both pools grow with concurrent
   * coordinations (bounded by active_transactions_max) and reuse idle threads.
   */
  private final ExecutorService runs = Executors.newCachedThreadPool(
      Thread.ofPlatform().daemon().name("synod-run-", 0).factory());
  private final ExecutorService storeCalls = Executors.newCachedThreadPool(
      Thread.ofPlatform().daemon().name("synod-store-", 0).factory());
  private final Resolver resolver;
  private final Map<String, TxnRun> liveById = new ConcurrentHashMap<>();
  private final Map<String, TxnRun> liveByKey = new ConcurrentHashMap<>();
  private final Duration logTimeout;
  /**
   * Keys are this coordinator's random 64-bit nonce followed by a counter: unique without a
   * SecureRandom call (a read of /dev/urandom under a lock) per transaction.
   */
  private final String keyNonce = String.format("%016x", new SecureRandom().nextLong());
  private final AtomicLong keyCounter = new AtomicLong();
  /** Runs between their start and their answer (not those only waiting for Complete). */
  private final AtomicInteger driving = new AtomicInteger();
  /**
   * Above this many runs driving at once, each run calls its stores in turn on its own thread.
   * Calling them in parallel shortens one transaction, but costs a hand-off to a store-call thread
   * and a wake-up back per store; once the runs outnumber the cores those cannot shorten anything,
   * and measured on 2 cores at 32 clients they were a sixth of the coordinator's CPU.
   */
  private final int parallelStoreCallsMax = Runtime.getRuntime().availableProcessors();

  public Coordinator(CoordinatorLog log, String clusterId, Collection<Participant> participants,
      CoordinatorConfig config, EventBus events, LongSupplier clockMs, Duration logTimeout) {
    this(log, clusterId, participants, config, events, clockMs, logTimeout,
        io.opentelemetry.api.OpenTelemetry.noop());
  }

  /**
   * As above, with spans made through {@code telemetry}: one per coordination, with one child per
   * store for prepare and for commit or rollback. Their parent is the caller's current context.
   */
  public Coordinator(CoordinatorLog log, String clusterId, Collection<Participant> participants,
      CoordinatorConfig config, EventBus events, LongSupplier clockMs, Duration logTimeout,
      io.opentelemetry.api.OpenTelemetry telemetry) {
    this.tracer = telemetry.getTracer("io.synod.engine");
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
    this.resolver = new Resolver(storeCalls, config.retryBackoffMin(), config.retryBackoffMax());
    this.logTimeout = logTimeout;
  }

  @Override
  public CompletableFuture<CoordinationResult> coordinate(CoordinationRequest request) {
    return start(request, runs);
  }

  /** Drives the coordination on the calling thread: no hand-off to a run thread and back. */
  @Override
  public CoordinationResult coordinateAndWait(CoordinationRequest request) {
    return CoordinationService.await(start(request, Runnable::run));
  }

  /**
   * Validates, answers repeats from the live runs or the log, and otherwise starts a run with
   * {@code driver}. The run answers its future as soon as the outcome is known; work that goes
   * on after that (retries at a store that is down) never holds the driving thread.
   */
  private CompletableFuture<CoordinationResult> start(CoordinationRequest request,
      Executor driver) {
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
    String key = nextKey();
    TxnRun run = new TxnRun(this, request, key);
    TxnRun first = liveById.putIfAbsent(request.coordinationId(), run);
    if (first != null) {
      return first.result();
    }
    liveByKey.put(key, run);
    driver.execute(run::drive);
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
    TxnCommand.Decide command;
    if (live != null) {
      command = live.decision(false, why);
    } else {
      Optional<TxnRecord> logged = log.read(sm -> sm.byCoordinationId(coordinationId));
      if (logged.isEmpty()) {
        return false;
      }
      // Already decided: proposing again only returns the standing decision.
      command = TxnCommand.Decide.tombstone(logged.get().txnKey(), why, nowMs());
    }
    try {
      TxnRecord record = log.propose(command)
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
    runs.shutdownNow();
    storeCalls.shutdownNow();
  }

  static CoordinationResult resultOf(TxnRecord record) {
    TxnPhase phase = record.phase();
    long end = phase.isTerminal() ? record.completedAtMs() : record.decidedAtMs();
    boolean committed = phase.isCommit();
    return new CoordinationResult(record.coordinationId(), committed, phase.apiState(),
        record.reason(), Math.max(0, end - record.startedAtMs()), record.stores(),
        phase == TxnPhase.COMMITTED ? record.operationCount() : 0,
        phase == TxnPhase.ABORTED ? record.operationCount() : 0);
  }

  private String nextKey() {
    long n = keyCounter.incrementAndGet();
    char[] hex = new char[16];
    for (int i = 15; i >= 0; i--, n >>>= 4) {
      hex[i] = Character.forDigit((int) (n & 0xf), 16);
    }
    return keyNonce + new String(hex);
  }

  // ---- for TxnRun and the recovery driver ----

  /**
   * The gid of a transaction's branch at one store: {@code <prefix><key>_<store index>}. Branches
   * need names of their own because PostgreSQL (and MariaDB's XA) scope gids to the whole server,
   * and two stores may be databases of one server.
   */
  String gidOf(String txnKey, int storeIndex) {
    return gidPrefix + txnKey + "_" + storeIndex;
  }

  /** The transaction key inside one of our gids, or empty if the gid is not ours. */
  Optional<String> keyOf(String gid) {
    if (!gid.startsWith(gidPrefix)) {
      return Optional.empty();
    }
    int end = gid.indexOf('_', gidPrefix.length());
    return end < 0 ? Optional.empty() : Optional.of(gid.substring(gidPrefix.length(), end));
  }

  String gidPrefix() {
    return gidPrefix;
  }

  void drivingStarted() {
    driving.incrementAndGet();
  }

  void drivingEnded() {
    driving.decrementAndGet();
  }

  /** Whether runs should call their stores one after the other right now; see the field. */
  boolean storesInTurn() {
    return driving.get() > parallelStoreCallsMax;
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

  /** Where calls to the stores run. */
  io.opentelemetry.api.trace.Tracer tracer() {
    return tracer;
  }

  ExecutorService storeCalls() {
    return storeCalls;
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
}
