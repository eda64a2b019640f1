package io.synod.core.txn;

import java.util.List;
import java.util.Objects;

/**
 * What the log knows about one transaction.
 *
 * @param txnKey the coordinator-made key, unique across the cluster's life; the participants'
 *     gid is {@code <prefix><txnKey>}
 * @param coordinationId the caller's id; null for a tombstone, the abort recorded by recovery for
 *     a gid found prepared in a store that the log never saw begin
 * @param stores the participating stores, in request order
 * @param operationCount how many operations the request had
 * @param phase where the transaction is
 * @param reason why it aborted (null unless aborting or aborted)
 * @param startedAtMs leader time at begin
 * @param deadlineAtMs leader time after which the prepare phase gives up
 * @param decidedAtMs leader time of the decision, 0 before
 * @param completedAtMs leader time the decision reached every participant, 0 before
 */
public record TxnRecord(
    String txnKey,
    String coordinationId,
    List<String> stores,
    int operationCount,
    TxnPhase phase,
    String reason,
    long startedAtMs,
    long deadlineAtMs,
    long decidedAtMs,
    long completedAtMs) {

  public TxnRecord {
    Objects.requireNonNull(txnKey, "txnKey");
    Objects.requireNonNull(phase, "phase");
    stores = List.copyOf(stores);
  }

  public boolean isTombstone() {
    return coordinationId == null;
  }

  TxnRecord withPhase(TxnPhase next, String why, long atMs) {
    long decided = next.isDecided() && !phase.isDecided() ? atMs : decidedAtMs;
    long completed = next.isTerminal() ? atMs : completedAtMs;
    String because = why != null ? why : reason;
    return new TxnRecord(
        txnKey, coordinationId, stores, operationCount, next, because, startedAtMs, deadlineAtMs,
        decided, completed);
  }
}
