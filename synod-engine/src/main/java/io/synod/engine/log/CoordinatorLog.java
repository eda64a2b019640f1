package io.synod.engine.log;

import io.synod.core.txn.TxnCommand;
import io.synod.core.txn.TxnOutcome;
import io.synod.core.txn.TxnStateMachine;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * The replicated coordinator log as the drivers see it: propose an entry, get the outcome of
 * applying it once it is durable on a majority; read the applied state.
 */
public interface CoordinatorLog extends AutoCloseable {

  /**
   * Proposes a command. The future completes with the state machine's outcome after the entry is
   * committed and applied; it fails with {@link NotLeaderException} on a replica that is not the
   * leader, and with another exception when the outcome is unknown (the entry may or may not have
   * been committed).
   */
  CompletableFuture<TxnOutcome> propose(TxnCommand command);

  /**
   * Like {@link #propose}, for a command nobody waits on: it may be held back a few milliseconds
   * to travel in the same entry as other commands.
   */
  CompletableFuture<TxnOutcome> proposeLazily(TxnCommand command);

  /** Completes once every entry committed before this call has been applied locally. */
  CompletableFuture<Void> barrier();

  /** Reads the applied state; the function must not keep references to it. */
  <T> T read(Function<TxnStateMachine, T> query);

  /** True if this replica is the leader and has committed an entry in its term. */
  boolean isLeaderReady();

  /** The current leader's id, if one is known. */
  Optional<String> leaderId();

  /** This replica's id. */
  String selfId();

  @Override
  void close();

  /** Thrown (as a future's cause) when this replica cannot accept writes. */
  final class NotLeaderException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public NotLeaderException(String self, Optional<String> leader) {
      super("replica " + self + " is not the leader"
          + leader.map(l -> "; the leader is " + l).orElse("; no leader is known yet"));
    }
  }
}
