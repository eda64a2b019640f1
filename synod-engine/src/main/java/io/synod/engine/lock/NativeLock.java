package io.synod.engine.lock;

import io.synod.api.lock.Lock;
import io.synod.api.lock.LockLost;
import io.synod.api.lock.LockMode;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;

/** A granted lock of the native service; closing it releases it once. */
final class NativeLock implements Lock {
  private final NativeLockSession session;
  private final String resource;
  private final LockMode mode;
  private final long token;
  private final CompletableFuture<LockLost> lost = new CompletableFuture<>();
  private final AtomicBoolean ended = new AtomicBoolean();

  NativeLock(NativeLockSession session, String resource, LockMode mode, long token) {
    this.session = session;
    this.resource = resource;
    this.mode = mode;
    this.token = token;
  }

  @Override
  public String resource() {
    return resource;
  }

  @Override
  public LockMode mode() {
    return mode;
  }

  @Override
  public long fencingToken() {
    return token;
  }

  @Override
  public CompletableFuture<LockLost> lost() {
    return lost;
  }

  /** Marks the lock lost; the holder hears of it on {@code callbacks}, never on the caller's thread. */
  void lose(LockLost.Reason reason, Executor callbacks) {
    if (ended.compareAndSet(false, true)) {
      LockLost why = new LockLost(resource, token, reason);
      callbacks.execute(() -> lost.complete(why));
    }
  }

  /** The release was refused: the lock is still held, and this handle with it. */
  void reopen() {
    ended.set(false);
  }

  @Override
  public void close() {
    if (ended.compareAndSet(false, true)) {
      session.release(this);
    }
  }

  @Override
  public String toString() {
    return mode + " on " + resource + " (token " + token + ")";
  }
}
