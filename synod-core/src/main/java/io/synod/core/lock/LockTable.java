package io.synod.core.lock;

import static io.synod.core.Invariants.check;

import io.synod.api.lock.LockMode;
import io.synod.api.lock.LockStatus;
import io.synod.core.lock.LockEffect.Refused.Reason;
import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The lock service's state machine: hierarchical locks (IS, IX, S, X on paths such as {@code
 * pg/accounts/42}), sessions with leases, FIFO wait queues, fencing tokens, deadlock detection and
 * escalation. It is applied in log order on every replica.
 *
 * <p><b>Purity.</b> {@link #apply} reads nothing but its argument and this object: no clock, no
 * I/O, no randomness, no threads. Times and ids arrive in the commands; the table never expires a
 * session or times out a wait by itself, the leader proposes it ({@code ExpireSession}, {@code
 * Tick}). Every iteration that decides an outcome is over ordered maps (sessions in opening order,
 * resources by path, queues in order), so replicas that apply the same entries produce the same
 * effects. Not thread-safe: the caller serialises {@code apply} and the queries.
 *
 * <p><b>Requests.</b> An Acquire runs as stages, top-down: with intents, the intent mode on each
 * ancestor and then the mode on the target; without, the target alone, after checking that the
 * session holds the intents itself (FAILED_PRECONDITION otherwise). A stage the session already
 * covers is skipped. A stage is granted at once iff its mode is compatible with every other
 * session's lock on the resource and nobody is queued ahead (an upgrade by a holder only counts
 * the upgrades ahead of it: it goes to the front, behind them). Otherwise the request queues there
 * and continues when the queue reaches it; try-only requests (timeout 0) are refused instead,
 * undoing the stages they were granted, so a refusal leaves the table as it was. When a request
 * fails while it waits, the intents it took and nothing else needs are released.
 *
 * <p><b>Locks.</b> A session holds at most one mode per resource: asking for a mode it covers
 * returns the existing grant; asking for more replaces it with the join of both (IX + S is X: the
 * matrix has no SIX) and a new token. An S or X lock on an ancestor covers the resources below it:
 * a request it covers is granted with the ancestor's token and records nothing. Intent locks taken
 * by {@code withIntents} are <i>implicit</i>: the table releases them as soon as the session holds
 * and waits for nothing below them. Release goes leaf to root: releasing a resource the session
 * holds locks below is refused.
 *
 * <p><b>Tokens.</b> {@code lastToken} counts grants; every grant, upgrade and escalation takes the
 * next value, so a later grant always carries a larger token, across the whole table.
 *
 * <p><b>Waking.</b> Whenever holders or queues change, the touched resources are marked, and after
 * the command the queues of marked resources are served from the head while the head can be
 * granted: strict FIFO. Then, if waits changed (and on every Tick), the wait-for graph is searched
 * and victims are removed until no cycle is left ({@link DeadlockDetector}).
 *
 * <p><b>Escalation.</b> After a grant of S or X at depth 2 or more, a session with more than
 * {@code escalationThreshold} locks on the children of one parent has them replaced by one S (all
 * reads) or X lock on the parent, if that lock is compatible with every other session's lock on
 * the parent, no other session is queued there, and the session waits for nothing below it.
 * Otherwise it is tried again on the next grant. Escalation climbs: a new parent lock may escalate
 * its own parent.
 *
 * <p><b>Invariants</b>, all checked by {@link #checkInvariants()} (the tests call it after every
 * command; {@code apply} checks the local ones as it goes): the locks on a resource are pairwise
 * compatible; every lock has on each ancestor a lock of its session covering its intent; implicit
 * locks are intents that something of their session below still needs; every queued request
 * belongs to a live session and stands in exactly one queue, the one of its stage; upgrades form
 * the front of their queue; no queue head could be granted; the wait-for graph has no cycle;
 * per-session lock counts match; tokens are distinct and at most {@code lastToken}.
 *
 * <p><b>Retries.</b> The answer to every request that passed validation is kept (the last {@code
 * answeredRequestsMax}, oldest forgotten first); an Acquire with a request id that is waiting or
 * answered gets that answer again and changes nothing, so clients may retry freely.
 */
public final class LockTable {

  /**
   * Bounds of the table, identical on every replica (they decide outcomes). Admission enforces
   * them: a request that would pass one is refused with {@link Reason#LIMIT} naming it.
   */
  public record Limits(
      int sessionsMax,
      int locksPerSessionMax,
      int waitersPerResourceMax,
      int escalationThreshold,
      int answeredRequestsMax) {
    public static final Limits DEFAULTS = new Limits(100_000, 100_000, 10_000, 1_000, 10_000);

    public Limits {
      positive("sessionsMax", sessionsMax);
      positive("locksPerSessionMax", locksPerSessionMax);
      positive("waitersPerResourceMax", waitersPerResourceMax);
      positive("escalationThreshold", escalationThreshold);
      positive("answeredRequestsMax", answeredRequestsMax);
    }

    private static void positive(String name, int value) {
      if (value <= 0) {
        throw new IllegalArgumentException(
            "lock table limit " + name + " must be positive, was " + value);
      }
    }

    public Limits withSessionsMax(int value) {
      return new Limits(value, locksPerSessionMax, waitersPerResourceMax, escalationThreshold,
          answeredRequestsMax);
    }

    public Limits withLocksPerSessionMax(int value) {
      return new Limits(sessionsMax, value, waitersPerResourceMax, escalationThreshold,
          answeredRequestsMax);
    }

    public Limits withWaitersPerResourceMax(int value) {
      return new Limits(sessionsMax, locksPerSessionMax, value, escalationThreshold,
          answeredRequestsMax);
    }

    public Limits withEscalationThreshold(int value) {
      return new Limits(sessionsMax, locksPerSessionMax, waitersPerResourceMax, value,
          answeredRequestsMax);
    }

    public Limits withAnsweredRequestsMax(int value) {
      return new Limits(sessionsMax, locksPerSessionMax, waitersPerResourceMax,
          escalationThreshold, value);
    }
  }

