package io.synod.core.lock;

import io.synod.api.lock.LockMode;
import java.util.List;

/**
 * What applying a {@link LockCommand} did, for the driver to act on: answer a client, wake a
 * waiter, tell a holder its lock is gone. Effects are listed in the order they happened.
 *
 * <p>A request ends with exactly one terminal effect: {@link Granted}, {@link Refused}, {@link
 * TimedOut}, {@link DeadlockVictim} or {@link Cancelled}; on its way it may be {@link Queued} once
 * per resource it waits at. Intent locks that {@code withIntents} takes on ancestors are
 * bookkeeping of the table and produce no effects of their own.
 */
public sealed interface LockEffect {

  /**
   * The request holds {@code resource}. {@code mode} is the mode held, which may be stronger than
   * the one asked (S asked while holding IX gives X: the matrix has no SIX). A request covered by
   * what the session already holds gets the existing token: the token of its own lock on the
   * resource, or of the S/X lock on an ancestor that covers it (then {@code mode} is the one
   * asked, and no lock on {@code resource} itself is recorded).
   */
  record Granted(String requestId, String sessionId, String resource, LockMode mode, long token)
      implements LockEffect {}

  /** The request waits at {@code resource}, with {@code position} waiters ahead of it. */
  record Queued(String requestId, String sessionId, String resource, int position)
      implements LockEffect {}

  /**
   * The command was not carried out. For an Acquire, nothing changed (but the answer is kept for
   * retries). {@code requestId} is null for commands without one; {@code sessionId} is null for a
   * checkpoint.
   */
  record Refused(String requestId, String sessionId, Reason reason, String message)
      implements LockEffect {
    public enum Reason {
      /** Malformed: bad path, negative timeout, unknown session... The message names the field. */
      INVALID_ARGUMENT,
      /** Well-formed, but the state does not allow it (missing intent, stale expiry...). */
      FAILED_PRECONDITION,
      /** A try-only request (timeout 0) could not be granted at once. */
      WOULD_BLOCK,
      /** A bound of {@link LockTable.Limits} was reached; the message names it. */
      LIMIT
    }
  }

  /** The request waited until its deadline. {@code resource} is the one it asked for. */
  record TimedOut(String requestId, String sessionId, String resource) implements LockEffect {}

  /**
   * The request was removed to break a deadlock. {@code cycle} lists the waits of the cycle in
   * order, starting with the victim: {@code "s2@pg/a"} reads "session s2 waits at pg/a for the
   * session of the next entry".
   */
  record DeadlockVictim(String requestId, String sessionId, List<String> cycle)
      implements LockEffect {
    public DeadlockVictim {
      cycle = List.copyOf(cycle);
    }
  }

  /** A waiting request ended because its session released what it asked for, closed or expired. */
  record Cancelled(String requestId, String sessionId, String resource, Cause cause)
      implements LockEffect {
    public enum Cause {
      RELEASED,
      SESSION_CLOSED,
      SESSION_EXPIRED
    }
  }

  /** The session released the lock (itself, or by closing the session). */
  record Released(String sessionId, String resource, long token) implements LockEffect {}

  /** The session lost a lock it had not released; its owner must stop acting on it. */
  record LockLost(
      String sessionId, String resource, long token, io.synod.api.lock.LockLost.Reason reason)
      implements LockEffect {}

  /**
   * The session held more than the threshold of locks below {@code resource}: they were replaced
   * by one lock on it, in {@code mode}, with a new token. {@code releasedCount} locks below were
   * released; they are covered by this one, which the session holds until it releases it.
   */
  record Escalated(
      String sessionId, String resource, LockMode mode, long token, int releasedCount)
      implements LockEffect {}

  record SessionOpened(String sessionId) implements LockEffect {}

  record SessionExpired(String sessionId) implements LockEffect {}

  record SessionClosed(String sessionId) implements LockEffect {}
}
