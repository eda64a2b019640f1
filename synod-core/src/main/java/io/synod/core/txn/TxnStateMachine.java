package io.synod.core.txn;

import static io.synod.core.Invariants.check;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The atomic-commit state machine: what the replicated log says about every transaction.
 *
 * <p><b>Protocol.</b> Two-phase commit with presumed abort. A transaction enters the log with its
 * {@code Decide} entry, after its participants voted; the driver tells participants to commit
 * only after a commit decision has been applied here (that is, is durable on a majority). {@code
 * Complete} records that every participant acknowledged. A transaction with no record here is
 * undecided and presumed aborted; recovery records that presumption as a tombstone (a {@code
 * Decide} without coordination id, abort) before it rolls back a gid it found prepared, so that
 * no later entry can commit it.
 *
 * <p><b>Invariants</b>, checked on every transition: phases only move along {@link
 * TxnPhase#successors()}; the first decision for a key is final (a commit is never reversed, an
 * abort never turned into a commit); a commit decision names its coordination; a coordination id
 * names at most one transaction.
 *
 * <p><b>Purity.</b> {@link #apply} reads nothing but its arguments and this object's maps: no
 * clock, no I/O, no randomness. Times arrive in the commands. Replaying the same entries gives the
 * same state on every replica, which is what makes recovery a replay.
 *
 * <p><b>Retention.</b> Finished transactions are kept {@code retentionMs} after completion (by the
 * times in later entries), and at most {@code finishedMax} of them, so a repeated coordination id
 * within that window returns the first outcome; older ones are forgotten. The count bound keeps
 * memory and snapshots bounded under any load (2,000 txn/s for a day would otherwise be 170
 * million records). Transactions not yet finished are never forgotten.
 *
 * <p>Not thread-safe: the caller serialises {@code apply} and queries.
 */
public final class TxnStateMachine {
  private final long retentionMs;
  private final int finishedMax;
  private final Map<String, TxnRecord> byKey = new LinkedHashMap<>();
  private final Map<String, String> keyByCoordinationId = new HashMap<>();
  /** Keys of finished transactions in the order they finished, for retention. */
  private final ArrayDeque<String> finishedOrder = new ArrayDeque<>();

  public TxnStateMachine(long retentionMs, int finishedMax) {
    check(retentionMs > 0, "retentionMs must be positive, was %d", retentionMs);
    check(finishedMax > 0, "finishedMax must be positive, was %d", finishedMax);
    this.retentionMs = retentionMs;
    this.finishedMax = finishedMax;
  }

  public TxnOutcome apply(TxnCommand command) {
    TxnOutcome outcome =
        switch (command) {
          case TxnCommand.Decide decide -> decide(decide);
          case TxnCommand.Complete complete -> complete(complete);
        };
    forgetFinishedBefore(command.atMs() - retentionMs);
    return outcome;
  }

  private TxnOutcome decide(TxnCommand.Decide decide) {
    TxnRecord existing = byKey.get(decide.txnKey());
    if (existing != null) {
      return new TxnOutcome.Decided(existing);
    }
    if (decide.coordinationId() == null && decide.commit()) {
      return new TxnOutcome.Refused(null, "a commit decision must name its coordination");
    }
    if (decide.coordinationId() != null) {
      String firstKey = keyByCoordinationId.get(decide.coordinationId());
      if (firstKey != null) {
        return new TxnOutcome.Duplicate(byKey.get(firstKey));
      }
      check(!decide.stores().isEmpty(), "decision %s without stores", decide.txnKey());
    }
    TxnRecord record = new TxnRecord(decide.txnKey(), decide.coordinationId(), decide.stores(),
        decide.operationCount(), decide.commit() ? TxnPhase.COMMITTING : TxnPhase.ABORTING,
        decide.reason(), decide.startedAtMs(), decide.atMs(), 0);
    byKey.put(record.txnKey(), record);
    if (record.coordinationId() != null) {
      keyByCoordinationId.put(record.coordinationId(), record.txnKey());
    }
    return new TxnOutcome.Decided(record);
  }

  private TxnOutcome complete(TxnCommand.Complete complete) {
    TxnRecord record = byKey.get(complete.txnKey());
    if (record == null) {
      return new TxnOutcome.Refused(null, "unknown transaction (finished and forgotten?)");
    }
    if (record.phase().isTerminal()) {
      return new TxnOutcome.Completed(record);
    }
    TxnPhase next = record.phase() == TxnPhase.COMMITTING ? TxnPhase.COMMITTED : TxnPhase.ABORTED;
    TxnRecord done = transition(record, next, complete.atMs());
    finishedOrder.addLast(done.txnKey());
    return new TxnOutcome.Completed(done);
  }

  /** The one place a phase changes: checks the transition against the successor table. */
  private TxnRecord transition(TxnRecord record, TxnPhase next, long atMs) {
    check(
        record.phase().successors().contains(next),
        "illegal transition %s -> %s for %s", record.phase(), next, record.txnKey());
    TxnRecord updated = record.completedAt(next, atMs);
    byKey.put(updated.txnKey(), updated);
    return updated;
  }

  private void forgetFinishedBefore(long cutoffMs) {
    while (!finishedOrder.isEmpty()) {
      TxnRecord oldest = byKey.get(finishedOrder.peekFirst());
      if (oldest != null && oldest.completedAtMs() > cutoffMs
          && finishedOrder.size() <= finishedMax) {
        return;
      }
      finishedOrder.pollFirst();
      if (oldest != null) {
        byKey.remove(oldest.txnKey());
        if (oldest.coordinationId() != null) {
          keyByCoordinationId.remove(oldest.coordinationId());
        }
      }
    }
  }

  public Optional<TxnRecord> byKey(String txnKey) {
    return Optional.ofNullable(byKey.get(txnKey));
  }

  public Optional<TxnRecord> byCoordinationId(String coordinationId) {
    String key = keyByCoordinationId.get(coordinationId);
    return key == null ? Optional.empty() : Optional.ofNullable(byKey.get(key));
  }

  /** Transactions not yet finished, in the order they began. */
  public List<TxnRecord> unfinished() {
    List<TxnRecord> result = new ArrayList<>();
    for (TxnRecord record : byKey.values()) {
      if (!record.phase().isTerminal()) {
        result.add(record);
      }
    }
    return result;
  }

  public int size() {
    return byKey.size();
  }

  public long retentionMs() {
    return retentionMs;
  }

  /** Every record, in insertion order: what a snapshot holds. */
  public Collection<TxnRecord> records() {
    return java.util.Collections.unmodifiableCollection(byKey.values());
  }

  /** Rebuilds the state from a snapshot's records, replacing what was here. */
  public void restore(Collection<TxnRecord> records) {
    byKey.clear();
    keyByCoordinationId.clear();
    finishedOrder.clear();
    List<TxnRecord> finished = new ArrayList<>();
    for (TxnRecord record : records) {
      check(byKey.put(record.txnKey(), record) == null, "duplicate key %s in snapshot", record.txnKey());
      if (record.coordinationId() != null) {
        keyByCoordinationId.put(record.coordinationId(), record.txnKey());
      }
      if (record.phase().isTerminal()) {
        finished.add(record);
      }
    }
    finished.sort(java.util.Comparator.comparingLong(TxnRecord::completedAtMs));
    finished.forEach(r -> finishedOrder.addLast(r.txnKey()));
  }
}