  /** A lock of a session. {@code implicit}: an intent taken on the way to a lock below. */
  public record HeldLock(String resource, LockMode mode, long token, boolean implicit) {}

  /** A session as queries show it; {@code held} sorted by resource. */
  public record SessionView(
      String sessionId, String owner, long leaseMs, long openedAtMs, long lastSeenMs,
      long openedSeq, int heldCount, List<HeldLock> held, List<String> waitingRequestIds) {
    public SessionView {
      held = List.copyOf(held);
      waitingRequestIds = List.copyOf(waitingRequestIds);
    }

    /** When the lease lapses unless a newer keepalive is logged. */
    public long leaseEndMs() {
      return saturatedAdd(lastSeenMs, leaseMs);
    }
  }

  /**
   * A waiting request: it asked {@code mode} on {@code target} and now waits at {@code waitingAt}
   * (the target or an ancestor, with intents) for {@code waitingMode}.
   */
  public record WaitingRequest(
      String requestId, String sessionId, String target, LockMode mode, String waitingAt,
      LockMode waitingMode, long deadlineMs, int priority, boolean upgrade) {}

  /** Bound on ids and owners: they travel in every entry and effect. */
  public static final int ID_CHARS_MAX = 256;

  private final Limits limits;
  /** In opening order. */
  private final Map<String, SessionState> sessions = new LinkedHashMap<>();
  /** By path; only resources with holders or waiters. */
  private final TreeMap<String, ResourceState> resources = new TreeMap<>();
  /** Waiting requests by id, in the order they first queued. */
  private final Map<String, PendingRequest> waiting = new LinkedHashMap<>();
  /** Terminal answers by request id, oldest first, at most {@code answeredRequestsMax}. */
  private final Map<String, LockEffect> answered = new LinkedHashMap<>();
  private long lastToken;
  private long lastSessionSeq;

  // State of the command being applied; empty between commands.
  private List<LockEffect> effects;
  /** Paths whose queue head may now be grantable. */
  private final Set<String> dirty = new LinkedHashSet<>();
  /** Waits changed in a way that can close a cycle. */
  private boolean waitsChanged;
  /** Grants of the Acquire being admitted, undone if it is refused. */
  private List<Undo> undo;

  private record Undo(SessionState session, ResourcePath resource, Holding before) {}

  public LockTable() {
    this(Limits.DEFAULTS);
  }

  public LockTable(Limits limits) {
    this.limits = java.util.Objects.requireNonNull(limits, "limits");
  }

  public List<LockEffect> apply(LockCommand command) {
    check(effects == null, "LockTable.apply is not reentrant");
    effects = new ArrayList<>();
    try {
      switch (command) {
        case LockCommand.OpenSession c -> openSession(c);
        case LockCommand.CloseSession c -> closeSession(c);
        case LockCommand.Acquire c -> acquire(c);
        case LockCommand.Release c -> release(c);
        case LockCommand.LeaseCheckpoint c -> checkpoint(c);
        case LockCommand.ExpireSession c -> expire(c);
        case LockCommand.Tick c -> tick(c);
      }
      settle();
      return List.copyOf(effects);
    } finally {
      effects = null;
      dirty.clear();
      waitsChanged = false;
      undo = null;
    }
  }

  // ---------------------------------------------------------------- sessions

  private void openSession(LockCommand.OpenSession c) {
    String problem = firstProblem(idProblem("sessionId", c.sessionId()),
        idProblem("owner", c.owner()),
        c.leaseMs() > 0 ? null : "leaseMs must be positive, was " + c.leaseMs());
    if (problem != null) {
      refuse(null, c.sessionId(), Reason.INVALID_ARGUMENT, problem);
      return;
    }
    SessionState existing = sessions.get(c.sessionId());
    if (existing != null) {
      if (existing.owner.equals(c.owner()) && existing.leaseMs == c.leaseMs()) {
        effects.add(new LockEffect.SessionOpened(existing.id)); // a retry of the same entry
      } else {
        refuse(null, c.sessionId(), Reason.INVALID_ARGUMENT,
            "sessionId " + c.sessionId() + " is already open for owner " + existing.owner);
      }
      return;
    }
    if (sessions.size() >= limits.sessionsMax()) {
      refuse(null, c.sessionId(), Reason.LIMIT, "limit sessionsMax=" + limits.sessionsMax()
          + " reached: close sessions or raise the limit");
      return;
    }
    SessionState session = new SessionState(
        c.sessionId(), c.owner(), c.leaseMs(), c.atMs(), ++lastSessionSeq, c.atMs());
    sessions.put(session.id, session);
    effects.add(new LockEffect.SessionOpened(session.id));
  }

  private void closeSession(LockCommand.CloseSession c) {
    SessionState session = knownSession(c.sessionId());
    if (session != null) {
      end(session, false);
    }
  }

