package io.synod.core.txn;

import java.util.List;
import java.util.Objects;

/**
 * What the log knows about one transaction.
 *
 * @param txnKey the coordinator-made key, unique across the cluster's life; the participants'
 *     gid is {@code <prefix><txnKey>}
 * @param coordinationId the caller's id; null for a tombstone, the abort recorded by recovery for
 *     a gid found prepared in a store that the log has no decision for
 * @param stores the participating stores, in request order
 * @param operationCount how many operations the request had
 * @param phase where the transaction is
 * @param reason why it aborted (null unless aborting or aborted)
 * @param startedAtMs leader time the coordination arrived
 * @param decidedAtMs leader time of the decision
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

  TxnRecord completedAt(TxnPhase next, long atMs) {
    return new TxnRecord(txnKey, coordinationId, stores, operationCount, next, reason, startedAtMs,
        decidedAtMs, atMs);
  }
}
