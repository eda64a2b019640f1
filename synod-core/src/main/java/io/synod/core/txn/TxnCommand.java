package io.synod.core.txn;

import java.util.List;

/**
 * Entries of the atomic-commit log. Every field a replica needs to apply an entry is in it: the
 * leader's clock readings travel as {@code atMs}, so that replay gives the same state everywhere.
 * There is no "begin" entry: presumed abort needs none, and leaving it out keeps one durable
 * write off every transaction's path.
 */
public sealed interface TxnCommand {

  String txnKey();

  /** The leader time when the entry was proposed. */
  long atMs();

  /**
   * The decision, with what recovery needs to carry it out. The first decision applied for a key
   * wins; later ones are answered with it. A decision without a coordination id is a tombstone:
   * an abort recorded for a key the log knows nothing else about.
   *
   * @param coordinationId the caller's id, or null for a tombstone
   * @param stores the participating stores in request order (branch gids are numbered by it)
   */
  record Decide(
      String txnKey, String coordinationId, List<String> stores, int operationCount,
      boolean commit, String reason, long startedAtMs, long atMs) implements TxnCommand {
    /** Reasons are for people; a bound keeps entries small. */
    public static final int REASON_CHARS_MAX = 2000;

    public Decide {
      stores = List.copyOf(stores);
      if (reason != null && reason.length() > REASON_CHARS_MAX) {
        reason = reason.substring(0, REASON_CHARS_MAX - 1) + "…";
      }
    }

    /** An abort for a key the log may not know: what recovery records before a rollback. */
    public static Decide tombstone(String txnKey, String reason, long atMs) {
      return new Decide(txnKey, null, List.of(), 0, false, reason, atMs, atMs);
    }
  }

  /** Every participant has acknowledged the decision. */
  record Complete(String txnKey, long atMs) implements TxnCommand {}
}
