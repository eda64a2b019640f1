package io.synod.engine;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.synod.api.CoordinationEvent;
import io.synod.api.CoordinationRequest;
import io.synod.api.CoordinationResult;
import io.synod.api.ErrorCode;
import io.synod.api.Operation;
import io.synod.api.SqlOperation;
import io.synod.api.SynodException;
import io.synod.api.TransactionState;
import io.synod.api.spi.AbortReason;
import io.synod.api.spi.Participant;
import io.synod.api.spi.Vote;
import io.synod.core.txn.TxnCommand;
import io.synod.core.txn.TxnOutcome;
import io.synod.core.txn.TxnPhase;
import io.synod.core.txn.TxnRecord;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One two-phase commit, driven from arrival to outcome on one thread, which also makes the last
 * store's calls itself; the other stores are called on store-call threads.
 *
 * <pre>
 *   prepare at every store (in parallel)
 *         │
 *   all voted commit? ── yes ─► propose Decide(commit) ─► applied (durable on a majority)
 *         │                                                  └─► commit at every store
 *         no ──────────────► propose Decide(abort) ─────────────► roll back every store
 *                                                                      │
 *   propose Complete (not waited for) ◄────────────────────────────────┘
 * </pre>
 *
 * Nothing is logged before the decision: until then the transaction exists only here and in the
 * stores' prepared transactions, and if this coordinator dies, recovery finds those with no
 * decision in the log and rolls them back (presumed abort). The decision that counts is the one
 * the log applied, not the one proposed: an abort request or a recovery tombstone may have come
 * first, or the coordination id may turn out to be taken. If the log cannot say whether a commit
 * decision was applied, the run stops without touching the stores and recovery finishes it from
 * the log.
 */
final class TxnRun {
  private static final Logger LOG = LoggerFactory.getLogger(TxnRun.class);
  private static final AttributeKey<List<String>> PARTICIPANTS =
      AttributeKey.stringArrayKey("coordination.participants");

  private final Coordinator coordinator;
  private final CoordinationRequest request;
  private final String txnKey;
  /** The branch gid at each participating store, in request order. */
  private final Map<String, String> gids = new LinkedHashMap<>();
  private final long startNanos = System.nanoTime();
  private final long startedAtMs;
  private final CompletableFuture<CoordinationResult> result = new CompletableFuture<>();
  private volatile TransactionState state = TransactionState.INITIATED;
  private volatile String error;
  /** The caller's trace context, taken when the request arrived; the run's span is its child. */
  private final Context parentContext = Context.current();
  private Span span = Span.getInvalid();

  TxnRun(Coordinator coordinator, CoordinationRequest request, String txnKey) {
    this.coordinator = coordinator;
    this.request = request;
    this.txnKey = txnKey;
    this.startedAtMs = coordinator.nowMs();
    List<String> stores = request.participatingStores();
    for (int i = 0; i < stores.size(); i++) {
      gids.put(stores.get(i), coordinator.gidOf(txnKey, i));
    }
  }

  String txnKey() {
    return txnKey;
  }

  String coordinationId() {
    return request.coordinationId();
  }

  CompletableFuture<CoordinationResult> result() {
    return result;
  }

  /** The live status, for {@code status()} while the run is going. */
  CoordinationResult snapshot() {
    TransactionState now = state;
    boolean committing = now == TransactionState.COMMITTING || now == TransactionState.COMMITTED;
    int ops = request.operations().size();
    return new CoordinationResult(request.coordinationId(), committing, now, error, elapsedMs(),
        request.participatingStores(), now == TransactionState.COMMITTED ? ops : 0,
        now == TransactionState.ABORTED ? ops : 0);
  }

