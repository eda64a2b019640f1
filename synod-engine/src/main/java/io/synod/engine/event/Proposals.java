package io.synod.engine.event;

import io.synod.api.ErrorCode;
import io.synod.api.SynodException;
import io.synod.core.event.EventCommand;
import io.synod.core.event.EventEffect;
import io.synod.engine.log.CoordinatorLog;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Proposing event commands, with failures said in words. */
final class Proposals {
  private Proposals() {}

  /** Proposes and waits for the effects; UNAVAILABLE if the log cannot say in time. */
  static List<EventEffect> propose(CoordinatorLog log, EventCommand command, Duration timeout) {
    try {
      return log.proposeEvent(command).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SynodException(ErrorCode.UNAVAILABLE, "interrupted while logging " + what(command),
          e);
    } catch (ExecutionException | TimeoutException e) {
      throw unavailable(log, command, e);
    }
  }

  /** Why a proposal failed, for the caller: the leader to retry at, or the cause. */
  static SynodException unavailable(CoordinatorLog log, EventCommand command, Throwable error) {
    Throwable cause = error instanceof ExecutionException || error instanceof CompletionException
        ? error.getCause() : error;
    if (cause instanceof CoordinatorLog.NotLeaderException) {
      return notLeader(log);
    }
    return new SynodException(ErrorCode.UNAVAILABLE, "could not log the " + what(command) + ": "
        + (cause instanceof TimeoutException ? "no answer in time" : String.valueOf(cause)),
        cause);
  }

  static void requireLeader(CoordinatorLog log) {
    if (!log.isLeaderReady()) {
      throw notLeader(log);
    }
  }

  private static SynodException notLeader(CoordinatorLog log) {
    return new SynodException(ErrorCode.UNAVAILABLE, null, "replica " + log.selfId()
        + " does not lead the log" + log.leaderId().map(l -> "; the leader is " + l)
        .orElse("; no leader is known") + ". Retry there.");
  }

  private static String what(EventCommand command) {
    return command.getClass().getSimpleName();
  }
}
