package io.synod.core.txn;

import java.util.List;

/**
 * Entries of the atomic-commit log. Every field a replica needs to apply an entry is in it: the
 * leader's clock readings travel as {@code atMs}, so that replay gives the same state everywhere.
 */
public sealed interface TxnCommand {

  String txnKey();

  /** The leader time when the entry was proposed. */
  long atMs();

  /** A coordination was accepted; participants are about to prepare. */
  record Begin(
      String txnKey, String coordinationId, List<String> stores, int operationCount, long atMs,
      long deadlineAtMs) implements TxnCommand {
    public Begin {
      stores = List.copyOf(stores);
    }
  }

  /** The decision. The first decision applied for a key wins; later ones are answered with it. */
  record Decide(String txnKey, boolean commit, String reason, long atMs) implements TxnCommand {
    /** Reasons are for people; a bound keeps entries small. */
    public static final int REASON_CHARS_MAX = 2000;

    public Decide {
      if (reason != null && reason.length() > REASON_CHARS_MAX) {
        reason = reason.substring(0, REASON_CHARS_MAX - 1) + "…";
      }
    }
  }

  /** Every participant has acknowledged the decision. */
  record Complete(String txnKey, long atMs) implements TxnCommand {}
}
