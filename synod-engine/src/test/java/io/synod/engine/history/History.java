package io.synod.engine.history;

import io.synod.api.lock.LockMode;
import io.synod.core.Invariants;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;

/**
 * A history of lock operations, recorded by many client threads at once.
 *
 * <pre>{@code
 * History.Handle h = history.invoke(client, Kind.ACQUIRE, resource, session.id(), LockMode.X);
 * try {
 *   Lock lock = session.acquire(resource, LockMode.X, timeout);
 *   h.ok(lock.fencingToken());
 * } catch (SynodException e) {
 *   if (definitelyNotTaken(e)) h.refused(); else h.unknown();
 * }
 * }</pre>
 *
 * <p>The invocation time is read in {@link #invoke}, before the call; the return time when the
 * handle completes. A handle never completed (its thread died, or the test stopped first) becomes
 * an {@link Operation.Unknown} that never returned.
 */
public final class History {
  private final LongSupplier clockNanos;
  private final ConcurrentLinkedQueue<Handle> handles = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<Operation> recorded = new ConcurrentLinkedQueue<>();

  /** Times from {@link System#nanoTime()}. */
  public History() {
    this(System::nanoTime);
  }

  public History(LongSupplier clockNanos) {
    this.clockNanos = Objects.requireNonNull(clockNanos, "clockNanos");
  }

  /** A history of operations already complete, for tests that write histories by hand. */
  public static History of(List<Operation> operations) {
    History history = new History();
    operations.forEach(history::record);
    return history;
  }

  /** Starts an operation now; complete the handle when its answer arrives. */
  public Handle invoke(int clientId, Operation.Kind kind, String resource, String session,
      LockMode mode) {
    Handle handle = new Handle(clientId, kind, resource, session, mode, clockNanos.getAsLong());
    handles.add(handle);
    return handle;
  }

  /** Records a lease expiry the client learned of (for example from {@code Lock.lost()}). */
  public void expired(int clientId, String resource, String session, long sinceNanos) {
    record(Operation.expire(clientId, resource, session, sinceNanos, clockNanos.getAsLong(),
        Operation.Result.OK));
  }

  public void record(Operation operation) {
    recorded.add(Objects.requireNonNull(operation, "operation"));
  }

  public long nowNanos() {
    return clockNanos.getAsLong();
  }

  /** A snapshot, ordered by invocation: pending handles appear as unknown, never returned. */
  public List<Operation> operations() {
    List<Operation> out = new ArrayList<>(recorded);
    for (Handle handle : handles) {
      out.add(handle.toOperation());
    }
    out.sort((a, b) -> Long.compare(a.invokeNanos(), b.invokeNanos()));
    return out;
  }

  public int size() {
    return recorded.size() + handles.size();
  }

  /** One invoked operation, waiting for its answer. Complete it once. */
  public final class Handle {
    private final int clientId;
    private final Operation.Kind kind;
    private final String resource;
    private final String session;
    private final LockMode mode;
    private final long invokeNanos;
    private final AtomicReference<Operation> done = new AtomicReference<>();

    private Handle(int clientId, Operation.Kind kind, String resource, String session,
        LockMode mode, long invokeNanos) {
      this.clientId = clientId;
      this.kind = kind;
      this.resource = resource;
      this.session = session;
      this.mode = mode;
      this.invokeNanos = invokeNanos;
      toOperation(); // validates the arguments now, in the caller's thread
    }

    /** The acquire was granted with {@code token}. */
    public void ok(long token) {
      Invariants.check(kind == Operation.Kind.ACQUIRE, "ok(token) on a %s", kind);
      complete(new Operation.Granted(token));
    }

    /** The release (or expiry) took effect. */
    public void ok() {
      Invariants.check(kind != Operation.Kind.ACQUIRE, "ok() on an ACQUIRE: pass the token");
      complete(Operation.Result.OK);
    }

    /** The acquire definitely did not take the lock (timeout, deadlock victim, would block). */
    public void refused() {
      complete(Operation.Result.REFUSED);
    }

    /** The call failed in a way that leaves its effect unknown. */
    public void unknown() {
      complete(Operation.Result.UNKNOWN);
    }

    private void complete(Operation.Result result) {
      Operation operation = new Operation(clientId, kind, resource, session, mode, invokeNanos,
          clockNanos.getAsLong(), result);
      Invariants.check(done.compareAndSet(null, operation), "completed twice: %s then %s",
          done.get(), result);
    }

    private Operation toOperation() {
      Operation operation = done.get();
      return operation != null ? operation : new Operation(clientId, kind, resource, session, mode,
          invokeNanos, Operation.NEVER, Operation.Result.UNKNOWN);
    }
  }
}