  private void checkpoint(LockCommand.LeaseCheckpoint c) {
    c.lastSeenMs().forEach((id, seenMs) -> {
      SessionState session = sessions.get(id);
      if (session != null) {
        session.lastSeenMs = Math.max(session.lastSeenMs, seenMs);
      }
    });
  }

  private void expire(LockCommand.ExpireSession c) {
    SessionState session = c.sessionId() == null ? null : sessions.get(c.sessionId());
    if (session == null) {
      refuse(null, c.sessionId(), Reason.FAILED_PRECONDITION,
          "no session " + quote(c.sessionId()) + " to expire (closed or expired already)");
    } else if (session.lastSeenMs > c.lastSeenMs()) {
      refuse(null, session.id, Reason.FAILED_PRECONDITION, "stale expiry of session " + session.id
          + ": a keepalive at " + session.lastSeenMs + " ms was logged after the proposer saw "
          + c.lastSeenMs() + " ms; the session lives on");
    } else if (c.atMs() < session.leaseEndMs()) {
      refuse(null, session.id, Reason.FAILED_PRECONDITION, "lease of session " + session.id
          + " has not lapsed: last seen " + session.lastSeenMs + " ms + lease " + session.leaseMs
          + " ms is after " + c.atMs() + " ms");
    } else {
      end(session, true);
    }
  }

  /** Close or expiry: every lock released (or lost), every wait cancelled, the session gone. */
  private void end(SessionState session, boolean expired) {
    for (Holding holding : List.copyOf(session.held.values())) {
      remove(session, holding);
      if (!holding.implicit()) {
        effects.add(expired
            ? new LockEffect.LockLost(session.id, holding.resource().path(), holding.token(),
                io.synod.api.lock.LockLost.Reason.LEASE_EXPIRED)
            : new LockEffect.Released(session.id, holding.resource().path(), holding.token()));
      }
    }
    LockEffect.Cancelled.Cause cause = expired
        ? LockEffect.Cancelled.Cause.SESSION_EXPIRED
        : LockEffect.Cancelled.Cause.SESSION_CLOSED;
    for (String requestId : List.copyOf(session.waiting)) {
      PendingRequest request = waiting.get(requestId);
      fail(request, new LockEffect.Cancelled(
          requestId, session.id, request.target.path(), cause));
    }
    check(session.held.isEmpty() && session.waiting.isEmpty(), "session %s not emptied",
        session.id);
    sessions.remove(session.id);
    effects.add(expired
        ? new LockEffect.SessionExpired(session.id)
        : new LockEffect.SessionClosed(session.id));
  }

  // ---------------------------------------------------------------- acquire

  private void acquire(LockCommand.Acquire c) {
    String problem = acquireProblem(c);
    if (problem != null) {
      refuse(c.requestId(), c.sessionId(), Reason.INVALID_ARGUMENT, problem);
      return;
    }
    SessionState session = sessions.get(c.sessionId());
    session.lastSeenMs = Math.max(session.lastSeenMs, c.atMs());
    LockEffect previous = previousAnswer(c.requestId());
    if (previous != null) {
      effects.add(previous);
      return;
    }
    PendingRequest request = new PendingRequest(c.requestId(), session.id,
        ResourcePath.parse(c.resource()), c.mode(), c.withIntents(), c.priority(),
        saturatedAdd(c.atMs(), c.timeoutMs()));
    if (completeIfCovered(request, session)) {
      return;
    }
    String precondition = admissionProblem(request, session);
    if (precondition != null) {
      answer(new LockEffect.Refused(
          request.requestId, session.id, Reason.FAILED_PRECONDITION, precondition));
      return;
    }
    undo = new ArrayList<>();
    long lastTokenBefore = lastToken;
    LockEffect.Refused refused = advance(request, session, false, c.timeoutMs() > 0);
    if (refused != null) {
      rollBack(lastTokenBefore);
      answer(refused);
    }
    undo = null;
  }

  private String acquireProblem(LockCommand.Acquire c) {
    String problem = firstProblem(idProblem("requestId", c.requestId()),
        idProblem("sessionId", c.sessionId()),
        c.mode() == null ? "mode must not be null" : null,
        c.timeoutMs() >= 0 ? null
            : "timeoutMs must be 0 (try only) or positive, was " + c.timeoutMs());
    if (problem != null) {
      return problem;
    }
    String pathProblem = ResourcePath.problem(c.resource());
    if (pathProblem != null) {
      return "resource: " + pathProblem;
    }
    if (!sessions.containsKey(c.sessionId())) {
      return "sessionId " + quote(c.sessionId()) + " names no open session (closed or expired?)";
    }
    String owner = requestOwner(c.requestId());
    if (owner != null && !owner.equals(c.sessionId())) {
      return "requestId " + c.requestId() + " was already used by session " + owner;
    }
    return null;
  }

  /** The session a request id belongs to, if the table knows the id. */
  private String requestOwner(String requestId) {
    PendingRequest pending = waiting.get(requestId);
    if (pending != null) {
      return pending.sessionId;
    }
    LockEffect answer = answered.get(requestId);
    return answer == null ? null : sessionOf(answer);
  }

  /** A retry gets the answer the first attempt got, or where it waits now. */
  private LockEffect previousAnswer(String requestId) {
    PendingRequest pending = waiting.get(requestId);
    if (pending != null) {
      ResourceState resource = resources.get(pending.waitingAt.path());
      return new LockEffect.Queued(requestId, pending.sessionId, pending.waitingAt.path(),
          resource.queue.indexOf(pending));
    }
    return answered.get(requestId);
  }

