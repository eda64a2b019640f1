package io.synod.engine.history;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

/**
 * Says in words why one resource's operations do not linearize: the furthest linearizable prefix
 * the search found, the state after it, and each operation that could have come next with the
 * reason it could not.
 *
 * <pre>
 * resource pg/t/48: not linearizable (442 operations)
 *   longest linearizable prefix found: 1 operations
 *     1. c11 s11.0 ACQUIRE X pg/t/48 -> GRANTED(2) [0.000 ms .. 0.009 ms]
 *   state after it: holders {s11.0: X token 2}, last token 2
 *   could not place, before c99 intruder ACQUIRE X pg/t/48 -> GRANTED(3) [..] returned:
 *     c99 intruder ACQUIRE X pg/t/48 -> GRANTED(3) [..]: X conflicts with s11.0 holding it (..)
 * </pre>
 */
final class FailureReport {
  private static final int PREFIX_SHOWN = 8;
  private static final int CANDIDATES_SHOWN = 16;

  private final Partition partition;
  private final LockModel model;
  private final long originNanos;

  FailureReport(Partition partition, LockModel model, long originNanos) {
    this.partition = partition;
    this.model = model;
    this.originNanos = originNanos;
  }

  /**
   * @param prefix operation indexes in the partition, in linearization order
   * @param blocked the operation whose return stopped the prefix, at {@code blockedNanos}
   */
  String format(int[] prefix, LockState after, int blocked, long blockedNanos) {
    List<Operation> ops = partition.operations();
    StringBuilder out = new StringBuilder();
    out.append("resource ").append(partition.resource()).append(": not linearizable (")
        .append(ops.size()).append(" operations)\n");
    out.append("  longest linearizable prefix found: ").append(prefix.length).append(" operations")
        .append(prefix.length > PREFIX_SHOWN ? ", the last " + PREFIX_SHOWN : "").append('\n');
    for (int i = Math.max(0, prefix.length - PREFIX_SHOWN); i < prefix.length; i++) {
      out.append("    ").append(i + 1).append(". ")
          .append(ops.get(prefix[i]).describe(originNanos)).append('\n');
    }
    out.append("  state after it: ").append(after.describe(partition.sessionNames())).append('\n');
    out.append("  could not place, before ").append(ops.get(blocked).describe(originNanos))
        .append(" returned:\n");
    List<Integer> next = candidates(prefix, blockedNanos);
    for (int i : next.subList(0, Math.min(CANDIDATES_SHOWN, next.size()))) {
      out.append("    ").append(ops.get(i).describe(originNanos)).append(": ")
          .append(model.whyIllegal(after, ops.get(i), partition.sessions()[i],
              partition.sessionNames()))
          .append('\n');
    }
    if (next.size() > CANDIDATES_SHOWN) {
      out.append("    and ").append(next.size() - CANDIDATES_SHOWN).append(" more\n");
    }
    long unknown = partition.operations().stream().filter(Operation::indeterminate).count();
    if (unknown > 0) {
      out.append("  (").append(unknown).append(" operations here have unknown results: the search")
          .append(" tried each wherever it could help, and left it out)\n");
    }
    return out.toString();
  }

  /**
   * The operations with known results outside {@code prefix} called by {@code blockedNanos}: the
   * candidates to come next. Unknown results are not listed: leaving one out is always allowed.
   */
  private List<Integer> candidates(int[] prefix, long blockedNanos) {
    BitSet inPrefix = new BitSet();
    for (int i : prefix) {
      inPrefix.set(i);
    }
    List<Integer> out = new ArrayList<>();
    for (int i = 0; i < partition.size(); i++) {
      Operation op = partition.operations().get(i);
      if (!inPrefix.get(i) && model.constrains(op) && !op.indeterminate()
          && op.invokeNanos() <= blockedNanos) {
        out.add(i);
      }
    }
    return out;
  }
}
