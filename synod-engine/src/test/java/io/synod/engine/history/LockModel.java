package io.synod.engine.history;

import io.synod.api.lock.LockMode;
import io.synod.engine.history.Operation.Granted;
import io.synod.engine.history.Operation.Ok;
import io.synod.engine.history.Operation.Refused;
import io.synod.engine.history.Operation.Unknown;
import java.util.List;

/**
 * The sequential specification of one resource of the lock service, in Porcupine's form: a pure
 * {@code step(state, operation)} that returns the next state, or null when the operation with its
 * recorded result cannot happen in that state.
 *
 * <ul>
 *   <li>ACQUIRE GRANTED(t) needs the mode compatible (the {@link LockMode} matrix) with every mode
 *       other sessions hold, and a token above the last one granted on this resource. A session
 *       that already holds a mode covering the request may instead get its held token back (a
 *       re-acquire that keeps the grant).
 *   <li>ACQUIRE REFUSED changes nothing and is legal anywhere; with {@code strictRefusals} only
 *       where another session holds a conflicting mode (right for {@code tryAcquire}, wrong for
 *       FIFO timeouts and deadlock victims).
 *   <li>ACQUIRE UNKNOWN, when it took effect, is a grant whose token was never seen: the last
 *       token stays, and the session's next re-acquire may show any token as the kept one. This is
 *       lenient on purpose: a bound (above the last token where the grant is placed) would make
 *       the search place the grant as early as possible and backtrack through everything between
 *       it and the re-acquire that reveals its token, which in a history with retries after
 *       timeouts costs far more than the check is worth.
 *   <li>RELEASE and EXPIRE drop the session's holding; both are legal when it holds nothing.
 * </ul>
 */
final class LockModel {
  private static final LockMode[] MODES = LockMode.values();
  /** By mode: the mask of modes compatible with it, and of modes that cover it. */
  private static final int[] COMPATIBLE_WITH = new int[MODES.length];
  private static final int[] COVERED_BY = new int[MODES.length];

  static {
    for (LockMode mode : MODES) {
      for (LockMode other : MODES) {
        COMPATIBLE_WITH[mode.ordinal()] |= other.compatibleWith(mode) ? LockState.bit(other) : 0;
        COVERED_BY[mode.ordinal()] |= other.covers(mode) ? LockState.bit(other) : 0;
      }
    }
  }

  private final boolean strictRefusals;

  LockModel(boolean strictRefusals) {
    this.strictRefusals = strictRefusals;
  }

  /** The state after {@code op} by session number {@code session}; null if it is illegal. */
  LockState step(LockState state, Operation op, int session) {
    return switch (op.kind()) {
      case RELEASE, EXPIRE -> state.without(session);
      case ACQUIRE -> switch (op.result()) {
        case Granted g -> grant(state, session, op.mode(), g.token());
        case Unknown u -> conflict(state, session, op.mode()) >= 0
            ? null : grantUnseen(state, session, op.mode());
        case Refused r ->
            !strictRefusals || conflict(state, session, op.mode()) >= 0 ? state : null;
        case Ok o -> throw new IllegalStateException("an acquire answered OK: " + op);
      };
    };
  }

  /** False if the search may leave {@code op} out: it never constrains anything. */
  boolean constrains(Operation op) {
    return strictRefusals || !(op.result() instanceof Refused);
  }

  boolean strictRefusals() {
    return strictRefusals;
  }

  private static LockState grant(LockState state, int session, LockMode mode, long token) {
    if (conflict(state, session, mode) >= 0) {
      return null;
    }
    int at = state.find(session);
    long last = Math.max(state.lastToken(), token);
    if (at >= 0 && covers(state.flags(at), mode) && keepsToken(state, at, token)) {
      return state.with(session, state.flags(at) & LockState.MODES, token, last);
    }
    if (token <= state.lastToken()) {
      return null;
    }
    int held = at >= 0 ? state.flags(at) & LockState.MODES : 0;
    return state.with(session, held | LockState.bit(mode), token, token);
  }

  private static LockState grantUnseen(LockState state, int session, LockMode mode) {
    int at = state.find(session);
    if (at >= 0 && covers(state.flags(at), mode)) {
      return state;
    }
    int held = at >= 0 ? state.flags(at) & LockState.MODES : 0;
    return state.with(session, held | LockState.bit(mode) | LockState.TOKEN_UNKNOWN, 0,
        state.lastToken());
  }

  private static boolean keepsToken(LockState state, int holder, long token) {
    boolean unseen = (state.flags(holder) & LockState.TOKEN_UNKNOWN) != 0;
    return unseen || token == state.token(holder);
  }

  /** The first holder but {@code session} with a mode incompatible with {@code mode}, or -1. */
  static int conflict(LockState state, int session, LockMode mode) {
    for (int i = 0; i < state.holders(); i++) {
      if (state.session(i) != session && !compatible(state.flags(i), mode)) {
        return i;
      }
    }
    return -1;
  }

  /** True if every mode in {@code flags} is compatible with {@code mode}. */
  static boolean compatible(int flags, LockMode mode) {
    return (flags & LockState.MODES & ~COMPATIBLE_WITH[mode.ordinal()]) == 0;
  }

  private static boolean covers(int flags, LockMode mode) {
    return (flags & COVERED_BY[mode.ordinal()]) != 0;
  }

  /** Why {@code op} cannot happen in {@code state}, in words; "legal" when it can. */
  String whyIllegal(LockState state, Operation op, int session, List<String> sessionNames) {
    if (step(state, op, session) != null) {
      return "fits here, but no linearization goes on from it";
    }
    if (op.result() instanceof Refused) {
      return "refused, yet no other session held a mode conflicting with " + op.mode();
    }
    int other = conflict(state, session, op.mode());
    if (other >= 0) {
      return op.mode() + " conflicts with " + sessionNames.get(state.session(other))
          + " holding it (" + state.describe(sessionNames) + ")";
    }
    long token = ((Granted) op.result()).token();
    return "token " + token + " is not above the last token granted here (" + state.lastToken()
        + ") and is not a re-acquire keeping the held token";
  }
}