  /** Why a well-formed request the session does not cover yet cannot start, or null. */
  private String admissionProblem(PendingRequest request, SessionState session) {
    for (String id : session.waiting) {
      PendingRequest other = waiting.get(id);
      if (other.target.equals(request.target)) {
        return "session " + session.id + " already waits for " + request.target + " (request "
            + id + "): wait for it, or release the resource to cancel it";
      }
    }
    return request.withIntents ? null : missingIntent(session, request.target, request.mode);
  }

  /** Without intents, the session must hold on every ancestor the intent of the mode it gets. */
  private static String missingIntent(SessionState session, ResourcePath target, LockMode mode) {
    LockMode resulting = LockModes.join(session.modeAt(target), mode);
    LockMode needed = resulting.intentForAncestors();
    for (ResourcePath ancestor : target.ancestors()) {
      LockMode held = session.modeAt(ancestor);
      if (held == null || !held.covers(needed)) {
        return "ancestor " + ancestor + " must be held in " + needed
            + " (or a mode covering it) by session " + session.id + " before " + resulting
            + " on " + target + "; it holds " + (held == null ? "nothing" : held)
            + ". Acquire it first, or ask with intents";
      }
    }
    return null;
  }

  /**
   * Runs the request's stages from where it is. Returns null when it completed or queued, or the
   * refusal that ends it (the caller undoes or cleans up).
   *
   * @param atHead the request was just taken off the head of its stage's queue
   * @param mayQueue false for a try-only request
   */
  private LockEffect.Refused advance(
      PendingRequest request, SessionState session, boolean atHead, boolean mayQueue) {
    boolean ignoreQueue = atHead;
    while (!completeIfCovered(request, session)) {
      ResourcePath path = request.stagePath();
      LockMode wanted = request.stageMode(session);
      if (stageCovered(session, path, wanted)) {
        request.stage++;
        ignoreQueue = false;
        continue;
      }
      Holding held = session.holding(path);
      LockMode mode = LockModes.join(held == null ? null : held.mode(), wanted);
      if (!compatibleWithOthers(session, path, mode)
          || (!ignoreQueue && queuedAhead(path, held != null))) {
        return mayQueue ? enqueue(request, session, path, held != null)
            : wouldBlock(request, path, mode);
      }
      LockEffect.Refused refused = grantProblem(request, session, held == null);
      if (refused != null) {
        return refused;
      }
      Holding granted = grant(session, path, mode,
          !request.atTarget() && (held == null || held.implicit()));
      if (request.atTarget()) {
        complete(request, session, granted.mode(), granted.token());
        escalateIfDue(session, granted);
        return null;
      }
      request.stage++;
      ignoreQueue = false;
    }
    return null;
  }

  private LockEffect.Refused grantProblem(
      PendingRequest request, SessionState session, boolean newLock) {
    if (newLock && session.held.size() >= limits.locksPerSessionMax()) {
      return new LockEffect.Refused(request.requestId, session.id, Reason.LIMIT,
          "limit locksPerSessionMax=" + limits.locksPerSessionMax() + " reached by session "
              + session.id + ": release locks or raise the limit");
    }
    if (!request.withIntents && request.atTarget()) {
      String missing = missingIntent(session, request.target, request.mode);
      if (missing != null) {
        return new LockEffect.Refused(
            request.requestId, session.id, Reason.FAILED_PRECONDITION, missing);
      }
    }
    return null;
  }

  /** Grants the request with what the session holds already, if that covers it. */
  private boolean completeIfCovered(PendingRequest request, SessionState session) {
    Holding own = session.holding(request.target);
    if (own != null && own.mode().covers(request.mode)) {
      if (own.implicit()) {
        put(session, own.explicit()); // asked for now: the session releases it itself
      }
      complete(request, session, own.mode(), own.token());
      return true;
    }
    Holding ancestor = coveringAncestor(session, request.target, request.mode);
    if (ancestor != null) {
      complete(request, session, request.mode, ancestor.token());
      // No lock is recorded at the target: intents this request took on the way down, between
      // the covering ancestor and the target, now serve nothing.
      releaseUnneededIntents(session, request.target);
      return true;
    }
    return false;
  }

  private void complete(PendingRequest request, SessionState session, LockMode mode, long token) {
    check(request.waitingAt == null, "request %s completed while queued", request.requestId);
    waiting.remove(request.requestId);
    session.waiting.remove(request.requestId);
    answer(new LockEffect.Granted(
        request.requestId, session.id, request.target.path(), mode, token));
  }

  private static boolean stageCovered(SessionState session, ResourcePath path, LockMode wanted) {
    LockMode held = session.modeAt(path);
    return (held != null && held.covers(wanted)) || coveringAncestor(session, path, wanted) != null;
  }

  /** The session's S or X lock on an ancestor of {@code path} that covers {@code wanted}. */
  private static Holding coveringAncestor(
      SessionState session, ResourcePath path, LockMode wanted) {
    for (ResourcePath ancestor : path.ancestors()) {
      Holding holding = session.holding(ancestor);
      if (holding != null && LockModes.coversDescendants(holding.mode(), wanted)) {
        return holding;
      }
    }
    return null;
  }

  private boolean compatibleWithOthers(SessionState session, ResourcePath path, LockMode mode) {
    ResourceState resource = resources.get(path.path());
    if (resource == null) {
      return true;
    }
    for (Holding holder : resource.holders.values()) {
      if (!holder.sessionId().equals(session.id) && !mode.compatibleWith(holder.mode())) {
        return false;
      }
    }
    return true;
  }

