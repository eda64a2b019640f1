package io.synod.core.txn;

import io.synod.api.TransactionState;
import java.util.EnumSet;
import java.util.Set;

/**
 * The phases the coordinator log records for a transaction. The log records only what recovery
 * needs: what was decided, and that the decision reached every participant. A transaction that
 * is not in the log is undecided, and presumed aborted. The earlier states of the API
 * (initiated, preparing, prepared) live in the driver's memory.
 */
public enum TxnPhase {
  /** Decided commit on a majority; participants are being told. Never reversed. */
  COMMITTING(TransactionState.COMMITTING),
  /** Decided abort; prepared participants are being rolled back. */
  ABORTING(TransactionState.ABORTING),
  COMMITTED(TransactionState.COMMITTED),
  ABORTED(TransactionState.ABORTED);

  private final TransactionState apiState;

  TxnPhase(TransactionState apiState) {
    this.apiState = apiState;
  }

  public TransactionState apiState() {
    return apiState;
  }

  public boolean isTerminal() {
    return this == COMMITTED || this == ABORTED;
  }

  public boolean isCommit() {
    return this == COMMITTING || this == COMMITTED;
  }

  /** The phases a transaction may move to from this one. */
  Set<TxnPhase> successors() {
    return switch (this) {
      case COMMITTING -> EnumSet.of(COMMITTED);
      case ABORTING -> EnumSet.of(ABORTED);
      case COMMITTED, ABORTED -> EnumSet.noneOf(TxnPhase.class);
    };
  }
}
