package io.synod.api.lock;

import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What every {@link Lock} implementation keeps: the grant, the {@link #lost()} future, and a
 * flag that makes release and loss happen once. A lock service extends it with how it releases
 * (the embedded service proposes to the log, the client calls the server).
 */
public abstract class LockHandle implements Lock {
  private final String resource;
  private final LockMode mode;
  private final long token;
  private final CompletableFuture<LockLost> lost = new CompletableFuture<>();
  private final AtomicBoolean ended = new AtomicBoolean();

  protected LockHandle(String resource, LockMode mode, long token) {
    this.resource = Objects.requireNonNull(resource, "resource");
    this.mode = Objects.requireNonNull(mode, "mode");
    this.token = token;
  }

  @Override
  public final String resource() {
    return resource;
  }

  @Override
  public final LockMode mode() {
    return mode;
  }

  @Override
  public final long fencingToken() {
    return token;
  }

  @Override
  public final CompletableFuture<LockLost> lost() {
    return lost;
  }

  /**
   * Marks the lock lost, once; the holder hears of it on {@code callbacks}, never on the
   * caller's thread.
   */
  public final void lose(LockLost.Reason reason, Executor callbacks) {
    if (ended.compareAndSet(false, true)) {
      LockLost why = new LockLost(resource, token, reason);
      callbacks.execute(() -> lost.complete(why));
    }
  }

  /** The release was refused: the lock is still held, and this handle with it. */
  public final void reopen() {
    ended.set(false);
  }

  /** Releases the lock the first time; releasing twice, or after it was lost, does nothing. */
  @Override
  public final void close() {
    if (ended.compareAndSet(false, true)) {
      release();
    }
  }

  /** Gives the lock back to its service (called once, by {@link #close()}). */
  protected abstract void release();

  @Override
  public String toString() {
    return mode + " on " + resource + " (token " + token + ")";
  }
}