  /** Strict FIFO: anyone ahead blocks a newcomer; only upgrades ahead block an upgrade. */
  private boolean queuedAhead(ResourcePath path, boolean upgrade) {
    ResourceState resource = resources.get(path.path());
    if (resource == null) {
      return false;
    }
    return upgrade ? resource.upgradeCount() > 0 : !resource.queue.isEmpty();
  }

  private LockEffect.Refused enqueue(
      PendingRequest request, SessionState session, ResourcePath path, boolean upgrade) {
    ResourceState resource = resource(path);
    if (resource.queue.size() >= limits.waitersPerResourceMax()) {
      dropIfEmpty(resource);
      return new LockEffect.Refused(request.requestId, session.id, Reason.LIMIT,
          "limit waitersPerResourceMax=" + limits.waitersPerResourceMax() + " reached at " + path
              + ": retry later or raise the limit");
    }
    int position = upgrade ? resource.upgradeCount() : resource.queue.size();
    resource.queue.add(position, request);
    request.waitingAt = path;
    request.queuedAsUpgrade = upgrade;
    if (waiting.putIfAbsent(request.requestId, request) == null) {
      session.waiting.add(request.requestId);
    }
    waitsChanged = true;
    effects.add(new LockEffect.Queued(request.requestId, session.id, path.path(), position));
    return null;
  }

  private LockEffect.Refused wouldBlock(PendingRequest request, ResourcePath path, LockMode mode) {
    ResourceState resource = resources.get(path.path());
    List<String> blockers = new ArrayList<>();
    for (Holding holder : resource.holders.values()) {
      if (!holder.sessionId().equals(request.sessionId) && !mode.compatibleWith(holder.mode())) {
        blockers.add(holder.sessionId() + " holds " + holder.mode());
      }
    }
    String why = blockers.isEmpty()
        ? resource.queue.size() + " waiters queued ahead"
        : String.join(", ", blockers.subList(0, Math.min(5, blockers.size())));
    return new LockEffect.Refused(request.requestId, request.sessionId, Reason.WOULD_BLOCK,
        path + " cannot be granted in " + mode + " now (" + why + ") and the timeout is 0");
  }

  // ---------------------------------------------------------------- release and failure

  private void release(LockCommand.Release c) {
    SessionState session = knownSession(c.sessionId());
    if (session == null) {
      return;
    }
    String pathProblem = ResourcePath.problem(c.resource());
    if (pathProblem != null) {
      refuse(null, session.id, Reason.INVALID_ARGUMENT, "resource: " + pathProblem);
      return;
    }
    ResourcePath path = ResourcePath.parse(c.resource());
    SortedMap<String, Holding> below = session.heldBelow(path);
    if (!below.isEmpty()) {
      refuse(null, session.id, Reason.FAILED_PRECONDITION, "session " + session.id + " holds "
          + below.size() + " locks below " + path + " (first " + below.firstKey()
          + "); release them first: locks are released leaf to root");
      return;
    }
    session.lastSeenMs = Math.max(session.lastSeenMs, c.atMs());
    for (String requestId : List.copyOf(session.waiting)) {
      PendingRequest request = waiting.get(requestId);
      if (request.target.equals(path) || path.isAncestorOf(request.target)) {
        fail(request, new LockEffect.Cancelled(requestId, session.id, request.target.path(),
            LockEffect.Cancelled.Cause.RELEASED));
      }
    }
    Holding holding = session.holding(path);
    if (holding != null) {
      remove(session, holding);
      if (!holding.implicit()) {
        effects.add(new LockEffect.Released(session.id, path.path(), holding.token()));
      }
    }
    releaseUnneededIntents(session, path);
  }

  /** Ends a request that did not get its lock: out of its queue, unneeded intents released. */
  private void fail(PendingRequest request, LockEffect terminal) {
    SessionState session = sessions.get(request.sessionId);
    if (request.waitingAt != null) {
      ResourceState resource = resources.get(request.waitingAt.path());
      check(resource.queue.remove(request), "request %s missing from the queue of %s",
          request.requestId, request.waitingAt);
      dirty.add(resource.path.path());
      dropIfEmpty(resource);
      request.waitingAt = null;
    }
    waiting.remove(request.requestId);
    session.waiting.remove(request.requestId);
    answer(terminal);
    releaseUnneededIntents(session, request.target);
  }

  /** Releases, bottom-up from {@code from}, the session's implicit intents nothing needs now. */
  private void releaseUnneededIntents(SessionState session, ResourcePath from) {
    List<ResourcePath> chain = new ArrayList<>(from.ancestors());
    chain.add(from);
    for (int i = chain.size() - 1; i >= 0; i--) {
      Holding holding = session.holding(chain.get(i));
      if (holding != null && holding.implicit() && !needed(session, holding.resource())) {
        remove(session, holding);
      }
    }
  }

  /** Something of the session needs its lock on {@code path}: a lock below or a wait at/below. */
  boolean needed(SessionState session, ResourcePath path) {
    if (!session.heldBelow(path).isEmpty()) {
      return true;
    }
    for (String id : session.waiting) {
      ResourcePath target = waiting.get(id).target;
      if (target.equals(path) || path.isAncestorOf(target)) {
        return true;
      }
    }
    return false;
  }

