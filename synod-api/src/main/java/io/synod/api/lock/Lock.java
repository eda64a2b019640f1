package io.synod.api.lock;

import java.util.concurrent.CompletableFuture;

/**
 * A granted lock. Closing it releases it, so a scoped lock reads as try-with-resources:
 *
 * <pre>{@code
 * try (Lock lock = session.acquire("pg/accounts/42", LockMode.X, Duration.ofSeconds(5))) {
 *   store.write(row, lock.fencingToken());
 * }
 * }</pre>
 *
 * <p>A lock can be lost without being released: its session's lease lapsed, or the service
 * escalated it. {@link #lost()} completes when the holder must stop acting on it; a store that
 * checks {@link #fencingToken()} refuses the stale holder either way.
 */
public interface Lock extends AutoCloseable {

  String resource();

  LockMode mode();

  /** Strictly increasing across the whole service: a later grant always carries a larger token. */
  long fencingToken();

  /** Completes (with the reason) when this lock is lost rather than released by its holder. */
  CompletableFuture<LockLost> lost();

  /**
   * Releases the lock; releasing twice, or after it was lost, does nothing. Locks are released
   * leaf to root: releasing a resource while holding locks below it fails with {@code
   * FAILED_PRECONDITION} and keeps the lock.
   */
  @Override
  void close();
}
