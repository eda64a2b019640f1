package io.synod.engine.history;

import java.util.ArrayList;
import java.util.List;

/**
 * Linearizability by its definition, for a handful of operations: some order of all operations
 * with known results and some of the unknown ones, respecting real time (an operation that
 * returned before another was called comes first; an unknown one never returns), that {@link
 * LockModel} accepts. It tries every such order; the checker's search must agree with it.
 */
final class BruteForceOracle {
  private final List<Operation> ops;
  private final int[] sessions;
  private final LockModel model;

  private BruteForceOracle(List<Operation> ops, LockModel model) {
    this.ops = ops;
    this.model = model;
    List<String> names = new ArrayList<>();
    sessions = new int[ops.size()];
    for (int i = 0; i < ops.size(); i++) {
      if (!names.contains(ops.get(i).session())) {
        names.add(ops.get(i).session());
      }
      sessions[i] = names.indexOf(ops.get(i).session());
    }
  }

  /** {@code ops} all on one resource. */
  static boolean linearizable(List<Operation> ops, boolean strictRefusals) {
    return new BruteForceOracle(ops, new LockModel(strictRefusals))
        .search(new boolean[ops.size()], LockState.EMPTY);
  }

  private boolean search(boolean[] done, LockState state) {
    boolean knownLeft = false;
    for (int i = 0; i < ops.size(); i++) {
      knownLeft |= !done[i] && !ops.get(i).indeterminate();
    }
    if (!knownLeft) {
      return true; // the unknown ones left are left out
    }
    for (int i = 0; i < ops.size(); i++) {
      if (!done[i] && mayGoNext(done, i)) {
        LockState next = model.step(state, ops.get(i), sessions[i]);
        if (next != null) {
          done[i] = true;
          boolean found = search(done, next);
          done[i] = false;
          if (found) {
            return true;
          }
        }
      }
    }
    return false;
  }

  /** No operation left must come before {@code i}: none surely returned before it was called. */
  private boolean mayGoNext(boolean[] done, int i) {
    for (int j = 0; j < ops.size(); j++) {
      if (!done[j] && !ops.get(j).indeterminate()
          && ops.get(j).returnNanos() < ops.get(i).invokeNanos()) {
        return false;
      }
    }
    return true;
  }
}