  private void tick(LockCommand.Tick c) {
    List<PendingRequest> due = new ArrayList<>();
    for (PendingRequest request : waiting.values()) {
      if (request.deadlineMs <= c.atMs()) {
        due.add(request);
      }
    }
    for (PendingRequest request : due) {
      fail(request, new LockEffect.TimedOut(
          request.requestId, request.sessionId, request.target.path()));
    }
    waitsChanged = true; // the periodic sweep
  }

  // ---------------------------------------------------------------- waking and deadlocks

  /** Serves the marked queues, then removes deadlock victims until no cycle is left. */
  private void settle() {
    while (true) {
      serveDirtyQueues();
      if (!waitsChanged || waiting.isEmpty()) {
        return;
      }
      waitsChanged = false;
      Optional<DeadlockDetector.Cycle> cycle =
          DeadlockDetector.findCycle(sessions, resources.values());
      if (cycle.isEmpty()) {
        return;
      }
      DeadlockDetector.Edge victim = cycle.get().victim(sessions);
      PendingRequest request = victim.request();
      fail(request, new LockEffect.DeadlockVictim(
          request.requestId, request.sessionId, cycle.get().describeFrom(victim)));
      waitsChanged = true; // other cycles may remain
    }
  }

  private void serveDirtyQueues() {
    while (!dirty.isEmpty()) {
      Iterator<String> first = dirty.iterator();
      String path = first.next();
      first.remove();
      ResourceState resource = resources.get(path);
      if (resource != null) {
        serve(resource);
      }
    }
  }

  /** Strict FIFO: grants from the head while the head can be granted. */
  private void serve(ResourceState resource) {
    while (!resource.queue.isEmpty()) {
      PendingRequest head = resource.queue.get(0);
      SessionState session = sessions.get(head.sessionId);
      if (!canMove(head, session)) {
        break;
      }
      resource.queue.remove(0);
      head.waitingAt = null;
      head.queuedAsUpgrade = false;
      LockEffect.Refused refused = advance(head, session, true, true);
      if (refused != null) {
        fail(head, refused);
      }
    }
    dropIfEmpty(resource);
  }

  /** The request at the head of its queue could be granted (or is covered) now. */
  boolean canMove(PendingRequest head, SessionState session) {
    Holding own = session.holding(head.target);
    if ((own != null && own.mode().covers(head.mode))
        || coveringAncestor(session, head.target, head.mode) != null) {
      return true;
    }
    ResourcePath path = head.stagePath();
    LockMode wanted = head.stageMode(session);
    return stageCovered(session, path, wanted)
        || compatibleWithOthers(session, path, LockModes.join(session.modeAt(path), wanted));
  }

  // ---------------------------------------------------------------- escalation

  private void escalateIfDue(SessionState session, Holding granted) {
    if (granted.mode() != LockMode.S && granted.mode() != LockMode.X) {
      return;
    }
    Optional<ResourcePath> parentPath = granted.resource().parent();
    if (parentPath.isEmpty()
        || session.childCount(parentPath.get()) <= limits.escalationThreshold()) {
      return;
    }
    ResourcePath parent = parentPath.get();
    Holding parentLock = session.holding(parent);
    check(parentLock != null, "session %s holds %s without a lock on its parent",
        session.id, granted.resource());
    if (waitsBelow(session, parent)) {
      return;
    }
    SortedMap<String, Holding> below = session.heldBelow(parent);
    boolean writes = below.values().stream()
        .anyMatch(h -> h.mode() == LockMode.X || h.mode() == LockMode.IX);
    LockMode mode = LockModes.join(parentLock.mode(), writes ? LockMode.X : LockMode.S);
    if (!compatibleWithOthers(session, parent, mode) || othersQueued(session, parent)) {
      return; // tried again on the next grant
    }
    List<Holding> released = List.copyOf(below.values());
    released.forEach(h -> remove(session, h));
    Holding escalated = grant(session, parent, mode, false);
    effects.add(new LockEffect.Escalated(
        session.id, parent.path(), mode, escalated.token(), released.size()));
    dirty.add(parent.path());
    escalateIfDue(session, escalated);
  }

  private boolean waitsBelow(SessionState session, ResourcePath path) {
    for (String id : session.waiting) {
      if (path.isAncestorOf(waiting.get(id).target)) {
        return true;
      }
    }
    return false;
  }

  private boolean othersQueued(SessionState session, ResourcePath path) {
    ResourceState resource = resources.get(path.path());
    if (resource == null) {
      return false;
    }
    for (PendingRequest request : resource.queue) {
      if (!request.sessionId.equals(session.id)) {
        return true;
      }
    }
    return false;
  }

  // ---------------------------------------------------------------- holdings

  /** The one place a lock is granted: takes the next token. */
  private Holding grant(SessionState session, ResourcePath path, LockMode mode, boolean implicit) {
    check(compatibleWithOthers(session, path, mode),
        "grant of %s on %s to %s conflicts with another holder", mode, path, session.id);
    check(!implicit || LockModes.isIntent(mode), "implicit %s lock on %s", mode, path);
    Holding before = session.holding(path);
    if (undo != null) {
      undo.add(new Undo(session, path, before));
    }
    Holding granted = new Holding(session.id, path, mode, ++lastToken, implicit);
    put(session, granted);
    if (!waiting.isEmpty()) {
      waitsChanged = true;
    }
    for (String id : session.waiting) { // the new lock may cover one of the session's waits
      ResourcePath at = waiting.get(id).waitingAt;
      if (at != null) {
        dirty.add(at.path());
      }
    }
    return granted;
  }

