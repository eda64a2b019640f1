package io.synod.engine;

import io.synod.api.spi.Participant;
import io.synod.api.spi.ParticipantException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells participants the decision and keeps telling them until they acknowledge. Commit and
 * rollback are idempotent at the participants, so a retry after a lost answer is harmless. The
 * only thing that stops a retry loop is the coordinator closing; recovery takes over from there.
 */
final class Resolver {
  private static final Logger LOG = LoggerFactory.getLogger(Resolver.class);

  private final ExecutorService executor;
  private final Duration backoffMin;
  private final Duration backoffMax;
  private volatile boolean closed;

  Resolver(ExecutorService executor, Duration backoffMin, Duration backoffMax) {
    this.executor = executor;
    this.backoffMin = backoffMin;
    this.backoffMax = backoffMax;
  }

  /** Commits (or rolls back) {@code gid} at the participant, retrying until it answers. */
  CompletableFuture<Void> resolve(Participant participant, String gid, boolean commit) {
    return CompletableFuture.runAsync(() -> untilAcknowledged(participant, gid, commit), executor);
  }

  /**
   * As {@link #resolve}, but the first attempt is made on the calling thread (no hand-off in the
   * common case); if it fails, the retries go on in the background as with {@link #resolve}, so
   * the caller is never held by a store that is down.
   */
  CompletableFuture<Void> resolveHere(Participant participant, String gid, boolean commit) {
    try {
      if (commit) {
        participant.commit(gid);
      } else {
        participant.rollback(gid);
      }
      return CompletableFuture.completedFuture(null);
    } catch (ParticipantException | RuntimeException e) {
      LOG.warn("{} of {} at store '{}' failed, retrying in the background: {}",
          commit ? "commit" : "rollback", gid, participant.name(), e.getMessage());
      return resolve(participant, gid, commit);
    }
  }

  private void untilAcknowledged(Participant participant, String gid, boolean commit) {
    long pauseMs = backoffMin.toMillis();
    for (int attempt = 1; ; attempt++) {
      try {
        if (commit) {
          participant.commit(gid);
        } else {
          participant.rollback(gid);
        }
        if (attempt > 1) {
          LOG.info("{} of {} at store '{}' acknowledged after {} attempts",
              commit ? "commit" : "rollback", gid, participant.name(), attempt);
        }
        return;
      } catch (ParticipantException | RuntimeException e) {
        if (closed) {
          throw new IllegalStateException("coordinator closed before store '" + participant.name()
              + "' acknowledged " + (commit ? "commit" : "rollback") + " of " + gid, e);
        }
        LOG.warn("{} of {} at store '{}' failed (attempt {}), retrying in {} ms: {}",
            commit ? "commit" : "rollback", gid, participant.name(), attempt, pauseMs,
            e.getMessage());
        sleep(pauseMs);
        pauseMs = Math.min(pauseMs * 2, backoffMax.toMillis());
      }
    }
  }

  private void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      closed = true;
    }
  }

  void close() {
    closed = true;
  }
}