  void drive() {
    coordinator.drivingStarted();
    span = coordinator.tracer().spanBuilder("synod.coordinate")
        .setParent(parentContext)
        .setAttribute("coordination.id", request.coordinationId())
        .setAttribute("coordination.type", request.coordinationType().wireName())
        .setAttribute(PARTICIPANTS, request.participatingStores())
        .startSpan();
    try (Scope scope = span.makeCurrent()) {
      coordinator.events().publish(new CoordinationEvent.Started(request.coordinationId(),
          request.coordinationType(), request.participatingStores(), coordinator.nowMs()));
      run();
    } catch (RuntimeException e) {
      LOG.error("coordination {} (key {}) failed unexpectedly", request.coordinationId(), txnKey, e);
      fail(new SynodException(ErrorCode.INTERNAL, "coordination " + request.coordinationId()
          + " failed unexpectedly: " + e, e));
    } finally {
      coordinator.drivingEnded();
      if (!result.isDone()) {
        fail(new SynodException(ErrorCode.INTERNAL, null, "coordination ended without a result"));
      }
      endSpan();
    }
  }

  /** Outcome and duration as spec 000's span attributes; "committing" if the acks are pending. */
  private void endSpan() {
    span.setAttribute("coordination.outcome", state.wireName());
    span.setAttribute("coordination.duration", elapsedMs());
    if (error != null) {
      span.setAttribute("coordination.error", error);
    }
    if (state == TransactionState.FAILED) {
      span.setStatus(StatusCode.ERROR, error == null ? "failed" : error);
    }
    span.end();
  }

  /**
   * A child span of the run's for one store's prepare, commit or rollback; none when the run's
   * span is not recorded (not sampled): its children would not be either, and building them costs
   * ids and a sampling decision each, four or more per transaction.
   */
  private Span storeSpan(String phase, String store) {
    if (!span.isRecording()) {
      return Span.getInvalid();
    }
    return coordinator.tracer().spanBuilder("synod." + phase)
        .setParent(parentContext.with(span))
        .setAttribute("store", store)
        .startSpan();
  }

  private Vote prepareTraced(Participant participant, String gid, List<SqlOperation> ops,
      Duration perCall) {
    Span call = storeSpan("prepare", participant.name());
    try {
      Vote vote = participant.prepare(gid, ops, perCall);
      call.setAttribute("vote", vote instanceof Vote.Commit ? "commit" : "abort");
      if (vote instanceof Vote.Abort abort) {
        call.setAttribute("abort.reason", abort.reason().name());
      }
      return vote;
    } finally {
      call.end();
    }
  }

  private static CompletableFuture<Void> endWhenDone(Span call, CompletableFuture<Void> ack) {
    return ack.whenComplete((ok, e) -> {
      if (e != null) {
        call.setStatus(StatusCode.ERROR, String.valueOf(e.getMessage()));
      }
      call.end();
    });
  }

  private void run() {
    Duration prepareBudget = min(coordinator.config().prepareTimeout(), request.timeout());
    state = TransactionState.PREPARING;
    Map<String, Vote> votes = prepareAll(prepareBudget);
    decide(votes);
  }

  /** The Decide entry for this run; an abort request uses it too, so both carry the same facts. */
  TxnCommand.Decide decision(boolean commit, String reason) {
    return new TxnCommand.Decide(txnKey, request.coordinationId(), request.participatingStores(),
        request.operations().size(), commit, reason, startedAtMs, coordinator.nowMs());
  }

  private Map<String, Vote> prepareAll(Duration budget) {
    Duration perCall = min(budget, coordinator.config().participantResponseTimeout());
    return coordinator.storesInTurn() ? prepareInTurn(budget, perCall) : prepareInParallel(perCall);
  }