  private void put(SessionState session, Holding holding) {
    if (session.held.put(holding.resource().path(), holding) == null) {
      holding.resource().parent().ifPresent(
          parent -> session.childCounts.merge(parent.path(), 1, Integer::sum));
    }
    resource(holding.resource()).holders.put(session.id, holding);
  }

  private void remove(SessionState session, Holding holding) {
    check(session.held.remove(holding.resource().path()) != null,
        "session %s does not hold %s", session.id, holding.resource());
    holding.resource().parent().ifPresent(parent -> session.childCounts.compute(
        parent.path(), (k, count) -> count == 1 ? null : count - 1));
    ResourceState resource = resources.get(holding.resource().path());
    resource.holders.remove(session.id);
    dirty.add(resource.path.path());
    dropIfEmpty(resource);
  }

  private void rollBack(long lastTokenBefore) {
    for (int i = undo.size() - 1; i >= 0; i--) {
      Undo step = undo.get(i);
      Holding now = step.session().holding(step.resource());
      if (now != null) {
        remove(step.session(), now);
      }
      if (step.before() != null) {
        put(step.session(), step.before());
      }
    }
    lastToken = lastTokenBefore;
  }

  private ResourceState resource(ResourcePath path) {
    return resources.computeIfAbsent(path.path(), p -> new ResourceState(path));
  }

  private void dropIfEmpty(ResourceState resource) {
    if (resource.isEmpty() && resources.get(resource.path.path()) == resource) {
      resources.remove(resource.path.path());
    }
  }

  // ---------------------------------------------------------------- answers

  private void answer(LockEffect terminal) {
    effects.add(terminal);
    String requestId = requestIdOf(terminal);
    answered.remove(requestId); // re-inserted as the newest
    answered.put(requestId, terminal);
    if (answered.size() > limits.answeredRequestsMax()) {
      Iterator<String> oldest = answered.keySet().iterator();
      oldest.next();
      oldest.remove();
    }
  }

  private void refuse(String requestId, String sessionId, Reason reason, String message) {
    effects.add(new LockEffect.Refused(requestId, sessionId, reason, message));
  }

  private SessionState knownSession(String sessionId) {
    String problem = idProblem("sessionId", sessionId);
    SessionState session = problem == null ? sessions.get(sessionId) : null;
    if (problem == null && session == null) {
      problem = "sessionId " + quote(sessionId) + " names no open session (closed or expired?)";
    }
    if (problem != null) {
      refuse(null, sessionId, Reason.INVALID_ARGUMENT, problem);
    }
    return session;
  }

  static String requestIdOf(LockEffect effect) {
    return switch (effect) {
      case LockEffect.Granted e -> e.requestId();
      case LockEffect.Refused e -> e.requestId();
      case LockEffect.TimedOut e -> e.requestId();
      case LockEffect.DeadlockVictim e -> e.requestId();
      case LockEffect.Cancelled e -> e.requestId();
      case LockEffect.Queued e -> e.requestId();
      default -> throw new IllegalArgumentException("not a request's answer: " + effect);
    };
  }

  private static String sessionOf(LockEffect answer) {
    return switch (answer) {
      case LockEffect.Granted e -> e.sessionId();
      case LockEffect.Refused e -> e.sessionId();
      case LockEffect.TimedOut e -> e.sessionId();
      case LockEffect.DeadlockVictim e -> e.sessionId();
      case LockEffect.Cancelled e -> e.sessionId();
      default -> null;
    };
  }

  private static String idProblem(String field, String value) {
    if (value == null || value.isEmpty()) {
      return field + " must not be empty";
    }
    if (value.length() > ID_CHARS_MAX) {
      return field + " is " + value.length() + " characters; the limit is " + ID_CHARS_MAX;
    }
    return null;
  }

  private static String firstProblem(String... problems) {
    for (String problem : problems) {
      if (problem != null) {
        return problem;
      }
    }
    return null;
  }

  /** A value for a message: quoted, and cut, so that a huge bad input makes no huge effect. */
  static String quote(String value) {
    if (value == null) {
      return "null";
    }
    return "'" + (value.length() <= 80 ? value : value.substring(0, 77) + "...") + "'";
  }

  static long saturatedAdd(long a, long b) {
    long sum = a + b;
    return ((a ^ sum) & (b ^ sum)) < 0 ? (b < 0 ? Long.MIN_VALUE : Long.MAX_VALUE) : sum;
  }

  // ---------------------------------------------------------------- queries

  /** Holders (by session) and waiters (FIFO) of one resource; a waiter shows its stage mode. */
  public LockStatus status(ResourcePath resource) {
    ResourceState state = resources.get(resource.path());
    if (state == null) {
      return new LockStatus(resource.path(), List.of(), List.of());
    }
    List<LockStatus.Holder> holders = new ArrayList<>();
    for (Holding h : state.holders.values()) {
      holders.add(new LockStatus.Holder(
          h.sessionId(), sessions.get(h.sessionId()).owner, h.mode(), h.token()));
    }
    List<LockStatus.Waiter> waiters = new ArrayList<>();
    for (PendingRequest r : state.queue) {
      SessionState session = sessions.get(r.sessionId);
      waiters.add(new LockStatus.Waiter(r.sessionId, session.owner, r.stageMode(session)));
    }
    return new LockStatus(resource.path(), holders, waiters);
  }

