package io.synod.core.txn;

/** What applying one {@link TxnCommand} did: the answer the proposer gets back. */
public sealed interface TxnOutcome {

  /** The record after the command, or the record that made the command a no-op. */
  TxnRecord record();

  /** The coordination id was used before: {@code record} is the first coordination's. */
  record Duplicate(TxnRecord record) implements TxnOutcome {}

  /**
   * A decision stands. {@code record.phase()} says which: it may differ from what was proposed if
   * another decision came first (for example an abort by recovery or by the user).
   */
  record Decided(TxnRecord record) implements TxnOutcome {}

  /** The decision reached every participant. */
  record Completed(TxnRecord record) implements TxnOutcome {}

  /**
   * The command does not apply (for example a Complete for a key the log forgot, or a commit
   * without a coordination id). {@code record} may be null when the key is unknown.
   */
  record Refused(TxnRecord record, String why) implements TxnOutcome {}
}
