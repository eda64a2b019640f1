package io.synod.engine.log;

import io.synod.core.event.EventCommand;
import io.synod.core.event.EventEffect;
import io.synod.core.event.EventStateMachine;
import io.synod.core.lock.LockCommand;
import io.synod.core.lock.LockEffect;
import io.synod.core.lock.LockTable;
import io.synod.core.saga.SagaCommand;
import io.synod.core.saga.SagaEffect;
import io.synod.core.saga.SagaStateMachine;
import io.synod.core.txn.TxnCommand;
import io.synod.core.txn.TxnOutcome;
import io.synod.core.txn.TxnStateMachine;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The replicated coordinator log as the drivers see it: propose an entry, get the outcome of
 * applying it once it is durable on a majority; read the applied state. One log carries every
 * domain (atomic commit, locks, sagas, events), each applied by its own pure state machine.
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

  /**
   * Proposes a lock command; the future completes with the effects of applying it. Effects of
   * every applied lock command (this one's too) also reach the {@link #onLockEffects} listener.
   */
  CompletableFuture<List<LockEffect>> proposeLock(LockCommand command);

  /** Reads the applied lock table; the function must not keep references to it. */
  <T> T readLocks(Function<LockTable, T> query);

  /**
   * Sets the one listener for the effects of applied lock commands; it runs on the apply thread
   * of every replica, in log order, and must hand work off rather than block.
   */
  void onLockEffects(Consumer<List<LockEffect>> listener);

  /**
   * Proposes a saga command; the future completes with the effects of applying it. Effects of
   * every applied saga command (this one's too) also reach the {@link #onSagaEffects} listener.
   */
  CompletableFuture<List<SagaEffect>> proposeSaga(SagaCommand command);

  /** Reads the applied saga state; the function must not keep references to it. */
  <T> T readSagas(Function<SagaStateMachine, T> query);

  /**
   * Sets the one listener for the effects of applied saga commands; it runs on the apply thread
   * of every replica (replayed entries included), in log order, and must hand work off rather
   * than block.
   */
  void onSagaEffects(Consumer<List<SagaEffect>> listener);

  /**
   * Proposes a command of the event domain (the durable bus and choreographed sagas); the future
   * completes with the effects of applying it, which also reach the {@link #onEventEffects}
   * listener.
   */
  CompletableFuture<List<EventEffect>> proposeEvent(EventCommand command);

  /** Reads the applied event state; the function must not keep references to it. */
  <T> T readEvents(Function<EventStateMachine, T> query);

  /**
   * Sets the one listener for the effects of applied event commands; it runs on the apply thread
   * of every replica (replayed entries included), in log order, and must hand work off rather
   * than block.
   */
  void onEventEffects(Consumer<List<EventEffect>> listener);

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
