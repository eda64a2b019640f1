package io.synod.api;

/**
 * The life of a coordinated transaction (spec 001 {@code TransactionState}).
 *
 * <pre>
 *   INITIATED ─► PREPARING ─► PREPARED ─► COMMITTING ─► COMMITTED
 *        │            │            │
 *        └────────────┴────────────┴─────► ABORTING ───► ABORTED
 * </pre>
 *
 * {@code FAILED} is reserved for a coordination that could not be run at all (the request was
 * refused before anything was prepared, or the coordinator log was unavailable before a decision).
 * A transaction that was decided to commit never becomes FAILED or ABORTED: it stays COMMITTING
 * until every participant has acknowledged.
 */
public enum TransactionState {
  INITIATED,
  PREPARING,
  PREPARED,
  COMMITTING,
  COMMITTED,
  ABORTING,
  ABORTED,
  FAILED;

  /** True once nothing more will happen to the transaction. */
  public boolean isTerminal() {
    return this == COMMITTED || this == ABORTED || this == FAILED;
  }

  /** The lower-case name the spec uses on the wire, for example {@code committing}. */
  public String wireName() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
