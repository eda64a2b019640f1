package io.synod.engine.history;

import io.synod.api.lock.LockMode;
import io.synod.core.Invariants;
import java.util.Objects;

/**
 * One lock operation as a client saw it: what it asked, when it asked ({@code invokeNanos}), when
 * the answer came ({@code returnNanos}, {@link Long#MAX_VALUE} if it never came) and the answer.
 *
 * <p>{@code resource} is null only for an {@link Kind#EXPIRE} that drops the session's holdings on
 * every resource; {@code mode} is set only for an {@link Kind#ACQUIRE}.
 */
public record Operation(
    int clientId,
    Kind kind,
    String resource,
    String session,
    LockMode mode,
    long invokeNanos,
    long returnNanos,
    Result result) {

  /** A call that never returned, or returned an indeterminate error, ends at this time. */
  public static final long NEVER = Long.MAX_VALUE;

  public enum Kind {
    ACQUIRE,
    RELEASE,
    /** The session's lease lapsed: the service dropped its locks (on one resource or all). */
    EXPIRE
  }

  /**
   * The answer: {@link Granted} or {@link Refused} to an acquire, {@link Ok} to the others, and
   * {@link Unknown} to any.
   */
  public sealed interface Result permits Granted, Refused, Ok, Unknown {
    Result REFUSED = new Refused();
    Result OK = new Ok();
    Result UNKNOWN = new Unknown();
  }

  /** The lock was taken with this fencing token. */
  public record Granted(long token) implements Result {
    @Override
    public String toString() {
      return "GRANTED(" + token + ")";
    }
  }

  /** Timeout, deadlock victim, would block: the lock was not taken. */
  public record Refused() implements Result {
    @Override
    public String toString() {
      return "REFUSED";
    }
  }

  public record Ok() implements Result {
    @Override
    public String toString() {
      return "OK";
    }
  }

  /** An indeterminate failure: the effect may happen at any time after the invocation, or never. */
  public record Unknown() implements Result {
    @Override
    public String toString() {
      return "UNKNOWN";
    }
  }

  public Operation {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(session, "session");
    Objects.requireNonNull(result, "result");
    Invariants.check(resource != null || kind == Kind.EXPIRE, "%s needs a resource", kind);
    Invariants.check((mode != null) == (kind == Kind.ACQUIRE), "%s with mode %s", kind, mode);
    Invariants.check(returnNanos >= invokeNanos, "returned at %d before invoked at %d",
        returnNanos, invokeNanos);
    Invariants.check(fits(kind, result), "%s cannot answer %s", kind, result);
    Invariants.check(returnNanos != NEVER || result instanceof Unknown,
        "a call that never returned has no result, not %s", result);
  }

  private static boolean fits(Kind kind, Result result) {
    return switch (result) {
      case Granted g -> kind == Kind.ACQUIRE;
      case Refused r -> kind == Kind.ACQUIRE;
      case Ok o -> kind != Kind.ACQUIRE;
      case Unknown u -> true;
    };
  }

  public static Operation acquire(int clientId, String resource, String session, LockMode mode,
      long invokeNanos, long returnNanos, Result result) {
    return new Operation(clientId, Kind.ACQUIRE, resource, session, mode, invokeNanos, returnNanos,
        result);
  }

  public static Operation release(int clientId, String resource, String session,
      long invokeNanos, long returnNanos, Result result) {
    return new Operation(clientId, Kind.RELEASE, resource, session, null, invokeNanos, returnNanos,
        result);
  }

  /** {@code resource} null: the session's holdings on every resource. */
  public static Operation expire(int clientId, String resource, String session,
      long invokeNanos, long returnNanos, Result result) {
    return new Operation(clientId, Kind.EXPIRE, resource, session, null, invokeNanos, returnNanos,
        result);
  }

  /**
   * True if the effect may happen at any time after the invocation, or never: the result is
   * unknown (an indeterminate error, or no answer at all). Such an operation is linearized anywhere
   * after {@code invokeNanos}, even after its {@code returnNanos} (a request can still be applied
   * after its client gave up), or omitted.
   */
  public boolean indeterminate() {
    return result instanceof Unknown;
  }

  /** Like {@code c3 s-7 ACQUIRE X pg/t/1 -> GRANTED(12) [1.204 ms .. 1.377 ms]}, from origin. */
  public String describe(long originNanos) {
    StringBuilder out = new StringBuilder();
    out.append('c').append(clientId).append(' ').append(session).append(' ').append(kind);
    if (mode != null) {
      out.append(' ').append(mode);
    }
    out.append(' ').append(resource == null ? "*" : resource).append(" -> ").append(result);
    out.append(" [").append(millis(invokeNanos - originNanos)).append(" .. ");
    out.append(returnNanos == NEVER ? "never" : millis(returnNanos - originNanos)).append(']');
    return out.toString();
  }

  private static String millis(long nanos) {
    return String.format("%.3f ms", nanos / 1e6);
  }
}