  private Map<String, Vote> prepareInParallel(Duration perCall) {
    long deadlineNanos = System.nanoTime() + perCall.toNanos();
    Map<String, CompletableFuture<Vote>> calls = new LinkedHashMap<>();
    AtomicInteger voted = new AtomicInteger();
    List<String> order = request.participatingStores();
    for (int i = 0; i < order.size(); i++) {
      String store = order.get(i);
      Participant participant = coordinator.participant(store);
      List<SqlOperation> ops = operationsFor(store);
      String gid = gids.get(store);
      CompletableFuture<Vote> call;
      if (i < order.size() - 1) {
        call = CompletableFuture.supplyAsync(() -> prepareTraced(participant, gid, ops, perCall),
            coordinator.storeCalls());
      } else {
        // The last store is asked on this thread, which would otherwise only wait: one thread
        // hand-off fewer per transaction. A vote later than the deadline counts as a timeout.
        call = CompletableFuture.completedFuture(
            voteInTime(store, prepareTraced(participant, gid, ops, perCall), deadlineNanos,
                perCall));
      }
      call.thenAccept(v -> {
        if (voted.incrementAndGet() < order.size()) {
          FaultPoints.hit(FaultPoints.AFTER_SOME_PREPARES);
        }
      });
      calls.put(store, call);
    }
    // Wait on this thread with a deadline rather than a timer per call: no scheduled task, and
    // no thread woken, per store and transaction.
    Map<String, Vote> votes = new LinkedHashMap<>();
    calls.forEach((store, call) -> votes.put(store, voteBy(store, call, deadlineNanos, perCall)));
    return votes;
  }

  /**
   * Asks each store in turn on this thread, each within its response timeout and all within the
   * prepare budget, and stops at the first abort vote: the stores not asked have nothing to roll
   * back.
   */
  private Map<String, Vote> prepareInTurn(Duration budget, Duration perCall) {
    long budgetEndNanos = System.nanoTime() + budget.toNanos();
    Map<String, Vote> votes = new LinkedHashMap<>();
    List<String> order = request.participatingStores();
    for (int i = 0; i < order.size(); i++) {
      String store = order.get(i);
      long now = System.nanoTime();
      Duration thisCall = min(perCall, Duration.ofNanos(budgetEndNanos - now));
      if (thisCall.toNanos() <= 0) {
        votes.put(store, Vote.abort(AbortReason.TIMEOUT, "the prepare phase's "
            + budget.toMillis() + " ms ran out before store '" + store + "' was asked"));
        break;
      }
      Vote vote = voteInTime(store, prepareTraced(coordinator.participant(store),
          gids.get(store), operationsFor(store), thisCall), now + thisCall.toNanos(), thisCall);
      votes.put(store, vote);
      if (vote instanceof Vote.Abort) {
        break;
      }
      if (i < order.size() - 1) {
        FaultPoints.hit(FaultPoints.AFTER_SOME_PREPARES);
      }
    }
    return votes;
  }

  /** A vote given on this thread; one later than the deadline counts as a timeout. */
  private Vote voteInTime(String store, Vote vote, long deadlineNanos, Duration perCall) {
    return System.nanoTime() - deadlineNanos > 0
        ? timeoutVote(store, CompletableFuture.completedFuture(vote), perCall)
        : vote;
  }