  /** The queue of one resource, FIFO. */
  public List<WaitingRequest> waiters(ResourcePath resource) {
    ResourceState state = resources.get(resource.path());
    return state == null ? List.of()
        : state.queue.stream().map(r -> r.view(sessions.get(r.sessionId))).toList();
  }

  /** Every waiting request, in the order they first queued: what Tick deadlines are read from. */
  public List<WaitingRequest> waitingRequests() {
    return waiting.values().stream().map(r -> r.view(sessions.get(r.sessionId))).toList();
  }

  /** A session's lease as the log knows it: cheap, for the leader's clock-driven checks. */
  public record Lease(String sessionId, long leaseMs, long lastSeenMs) {}

  /** Every open session's lease, in opening order; no per-session lock lists are copied. */
  public List<Lease> leases() {
    List<Lease> out = new ArrayList<>(sessions.size());
    for (SessionState session : sessions.values()) {
      out.add(new Lease(session.id, session.leaseMs, session.lastSeenMs));
    }
    return out;
  }

  /** One session's lease, or empty if it is not open. */
  public Optional<Lease> lease(String sessionId) {
    SessionState session = sessions.get(sessionId);
    return session == null ? Optional.empty()
        : Optional.of(new Lease(session.id, session.leaseMs, session.lastSeenMs));
  }

  /** The earliest deadline of a waiting request, or {@code Long.MAX_VALUE} if none waits. */
  public long nextDeadlineMs() {
    long next = Long.MAX_VALUE;
    for (PendingRequest request : waiting.values()) {
      next = Math.min(next, request.deadlineMs);
    }
    return next;
  }

  public Optional<SessionView> session(String sessionId) {
    SessionState session = sessions.get(sessionId);
    return session == null ? Optional.empty()
        : Optional.of(session.view(List.copyOf(session.waiting)));
  }

  /** Ids of the open sessions, in opening order. */
  public List<String> sessions() {
    return List.copyOf(sessions.keySet());
  }

  /** How many locks are held, intents included: one pass over the resources, for metrics. */
  public int heldLocksCount() {
    int held = 0;
    for (ResourceState resource : resources.values()) {
      held += resource.holders.size();
    }
    return held;
  }

  /** How many requests wait in queues. */
  public int waitingCount() {
    return waiting.size();
  }

  /** Paths that have holders or waiters, sorted. */
  public List<String> resources() {
    return List.copyOf(resources.keySet());
  }

  public Optional<HeldLock> holds(String sessionId, ResourcePath resource) {
    SessionState session = sessions.get(sessionId);
    Holding holding = session == null ? null : session.holding(resource);
    return Optional.ofNullable(holding).map(Holding::view);
  }

  /** The token of the latest grant; the next grant gets a larger one. */
  public long lastToken() {
    return lastToken;
  }

  public Limits limits() {
    return limits;
  }

  /** Checks every invariant of the class comment; throws IllegalStateException on a broken one. */
  public void checkInvariants() {
    LockInvariants.checkAll(this);
  }

  // ---------------------------------------------------------------- snapshots

  public void writeSnapshot(DataOutput out) throws IOException {
    LockCodec.writeSnapshot(out, this);
  }

  public static LockTable readSnapshot(DataInput in, Limits limits) throws IOException {
    return LockCodec.readSnapshot(in, limits);
  }

  // Package-private access for the codec and the invariant checks.

  Map<String, SessionState> sessionStates() {
    return Collections.unmodifiableMap(sessions);
  }

  Collection<ResourceState> resourceStates() {
    return Collections.unmodifiableCollection(resources.values());
  }

  Map<String, PendingRequest> pendingRequests() {
    return Collections.unmodifiableMap(waiting);
  }

  Map<String, LockEffect> answers() {
    return Collections.unmodifiableMap(answered);
  }

  long lastSessionSeq() {
    return lastSessionSeq;
  }

  /** Restores counters; the codec then adds sessions, requests, holdings, queues and answers. */
  void restoreCounters(long restoredLastToken, long restoredLastSessionSeq) {
    this.lastToken = restoredLastToken;
    this.lastSessionSeq = restoredLastSessionSeq;
  }

  void restoreSession(SessionState session) {
    check(sessions.putIfAbsent(session.id, session) == null, "session %s twice", session.id);
  }

  void restoreRequest(PendingRequest request) {
    SessionState session = sessions.get(request.sessionId);
    check(session != null, "request %s of unknown session %s", request.requestId,
        request.sessionId);
    check(waiting.putIfAbsent(request.requestId, request) == null, "request %s twice",
        request.requestId);
    session.waiting.add(request.requestId);
  }

  void restoreHolding(Holding holding) {
    SessionState session = sessions.get(holding.sessionId());
    check(session != null, "lock on %s of unknown session %s", holding.resource(),
        holding.sessionId());
    check(session.holding(holding.resource()) == null, "lock on %s twice", holding.resource());
    put(session, holding);
  }

  void restoreQueue(ResourcePath path, List<String> requestIds) {
    ResourceState resource = resource(path);
    check(resource.queue.isEmpty(), "queue of %s twice", path);
    for (String id : requestIds) {
      PendingRequest request = waiting.get(id);
      check(request != null && request.waitingAt == null, "queued request %s unknown or twice", id);
      request.waitingAt = path;
      resource.queue.add(request);
    }
    dropIfEmpty(resource);
  }

  void restoreAnswer(String requestId, LockEffect answer) {
    check(requestId.equals(requestIdOf(answer)), "answer filed under %s", requestId);
    answered.put(requestId, answer);
  }
}
