package io.synod.engine.history;

import io.synod.api.lock.LockMode;
import io.synod.core.Invariants;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * The Wing &amp; Gong linearizability search with Lowe's list surgery and Porcupine's cache, for
 * the operations of one resource.
 *
 * <p><b>Events.</b> Each operation is a call event at {@code invokeNanos} and a return event at
 * {@code returnNanos}, in one doubly linked list sorted by time (calls before returns at equal
 * times, so touching intervals count as concurrent). An operation whose result is unknown returns
 * at {@link Operation#NEVER}: its effect may land at any point after its call.
 *
 * <p><b>Search.</b> Walk the list from its head. At a call, try to linearize the operation now: if
 * the model accepts it and the pair (set of linearized operations, model state) was never seen,
 * push (call, state before), <em>lift</em> the call and its return out of the list and restart
 * from the head. At a return (the <em>frontier</em>: the operation it closes must be linearized
 * before anything called after it), undo the last choice: pop, <em>unlift</em>, go on with the
 * next candidate after that call. Reaching a return at NEVER means every operation with a known
 * result is placed; the unknown ones still listed are left out, which is allowed. An empty stack
 * at a return means no linearization exists.
 *
 * <p><b>Why the cache is sound.</b> Whether the rest of the history can be linearized depends only
 * on which operations are placed and on the model state, so a pair seen once (and not on the
 * stack, which only holds smaller sets) has failed and need not be explored again. The cache is
 * also the bound: past {@code maxStatesVisited} pairs the verdict is UNKNOWN. A key holds the
 * placed set compactly: how many operations with known results are placed without a gap from the
 * first (in invocation order), the bits after that, and the bits of the unknown ones; so its size
 * follows the concurrency, not the length of the history.
 *
 * <p><b>Unknown results.</b> Each one pending may double what the search explores, and one that
 * never returned stays pending to the end, so three rules keep them in check, none losing a
 * linearization (a brute-force oracle checks this in the tests).
 *
 * <ol>
 *   <li>Order: at each point the operations with known results are tried first (a forward pass to
 *       the frontier), then the unknown ones (a backward pass from it, newest first). An unknown
 *       effect is usually needed late or never, and when needed it is usually for the operation
 *       at the frontier, not for one long ago.
 *   <li>No no-ops: an unknown one is never placed where it changes nothing (a release of a lock
 *       not held). Any linearization from there is one from the same state without it, where it
 *       stays free to be placed later or left out.
 *   <li>Only where it helps: an unknown one is placed only if it can help a known acquire waiting
 *       before the frontier. A release of session s helps a waiting grant that conflicts with
 *       what s holds (or an unknown acquire that conflicts and itself helps), and s's own grants;
 *       an acquire by s helps s's own grants (a re-acquire keeps what it took) and, with strict
 *       refusals, a refusal that needs its conflict. Any other unknown effect changes nothing the
 *       next known operation needs and can be moved after it, so some linearization places each
 *       unknown effect right before the known operation it helps, and that is what is searched.
 * </ol>
 *
 * <p>For the {@link FailureReport} the search keeps the stack that got furthest in time (the latest
 * frontier it was stopped at, then the deepest): a linearizable prefix, which with the operations
 * that could not follow it says where the history breaks (Porcupine's partial linearization).
 */
final class WglSearch {
  private final Partition partition;
  private final LockModel model;
  private final long maxStatesVisited;
  private final long originNanos;
  private final boolean[] indeterminate;
  private final Placed placed;
  private final Set<CacheKey> cache = new HashSet<>();
  private int unknownsUnplaced;
  private final ArrayDeque<Frame> stack = new ArrayDeque<>();
  private Node head;
  private LockState state = LockState.EMPTY;
  /** True while trying the unknown results, newest first, back from {@link #frontier}. */
  private boolean unknownPass;
  /** The first return in the list: the operation that must be placed before anything later. */
  private Node frontier;
  private int[] bestPrefix = new int[0];
  private LockState bestState = LockState.EMPTY;
  private Node bestBlocked;

  record Outcome(CheckResult.Verdict verdict, long statesVisited, String explanation) {}

  private static final class Node {
    final int op;
    final long timeNanos;
    final Node match; // a call's return event; null on a return event
    Node prev;
    Node next;

    Node(int op, long timeNanos, Node match) {
      this.op = op;
      this.timeNanos = timeNanos;
      this.match = match;
    }
  }

  /** A placed call, the state before it, and the pass it was placed in. */
  private record Frame(Node call, LockState before, boolean unknownPass, Node frontier) {}

  WglSearch(Partition partition, LockModel model, long maxStatesVisited, long originNanos) {
    Invariants.check(maxStatesVisited > 0, "maxStatesVisited %d", maxStatesVisited);
    this.partition = partition;
    this.model = model;
    this.maxStatesVisited = maxStatesVisited;
    this.originNanos = originNanos;
    this.indeterminate = new boolean[partition.size()];
    int[] slots = new int[partition.size()];
    int known = 0;
    for (int i = 0; i < partition.size(); i++) {
      Operation op = partition.operations().get(i);
      if (model.constrains(op)) {
        indeterminate[i] = op.indeterminate();
        slots[i] = indeterminate[i] ? unknownsUnplaced++ : known++;
      }
    }
    this.placed = new Placed(slots, indeterminate);
  }

  Outcome run() {
    head = events();
    Node entry = head.next;
    while (entry != null) {
      if (unknownPass ? entry == head : entry.match == null) { // the end of a pass
        if (!unknownPass && entry.timeNanos == Operation.NEVER) {
          break; // every known result is placed: the unknown ones left are left out
        }
        if (!unknownPass && unknownsUnplaced > 0) {
          unknownPass = true; // no known result fits before this return: try the unknown ones
          frontier = entry;
          entry = entry.prev;
          continue;
        }
        frontier = unknownPass ? frontier : entry;
        keepIfFurthest();
        if (stack.isEmpty()) {
          return new Outcome(CheckResult.Verdict.FALSE, cache.size(), explain());
        }
        entry = backtrack();
        continue;
      }
      boolean tryIt = indeterminate[entry.op] == unknownPass && (!unknownPass || helps(entry.op));
      LockState next = tryIt ? place(entry.op) : null;
      if (next == null) {
        entry = unknownPass ? entry.prev : entry.next;
        continue;
      }
      if (cache.size() > maxStatesVisited) {
        return new Outcome(CheckResult.Verdict.UNKNOWN, cache.size(), tooBig());
      }
      stack.push(new Frame(entry, state, unknownPass, frontier));
      state = next;
      lift(entry);
      entry = head.next;
      unknownPass = false;
    }
    return new Outcome(CheckResult.Verdict.TRUE, cache.size(), "");
  }

  /** Undoes the last placement; returns where to go on looking, in the pass it was made in. */
  private Node backtrack() {
    Frame top = stack.pop();
    state = top.before();
    unplace(top.call().op);
    unlift(top.call());
    unknownPass = top.unknownPass();
    frontier = top.frontier();
    return unknownPass ? top.call().prev : top.call().next;
  }

  /** Rule 3 of the class comment: whether unknown {@code op} can help a known one waiting. */
  private boolean helps(int op) {
    Operation unknown = partition.operations().get(op);
    if (unknown.kind() == Operation.Kind.ACQUIRE) {
      return helpsAcquire(op);
    }
    int holder = state.find(partition.sessions()[op]);
    if (holder < 0) {
      return false; // a release of nothing: rule (2) would skip it anyway
    }
    int held = state.flags(holder) & LockState.MODES;
    for (Node call = head.next; call != frontier; call = call.next) {
      Operation waiting = partition.operations().get(call.op);
      if (waiting.kind() != Operation.Kind.ACQUIRE) {
        continue;
      }
      boolean own = partition.sessions()[call.op] == partition.sessions()[op];
      boolean granted = waiting.result() instanceof Operation.Granted;
      if (own ? granted : (!LockModel.compatible(held, waiting.mode())
          && (granted || (indeterminate[call.op] && helpsAcquire(call.op))))) {
        return true;
      }
    }
    return false;
  }

  private boolean helpsAcquire(int op) {
    int session = partition.sessions()[op];
    LockMode mode = partition.operations().get(op).mode();
    for (Node call = head.next; call != frontier; call = call.next) {
      Operation waiting = partition.operations().get(call.op);
      boolean own = partition.sessions()[call.op] == session;
      if (waiting.kind() == Operation.Kind.ACQUIRE && !indeterminate[call.op] && (own
          ? waiting.result() instanceof Operation.Granted
          : model.strictRefusals() && waiting.result() instanceof Operation.Refused
              && !mode.compatibleWith(waiting.mode()))) {
        return true;
      }
    }
    return false;
  }

  /** The state after placing {@code op} now, or null if it does not fit or leads nowhere new. */
  private LockState place(int op) {
    LockState next = model.step(state, partition.operations().get(op), partition.sessions()[op]);
    if (next == null || (indeterminate[op] && next.equals(state))) {
      return null; // the second case is rule 2 of the class comment
    }
    placed.set(op);
    if (!cache.add(placed.key(next))) {
      placed.clear(op);
      return null;
    }
    unknownsUnplaced -= indeterminate[op] ? 1 : 0;
    return next;
  }

  private void unplace(int op) {
    placed.clear(op);
    unknownsUnplaced += indeterminate[op] ? 1 : 0;
  }

  /** The head (a sentinel) of the sorted calls and returns, less REFUSED that constrain nothing. */
  private Node events() {
    List<Node> nodes = new ArrayList<>();
    for (int i = 0; i < partition.size(); i++) {
      Operation op = partition.operations().get(i);
      if (model.constrains(op)) {
        Node ret = new Node(i, op.indeterminate() ? Operation.NEVER : op.returnNanos(), null);
        nodes.add(new Node(i, op.invokeNanos(), ret));
        nodes.add(ret);
      }
    }
    nodes.sort(Comparator.comparingLong((Node n) -> n.timeNanos)
        .thenComparing(n -> n.match == null)); // calls first
    Node head = new Node(-1, Long.MIN_VALUE, null);
    Node last = head;
    for (Node node : nodes) {
      last.next = node;
      node.prev = last;
      last = node;
    }
    return head;
  }

  /**
   * The placed operations, in two sets numbered apart: known results by invocation order, unknown
   * results. The part of the known set below its first gap is keyed by its length alone.
   */
  private static final class Placed {
    private final int[] slots;
    private final boolean[] indeterminate;
    private final BitSet known = new BitSet();
    private final BitSet unknown = new BitSet();

    Placed(int[] slots, boolean[] indeterminate) {
      this.slots = slots;
      this.indeterminate = indeterminate;
    }

    void set(int op) {
      (indeterminate[op] ? unknown : known).set(slots[op]);
    }

    void clear(int op) {
      (indeterminate[op] ? unknown : known).clear(slots[op]);
    }

    CacheKey key(LockState state) {
      int floor = known.nextClearBit(0);
      long[] above = known.get(floor, Math.max(floor, known.length())).toLongArray();
      return new CacheKey(floor, above, unknown.toLongArray(), state);
    }
  }

  private static final class CacheKey {
    final int floor;
    final long[] known;
    final long[] unknown;
    final LockState state;
    final int hash;

    CacheKey(int floor, long[] known, long[] unknown, LockState state) {
      this.floor = floor;
      this.known = known;
      this.unknown = unknown;
      this.state = state;
      this.hash = ((floor * 31 + Arrays.hashCode(known)) * 31 + Arrays.hashCode(unknown)) * 31
          + state.hashCode();
    }

    @Override
    public boolean equals(Object other) {
      return other instanceof CacheKey that
          && hash == that.hash
          && floor == that.floor
          && Arrays.equals(known, that.known)
          && Arrays.equals(unknown, that.unknown)
          && state.equals(that.state);
    }

    @Override
    public int hashCode() {
      return hash;
    }
  }

  /** Takes a call and its return out of the list. A call is never last: its return follows it. */
  private static void lift(Node call) {
    call.prev.next = call.next;
    call.next.prev = call.prev;
    Node ret = call.match;
    ret.prev.next = ret.next;
    if (ret.next != null) {
      ret.next.prev = ret.prev;
    }
  }

  /** Puts back what {@link #lift} took, in reverse order; valid because lifts undo as a stack. */
  private static void unlift(Node call) {
    Node ret = call.match;
    ret.prev.next = ret;
    if (ret.next != null) {
      ret.next.prev = ret;
    }
    call.prev.next = call;
    call.next.prev = call;
  }

  /**
   * At a return whose operation is not placed: keeps the stack if no stack reached as far in time
   * (Knossos reports the same: the furthest point the search got to in the history), or as far but
   * less deep.
   */
  private void keepIfFurthest() {
    boolean further = bestBlocked == null || frontier.timeNanos > bestBlocked.timeNanos
        || (frontier.timeNanos == bestBlocked.timeNanos && stack.size() > bestPrefix.length);
    if (further) {
      int[] prefix = new int[stack.size()];
      Iterator<Frame> bottomUp = stack.descendingIterator();
      for (int i = 0; i < prefix.length; i++) {
        prefix[i] = bottomUp.next().call().op;
      }
      bestPrefix = prefix;
      bestState = state;
      bestBlocked = frontier;
    }
  }

  private String tooBig() {
    return "resource " + partition.resource() + ": search stopped after " + cache.size()
        + " states (maxStatesVisited " + maxStatesVisited + "); the verdict is unknown, raise the"
        + " limit or record a shorter history";
  }

  private String explain() {
    return new FailureReport(partition, model, originNanos)
        .format(bestPrefix, bestState, bestBlocked.op, bestBlocked.timeNanos);
  }
}