  /** The store's vote if it came by the deadline; TIMEOUT otherwise, and a late yes is undone. */
  private Vote voteBy(String store, CompletableFuture<Vote> call, long deadlineNanos,
      Duration perCall) {
    try {
      return call.get(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      // fall through: a timeout vote
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException e) {
      return Vote.abort(AbortReason.UNAVAILABLE,
          "store '" + store + "' failed to prepare: " + e.getCause());
    }
    return timeoutVote(store, call, perCall);
  }

  /** A TIMEOUT vote for a call we stopped waiting for; if it prepares after all, it is undone. */
  private Vote timeoutVote(String store, CompletableFuture<Vote> call, Duration perCall) {
    Participant participant = coordinator.participant(store);
    String gid = gids.get(store);
    call.thenAccept(actual -> {
      if (actual instanceof Vote.Commit) {
        LOG.info("store '{}' prepared {} after its vote timed out; rolling it back", store, gid);
        coordinator.resolver().resolve(participant, gid, false);
      }
    });
    return Vote.abort(AbortReason.TIMEOUT,
        "store '" + store + "' did not vote within " + perCall.toMillis() + " ms");
  }

  private List<SqlOperation> operationsFor(String store) {
    List<SqlOperation> ops = new ArrayList<>();
    for (Operation op : request.operations()) {
      if (op.store().equals(store) && op instanceof SqlOperation sql) {
        ops.add(sql);
      }
    }
    return ops;
  }

  private void decide(Map<String, Vote> votes) {
    String abortReason = abortReasonOf(votes);
    boolean commit = abortReason == null;
    if (commit) {
      state = TransactionState.PREPARED;
      FaultPoints.hit(FaultPoints.AFTER_ALL_PREPARES);
    }
    TxnOutcome decided;
    try {
      decided = coordinator.log().propose(decision(commit, abortReason))
          .get(coordinator.logTimeout().toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException | TimeoutException | InterruptedException e) {
      if (commit) {
        unknownOutcome(e);
      } else {
        abortLocally(votes, abortReason);
      }
      return;
    }
    if (decided instanceof TxnOutcome.Duplicate duplicate) {
      // Another coordinator decided this coordination id first: ours must leave no trace.
      rollbackAll(votes);
      finishFromRecord(duplicate.record());
      return;
    }
    TxnRecord record = decided.record();
    if (record != null && record.phase().isCommit()) {
      commitAll();
    } else {
      error = record != null && record.reason() != null ? record.reason() : abortReason;
      state = TransactionState.ABORTING;
      rollbackAll(votes);
      finish(TransactionState.ABORTED);
    }
  }

  private String abortReasonOf(Map<String, Vote> votes) {
    List<String> reasons = new ArrayList<>();
    votes.forEach((store, vote) -> {
      if (vote instanceof Vote.Abort a) {
        reasons.add("store '" + store + "' voted abort (" + a.reason() + "): "
            + inRequestTerms(store, a.message()));
      }
    });
    return reasons.isEmpty() ? null : String.join("; ", reasons);
  }

  private static final java.util.regex.Pattern STORE_OPERATION =
      java.util.regex.Pattern.compile("^operations\\[(\\d+)\\]");

  /**
   * Participants name a failed operation by its index in the list they were given (see
   * AbortClassifier.message); the caller knows it by its index in the request.
   */
  private String inRequestTerms(String store, String message) {
    var matcher = STORE_OPERATION.matcher(message);
    if (!matcher.find()) {
      return message;
    }
    int local = Integer.parseInt(matcher.group(1));
    int seen = 0;
    for (int i = 0; i < request.operations().size(); i++) {
      if (request.operations().get(i).store().equals(store) && seen++ == local) {
        return "operations[" + i + "]" + message.substring(matcher.end());
      }
    }
    return message;
  }

  private void commitAll() {
    FaultPoints.hit(FaultPoints.AFTER_DECISION);
    state = TransactionState.COMMITTING;
    AtomicInteger acked = new AtomicInteger();
    int stores = request.participatingStores().size();
    List<CompletableFuture<Void>> acks = new ArrayList<>();
    List<String> order = request.participatingStores();
    boolean inTurn = coordinator.storesInTurn();
    for (int i = 0; i < order.size(); i++) {
      String store = order.get(i);
      Participant participant = coordinator.participant(store);
      // As in prepare, the last store (or, in turn, every store) is told on this thread; a store
      // that fails is retried in the background.
      Span call = storeSpan("commit", store);
      CompletableFuture<Void> ack = endWhenDone(call, inTurn || i == order.size() - 1
          ? coordinator.resolver().resolveHere(participant, gids.get(store), true)
          : coordinator.resolver().resolve(participant, gids.get(store), true));
      acks.add(ack.thenRun(() -> {
        if (acked.incrementAndGet() < stores) {
          FaultPoints.hit(FaultPoints.AFTER_SOME_COMMITS);
        }
      }));
    }
    CompletableFuture<Void> all = CompletableFuture.allOf(acks.toArray(CompletableFuture[]::new));
    try {
      all.get(coordinator.config().commitTimeout().toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      LOG.warn("coordination {} (key {}) decided commit; not every store acknowledged within {}",
          request.coordinationId(), txnKey, coordinator.config().commitTimeout());
      result.complete(snapshot()); // "committing"; the retries go on without this thread
      all.whenComplete((ok, error) -> {
        if (error == null) {
          finish(TransactionState.COMMITTED);
        } else {
          coordinator.forget(this); // only a closing coordinator stops them; recovery finishes
        }
      });
      return;
    } catch (ExecutionException | InterruptedException e) {
      // Only a closing coordinator stops the retries; recovery finishes the commit from the log.
      result.complete(snapshot());
      coordinator.forget(this);
      return;
    }
    finish(TransactionState.COMMITTED);
  }

  private void rollbackAll(Map<String, Vote> votes) {
    List<CompletableFuture<Void>> done = new ArrayList<>();
    votes.forEach((store, vote) -> {
      // An abort vote leaves nothing behind, except a timeout: that prepare may still land.
      if (vote instanceof Vote.Commit || (vote instanceof Vote.Abort a
          && a.reason() == AbortReason.TIMEOUT)) {
        done.add(endWhenDone(storeSpan("rollback", store),
            coordinator.resolver().resolve(coordinator.participant(store), gids.get(store), false)));
      }
    });
    try {
      // Bounded: the abort is decided; a store that is down is rolled back by the retries (and
      // recovery) after the caller has its answer.
      CompletableFuture.allOf(done.toArray(CompletableFuture[]::new))
          .get(coordinator.config().commitTimeout().toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException | TimeoutException e) {
      LOG.warn("rollback of key {} incomplete, retries and recovery will finish it: {}", txnKey,
          e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void abortLocally(Map<String, Vote> votes, String why) {
    error = why;
    state = TransactionState.ABORTING;
    rollbackAll(votes);
    state = TransactionState.ABORTED;
    coordinator.events().publish(new CoordinationEvent.Completed(request.coordinationId(), false,
        TransactionState.ABORTED, elapsedMs()));
    result.complete(snapshot());
    coordinator.forget(this);
  }

  private void unknownOutcome(Exception e) {
    String why = "the commit decision for " + request.coordinationId() + " was proposed but the"
        + " coordinator log did not confirm it (" + causeOf(e) + "); the outcome is decided by"
        + " the log and recovery will finish it; ask for its status";
    LOG.warn(why);
    coordinator.events().publish(new CoordinationEvent.Failed(request.coordinationId(), why,
        coordinator.nowMs()));
    coordinator.forget(this);
    result.completeExceptionally(new SynodException(ErrorCode.UNAVAILABLE, why, e));
  }

  private void finish(TransactionState terminal) {
    state = terminal;
    // The event goes out before the caller's answer, so a caller sees it once it has the answer.
    coordinator.events().publish(new CoordinationEvent.Completed(request.coordinationId(),
        terminal == TransactionState.COMMITTED, terminal, elapsedMs()));
    result.complete(snapshot());
    coordinator.log().proposeLazily(new TxnCommand.Complete(txnKey, coordinator.nowMs()))
        .whenComplete((outcome, e) -> coordinator.forget(this));
  }

  private void finishFromRecord(TxnRecord record) {
    result.complete(Coordinator.resultOf(record));
    coordinator.forget(this);
  }

  private void fail(SynodException e) {
    coordinator.events().publish(new CoordinationEvent.Failed(request.coordinationId(),
        e.getMessage(), coordinator.nowMs()));
    coordinator.forget(this);
    result.completeExceptionally(e);
  }

  private long elapsedMs() {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
  }

  private static Duration min(Duration a, Duration b) {
    return a.compareTo(b) <= 0 ? a : b;
  }

  private static String causeOf(Exception e) {
    Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
    return cause.getMessage() != null ? cause.getMessage() : cause.getClass().getSimpleName();
  }
}
