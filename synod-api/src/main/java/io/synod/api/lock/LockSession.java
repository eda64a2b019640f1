package io.synod.api.lock;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * An owner's session with the lock service. Its locks live as long as its lease; the session keeps
 * the lease alive by itself while it is open. Closing the session releases every lock it holds.
 *
 * <p>Resources are paths: segments separated by {@code /}, for example {@code pg/accounts/42}
 * (store, table, row; any depth). Errors arrive as {@link io.synod.api.SynodException}: {@code
 * DEADLINE_EXCEEDED} when a wait times out, {@code ABORTED} when the request was chosen as a
 * deadlock victim (the message names the cycle), {@code FAILED_PRECONDITION} when a required
 * intent lock on an ancestor is missing, {@code INVALID_ARGUMENT} for a malformed resource.
 */
public interface LockSession extends AutoCloseable {

  String id();

  String owner();

  /** Waits up to {@code timeout} in the resource's FIFO queue. */
  default Lock acquire(String resource, LockMode mode, Duration timeout) {
    return acquire(LockRequest.of(resource, mode, timeout));
  }

  Lock acquire(LockRequest request);

  CompletableFuture<Lock> acquireAsync(LockRequest request);

  /** Grants at once or returns empty; never waits in a queue. */
  Optional<Lock> tryAcquire(String resource, LockMode mode);

  /** True until the session is closed or its lease lapses. */
  boolean isAlive();

  @Override
  void close();
}
